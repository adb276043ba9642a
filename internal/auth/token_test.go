package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"medrec"
)

const (
	testIssuer   = "https://medrec.test"
	testAudience = "medrec-api"
	testTTL      = 15 * time.Minute
)

// testClock is a settable clock, safe to read from the issuer while a test
// moves it.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock(t time.Time) *testClock { return &testClock{now: t} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type tokenBundle struct {
	issuer *TokenIssuer
	key    ed25519.PrivateKey
	clock  *testClock
}

func setupTokens(t *testing.T) tokenBundle {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	clock := newTestClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	issuer, err := NewTokenIssuer(key, testIssuer, testAudience, testTTL, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return tokenBundle{issuer: issuer, key: key, clock: clock}
}

// validClaims returns the claims of a token Verify accepts at now, as a map
// that a test can spoil one field at a time.
func validClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"sub":  "user-1",
		"role": "NURSE",
		"sid":  "session-1",
		"iss":  testIssuer,
		"aud":  testAudience,
		"iat":  now.Unix(),
		"exp":  now.Add(testTTL).Unix(),
		"jti":  "jti-1",
	}
}

func sign(t *testing.T, method jwt.SigningMethod, claims jwt.MapClaims, key any) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func b64(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func wantUnauthorized(t *testing.T, claims *AccessClaims, err error) {
	t.Helper()
	if claims != nil {
		t.Fatalf("claims = %+v, want nil", claims)
	}
	var e *medrec.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want *medrec.Error", err, err)
	}
	if e.Code != medrec.EUNAUTHORIZED {
		t.Fatalf("code = %q, want %q (err %v)", e.Code, medrec.EUNAUTHORIZED, err)
	}
	if e.Message != accessTokenMessage {
		t.Fatalf("message = %q, want the generic %q", e.Message, accessTokenMessage)
	}
	if e.Err == nil {
		t.Fatal("no reason in Err for the logs")
	}
}

func TestTokenRoundTrip(t *testing.T) {
	t.Parallel()
	b := setupTokens(t)

	token, expiresAt, err := b.issuer.Issue("user-42", medrec.RoleClinician, "session-7")
	if err != nil {
		t.Fatal(err)
	}
	if want := b.clock.Now().Add(testTTL); !expiresAt.Equal(want) {
		t.Fatalf("expiresAt = %v, want %v", expiresAt, want)
	}
	got, err := b.issuer.Verify(token)
	if err != nil {
		t.Fatal(err)
	}
	want := AccessClaims{
		UserID:    "user-42",
		Role:      medrec.RoleClinician,
		SessionID: "session-7",
		TokenID:   got.TokenID,
		IssuedAt:  b.clock.Now(),
		ExpiresAt: expiresAt,
	}
	if got.UserID != want.UserID || got.Role != want.Role || got.SessionID != want.SessionID ||
		!got.IssuedAt.Equal(want.IssuedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Fatalf("claims = %+v, want %+v", *got, want)
	}
	if got.TokenID == "" {
		t.Fatal("empty jti")
	}

	// The header names EdDSA and the payload carries exactly our claims.
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	var header map[string]any
	raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if err := json.Unmarshal(raw, &header); err != nil {
		t.Fatal(err)
	}
	if header["alg"] != "EdDSA" {
		t.Fatalf("alg = %v, want EdDSA", header["alg"])
	}
	var payload map[string]any
	raw, _ = base64.RawURLEncoding.DecodeString(parts[1])
	if err := json.Unmarshal(raw, &payload); err != nil {
		t.Fatal(err)
	}
	for _, claim := range []string{"sub", "role", "sid", "iss", "aud", "iat", "exp", "jti"} {
		if _, ok := payload[claim]; !ok {
			t.Fatalf("payload %v lacks %q", payload, claim)
		}
	}
}

func TestTokenIDsAreUnique(t *testing.T) {
	t.Parallel()
	b := setupTokens(t)
	seen := map[string]bool{}
	for range 100 {
		token, _, err := b.issuer.Issue("user-1", medrec.RoleNurse, "session-1")
		if err != nil {
			t.Fatal(err)
		}
		c, err := b.issuer.Verify(token)
		if err != nil {
			t.Fatal(err)
		}
		if seen[c.TokenID] {
			t.Fatalf("jti %q repeated", c.TokenID)
		}
		seen[c.TokenID] = true
	}
}

func TestTokenVerifyRejects(t *testing.T) {
	t.Parallel()
	b := setupTokens(t)
	now := b.clock.Now()
	public := b.key.Public().(ed25519.PublicKey)

	_, otherKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	publicDER, err := x509.MarshalPKIXPublicKey(public)
	if err != nil {
		t.Fatal(err)
	}
	publicPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: publicDER})

	// without returns valid claims minus some, signed with the right key:
	// only the missing claims can be why it is refused.
	without := func(names ...string) string {
		c := validClaims(now)
		for _, n := range names {
			delete(c, n)
		}
		return sign(t, jwt.SigningMethodEdDSA, c, b.key)
	}
	with := func(name string, value any) string {
		c := validClaims(now)
		c[name] = value
		return sign(t, jwt.SigningMethodEdDSA, c, b.key)
	}

	// Edited claims: a NURSE token whose payload is rewritten to ADMIN
	// while its signature is kept.
	nurse, _, err := b.issuer.Issue("user-1", medrec.RoleNurse, "session-1")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(nurse, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var payload map[string]any
	if err := json.Unmarshal(raw, &payload); err != nil {
		t.Fatal(err)
	}
	payload["role"] = "ADMIN"
	edited := parts[0] + "." + b64(payload) + "." + parts[2]

	for _, tc := range []struct {
		name  string
		token string
	}{
		{"AlgNone", b64(map[string]string{"alg": "none", "typ": "JWT"}) + "." + b64(validClaims(now)) + "."},
		{"AlgNoneCapitalized", b64(map[string]string{"alg": "None", "typ": "JWT"}) + "." + b64(validClaims(now)) + "."},
		{"OtherEd25519Key", sign(t, jwt.SigningMethodEdDSA, validClaims(now), otherKey)},
		{"HS256WithPublicKeyBytes", sign(t, jwt.SigningMethodHS256, validClaims(now), []byte(public))},
		{"HS256WithPublicKeyPEM", sign(t, jwt.SigningMethodHS256, validClaims(now), publicPEM)},
		{"HS256WithPublicKeyDER", sign(t, jwt.SigningMethodHS256, validClaims(now), publicDER)},
		{"RS256", sign(t, jwt.SigningMethodRS256, validClaims(now), rsaKey)},
		{"ES256", sign(t, jwt.SigningMethodES256, validClaims(now), ecKey)},
		{"MissingExp", without("exp")},
		{"ExpInThePast", with("exp", now.Add(-time.Minute).Unix())},
		{"IatInTheFuture", with("iat", now.Add(time.Minute).Unix())},
		{"MissingIat", without("iat")},
		{"WrongIss", with("iss", "https://evil.test")},
		{"MissingIss", without("iss")},
		{"WrongAud", with("aud", "another-service")},
		{"WrongAudInList", with("aud", []string{"another-service", "a-third"})},
		{"MissingAud", without("aud")},
		{"EmptyAud", with("aud", "")},
		{"EditedRole", edited},
		{"MissingSub", without("sub")},
		{"EmptySub", with("sub", "")},
		{"MissingSid", without("sid")},
		{"EmptySid", with("sid", "")},
		{"UnknownRole", with("role", "SUPERUSER")},
		{"LowerCaseRole", with("role", "admin")},
		{"MissingRole", without("role")},
		{"RoleOfWrongType", with("role", 1)},
		{"ExpOfWrongType", with("exp", "tomorrow")},
		{"NotBeforeInTheFuture", with("nbf", now.Add(time.Hour).Unix())},
		{"Garbage", "this is not a token"},
		{"GarbageWithDots", "a.b.c"},
		{"TwoParts", parts[0] + "." + parts[1]},
		{"SignatureStripped", parts[0] + "." + parts[1] + "."},
		{"Empty", ""},
		{"Oversized", parts[0] + "." + strings.Repeat("A", MaxAccessTokenBytes) + "." + parts[2]},
		// Correctly signed, so only its size can be why it is refused.
		{"OversizedButValidlySigned", with("pad", strings.Repeat("x", MaxAccessTokenBytes))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			claims, err := b.issuer.Verify(tc.token)
			wantUnauthorized(t, claims, err)
		})
	}
}

// TestTokenVerifyAcceptsHandMadeToken shows that the claims validClaims
// builds pass, so each rejection above is down to the one spoiled field.
func TestTokenVerifyAcceptsHandMadeToken(t *testing.T) {
	t.Parallel()
	b := setupTokens(t)
	now := b.clock.Now()

	for _, tc := range []struct {
		name   string
		spoil  func(jwt.MapClaims)
		wantOK bool
	}{
		{"OK", func(jwt.MapClaims) {}, true},
		{"OKAudInList", func(c jwt.MapClaims) { c["aud"] = []string{"another-service", testAudience} }, true},
		{"OKIatWithinLeeway", func(c jwt.MapClaims) { c["iat"] = now.Add(clockLeeway - time.Second).Unix() }, true},
		{"ErrIatBeyondLeeway", func(c jwt.MapClaims) { c["iat"] = now.Add(clockLeeway + time.Second).Unix() }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := validClaims(now)
			tc.spoil(c)
			got, err := b.issuer.Verify(sign(t, jwt.SigningMethodEdDSA, c, b.key))
			if tc.wantOK {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if got.UserID != "user-1" || got.Role != medrec.RoleNurse || got.SessionID != "session-1" {
					t.Fatalf("claims = %+v", *got)
				}
				return
			}
			wantUnauthorized(t, got, err)
		})
	}
}

func TestTokenExpiryFollowsTheInjectedClock(t *testing.T) {
	t.Parallel()
	b := setupTokens(t)
	token, _, err := b.issuer.Issue("user-1", medrec.RoleAdmin, "session-1")
	if err != nil {
		t.Fatal(err)
	}

	b.clock.Advance(testTTL - time.Second)
	if _, err := b.issuer.Verify(token); err != nil {
		t.Fatalf("a second before exp: %v", err)
	}
	b.clock.Advance(time.Second + clockLeeway)
	claims, err := b.issuer.Verify(token)
	wantUnauthorized(t, claims, err)
}

func TestTokenIssueRefusesBadInput(t *testing.T) {
	t.Parallel()
	b := setupTokens(t)
	for _, tc := range []struct {
		name, user, session string
		role                medrec.Role
	}{
		{"ErrEmptyUser", "", "s", medrec.RoleNurse},
		{"ErrEmptySession", "u", "", medrec.RoleNurse},
		{"ErrUnknownRole", "u", "s", "ROOT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			token, _, err := b.issuer.Issue(tc.user, tc.role, tc.session)
			if got := medrec.ErrorCode(err); got != medrec.EINTERNAL {
				t.Fatalf("code = %q, want %q", got, medrec.EINTERNAL)
			}
			if token != "" {
				t.Fatalf("token = %q, want none", token)
			}
		})
	}
}

func TestNewTokenIssuerRefusesBadConfig(t *testing.T) {
	t.Parallel()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		key      ed25519.PrivateKey
		iss, aud string
		ttl      time.Duration
	}{
		{"ErrShortKey", key[:32], testIssuer, testAudience, testTTL},
		{"ErrNoIssuer", key, "", testAudience, testTTL},
		{"ErrNoAudience", key, testIssuer, "", testTTL},
		{"ErrZeroTTL", key, testIssuer, testAudience, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := NewTokenIssuer(tc.key, tc.iss, tc.aud, tc.ttl, nil); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}
