package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"medrec"
)

// MaxAccessTokenBytes bounds the size of a token Verify will look at. Ours
// are a few hundred bytes; refusing anything larger before base64 and JSON
// decoding keeps a hostile Authorization header from costing memory or CPU.
const MaxAccessTokenBytes = 4 << 10

// clockLeeway absorbs clock skew between the replicas that issue and verify
// tokens. It is kept to seconds: every second of leeway is a second an
// expired token still works.
const clockLeeway = 5 * time.Second

// accessTokenMessage is the one message every Verify failure carries. The
// reason (expired, bad signature, wrong audience...) goes to Err for the
// logs only: telling the caller which check failed helps an attacker tune a
// forgery and tells a legitimate client nothing it can act on beyond "log in
// or refresh again".
const accessTokenMessage = "the access token is missing, invalid or expired"

// AccessClaims is what a verified access token says about its bearer. It is
// a plain struct, not the JWT library's, so that callers do not depend on
// github.com/golang-jwt/jwt.
type AccessClaims struct {
	UserID    string      // sub
	Role      medrec.Role // role, as it was when the token was issued
	SessionID string      // sid: the server-side session; revoking it ends the token's use
	TokenID   string      // jti: unique per token, for logs and deny-lists
	IssuedAt  time.Time   // iat
	ExpiresAt time.Time   // exp
}

// accessTokenClaims is the token's JSON payload. Role is a plain string so
// that an unknown role decodes and is then refused by Verify, rather than
// depending on how medrec.Role would unmarshal.
type accessTokenClaims struct {
	Role      string `json:"role"`
	SessionID string `json:"sid"`
	jwt.RegisteredClaims
}

// TokenIssuer issues and verifies medrec's access tokens: short-lived JWTs
// signed with Ed25519. It is safe for concurrent use.
//
// A token is a bearer credential that is not looked up on every request, so
// it is kept short-lived (ttl) and carries the session id: the HTTP layer
// must still check that the session is live and the user ACTIVE, so that a
// logout or a suspension takes effect before the token expires (the access
// model requires it on the next request).
type TokenIssuer struct {
	key      ed25519.PrivateKey
	public   ed25519.PublicKey
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time
	parser   *jwt.Parser
}

// NewTokenIssuer returns a TokenIssuer that signs with key, names issuer
// and audience in every token and checks both on the way back, and makes
// tokens valid for ttl. now is the clock used both to stamp and to check
// tokens; nil means time.Now. The error reports a configuration mistake
// (wrong key size, empty issuer or audience, non-positive ttl).
func NewTokenIssuer(key ed25519.PrivateKey, issuer, audience string, ttl time.Duration, now func() time.Time) (*TokenIssuer, error) {
	switch {
	case len(key) != ed25519.PrivateKeySize:
		return nil, fmt.Errorf("token issuer: signing key must be a %d-byte Ed25519 private key", ed25519.PrivateKeySize)
	case issuer == "":
		return nil, errors.New("token issuer: issuer must not be empty")
	case audience == "":
		return nil, errors.New("token issuer: audience must not be empty")
	case ttl <= 0:
		return nil, errors.New("token issuer: ttl must be positive")
	}
	if now == nil {
		now = time.Now
	}
	// Copy the key so that a caller who later zeroes or reuses its slice
	// cannot change what we sign with.
	key = append(ed25519.PrivateKey(nil), key...)
	ti := &TokenIssuer{
		key:      key,
		public:   key.Public().(ed25519.PublicKey),
		issuer:   issuer,
		audience: audience,
		ttl:      ttl,
		now:      now,
	}
	ti.parser = jwt.NewParser(
		// Pin the one algorithm we sign with. This is what stops "alg: none"
		// and the HS256-with-the-public-key confusion attack: the header's
		// alg is attacker-controlled and must never choose the verifier.
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience), // also makes aud mandatory
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(), // refuse tokens stamped in the future
		jwt.WithLeeway(clockLeeway),
		jwt.WithTimeFunc(now),
		// Refuse non-canonical base64, so one token has one spelling (no
		// malleable variants slipping past a deny-list keyed on the string).
		jwt.WithStrictDecoding(),
	)
	return ti, nil
}

// PublicKey returns the key tokens are verified with, for publishing to
// other services that need to check medrec's tokens.
func (ti *TokenIssuer) PublicKey() ed25519.PublicKey {
	return append(ed25519.PublicKey(nil), ti.public...)
}

// Issue returns a signed access token for userID acting as role within
// sessionID, and when it expires. The error is an EINTERNAL *medrec.Error:
// empty ids or an invalid role are a bug in the caller, not bad input.
func (ti *TokenIssuer) Issue(userID string, role medrec.Role, sessionID string) (token string, expiresAt time.Time, err error) {
	switch {
	case userID == "":
		return "", time.Time{}, internalError(errors.New("issue access token: empty user id"))
	case sessionID == "":
		return "", time.Time{}, internalError(errors.New("issue access token: empty session id"))
	case !role.Valid():
		return "", time.Time{}, internalError(fmt.Errorf("issue access token: invalid role %q", role))
	}
	// JWT times are whole seconds; truncating here makes the expiresAt we
	// return (expires_in in the login response) exactly what the token says.
	issuedAt := ti.now().Truncate(time.Second)
	expiresAt = issuedAt.Add(ti.ttl).Truncate(time.Second)
	claims := accessTokenClaims{
		Role:      string(role),
		SessionID: sessionID,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    ti.issuer,
			Subject:   userID,
			Audience:  jwt.ClaimStrings{ti.audience},
			IssuedAt:  jwt.NewNumericDate(issuedAt),
			ExpiresAt: jwt.NewNumericDate(expiresAt),
			// A random id makes every token unique even when two are issued
			// for the same session in the same second.
			ID: rand.Text(),
		},
	}
	token, err = jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims).SignedString(ti.key)
	if err != nil {
		return "", time.Time{}, internalError(fmt.Errorf("sign access token: %w", err))
	}
	return token, expiresAt, nil
}

// Verify checks token's signature, algorithm, issuer, audience, expiry and
// issue time, and that it names a user, a session and a valid role. Every
// failure is a *medrec.Error with code EUNAUTHORIZED and the same message;
// the reason is in its Err, for logs.
//
// Verify does not know whether the session was revoked or the user
// suspended since the token was issued: the caller checks that.
func (ti *TokenIssuer) Verify(token string) (*AccessClaims, error) {
	if token == "" {
		return nil, unauthorized(errors.New("empty access token"))
	}
	if len(token) > MaxAccessTokenBytes {
		return nil, unauthorized(fmt.Errorf("access token of %d bytes is over the %d-byte limit", len(token), MaxAccessTokenBytes))
	}
	var claims accessTokenClaims
	_, err := ti.parser.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		// WithValidMethods already refused other algorithms; checking the
		// method's identity again costs nothing and keeps this key from ever
		// being handed to another algorithm if the options are edited.
		if t.Method != jwt.SigningMethodEdDSA {
			return nil, fmt.Errorf("unexpected signing method %v", t.Header["alg"])
		}
		return ti.public, nil
	})
	if err != nil {
		return nil, unauthorized(fmt.Errorf("verify access token: %w", err))
	}
	// The library checks iat only when present; our tokens always carry it.
	switch {
	case claims.IssuedAt == nil:
		return nil, unauthorized(errors.New("verify access token: iat claim is required"))
	case claims.Subject == "":
		return nil, unauthorized(errors.New("verify access token: sub claim is required"))
	case claims.SessionID == "":
		return nil, unauthorized(errors.New("verify access token: sid claim is required"))
	case !medrec.Role(claims.Role).Valid():
		return nil, unauthorized(errors.New("verify access token: invalid role claim"))
	}
	return &AccessClaims{
		UserID:    claims.Subject,
		Role:      medrec.Role(claims.Role),
		SessionID: claims.SessionID,
		TokenID:   claims.ID,
		IssuedAt:  claims.IssuedAt.Time,
		ExpiresAt: claims.ExpiresAt.Time,
	}, nil
}

// unauthorized wraps a token failure in the generic EUNAUTHORIZED error.
func unauthorized(reason error) *medrec.Error {
	return &medrec.Error{Code: medrec.EUNAUTHORIZED, Message: accessTokenMessage, Err: reason}
}

// internalError wraps a failure that is a bug or an environment problem.
func internalError(err error) *medrec.Error {
	return &medrec.Error{Code: medrec.EINTERNAL, Message: "internal error", Err: err}
}
