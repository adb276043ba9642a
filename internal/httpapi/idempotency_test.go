package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"medrec"
)

func TestIdempotencyKeyHeader(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		values []string
		ok     bool
	}{
		{"plain", []string{"4f1c-retry-1"}, true},
		{"255 characters", []string{strings.Repeat("a", 255)}, true},
		{"with spaces and punctuation", []string{"order 12/3 ~!"}, true},
		{"empty", []string{""}, false},
		{"256 characters", []string{strings.Repeat("a", 256)}, false},
		{"control character", []string{"a\tb"}, false},
		{"non-ASCII", []string{"clé"}, false},
		{"twice", []string{"a", "b"}, false},
	} {
		key, err := idempotencyKey(c.values)
		if c.ok != (err == nil) {
			t.Errorf("%s: key %q, error %v", c.name, key, err)
			continue
		}
		if !c.ok {
			if f := medrec.ErrorFields(err); len(f) != 1 || f[0].Field != "Idempotency-Key" || medrec.ErrorCode(err) != medrec.EINVALID {
				t.Errorf("%s: %v, want a 400 naming the header", c.name, err)
			}
		}
	}
}

// Every authenticated POST is idempotent unless listed as exempt, and the
// exemptions name real POST routes (a renamed route must not silently
// keep or lose its exemption).
func TestIdempotentRoutes(t *testing.T) {
	t.Parallel()
	b := setup(t, testOptions{})
	exempt := 0
	for _, rt := range b.srv.Routes() {
		want := rt.Method == http.MethodPost && rt.Permission != PermissionPublic
		if idempotencyExempt[rt.Pattern] {
			exempt++
			if rt.Method != http.MethodPost || rt.Permission == PermissionPublic {
				t.Errorf("exempt route %s %s is not an authenticated POST", rt.Method, rt.Pattern)
			}
			want = false
		}
		if got := idempotentRoute(rt); got != want {
			t.Errorf("%s %s: idempotent = %v, want %v", rt.Method, rt.Pattern, got, want)
		}
	}
	if exempt != len(idempotencyExempt) {
		t.Errorf("%d of the %d exempt patterns are routes", exempt, len(idempotencyExempt))
	}
	for _, p := range []string{"/api/v1/patients", "/api/v1/patients/{id}/reports", "/api/v1/patients/{id}/erase"} {
		if !idempotentRoute(Route{Method: http.MethodPost, Pattern: p, Permission: medrec.PermPatientsWrite}) {
			t.Errorf("POST %s is not idempotent", p)
		}
	}
}
