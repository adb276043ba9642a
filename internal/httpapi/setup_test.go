package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"medrec"
)

// readinessFunc adapts a function to Readiness.
type readinessFunc func(ctx context.Context) error

func (f readinessFunc) Ready(ctx context.Context) error { return f(ctx) }

// bundle is what a test needs: the server, and what it logged.
type bundle struct {
	srv  *Server
	logs *bytes.Buffer
	reg  *prometheus.Registry
}

// testOptions tailors setup; the zero value is a ready server with the
// production routes only.
type testOptions struct {
	ready   func(ctx context.Context) error
	maxBody int64
	extra   []Route
}

func setup(t *testing.T, opts testOptions) *bundle {
	t.Helper()
	logs := &bytes.Buffer{}
	ready := opts.ready
	if ready == nil {
		ready = func(context.Context) error { return nil }
	}
	reg := prometheus.NewRegistry()
	srv := newServer(Config{
		Logger:       slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Readiness:    readinessFunc(ready),
		Metrics:      reg,
		MaxBodyBytes: opts.maxBody,
	}, opts.extra...)
	return &bundle{srv: srv, logs: logs, reg: reg}
}

// serve runs req through the whole handler stack.
func (b *bundle) serve(t *testing.T, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	b.srv.Handler().ServeHTTP(rec, req)
	return rec
}

// logLines returns every line logged so far, decoded.
func (b *bundle) logLines(t *testing.T) []map[string]any {
	t.Helper()
	var lines []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.logs.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line %q is not JSON: %v", sc.Text(), err)
		}
		lines = append(lines, line)
	}
	return lines
}

// logLine returns the one line logged with msg, failing unless there is
// exactly one.
func (b *bundle) logLine(t *testing.T, msg string) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, l := range b.logLines(t) {
		if l["msg"] == msg {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("got %d log lines with msg %q, want 1; logs:\n%s", len(found), msg, b.logs)
	}
	return found[0]
}

// problemBody is a decoded problem+json response.
type problemBody struct {
	Type      string              `json:"type"`
	Title     string              `json:"title"`
	Status    int                 `json:"status"`
	Detail    string              `json:"detail"`
	RequestID string              `json:"request_id"`
	Errors    []medrec.FieldError `json:"errors"`
	// HasErrors tells an absent errors member from an empty one.
	HasErrors bool `json:"-"`
}

// decodeProblem checks that rec is problem+json with status want and
// returns its body.
func decodeProblem(t *testing.T, rec *httptest.ResponseRecorder, want int) problemBody {
	t.Helper()
	if rec.Code != want {
		t.Fatalf("status: got %d, want %d; body %s", rec.Code, want, rec.Body)
	}
	if got := rec.Header().Get("Content-Type"); got != "application/problem+json" {
		t.Fatalf("Content-Type: got %q, want application/problem+json", got)
	}
	var p problemBody
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("decode problem %s: %v", rec.Body, err)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &members); err != nil {
		t.Fatalf("decode problem %s: %v", rec.Body, err)
	}
	_, p.HasErrors = members["errors"]
	if p.Status != want {
		t.Fatalf("problem status: got %d, want %d", p.Status, want)
	}
	if p.Title != http.StatusText(want) {
		t.Fatalf("problem title: got %q, want %q", p.Title, http.StatusText(want))
	}
	if p.RequestID == "" || p.RequestID != rec.Header().Get("X-Request-Id") {
		t.Fatalf("problem request_id %q, want the X-Request-Id header %q", p.RequestID, rec.Header().Get("X-Request-Id"))
	}
	return p
}

// handlerRoute is a test-only route answering GET pattern with h.
func handlerRoute(pattern string, h http.HandlerFunc) Route {
	return Route{Method: http.MethodGet, Pattern: pattern, Permission: PermissionPublic, Handler: h}
}
