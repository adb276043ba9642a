package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"medrec"
	"medrec/internal/postgres/internal/dbsqlc"
)

// AuthConfig is what AuthService needs besides the database: the crypto
// pieces (injected, so this adapter imports no other) and the session rules.
type AuthConfig struct {
	Tokens       medrec.TokenIssuer
	Hasher       medrec.PasswordHasher
	SecondFactor medrec.SecondFactor

	IdleTimeout     time.Duration // a session unused this long is over
	MaxSessionAge   time.Duration // a session this old is over, however busy
	MaxFailures     int           // consecutive failed sign-ins before LOCKED
	RequireAdminMFA bool          // an ADMIN without a confirmed second factor may only enrol one
}

// AuthService implements medrec.AuthService on PostgreSQL.
type AuthService struct {
	db  *DB
	cfg AuthConfig
}

var _ medrec.AuthService = (*AuthService)(nil)

// NewAuthService returns an AuthService.
func NewAuthService(db *DB, cfg AuthConfig) *AuthService {
	return &AuthService{db: db, cfg: cfg}
}

// errBadCredentials is the one answer to every failed sign-in.
var errBadCredentials = &medrec.Error{Code: medrec.EUNAUTHORIZED, Message: "invalid credentials"}

// errNotSignedIn is the one answer to every unusable token or session.
func errNotSignedIn(reason string) error {
	return &medrec.Error{Code: medrec.EUNAUTHORIZED, Message: "not signed in", Err: errors.New(reason)}
}

// Login checks the password (and the second factor once confirmed), counts
// failures towards the lockout, and opens a session. bcrypt runs outside any
// transaction so that slow hashing never holds a pooled connection.
func (s *AuthService) Login(ctx context.Context, c medrec.Credentials) (*medrec.Tokens, error) {
	q := dbsqlc.New(s.db.pool)
	u, err := q.UserForLogin(ctx, c.Email)
	if errors.Is(err, pgx.ErrNoRows) {
		s.cfg.Hasher.Burn(c.Password) // as slow as a wrong password
		return nil, errBadCredentials
	}
	if err != nil {
		return nil, fmt.Errorf("sign in: %w", translate(err))
	}
	ok, err := s.cfg.Hasher.Check(u.PasswordHash, c.Password)
	if err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	if !ok {
		return nil, s.loginFailed(ctx, u.ID)
	}
	if u.Status != string(medrec.UserActive) {
		return nil, errBadCredentials
	}
	if u.TotpConfirmedAt != nil {
		step, ok := s.cfg.SecondFactor.Verify(deref(u.TotpSecret), c.TOTPCode, u.TotpLastStep)
		if !ok {
			return nil, s.loginFailed(ctx, u.ID)
		}
		// Claim the step; a concurrent sign-in with the same code loses.
		if n, err := q.UserTOTPStepUsed(ctx, dbsqlc.UserTOTPStepUsedParams{ID: u.ID, Step: step}); err != nil {
			return nil, fmt.Errorf("sign in: %w", translate(err))
		} else if n == 0 {
			return nil, s.loginFailed(ctx, u.ID)
		}
	}
	mfaPending := s.cfg.RequireAdminMFA && u.Role == string(medrec.RoleAdmin) && u.TotpConfirmedAt == nil

	var sessionID, refresh string
	err = s.db.inTx(ctx, func(tx pgx.Tx) error {
		q := dbsqlc.New(tx)
		if err := q.UserLoginSucceeded(ctx, u.ID); err != nil {
			return translate(err)
		}
		if sessionID, err = q.SessionCreate(ctx, dbsqlc.SessionCreateParams{UserID: u.ID, MfaPending: mfaPending}); err != nil {
			return translate(err)
		}
		var hash string
		refresh, hash = s.cfg.Tokens.NewRefresh()
		return translate(q.RefreshTokenCreate(ctx, dbsqlc.RefreshTokenCreateParams{TokenHash: hash, SessionID: sessionID}))
	})
	if err != nil {
		return nil, fmt.Errorf("open session: %w", err)
	}
	user, err := s.signedInUser(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	return s.tokens(user, sessionID, refresh, mfaPending)
}

// signedInUser is the user a sign-in or refresh answers with: the same
// object GET /api/v1/me returns, read after the sign-in was recorded.
func (s *AuthService) signedInUser(ctx context.Context, id string) (*medrec.User, error) {
	row, err := dbsqlc.New(s.db.pool).UserGet(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("load signed-in user %s: %w", id, translate(err))
	}
	return &medrec.User{
		ID: row.ID, Email: row.Email, Role: medrec.Role(row.Role), Status: medrec.UserStatus(row.Status),
		DoctorID: row.DoctorID, MFAEnabled: row.MfaEnabled, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt,
	}, nil
}

// loginFailed counts a failure (locking the account at the limit; the
// users audit trigger records the change) and answers the one 401.
func (s *AuthService) loginFailed(ctx context.Context, userID string) error {
	if _, err := dbsqlc.New(s.db.pool).UserLoginFailed(ctx, dbsqlc.UserLoginFailedParams{
		ID: userID, MaxFailures: int32(s.cfg.MaxFailures),
	}); err != nil {
		return fmt.Errorf("count failed sign-in: %w", translate(err))
	}
	return errBadCredentials
}

func (s *AuthService) tokens(u *medrec.User, sessionID, refresh string, mfaPending bool) (*medrec.Tokens, error) {
	access, exp, err := s.cfg.Tokens.IssueAccess(u.ID, u.Role, sessionID)
	if err != nil {
		return nil, fmt.Errorf("issue access token: %w", err)
	}
	return &medrec.Tokens{AccessToken: access, ExpiresAt: exp, RefreshToken: refresh, User: u, MFAEnrolmentRequired: mfaPending}, nil
}

func (s *AuthService) idleSeconds() float64   { return s.cfg.IdleTimeout.Seconds() }
func (s *AuthService) maxAgeSeconds() float64 { return s.cfg.MaxSessionAge.Seconds() }

// Refresh spends a refresh token and hands out a new pair. A token already
// spent means it was copied: the whole session ends, for its thief and its
// owner alike.
func (s *AuthService) Refresh(ctx context.Context, refreshToken string) (*medrec.Tokens, error) {
	hash := s.cfg.Tokens.HashRefresh(refreshToken)
	var (
		result  *medrec.Tokens
		reused  bool
		user    medrec.User
		session string
		newTok  string
		pending bool
	)
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		q := dbsqlc.New(tx)
		rt, err := q.RefreshTokenForUpdate(ctx, dbsqlc.RefreshTokenForUpdateParams{
			TokenHash: hash, IdleSeconds: s.idleSeconds(), MaxAgeSeconds: s.maxAgeSeconds(),
		})
		if errors.Is(err, pgx.ErrNoRows) {
			return errNotSignedIn("unknown refresh token")
		}
		if err != nil {
			return translate(err)
		}
		if rt.UsedAt != nil {
			reused = true
			return translate(q.SessionRevoke(ctx, dbsqlc.SessionRevokeParams{ID: rt.SessionID, Reason: ptr("refresh_token_reused")}))
		}
		if !rt.Live || rt.Status != string(medrec.UserActive) {
			return errNotSignedIn("session over")
		}
		if err := q.RefreshTokenMarkUsed(ctx, hash); err != nil {
			return translate(err)
		}
		var newHash string
		newTok, newHash = s.cfg.Tokens.NewRefresh()
		if err := q.RefreshTokenCreate(ctx, dbsqlc.RefreshTokenCreateParams{TokenHash: newHash, SessionID: rt.SessionID}); err != nil {
			return translate(err)
		}
		if err := q.SessionTouch(ctx, rt.SessionID); err != nil {
			return translate(err)
		}
		user = medrec.User{ID: rt.UserID, Role: medrec.Role(rt.Role), Status: medrec.UserStatus(rt.Status)}
		session, pending = rt.SessionID, rt.MfaPending
		return nil
	})
	if err != nil {
		return nil, err
	}
	if reused {
		// Committed above: the revocation must stick even though this fails.
		return nil, errNotSignedIn("refresh token reused; session revoked")
	}
	full, err := s.signedInUser(ctx, user.ID)
	if err != nil {
		return nil, err
	}
	result, err = s.tokens(full, session, newTok, pending)
	return result, err
}

// Authenticate verifies the token's signature and claims, then asks the
// database whether its session is still live, by the database clock. The
// role comes from the database, not the token, so a role change can never
// be outrun by an old token.
func (s *AuthService) Authenticate(ctx context.Context, accessToken string) (*medrec.Caller, error) {
	claims, err := s.cfg.Tokens.VerifyAccess(accessToken)
	if err != nil {
		return nil, err
	}
	q := dbsqlc.New(s.db.pool)
	row, err := q.SessionForRequest(ctx, dbsqlc.SessionForRequestParams{
		SessionID: claims.SessionID, UserID: claims.UserID,
		IdleSeconds: s.idleSeconds(), MaxAgeSeconds: s.maxAgeSeconds(),
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNotSignedIn("no such session")
	}
	if err != nil {
		return nil, fmt.Errorf("check session: %w", translate(err))
	}
	if !row.Live || row.Status != string(medrec.UserActive) || row.Role != string(claims.Role) {
		return nil, errNotSignedIn("session over or user not active")
	}
	if row.Stale {
		// Written at most every 30 s per session: the idle limit needs no
		// finer grain, and most requests then cost no write at all.
		if err := q.SessionTouch(ctx, claims.SessionID); err != nil {
			return nil, fmt.Errorf("touch session: %w", translate(err))
		}
	}
	return &medrec.Caller{
		UserID: claims.UserID, Role: medrec.Role(row.Role), SessionID: claims.SessionID,
		DoctorID: row.DoctorID, MFAPending: row.MfaPending,
	}, nil
}

// Logout ends the caller's session.
func (s *AuthService) Logout(ctx context.Context) error {
	c := medrec.CallerFromContext(ctx)
	if c == nil {
		return errNotSignedIn("no caller")
	}
	if err := dbsqlc.New(s.db.pool).SessionRevoke(ctx, dbsqlc.SessionRevokeParams{ID: c.SessionID, Reason: ptr("logout")}); err != nil {
		return fmt.Errorf("sign out: %w", translate(err))
	}
	return nil
}

// ChangePassword checks the current password and sets the new one; the
// revoke_user_sessions trigger ends every session of the user with it.
func (s *AuthService) ChangePassword(ctx context.Context, current, next string) error {
	c := medrec.CallerFromContext(ctx)
	if c == nil {
		return errNotSignedIn("no caller")
	}
	q := dbsqlc.New(s.db.pool)
	hash, err := q.UserPasswordHash(ctx, c.UserID)
	if err != nil {
		return fmt.Errorf("change password: %w", translate(err))
	}
	ok, err := s.cfg.Hasher.Check(hash, current)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	if !ok {
		return medrec.Invalid(medrec.FieldError{Field: "current_password", Message: "is not the current password"})
	}
	newHash, err := s.cfg.Hasher.Hash(next)
	if err != nil {
		return renameField(err, "password", "new_password")
	}
	return s.db.inTx(ctx, func(tx pgx.Tx) error {
		return translate(dbsqlc.New(tx).UserSetPassword(ctx, dbsqlc.UserSetPasswordParams{ID: c.UserID, PasswordHash: newHash}))
	})
}

// EnrolTOTP stores a pending secret beside any confirmed one.
func (s *AuthService) EnrolTOTP(ctx context.Context, currentPassword string) (*medrec.TOTPEnrolment, error) {
	c := medrec.CallerFromContext(ctx)
	if c == nil {
		return nil, errNotSignedIn("no caller")
	}
	var (
		email, hash string
		confirmed   bool
	)
	if err := s.db.pool.QueryRow(ctx, `SELECT email, password_hash, totp_confirmed_at IS NOT NULL FROM users WHERE id = $1`,
		c.UserID).Scan(&email, &hash, &confirmed); err != nil {
		return nil, fmt.Errorf("enrol second factor: %w", translate(err))
	}
	if confirmed {
		badPassword := medrec.Invalid(medrec.FieldError{Field: "current_password",
			Message: "the current password is required to replace a confirmed second factor"})
		if currentPassword == "" {
			return nil, badPassword
		}
		ok, err := s.cfg.Hasher.Check(hash, currentPassword)
		if err != nil {
			return nil, fmt.Errorf("enrol second factor: %w", err)
		}
		if !ok {
			return nil, badPassword
		}
	}
	secret, uri := s.cfg.SecondFactor.NewSecret(email)
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		return translate(dbsqlc.New(tx).UserSetPendingTOTP(ctx, dbsqlc.UserSetPendingTOTPParams{ID: c.UserID, Secret: &secret}))
	})
	if err != nil {
		return nil, fmt.Errorf("enrol second factor: %w", err)
	}
	return &medrec.TOTPEnrolment{Secret: secret, OTPAuthURI: uri}, nil
}

// ConfirmTOTP makes the pending secret the user's second factor and lifts
// the session's enrol-only restriction.
func (s *AuthService) ConfirmTOTP(ctx context.Context, code string) error {
	c := medrec.CallerFromContext(ctx)
	if c == nil {
		return errNotSignedIn("no caller")
	}
	return s.db.inTx(ctx, func(tx pgx.Tx) error {
		q := dbsqlc.New(tx)
		pending, err := q.UserPendingTOTP(ctx, c.UserID)
		if err != nil {
			return translate(err)
		}
		if pending == nil {
			return medrec.Invalid(medrec.FieldError{Field: "totp_code", Message: "no second factor is being enrolled; start with POST /me/mfa/totp"})
		}
		step, ok := s.cfg.SecondFactor.Verify(*pending, code, 0)
		if !ok {
			return medrec.Invalid(medrec.FieldError{Field: "totp_code", Message: "is not the current code"})
		}
		if err := q.UserConfirmTOTP(ctx, dbsqlc.UserConfirmTOTPParams{ID: c.UserID, Step: step}); err != nil {
			return translate(err)
		}
		return translate(q.SessionClearMFAPending(ctx, c.SessionID))
	})
}

// renameField reports a policy error on the field the caller actually sent.
func renameField(err error, from, to string) error {
	var e *medrec.Error
	if !errors.As(err, &e) {
		return err
	}
	out := *e
	out.Fields = nil
	for _, f := range e.Fields {
		if f.Field == from {
			f.Field = to
		}
		out.Fields = append(out.Fields, f)
	}
	return &out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func ptr[T any](v T) *T { return &v }
