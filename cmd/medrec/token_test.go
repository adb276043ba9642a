package main

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"medrec"
	"medrec/internal/auth"
)

// TestForgedTokensAreRefused sends, through HTTP, tokens for a live session
// of a real user that are wrong in one way each; every one must get 401.
func TestForgedTokensAreRefused(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	env := bootAPI(t, map[string]string{"MEDREC_DATA_DIR": dataDir})
	env.createUser("target@example.org", "NURSE")
	good := env.login("target@example.org", fixturePassword).Access
	if got := env.call("GET", "/api/v1/me", good, nil).status; got != 200 {
		t.Fatalf("the genuine token: %d", got)
	}

	key, err := auth.LoadOrCreateSigningKey(filepath.Join(dataDir, "jwt-signing-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pub := key.Public().(ed25519.PublicKey)
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	// The genuine claims, to re-sign or tamper with.
	parts := strings.Split(good, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	b64 := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	hs256 := func(secret []byte, c map[string]any) string {
		signing := b64(map[string]string{"alg": "HS256", "typ": "JWT"}) + "." + b64(c)
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(signing))
		return signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	}
	with := func(change func(map[string]any)) map[string]any {
		c := map[string]any{}
		for k, v := range claims {
			c[k] = v
		}
		change(c)
		return c
	}
	signEd := func(c map[string]any) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims(c)).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	reissue := func(issuer, audience string, now time.Time) string {
		ti, err := auth.NewTokenIssuer(key, issuer, audience, time.Minute, func() time.Time { return now })
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := ti.Issue(claims["sub"].(string), medrec.RoleNurse, claims["sid"].(string))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	_, otherKey, _ := ed25519.GenerateKey(nil)

	for name, token := range map[string]string{
		"AlgNone":            b64(map[string]string{"alg": "none", "typ": "JWT"}) + "." + parts[1] + ".",
		"HS256WithPublicKey": hs256(pub, claims),
		"HS256WithPublicPEM": hs256(pubPEM, claims),
		"OtherKey": func() string {
			s, _ := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims(claims)).SignedString(otherKey)
			return s
		}(),
		"EditedClaims":  parts[0] + "." + b64(with(func(c map[string]any) { c["role"] = "ADMIN" })) + "." + parts[2],
		"MissingExp":    signEd(with(func(c map[string]any) { delete(c, "exp") })),
		"PastExp":       reissue(tokenIssuerName, tokenAudience, time.Now().Add(-time.Hour)),
		"WrongIssuer":   reissue("someone-else", tokenAudience, time.Now()),
		"WrongAudience": reissue(tokenIssuerName, "another-api", time.Now()),
		"MissingSid":    signEd(with(func(c map[string]any) { delete(c, "sid") })),
		"Garbage":       "not.a.token",
	} {
		t.Run(name, func(t *testing.T) {
			if got := env.call("GET", "/api/v1/me", token, nil).status; got != 401 {
				t.Fatalf("status %d, want 401", got)
			}
		})
	}
	// The same key and claims, signed properly, still work: the refusals
	// above are about what each token got wrong, not about the harness.
	if got := env.call("GET", "/api/v1/me", signEd(claims), nil).status; got != 200 {
		t.Fatalf("re-signed genuine claims: %d, want 200", got)
	}
}

// TestTokensCarryTheWholeUser checks that login and refresh answer with the
// same user object GET /api/v1/me returns, as api.md's "objects carry ...
// the same objects its own route returns" asks: they used to leave out the
// timestamps, and refresh the email too.
func TestTokensCarryTheWholeUser(t *testing.T) {
	t.Parallel()
	env := bootAPI(t, nil)
	env.createUser("whole@example.org", "NURSE")
	login := env.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "whole@example.org", "password": fixturePassword})
	var first struct {
		Access  string          `json:"access_token"`
		Refresh string          `json:"refresh_token"`
		User    json.RawMessage `json:"user"`
	}
	login.json(t, &first)
	var me json.RawMessage
	env.call("GET", "/api/v1/me", first.Access, nil).json(t, &me)
	if string(first.User) != string(me) {
		t.Errorf("login user %s, want /me's %s", first.User, me)
	}
	var second struct {
		User json.RawMessage `json:"user"`
	}
	env.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": first.Refresh}).json(t, &second)
	if string(second.User) != string(me) {
		t.Errorf("refresh user %s, want /me's %s", second.User, me)
	}
}
