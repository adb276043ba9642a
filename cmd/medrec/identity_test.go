package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"medrec"
	"medrec/internal/auth"
)

// problemBody is a problem+json body without what differs per request.
func problemBody(t *testing.T, r response) map[string]any {
	t.Helper()
	var p map[string]any
	r.json(t, &p)
	delete(p, "request_id")
	delete(p, "instance")
	return p
}

func TestLoginFailuresLookAlike(t *testing.T) {
	t.Parallel()
	env := bootAPI(t, nil)
	env.createUser("real@example.org", "NURSE")

	unknown := env.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "nobody@example.org", "password": "whatever it is here"})
	wrong := env.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "real@example.org", "password": "whatever it is here"})
	if unknown.status != http.StatusUnauthorized || wrong.status != http.StatusUnauthorized {
		t.Fatalf("statuses %d and %d, want 401 for both", unknown.status, wrong.status)
	}
	u, w := problemBody(t, unknown), problemBody(t, wrong)
	if len(u) == 0 || strings.Join(keys(u), ",") != strings.Join(keys(w), ",") || u["detail"] != w["detail"] || u["title"] != w["title"] || u["type"] != w["type"] {
		t.Fatalf("unknown email and wrong password differ:\n %v\n %v", u, w)
	}
}

func keys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

func TestLockoutAfterFiveFailuresAndUnlockByAdmin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := bootAPI(t, nil)
	victim := env.createUser("victim@example.org", "CLINICIAN")
	env.createUser("it.admin@example.org", "ADMIN")
	admin := env.login("it.admin@example.org", fixturePassword)

	for i := 0; i < 5; i++ {
		r := env.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "victim@example.org", "password": "not the password!"})
		if r.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, r.status)
		}
	}
	// Locked: even the right password now gets the same 401.
	if r := env.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "victim@example.org", "password": fixturePassword}); r.status != http.StatusUnauthorized {
		t.Fatalf("locked account signed in: %d", r.status)
	}
	var status string
	var audited int
	conn := env.ownerConn()
	if err := conn.QueryRow(ctx, `SELECT status FROM users WHERE id = $1`, victim).Scan(&status); err != nil || status != "LOCKED" {
		t.Fatalf("status after 5 failures = %q (%v), want LOCKED", status, err)
	}
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE table_name = 'users' AND record_id = $1
		AND action = 'UPDATE' AND old_values->>'status' = 'ACTIVE' AND new_values->>'status' = 'LOCKED'`, victim).Scan(&audited); err != nil || audited != 1 {
		t.Fatalf("audit rows of the lock = %d (%v), want 1", audited, err)
	}

	if r := env.call("PATCH", "/api/v1/users/"+victim, admin.Access, map[string]string{"status": "ACTIVE"}); r.status != http.StatusOK {
		t.Fatalf("unlock: %d %s", r.status, r.body)
	}
	env.login("victim@example.org", fixturePassword)
}

func TestLoginThrottledPerAddressWithoutLockingTheAccount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := bootAPI(t, map[string]string{"MEDREC_LOGIN_THROTTLE": "3"})
	id := env.createUser("busy@example.org", "NURSE")
	for i := 0; i < 3; i++ {
		env.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "someone" + string(rune('a'+i)) + "@example.org", "password": "guessing passwords"})
	}
	r := env.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "busy@example.org", "password": fixturePassword})
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || r.header.Get("Retry-After") == "0" {
		t.Fatalf("after 3 failures from one address: %d, Retry-After %q; want 429 with a wait", r.status, r.header.Get("Retry-After"))
	}
	// Throttled attempts never reach the account: it is neither locked nor counted.
	var status string
	var failures int
	if err := env.ownerConn().QueryRow(ctx, `SELECT status, failed_login_count FROM users WHERE id = $1`, id).Scan(&status, &failures); err != nil {
		t.Fatal(err)
	}
	if status != "ACTIVE" || failures != 0 {
		t.Fatalf("throttled account: status %s, failures %d; want ACTIVE, 0", status, failures)
	}
}

func TestTokensStopWorkingOnTheNextRequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := bootAPI(t, nil)
	env.createUser("boss@example.org", "ADMIN")
	boss := env.login("boss@example.org", fixturePassword)
	me := func(token string) int { return env.call("GET", "/api/v1/me", token, nil).status }

	t.Run("Logout", func(t *testing.T) {
		env.createUser("leaver@example.org", "NURSE")
		tok := env.login("leaver@example.org", fixturePassword)
		if me(tok.Access) != 200 {
			t.Fatal("fresh token refused")
		}
		if r := env.call("POST", "/api/v1/auth/logout", tok.Access, nil); r.status != 204 {
			t.Fatalf("logout: %d", r.status)
		}
		if got := me(tok.Access); got != 401 {
			t.Fatalf("token after logout: %d, want 401", got)
		}
		if r := env.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": tok.Refresh}); r.status != 401 {
			t.Fatalf("refresh after logout: %d, want 401", r.status)
		}
	})
	t.Run("IdleSession", func(t *testing.T) {
		id := env.createUser("idle@example.org", "NURSE")
		tok := env.login("idle@example.org", fixturePassword)
		if _, err := env.ownerConn().Exec(ctx, `UPDATE sessions SET last_seen_at = now() - interval '16 minutes' WHERE user_id = $1`, id); err != nil {
			t.Fatal(err)
		}
		if got := me(tok.Access); got != 401 {
			t.Fatalf("token of a session idle 16 minutes: %d, want 401", got)
		}
	})
	t.Run("TooOldSession", func(t *testing.T) {
		id := env.createUser("old@example.org", "NURSE")
		tok := env.login("old@example.org", fixturePassword)
		if _, err := env.ownerConn().Exec(ctx, `UPDATE sessions SET created_at = now() - interval '13 hours' WHERE user_id = $1`, id); err != nil {
			t.Fatal(err)
		}
		if got := me(tok.Access); got != 401 {
			t.Fatalf("token of a 13-hour-old session: %d, want 401", got)
		}
	})
	for _, change := range []struct{ name, body string }{
		{"Suspended", `SUSPENDED`}, {"Locked", `LOCKED`},
	} {
		t.Run(change.name, func(t *testing.T) {
			email := strings.ToLower(change.name) + "@example.org"
			id := env.createUser(email, "NURSE")
			tok := env.login(email, fixturePassword)
			if r := env.call("PATCH", "/api/v1/users/"+id, boss.Access, map[string]string{"status": change.body}); r.status != 200 {
				t.Fatalf("set status: %d %s", r.status, r.body)
			}
			if got := me(tok.Access); got != 401 {
				t.Fatalf("token of a %s user: %d, want 401", change.body, got)
			}
		})
	}
	t.Run("RoleChanged", func(t *testing.T) {
		id := env.createUser("promoted@example.org", "NURSE")
		tok := env.login("promoted@example.org", fixturePassword)
		if r := env.call("PATCH", "/api/v1/users/"+id, boss.Access, map[string]string{"role": "CLINICIAN"}); r.status != 200 {
			t.Fatalf("change role: %d", r.status)
		}
		if got := me(tok.Access); got != 401 {
			t.Fatalf("token after a role change: %d, want 401", got)
		}
	})
	t.Run("PasswordChanged", func(t *testing.T) {
		env.createUser("changer@example.org", "NURSE")
		first := env.login("changer@example.org", fixturePassword)
		second := env.login("changer@example.org", fixturePassword)
		if r := env.call("PUT", "/api/v1/me/password", first.Access, map[string]string{
			"current_password": fixturePassword, "new_password": "a brand new passphrase"}); r.status != 204 {
			t.Fatalf("change password: %d %s", r.status, r.body)
		}
		if me(first.Access) != 401 || me(second.Access) != 401 {
			t.Fatal("a session outlived the password change")
		}
		env.login("changer@example.org", "a brand new passphrase")
	})
	t.Run("RefreshReuseRevokesTheSession", func(t *testing.T) {
		env.createUser("reuse@example.org", "NURSE")
		tok := env.login("reuse@example.org", fixturePassword)
		r := env.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": tok.Refresh})
		if r.status != 200 {
			t.Fatalf("first refresh: %d", r.status)
		}
		var rotated tokens
		r.json(t, &rotated)
		if rotated.Refresh == tok.Refresh || rotated.Access == "" {
			t.Fatal("refresh did not rotate the tokens")
		}
		if r := env.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": tok.Refresh}); r.status != 401 {
			t.Fatalf("reused refresh token: %d, want 401", r.status)
		}
		// The theft is detected: the rotated pair dies with the session.
		if got := me(rotated.Access); got != 401 {
			t.Fatalf("access token after refresh reuse: %d, want 401", got)
		}
		if r := env.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": rotated.Refresh}); r.status != 401 {
			t.Fatalf("rotated refresh token after reuse: %d, want 401", r.status)
		}
	})
	t.Run("ForeignKey", func(t *testing.T) {
		_, other, _ := ed25519.GenerateKey(rand.Reader)
		issuer, err := auth.NewTokenIssuer(other, tokenIssuerName, tokenAudience, time.Minute, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		var uid, sid string
		if err := env.ownerConn().QueryRow(ctx, `SELECT user_id, id FROM sessions WHERE revoked_at IS NULL LIMIT 1`).Scan(&uid, &sid); err != nil {
			t.Fatal(err)
		}
		forged, _, err := issuer.Issue(uid, medrec.RoleAdmin, sid)
		if err != nil {
			t.Fatal(err)
		}
		if got := me(forged); got != 401 {
			t.Fatalf("token signed by another key for a live session: %d, want 401", got)
		}
	})
}

func TestPasswordRules(t *testing.T) {
	t.Parallel()
	env := bootAPI(t, nil)
	env.createUser("pw.admin@example.org", "ADMIN")
	admin := env.login("pw.admin@example.org", fixturePassword)
	for _, tc := range []struct{ name, password string }{
		{"73Bytes", strings.Repeat("a", 70) + "bcd"},
		{"11Characters", "abcdefghijk"},
		{"Password", "password"},
		{"Common", "password1234"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			create := env.call("POST", "/api/v1/users", admin.Access, map[string]string{"email": "x" + tc.name + "@example.org", "password": tc.password, "role": "NURSE"})
			change := env.call("PUT", "/api/v1/me/password", admin.Access, map[string]string{"current_password": fixturePassword, "new_password": tc.password})
			for _, c := range []struct {
				r     response
				field string
			}{{create, "password"}, {change, "new_password"}} {
				if c.r.status != http.StatusBadRequest {
					t.Fatalf("status %d, want 400: %s", c.r.status, c.r.body)
				}
				var p struct {
					Errors []medrec.FieldError `json:"errors"`
				}
				c.r.json(t, &p)
				if len(p.Errors) != 1 || p.Errors[0].Field != c.field {
					t.Fatalf("errors %+v, want one naming %s", p.Errors, c.field)
				}
			}
		})
	}
}

func TestMassAssignmentRefused(t *testing.T) {
	t.Parallel()
	env := bootAPI(t, nil)
	id := env.createUser("sneaky@example.org", "NURSE")
	tok := env.login("sneaky@example.org", fixturePassword)
	r := env.call("PUT", "/api/v1/me/password", tok.Access, map[string]string{
		"current_password": fixturePassword, "new_password": "a sneaky passphrase", "role": "ADMIN"})
	if r.status != http.StatusBadRequest {
		t.Fatalf("password change carrying a role: %d, want 400", r.status)
	}
	var role string
	if err := env.ownerConn().QueryRow(context.Background(), `SELECT role FROM users WHERE id = $1`, id).Scan(&role); err != nil || role != "NURSE" {
		t.Fatalf("role now %q (%v), want NURSE", role, err)
	}
}

func TestSecondFactor(t *testing.T) {
	t.Parallel()
	env := bootAPI(t, map[string]string{"MEDREC_ADMIN_MFA_REQUIRED": "true"})
	env.createUser("mfa.admin@example.org", "ADMIN")

	tok := env.login("mfa.admin@example.org", fixturePassword)
	if !tok.MFA {
		t.Fatal("an ADMIN without a second factor was not told to enrol one")
	}
	if got := env.call("GET", "/api/v1/users", tok.Access, nil).status; got != http.StatusForbidden {
		t.Fatalf("enrol-only session listing users: %d, want 403", got)
	}
	if got := env.call("GET", "/api/v1/me", tok.Access, nil).status; got != http.StatusOK {
		t.Fatalf("enrol-only session reading /me: %d, want 200", got)
	}
	r := env.call("POST", "/api/v1/me/mfa/totp", tok.Access, nil)
	var enrol struct {
		Secret string `json:"secret"`
		URI    string `json:"otpauth_uri"`
	}
	r.json(t, &enrol)
	if r.status != 200 || enrol.Secret == "" || !strings.HasPrefix(enrol.URI, "otpauth://totp/") {
		t.Fatalf("enrol: %d %s", r.status, r.body)
	}
	if got := env.call("POST", "/api/v1/me/mfa/totp/confirm", tok.Access, map[string]string{"totp_code": "000000"}).status; got != 400 {
		t.Fatalf("confirm with a wrong code: %d, want 400", got)
	}
	code, err := auth.TOTPCode(enrol.Secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r := env.call("POST", "/api/v1/me/mfa/totp/confirm", tok.Access, map[string]string{"totp_code": code}); r.status != 204 {
		t.Fatalf("confirm: %d %s", r.status, r.body)
	}
	if got := env.call("GET", "/api/v1/users", tok.Access, nil).status; got != 200 {
		t.Fatalf("after confirming, listing users: %d, want 200", got)
	}

	// From now on sign-in needs the code, and a code works once.
	if got := env.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "mfa.admin@example.org", "password": fixturePassword}).status; got != 401 {
		t.Fatalf("sign-in without the code: %d, want 401", got)
	}
	// The confirmation spent the current step; the next one is within the
	// window already.
	next, err := auth.TOTPCode(enrol.Secret, time.Now().Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	withCode := map[string]string{"email": "mfa.admin@example.org", "password": fixturePassword, "totp_code": next}
	if r := env.call("POST", "/api/v1/auth/login", "", withCode); r.status != 200 {
		t.Fatalf("sign-in with the code: %d %s", r.status, r.body)
	}
	if got := env.call("POST", "/api/v1/auth/login", "", withCode).status; got != 401 {
		t.Fatalf("the same code again: %d, want 401", got)
	}

	// A session alone cannot replace the confirmed factor: that needs the
	// password, or a stolen token could swap in the thief's authenticator.
	if got := env.call("POST", "/api/v1/me/mfa/totp", tok.Access, nil).status; got != 400 {
		t.Fatalf("re-enrolling without the password: %d, want 400", got)
	}
	if got := env.call("POST", "/api/v1/me/mfa/totp", tok.Access, map[string]string{"current_password": "not the password at all"}).status; got != 400 {
		t.Fatalf("re-enrolling with a wrong password: %d, want 400", got)
	}
	if got := env.call("POST", "/api/v1/me/mfa/totp", tok.Access, map[string]string{"current_password": fixturePassword}).status; got != 200 {
		t.Fatalf("re-enrolling with the password: %d, want 200", got)
	}
}
