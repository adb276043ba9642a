// Package auth holds medrec's credential handling: password hashing now,
// tokens and login throttling as they come.
package auth

import (
	"crypto/rand"
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"

	"medrec"
)

// MinBcryptCost is the spec's bcrypt strength; DefaultBcryptCost is what
// medrec uses unless configured otherwise (about 0.25 s a hash on one core).
const (
	MinBcryptCost     = 10
	DefaultBcryptCost = 12
)

// Hasher hashes and checks passwords with bcrypt at a fixed cost.
type Hasher struct{ cost int }

// NewHasher returns a Hasher; cost must be between MinBcryptCost and bcrypt's maximum.
func NewHasher(cost int) (*Hasher, error) {
	if cost < MinBcryptCost || cost > bcrypt.MaxCost {
		return nil, fmt.Errorf("bcrypt cost %d: must be between %d and %d", cost, MinBcryptCost, bcrypt.MaxCost)
	}
	return &Hasher{cost: cost}, nil
}

// Hash returns the bcrypt hash of password. Passwords over 72 bytes are
// refused, never silently truncated as bcrypt would.
func (h *Hasher) Hash(password string) (string, error) {
	if f := medrec.ValidatePassword("password", password); f != nil {
		return "", medrec.Invalid(*f)
	}
	b, err := bcrypt.GenerateFromPassword([]byte(password), h.cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(b), nil
}

// Check reports whether password matches hash.
func (h *Hasher) Check(hash, password string) (bool, error) {
	err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	default:
		return false, fmt.Errorf("check password: %w", err)
	}
}

// passwordAlphabet leaves out look-alike characters (0/O, 1/l/I) so that a
// generated password survives being read off a terminal and typed in.
const passwordAlphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// GeneratePassword returns a random password of n characters from a
// 57-symbol alphabet (24 characters carry about 140 bits).
func GeneratePassword(n int) string {
	return randomFrom(passwordAlphabet, n)
}

func randomFrom(alphabet string, n int) string {
	out := make([]byte, n)
	buf := make([]byte, 1)
	for i := 0; i < n; {
		if _, err := rand.Read(buf); err != nil {
			panic(err) // crypto/rand never fails on Linux; if it does, nothing is safe
		}
		// Reject bytes past the last full multiple of the alphabet to keep
		// every symbol equally likely.
		if int(buf[0]) >= 256-256%len(alphabet) {
			continue
		}
		out[i] = alphabet[int(buf[0])%len(alphabet)]
		i++
	}
	return string(out)
}
