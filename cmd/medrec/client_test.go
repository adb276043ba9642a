package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"medrec/internal/auth"
	"medrec/internal/httpapi"
	"medrec/internal/openapicheck"
	"medrec/internal/pgtest"
)

// apiEnv is a booted medrec on a fresh database, with a client for it.
type apiEnv struct {
	t     *testing.T
	m     *Main
	db    *pgtest.DB
	base  string
	logs  *syncBuffer
	owner *pgx.Conn
}

// ownerConn is a connection as the schema owner, for fixtures and for
// checking what a request did to the database.
func (e *apiEnv) ownerConn() *pgx.Conn {
	if e.owner == nil {
		e.owner = pgtest.Conn(e.t, e.db.OwnerURL)
	}
	return e.owner
}

// bootAPI starts medrec on a fresh test database. env overrides settings.
func bootAPI(t *testing.T, env map[string]string) *apiEnv {
	t.Helper()
	db := pgtest.New(t)
	settings := dbEnv(t, db)
	settings["MEDREC_ADMIN_MFA_REQUIRED"] = "false"
	for k, v := range env {
		settings[k] = v
	}
	m, logs := boot(t, testConfig(t, settings))
	return &apiEnv{t: t, m: m, db: db, base: "http://" + m.Addr(), logs: logs}
}

// dbEnv is the environment that points medrec at a test database, as its
// owner for migrations and as the test service role for serving, with a
// private data directory.
func dbEnv(t *testing.T, db *pgtest.DB) map[string]string {
	return map[string]string{
		"DATABASE_URL":            db.OwnerURL,
		"MEDREC_APP_DATABASE_URL": db.AppURL,
		"MEDREC_DB_APP_ROLE":      pgtest.AppRoleName,
		"MEDREC_DATA_DIR":         t.TempDir(),
	}
}

// response is what a call returned.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into v, failing the test if it is not JSON.
func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %d response %s: %v", r.status, r.body, err)
	}
}

// call sends one request; body is marshalled to JSON unless it is nil.
func (e *apiEnv) call(method, path, token string, body any) response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// fixturePassword is every fixture user's password.
const fixturePassword = "fixture password for tests"

// fixtureHash is fixturePassword hashed once, at the cheapest allowed cost:
// bcrypt is slow on purpose, and slower still under the race detector.
var fixtureHash = sync.OnceValue(func() string {
	h, err := auth.NewHasher(auth.MinBcryptCost)
	if err != nil {
		panic(err)
	}
	hash, err := h.Hash(fixturePassword)
	if err != nil {
		panic(err)
	}
	return hash
})

// createUser inserts a user directly as the owner and returns its id.
func (e *apiEnv) createUser(email, role string) string {
	e.t.Helper()
	hash := fixtureHash()
	var id string
	if err := e.ownerConn().QueryRow(context.Background(),
		`INSERT INTO users (email, password_hash, role) VALUES ($1, $2, $3) RETURNING id`, email, hash, role).Scan(&id); err != nil {
		e.t.Fatalf("create user %s: %v", email, err)
	}
	return id
}

// tokens is a signed-in session.
type tokens struct {
	Access  string `json:"access_token"`
	Refresh string `json:"refresh_token"`
	MFA     bool   `json:"mfa_enrolment_required"`
}

// login signs in and fails the test unless it succeeds.
func (e *apiEnv) login(email, password string) tokens {
	e.t.Helper()
	r := e.call("POST", "/api/v1/auth/login", "", map[string]string{"email": email, "password": password})
	if r.status != http.StatusOK {
		e.t.Fatalf("login %s: %d %s", email, r.status, r.body)
	}
	var tok tokens
	r.json(e.t, &tok)
	return tok
}

// Every response a test receives from a medrec it booted is checked against
// the OpenAPI document the service serves: its status must be documented
// for the operation the request reached, its Content-Type too, and a JSON
// body must validate against the documented schema. A request the server
// accepted (2xx) must also fit the documented request body, so that the
// document is never stricter than the code. A mismatch fails the test that
// booted the server, naming the request.
//
// The check sits in http.DefaultClient's transport rather than in call
// alone, so that every helper (call, callWith, the report uploads, the
// probes' get) is covered without each having to remember it. A request
// that reaches no documented operation (an unknown path, or a method the
// path does not have) gets the server's fallback answer, which is not
// documented per path; it must then be a 404 or 405 problem+json.
func init() {
	http.DefaultClient.Transport = &checkingTransport{next: http.DefaultTransport}
}

// checkedServers maps a booted server's host:port to the test that booted it.
var checkedServers sync.Map

// checkResponses makes responses from addr subject to the OpenAPI check,
// reported to t, until t ends.
func checkResponses(t *testing.T, addr string) {
	t.Helper()
	if _, err := openapiDocument(); err != nil {
		t.Fatalf("OpenAPI document: %v", err)
	}
	checkedServers.Store(addr, t)
	t.Cleanup(func() { checkedServers.Delete(addr) })
}

var openapiDocument = sync.OnceValues(func() (*openapicheck.Document, error) {
	raw, err := httpapi.OpenAPIDocument()
	if err != nil {
		return nil, err
	}
	return openapicheck.New(raw)
})

type checkingTransport struct{ next http.RoundTripper }

func (c *checkingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	v, checked := checkedServers.Load(req.URL.Host)
	if err != nil || !checked {
		return resp, err
	}
	t := v.(*testing.T)
	body, readErr := io.ReadAll(resp.Body)
	resp.Body.Close()
	if readErr != nil {
		// The connection broke mid-body (a test cutting it, say): hand
		// the caller the same failure and check nothing.
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{readErr}))
		return resp, nil
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	doc, _ := openapiDocument()
	if resp.StatusCode/100 == 2 && (req.GetBody != nil || req.Body == nil) {
		// The request was accepted, so it must fit the documented query
		// parameters and request body; GetBody gives a fresh copy of
		// what was sent.
		var sent []byte
		if req.GetBody != nil {
			if rc, err := req.GetBody(); err == nil {
				sent, _ = io.ReadAll(rc)
				rc.Close()
			}
		}
		if err := doc.CheckRequest(req.Method, req.URL.RequestURI(), req.Header, sent); err != nil {
			t.Errorf("OpenAPI: %s %s was accepted (%d), but does not fit the document: %v",
				req.Method, req.URL.RequestURI(), resp.StatusCode, err)
		}
	}
	if err := doc.CheckResponse(req.Method, req.URL.RequestURI(), resp.StatusCode, resp.Header, body); err != nil {
		t.Errorf("OpenAPI: %s %s answered %d, which the document does not allow: %v\nbody: %.500s",
			req.Method, req.URL.RequestURI(), resp.StatusCode, err, body)
	}
	return resp, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
