package medrec

import (
	"context"
	"time"
)

// Credentials are what a user signs in with.
type Credentials struct {
	Email    string
	Password string
	TOTPCode string // required once a second factor is confirmed
}

// Tokens is the answer to a sign-in or a refresh.
type Tokens struct {
	AccessToken  string
	ExpiresAt    time.Time
	RefreshToken string
	User         *User
	// MFAEnrolmentRequired: the session may only read /me and enrol a
	// second factor until one is confirmed.
	MFAEnrolmentRequired bool
}

// AccessClaims is what a verified access token says.
type AccessClaims struct {
	UserID    string
	Role      Role
	SessionID string
	ExpiresAt time.Time
}

// TOTPEnrolment is a second factor waiting for its first code.
type TOTPEnrolment struct {
	Secret     string `json:"secret"`
	OTPAuthURI string `json:"otpauth_uri"`
}

// AuthService signs users in and out and turns access tokens into callers.
// Every credential failure is the same EUNAUTHORIZED, so that nobody learns
// which part was wrong or whether the account exists.
type AuthService interface {
	// Login checks credentials and opens a session. Errors: EUNAUTHORIZED.
	Login(ctx context.Context, c Credentials) (*Tokens, error)
	// Refresh rotates a refresh token. Reusing a spent one ends its whole
	// session. Errors: EUNAUTHORIZED.
	Refresh(ctx context.Context, refreshToken string) (*Tokens, error)
	// Authenticate checks an access token and its session on every request:
	// a revoked, idle or too old session, or a user no longer ACTIVE, is
	// EUNAUTHORIZED at once, not at token expiry.
	Authenticate(ctx context.Context, accessToken string) (*Caller, error)
	// Logout ends the caller's session.
	Logout(ctx context.Context) error
	// ChangePassword checks the current password, sets the new one and ends
	// every session of the caller. Errors: EINVALID, EUNAUTHORIZED.
	ChangePassword(ctx context.Context, current, next string) error
	// EnrolTOTP starts enrolling a second factor for the caller. Replacing
	// a confirmed one needs the current password, so that a stolen session
	// cannot swap in the thief's authenticator. Errors: EINVALID
	// (current_password missing or wrong).
	EnrolTOTP(ctx context.Context, currentPassword string) (*TOTPEnrolment, error)
	// ConfirmTOTP confirms the pending second factor with a code from it.
	// Errors: EINVALID (wrong code, nothing pending).
	ConfirmTOTP(ctx context.Context, code string) error
}

// TokenIssuer makes and checks access and refresh tokens.
type TokenIssuer interface {
	IssueAccess(userID string, role Role, sessionID string) (token string, expiresAt time.Time, err error)
	// VerifyAccess errors: EUNAUTHORIZED.
	VerifyAccess(token string) (*AccessClaims, error)
	// NewRefresh returns a fresh refresh token and the hash to store.
	NewRefresh() (token, hash string)
	HashRefresh(token string) string
}

// PasswordHasher hashes passwords under medrec's password policy.
type PasswordHasher interface {
	// Hash errors: EINVALID naming the field "password" when the policy refuses it.
	Hash(password string) (string, error)
	Check(hash, password string) (bool, error)
	// Burn spends as long as Check does, for sign-ins with an unknown email.
	Burn(password string)
}

// SecondFactor creates and checks TOTP secrets.
type SecondFactor interface {
	NewSecret(account string) (secret, uri string)
	// Verify accepts a code of the current step (or one step either side)
	// newer than lastStep, and returns the step it matched.
	Verify(secret, code string, lastStep int64) (step int64, ok bool)
}
