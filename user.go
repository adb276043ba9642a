package medrec

import (
	"context"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// UserStatus is a user's status (users.status).
type UserStatus string

// The statuses of the spec's users.status CHECK constraint.
const (
	UserActive    UserStatus = "ACTIVE"
	UserSuspended UserStatus = "SUSPENDED"
	UserLocked    UserStatus = "LOCKED"
)

// User is a person who signs in to medrec. Its password hash never leaves
// the database adapter.
type User struct {
	ID       string     `json:"id"`
	Email    string     `json:"email"`
	Role     Role       `json:"role"`
	Status   UserStatus `json:"status"`
	DoctorID string     `json:"doctor_id,omitempty"` // the linked doctor record of a CLINICIAN
	// MFAEnabled: a second factor is confirmed and required at sign-in.
	MFAEnabled bool      `json:"mfa_enabled"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Valid reports whether s is one of the spec's user statuses.
func (s UserStatus) Valid() bool {
	return s == UserActive || s == UserSuspended || s == UserLocked
}

// UserFilter selects users for a list; nil fields do not filter.
type UserFilter struct {
	Role   *Role
	Status *UserStatus
	Page
}

// UserUpdate changes a user's role or status; nil fields stay as they are.
type UserUpdate struct {
	Role   *Role
	Status *UserStatus
}

// Validate checks the fields that are set.
func (u *UserUpdate) Validate() error {
	var fields []FieldError
	if u.Role != nil && !u.Role.Valid() {
		fields = append(fields, FieldError{Field: "role", Message: "must be one of ADMIN, CLINICIAN, NURSE, RECEPTIONIST"})
	}
	if u.Status != nil && !u.Status.Valid() {
		fields = append(fields, FieldError{Field: "status", Message: "must be one of ACTIVE, SUSPENDED, LOCKED"})
	}
	if u.Role == nil && u.Status == nil {
		fields = append(fields, FieldError{Field: "role", Message: "give role or status to change"})
	}
	if len(fields) > 0 {
		return Invalid(fields...)
	}
	return nil
}

// Password limits. bcrypt reads only the first 72 bytes, so a longer
// password is refused rather than silently truncated.
const (
	PasswordMinChars = 12
	PasswordMaxBytes = 72
)

// maxEmailLen is the spec's VARCHAR(255) on users.email.
const maxEmailLen = 255

// NewUser is what it takes to create a user. The password is hashed by the
// caller before the user reaches storage.
type NewUser struct {
	Email    string
	Password string
	Role     Role
}

// Validate checks every field and reports all problems at once.
func (u *NewUser) Validate() error {
	var fields []FieldError
	if f := validateEmail("email", u.Email); f != nil {
		fields = append(fields, *f)
	}
	if f := ValidatePassword("password", u.Password); f != nil {
		fields = append(fields, *f)
	}
	if !u.Role.Valid() {
		fields = append(fields, FieldError{Field: "role", Message: "must be one of ADMIN, CLINICIAN, NURSE, RECEPTIONIST"})
	}
	if len(fields) > 0 {
		return Invalid(fields...)
	}
	return nil
}

// ValidatePassword checks a new password against medrec's password policy
// and names field in the error it returns.
func ValidatePassword(field, password string) *FieldError {
	switch {
	case len(password) > PasswordMaxBytes:
		return &FieldError{Field: field, Message: "must be at most 72 bytes"}
	case utf8.RuneCountInString(password) < PasswordMinChars:
		return &FieldError{Field: field, Message: "must be at least 12 characters"}
	}
	return nil
}

// validateEmail accepts one bare address (no display name) of at most 255 bytes.
func validateEmail(field, email string) *FieldError {
	if email == "" {
		return &FieldError{Field: field, Message: "is required"}
	}
	if len(email) > maxEmailLen {
		return &FieldError{Field: field, Message: "must be at most 255 characters"}
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || strings.ContainsAny(email, " \t\r\n") {
		return &FieldError{Field: field, Message: "must be a valid email address"}
	}
	return nil
}

// UserService manages users.
type UserService interface {
	// CreateUser stores a new user with an already hashed password.
	// Errors: EINVALID, ECONFLICT (the email is taken, whatever its case).
	CreateUser(ctx context.Context, u NewUser, passwordHash string) (*User, error)

	// CreateFirstAdmin creates an ADMIN only when no user exists yet, and
	// reports whether it did. hash is called only then, so a start with users
	// already present costs no bcrypt work. Safe when several processes start
	// at once.
	CreateFirstAdmin(ctx context.Context, email string, hash func() (string, error)) (created bool, err error)

	// FindUserByID returns one user. Errors: ENOTFOUND.
	FindUserByID(ctx context.Context, id string) (*User, error)

	// FindUsers lists users, newest first, and the cursor of the next page
	// ("" on the last). Errors: EINVALID (bad cursor or limit).
	FindUsers(ctx context.Context, f UserFilter) ([]*User, string, error)

	// UpdateUser changes a user's role or status; that ends the user's
	// sessions. Nobody changes their own. A non-nil ifMatch is the
	// updated_at the caller last saw (If-Match): the update happens only
	// if the user is still that version. Errors: EINVALID, ENOTFOUND,
	// EFORBIDDEN (one's own account), EPRECONDITION (ifMatch is stale).
	UpdateUser(ctx context.Context, id string, u UserUpdate, ifMatch *time.Time) (*User, error)
}
