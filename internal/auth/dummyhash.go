package auth

import (
	"crypto/rand"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// TimingEqualizer makes a login for an unknown email cost as much as one
// with a wrong password. Without it, a login that finds no user answers in
// microseconds while one that finds a user spends a bcrypt comparison, and
// that difference tells an attacker which emails have accounts.
//
// It is safe for concurrent use.
type TimingEqualizer struct {
	hash []byte
}

// NewTimingEqualizer returns a TimingEqualizer whose Burn costs one bcrypt
// comparison at cost, which should be the Hasher's cost (bcrypt's work
// depends only on the cost, so the same cost takes the same time). It
// hashes a random password once, which takes as long as one Hash.
func NewTimingEqualizer(cost int) (*TimingEqualizer, error) {
	if cost < MinBcryptCost || cost > bcrypt.MaxCost {
		return nil, fmt.Errorf("timing equalizer: bcrypt cost %d: must be between %d and %d", cost, MinBcryptCost, bcrypt.MaxCost)
	}
	// A random password no one knows (and that is never shown) means Burn
	// can never match, whatever is typed.
	hash, err := bcrypt.GenerateFromPassword([]byte(rand.Text()), cost)
	if err != nil {
		return nil, fmt.Errorf("timing equalizer: %w", err)
	}
	return &TimingEqualizer{hash: hash}, nil
}

// Burn spends the time of one password check at the equalizer's cost and
// always reports false: call it where the user was not found, and answer
// exactly as for a wrong password.
func (te *TimingEqualizer) Burn(password string) (matched bool) {
	// The result is computed, not assumed, so the comparison cannot be
	// optimized away and a test can see that bcrypt really ran.
	return bcrypt.CompareHashAndPassword(te.hash, []byte(password)) == nil
}
