package auth

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"testing"
)

func TestNewRefreshToken(t *testing.T) {
	t.Parallel()
	seenTokens := map[string]bool{}
	seenHashes := map[string]bool{}
	for range 10_000 {
		token, hash := NewRefreshToken()
		if len(token) != 43 {
			t.Fatalf("token %q has %d characters, want 43", token, len(token))
		}
		raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
		if err != nil || len(raw) != 32 {
			t.Fatalf("token %q is not unpadded base64url of 32 bytes", token)
		}
		if len(hash) != 64 {
			t.Fatalf("hash %q has %d characters, want 64", hash, len(hash))
		}
		if seenTokens[token] || seenHashes[hash] {
			t.Fatalf("repeated token or hash after %d draws", len(seenTokens))
		}
		seenTokens[token], seenHashes[hash] = true, true
		if got := HashRefreshToken(token); got != hash {
			t.Fatalf("HashRefreshToken = %q, want the hash NewRefreshToken gave, %q", got, hash)
		}
	}
}

func TestHashRefreshToken(t *testing.T) {
	t.Parallel()
	// The stored form is specified (hex SHA-256 of the token's text), so
	// that it stays stable across releases: a change would invalidate every
	// refresh token in the database.
	sum := sha256.Sum256([]byte("abc"))
	for _, tc := range []struct {
		token, want string
	}{
		{"abc", hex.EncodeToString(sum[:])},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	} {
		if got := HashRefreshToken(tc.token); got != tc.want {
			t.Fatalf("HashRefreshToken(%q) = %q, want %q", tc.token, got, tc.want)
		}
	}
}
