package auth

import (
	"strings"
	"testing"

	"medrec"
)

func TestHasher(t *testing.T) {
	h, err := NewHasher(MinBcryptCost)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := h.Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$2a$10$") {
		t.Fatalf("hash %q is not bcrypt at cost 10", hash)
	}
	for _, tc := range []struct {
		password string
		want     bool
	}{
		{"correct horse battery staple", true},
		{"correct horse battery stapl", false},
		{"", false},
	} {
		got, err := h.Check(hash, tc.password)
		if err != nil || got != tc.want {
			t.Errorf("Check(%q) = %v, %v; want %v", tc.password, got, err, tc.want)
		}
	}
}

func TestHasherRefusesWhatBcryptWouldTruncate(t *testing.T) {
	h, _ := NewHasher(MinBcryptCost)
	for name, password := range map[string]string{
		"73 bytes":      strings.Repeat("a", 73),
		"11 characters": "abcdefghijk",
	} {
		_, err := h.Hash(password)
		if medrec.ErrorCode(err) != medrec.EINVALID {
			t.Errorf("%s: got %v, want EINVALID", name, err)
		}
	}
	if _, err := h.Hash(strings.Repeat("é", 36)); err != nil { // exactly 72 bytes
		t.Errorf("72-byte password refused: %v", err)
	}
}

func TestNewHasherRefusesWeakCost(t *testing.T) {
	if _, err := NewHasher(MinBcryptCost - 1); err == nil {
		t.Fatal("cost below the spec's 10 accepted")
	}
}

func TestGeneratePassword(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		p := GeneratePassword(24)
		if len(p) != 24 || strings.ContainsAny(p, "0O1lI") || seen[p] {
			t.Fatalf("bad or repeated generated password %q", p)
		}
		seen[p] = true
	}
}
