package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// refreshTokenBytes is the entropy of a refresh token: 256 bits, far out of
// reach of guessing even with no rate limit on the refresh route.
const refreshTokenBytes = 32

// NewRefreshToken returns a new refresh token, to hand to the client once,
// and its hash, the only form that is stored. The token is 32 random bytes
// in unpadded base64url (43 characters, safe in JSON and URLs).
//
// Only the hash is stored so that a leaked database (or backup) holds no
// usable refresh tokens.
func NewRefreshToken() (token string, hash string) {
	b := make([]byte, refreshTokenBytes)
	// crypto/rand.Read never returns an error (it crashes the program
	// irrecoverably instead), so there is nothing to handle.
	_, _ = rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashRefreshToken(token)
}

// HashRefreshToken returns hex(SHA-256(token)), the form in which a refresh
// token is stored and looked up.
//
// A plain, unsalted, fast hash is right here, unlike for passwords: the
// token is 256 random bits, so there is nothing to brute-force, and the
// hash must be deterministic to be found by an indexed lookup.
//
// No constant-time comparison is needed either: a presented token is
// checked by looking its hash up in the database, and timing differences
// in that lookup reveal at most something about a SHA-256 output, which
// does not help an attacker construct a token that hashes to it.
func HashRefreshToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
