package main

import (
	"net/http"
	"testing"
)

// TestUnstorableTextIsA400 sends text PostgreSQL cannot store (a NUL byte,
// invalid UTF-8) in query filters: each must be a clear 400, never a 500.
func TestUnstorableTextIsA400(t *testing.T) {
	t.Parallel()
	env := bootAPI(t, nil)
	env.createUser("front.desk@example.org", "RECEPTIONIST")
	tok := env.login("front.desk@example.org", fixturePassword).Access
	for _, path := range []string{
		"/api/v1/patients?q=a%00",
		"/api/v1/patients?q=%FF%FE",
		"/api/v1/patients?q=%C0%AF",
		"/api/v1/patients?email=%00",
		"/api/v1/doctors?specialty=%00",
		"/api/v1/doctors?specialty=%FF",
	} {
		t.Run(path, func(t *testing.T) {
			if got := env.call("GET", path, tok, nil).status; got != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", got)
			}
		})
	}
}
