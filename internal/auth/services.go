package auth

import (
	"fmt"
	"time"

	"medrec"
)

// The types in this file present this package's pieces as the domain's
// interfaces (medrec.TokenIssuer, medrec.PasswordHasher,
// medrec.SecondFactor), which the database adapter and the HTTP layer take
// without importing this package.

// Tokens implements medrec.TokenIssuer with Ed25519 access tokens and
// random refresh tokens stored as their SHA-256.
type Tokens struct{ Issuer *TokenIssuer }

var _ medrec.TokenIssuer = Tokens{}

// IssueAccess issues an access token for a session.
func (t Tokens) IssueAccess(userID string, role medrec.Role, sessionID string) (string, time.Time, error) {
	return t.Issuer.Issue(userID, role, sessionID)
}

// VerifyAccess verifies an access token; every failure is EUNAUTHORIZED.
func (t Tokens) VerifyAccess(token string) (*medrec.AccessClaims, error) {
	c, err := t.Issuer.Verify(token)
	if err != nil {
		return nil, err
	}
	return &medrec.AccessClaims{UserID: c.UserID, Role: c.Role, SessionID: c.SessionID, ExpiresAt: c.ExpiresAt}, nil
}

// NewRefresh returns a new refresh token and the hash to store.
func (Tokens) NewRefresh() (string, string) { return NewRefreshToken() }

// HashRefresh returns the stored form of a refresh token.
func (Tokens) HashRefresh(token string) string { return HashRefreshToken(token) }

// Passwords implements medrec.PasswordHasher: bcrypt under the full
// password policy (length and the common-password list), with an equalizer
// for sign-ins of unknown users.
type Passwords struct {
	hasher    *Hasher
	equalizer *TimingEqualizer
}

var _ medrec.PasswordHasher = (*Passwords)(nil)

// NewPasswords returns a Passwords at the given bcrypt cost.
func NewPasswords(cost int) (*Passwords, error) {
	h, err := NewHasher(cost)
	if err != nil {
		return nil, err
	}
	eq, err := NewTimingEqualizer(cost)
	if err != nil {
		return nil, err
	}
	return &Passwords{hasher: h, equalizer: eq}, nil
}

// Hash checks the policy, naming the field "password", and hashes.
func (p *Passwords) Hash(password string) (string, error) {
	if f := CheckPasswordPolicy("password", password); f != nil {
		return "", medrec.Invalid(*f)
	}
	return p.hasher.Hash(password)
}

// Check reports whether password matches hash. A hash that is not bcrypt
// (a corrupted row) is an error, not a mismatch.
func (p *Passwords) Check(hash, password string) (bool, error) {
	// bcrypt reads only 72 bytes: without this, a stored 72-byte password
	// would also match itself plus anything.
	if len(password) > medrec.PasswordMaxBytes {
		return false, nil
	}
	ok, err := p.hasher.Check(hash, password)
	if err != nil {
		return false, fmt.Errorf("check password: %w", err)
	}
	return ok, nil
}

// Burn costs as much as Check and never matches.
func (p *Passwords) Burn(password string) { p.equalizer.Burn(password) }

// TOTP implements medrec.SecondFactor with RFC 6238 codes (SHA-1, six
// digits, 30-second steps), the format every authenticator app reads.
type TOTP struct {
	Issuer string           // shown in the authenticator app
	Now    func() time.Time // nil means time.Now
}

var _ medrec.SecondFactor = TOTP{}

// NewSecret returns a new secret and its otpauth:// URI.
func (t TOTP) NewSecret(account string) (string, string) {
	secret := NewTOTPSecret()
	return secret, TOTPURI(secret, t.Issuer, account)
}

// Verify accepts a current code not older than lastStep's successor.
func (t TOTP) Verify(secret, code string, lastStep int64) (int64, bool) {
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	return VerifyTOTP(secret, code, now(), lastStep)
}
