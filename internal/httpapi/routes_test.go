package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMountRejectsBadRoutes(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	tests := []struct {
		name  string
		route Route
		want  string
	}{
		{
			name:  "EmptyPermission",
			route: Route{Method: http.MethodGet, Pattern: "/test/open", Handler: ok},
			want:  "no Permission",
		},
		{
			name:  "NoHandler",
			route: Route{Method: http.MethodGet, Pattern: "/test/x", Permission: PermissionPublic},
			want:  "no Handler",
		},
		{
			name:  "NoMethod",
			route: Route{Pattern: "/test/x", Permission: PermissionPublic, Handler: ok},
			want:  "not an HTTP method",
		},
		{
			name:  "MethodInPattern",
			route: Route{Method: http.MethodGet, Pattern: "GET /test/x", Permission: PermissionPublic, Handler: ok},
			want:  "must be a path",
		},
		{
			name:  "NegativeBodyLimit",
			route: Route{Method: http.MethodGet, Pattern: "/test/x", Permission: PermissionPublic, Handler: ok, MaxBodyBytes: -1},
			want:  "negative MaxBodyBytes",
		},
		{
			// ServeMux's own check still applies.
			name:  "DuplicateOfProductionRoute",
			route: Route{Method: http.MethodGet, Pattern: "/healthz", Permission: PermissionPublic, Handler: ok},
			want:  "conflicts",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			msg := panicMessage(func() { setup(t, testOptions{extra: []Route{tt.route}}) })
			if !strings.Contains(msg, tt.want) {
				t.Fatalf("panic: got %q, want it to contain %q", msg, tt.want)
			}
		})
	}
}

func TestRouteTable(t *testing.T) {
	t.Parallel()
	b := setup(t, testOptions{})
	// Exactly these routes are public; every other one needs a sign-in.
	// What each role may do with the others is the authorization table
	// test's business (cmd/medrec), against a real database.
	public := map[string]bool{
		"GET /healthz":              true,
		"GET /readyz":               true,
		"GET /metrics":              true,
		"POST /api/v1/auth/login":   true,
		"POST /api/v1/auth/refresh": true,
		"GET /api/v1/openapi.json":  true,
	}
	routes := b.srv.Routes()
	seen := 0
	for _, rt := range routes {
		key := rt.Method + " " + rt.Pattern
		if isPublic := rt.Permission == PermissionPublic; isPublic != public[key] {
			t.Errorf("route %s: public = %v, want %v", key, isPublic, public[key])
		}
		if public[key] {
			seen++
		}
	}
	if seen != len(public) {
		t.Fatalf("found %d of the %d public routes in %v", seen, len(public), routes)
	}
	// Routes hands out a copy: the mounted table cannot be changed.
	routes[0].Permission = "tampered"
	if b.srv.Routes()[0].Permission == "tampered" {
		t.Fatalf("Routes returned the server's own slice")
	}
}

func TestNonPublicRouteDeniedByDefault(t *testing.T) {
	t.Parallel()
	called := false
	b := setup(t, testOptions{extra: []Route{{
		Method: http.MethodGet, Pattern: "/test/patients", Permission: "patients:read",
		Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }),
	}}})
	req := httptest.NewRequest(http.MethodGet, "/test/patients", nil)
	req.Header.Set("Authorization", "Bearer anything")
	rec := b.serve(t, req)
	decodeProblem(t, rec, http.StatusUnauthorized)
	if called {
		t.Fatalf("the handler of a non-public route ran without authorization")
	}
	if got := rec.Header().Get("WWW-Authenticate"); got != "Bearer" {
		t.Fatalf("WWW-Authenticate: got %q, want Bearer", got)
	}
	// The route label is still recorded for a denied request.
	if line := b.logLine(t, "http request"); line["route"] != "/test/patients" {
		t.Fatalf("access log route: got %v", line["route"])
	}
}
