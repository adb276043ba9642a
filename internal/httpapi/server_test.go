package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestHealthz(t *testing.T) {
	t.Parallel()
	b := setup(t, testOptions{
		ready: func(context.Context) error { return errors.New("database down") },
	})
	rec := b.serve(t, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	// Liveness must not depend on the database.
	if rec.Code != http.StatusOK {
		t.Fatalf("status: got %d, want 200", rec.Code)
	}
	if got, want := rec.Body.String(), `{"status":"ok"}`+"\n"; got != want {
		t.Fatalf("body: got %q, want %q", got, want)
	}
	if got := rec.Header().Get("Content-Type"); got != "application/json" {
		t.Fatalf("Content-Type: got %q, want application/json", got)
	}
}

func TestReadyz(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		b := setup(t, testOptions{})
		rec := b.serve(t, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("status: got %d, want 200", rec.Code)
		}
		if got, want := rec.Body.String(), `{"status":"ready"}`+"\n"; got != want {
			t.Fatalf("body: got %q, want %q", got, want)
		}
	})

	t.Run("ErrNotReady", func(t *testing.T) {
		t.Parallel()
		const secret = "dial tcp 10.1.2.3:5432: password authentication failed"
		b := setup(t, testOptions{
			ready: func(context.Context) error { return errors.New(secret) },
		})
		rec := b.serve(t, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		p := decodeProblem(t, rec, http.StatusServiceUnavailable)
		if got := rec.Header().Get("Retry-After"); got != "5" {
			t.Fatalf("Retry-After: got %q, want 5", got)
		}
		if strings.Contains(rec.Body.String(), "10.1.2.3") || strings.Contains(rec.Body.String(), "password") {
			t.Fatalf("body leaks the readiness error: %s", rec.Body)
		}
		if p.Type != "urn:medrec:problem:unavailable" {
			t.Fatalf("type: got %q", p.Type)
		}
		line := b.logLine(t, "dependency unavailable")
		if got, _ := line["error"].(string); !strings.Contains(got, secret) {
			t.Fatalf("log error: got %q, want it to contain %q", got, secret)
		}
		if line["request_id"] != p.RequestID {
			t.Fatalf("log request_id: got %v, want %q", line["request_id"], p.RequestID)
		}
	})

	t.Run("ErrDraining", func(t *testing.T) {
		t.Parallel()
		b := setup(t, testOptions{})
		b.srv.Drain()
		rec := b.serve(t, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		decodeProblem(t, rec, http.StatusServiceUnavailable)
	})

	t.Run("CheckHasDeadline", func(t *testing.T) {
		t.Parallel()
		var deadline time.Time
		b := setup(t, testOptions{ready: func(ctx context.Context) error {
			deadline, _ = ctx.Deadline()
			return nil
		}})
		b.serve(t, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if deadline.IsZero() || time.Until(deadline) > readyTimeout {
			t.Fatalf("readiness deadline: got %v, want within %v", deadline, readyTimeout)
		}
	})
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t, testOptions{})
	b.serve(t, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	b.serve(t, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	b.serve(t, httptest.NewRequest(http.MethodGet, "/patients/0f8e2d9a-secret-id", nil))
	b.serve(t, httptest.NewRequest("BREW", "/healthz", nil))

	rec := b.serve(t, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status: got %d, want 200", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`medrec_http_requests_total{method="GET",route="/healthz",status="200"} 2`,
		`medrec_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`medrec_http_requests_total{method="OTHER",route="unmatched",status="405"} 1`,
		`medrec_http_request_duration_seconds_count{method="GET",route="/healthz",status="200"} 2`,
		`medrec_http_request_duration_seconds_bucket{method="GET",route="/healthz",status="200",le="+Inf"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "secret-id") {
		t.Errorf("metrics carry a raw path")
	}
	if t.Failed() {
		t.Fatalf("metrics:\n%s", body)
	}
}

func TestMetricsSharedRegistry(t *testing.T) {
	t.Parallel()
	// A second Server on the same registry reuses the collectors instead
	// of panicking on duplicate registration.
	reg := prometheus.NewRegistry()
	cfg := Config{
		Logger:    slog.New(slog.DiscardHandler),
		Readiness: readinessFunc(func(context.Context) error { return nil }),
		Metrics:   reg,
	}
	first, second := newServer(cfg), newServer(cfg)
	for _, s := range []*Server{first, second} {
		s.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/healthz", nil))
	}
	rec := httptest.NewRecorder()
	first.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	want := `medrec_http_requests_total{method="GET",route="/healthz",status="200"} 2`
	if !strings.Contains(rec.Body.String(), want) {
		t.Fatalf("metrics lack %s:\n%s", want, rec.Body)
	}
}

func TestUnmatched(t *testing.T) {
	t.Parallel()

	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, testOptions{})
		rec := b.serve(t, httptest.NewRequest(http.MethodGet, "/no/such/path", nil))
		p := decodeProblem(t, rec, http.StatusNotFound)
		if p.Type != "urn:medrec:problem:not_found" {
			t.Fatalf("type: got %q", p.Type)
		}
		if p.HasErrors {
			t.Fatalf("a 404 carries an errors member: %s", rec.Body)
		}
	})

	t.Run("ErrMethodNotAllowed", func(t *testing.T) {
		t.Parallel()
		b := setup(t, testOptions{})
		rec := b.serve(t, httptest.NewRequest(http.MethodPost, "/healthz", strings.NewReader("{}")))
		p := decodeProblem(t, rec, http.StatusMethodNotAllowed)
		if got, want := rec.Header().Get("Allow"), "GET, HEAD"; got != want {
			t.Fatalf("Allow: got %q, want %q", got, want)
		}
		if p.Type != "urn:medrec:problem:method_not_allowed" {
			t.Fatalf("type: got %q", p.Type)
		}
	})

	t.Run("HeadOnGetRoute", func(t *testing.T) {
		t.Parallel()
		b := setup(t, testOptions{})
		rec := b.serve(t, httptest.NewRequest(http.MethodHead, "/healthz", nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("status: got %d, want 200", rec.Code)
		}
	})
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	b := setup(t, testOptions{extra: []Route{
		handlerRoute("/test/panic", func(http.ResponseWriter, *http.Request) { panic("boom") }),
		handlerRoute("/test/override", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("ETag", `"v1"`)
			panic("boom")
		}),
	}})
	want := map[string]string{
		"X-Content-Type-Options":  "nosniff",
		"Cache-Control":           "no-store",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
		"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/nope", "/test/panic", "/test/override"} {
		t.Run(path, func(t *testing.T) {
			rec := b.serve(t, httptest.NewRequest(http.MethodGet, path, nil))
			for name, value := range want {
				if got := rec.Header().Get(name); got != value {
					t.Fatalf("%s: got %q, want %q", name, got, value)
				}
			}
			if got := rec.Header().Get("ETag"); got != "" {
				t.Fatalf("ETag set by a panicking handler survived into the 500: %q", got)
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		incoming string
		honoured bool
	}{
		{name: "Valid", incoming: "Abc-123_x.Y", honoured: true},
		{name: "ValidLongest", incoming: strings.Repeat("a", 64), honoured: true},
		{name: "TooLong", incoming: strings.Repeat("a", 65)},
		{name: "BadCharacters", incoming: `abc"def`},
		{name: "Space", incoming: "abc def"},
		{name: "Newline", incoming: "abc\ndef"},
		{name: "Absent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, testOptions{})
			req := httptest.NewRequest(http.MethodGet, "/no/such/path", nil)
			if tt.incoming != "" {
				req.Header.Set("X-Request-Id", tt.incoming)
			}
			rec := b.serve(t, req)
			got := rec.Header().Get("X-Request-Id")
			if tt.honoured {
				if got != tt.incoming {
					t.Fatalf("X-Request-Id: got %q, want %q", got, tt.incoming)
				}
			} else {
				if got == tt.incoming || len(got) != 32 || strings.Trim(got, "0123456789abcdef") != "" {
					t.Fatalf("X-Request-Id: got %q, want a fresh 32-digit hex id", got)
				}
			}
			if p := decodeProblem(t, rec, http.StatusNotFound); p.RequestID != got {
				t.Fatalf("problem request_id: got %q, want %q", p.RequestID, got)
			}
			if line := b.logLine(t, "http request"); line["request_id"] != got {
				t.Fatalf("access log request_id: got %v, want %q", line["request_id"], got)
			}
		})
	}

	t.Run("FreshPerRequest", func(t *testing.T) {
		t.Parallel()
		b := setup(t, testOptions{})
		first := b.serve(t, httptest.NewRequest(http.MethodGet, "/healthz", nil)).Header().Get("X-Request-Id")
		second := b.serve(t, httptest.NewRequest(http.MethodGet, "/healthz", nil)).Header().Get("X-Request-Id")
		if first == second {
			t.Fatalf("two requests share id %q", first)
		}
	})

	t.Run("InContext", func(t *testing.T) {
		t.Parallel()
		var seen string
		b := setup(t, testOptions{extra: []Route{handlerRoute("/test/id", func(w http.ResponseWriter, r *http.Request) {
			seen = RequestID(r.Context())
			loggerFrom(r.Context()).Info("handler line")
		})}})
		rec := b.serve(t, httptest.NewRequest(http.MethodGet, "/test/id", nil))
		if want := rec.Header().Get("X-Request-Id"); seen != want {
			t.Fatalf("RequestID in handler: got %q, want %q", seen, want)
		}
		if line := b.logLine(t, "handler line"); line["request_id"] != seen {
			t.Fatalf("handler log request_id: got %v, want %q", line["request_id"], seen)
		}
	})
}

func TestAccessLog(t *testing.T) {
	t.Parallel()
	b := setup(t, testOptions{extra: []Route{
		handlerRoute("/test/patients/{id}", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusTeapot)
			fmt.Fprint(w, "12345")
		}),
	}})
	req := httptest.NewRequest(http.MethodGet, "/test/patients/pat-777?q=Smith", nil)
	req.Header.Set("Authorization", "Bearer tok-abcdef")
	req.Header.Set("Cookie", "session=cookie-xyz")
	rec := b.serve(t, req)

	line := b.logLine(t, "http request")
	want := map[string]any{
		"level":      "INFO",
		"method":     "GET",
		"route":      "/test/patients/{id}",
		"status":     float64(http.StatusTeapot),
		"bytes":      float64(5),
		"request_id": rec.Header().Get("X-Request-Id"),
		"aborted":    false,
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("access log %s: got %v, want %v", k, line[k], v)
		}
	}
	if _, ok := line["duration_ms"].(float64); !ok {
		t.Errorf("access log duration_ms: got %v, want a number", line["duration_ms"])
	}
	for _, leak := range []string{"pat-777", "Smith", "tok-abcdef", "cookie-xyz"} {
		if bytes.Contains(b.logs.Bytes(), []byte(leak)) {
			t.Errorf("logs carry %q:\n%s", leak, b.logs)
		}
	}
}

func TestPanic(t *testing.T) {
	t.Parallel()

	t.Run("Recovered", func(t *testing.T) {
		t.Parallel()
		b := setup(t, testOptions{extra: []Route{
			handlerRoute("/test/panic", func(http.ResponseWriter, *http.Request) {
				panic("kaboom: nil map in handler")
			}),
		}})
		req := httptest.NewRequest(http.MethodGet, "/test/panic?ssn=123-45-6789", nil)
		req.Header.Set("Authorization", "Bearer secret-token-xyz")
		rec := b.serve(t, req)

		p := decodeProblem(t, rec, http.StatusInternalServerError)
		if p.Detail != "internal error" {
			t.Fatalf("detail: got %q, want %q", p.Detail, "internal error")
		}
		if strings.Contains(rec.Body.String(), "kaboom") {
			t.Fatalf("body leaks the panic: %s", rec.Body)
		}

		line := b.logLine(t, "panic serving request")
		if line["level"] != "ERROR" {
			t.Fatalf("panic log level: got %v, want ERROR", line["level"])
		}
		if line["panic"] != "kaboom: nil map in handler" {
			t.Fatalf("panic log value: got %v", line["panic"])
		}
		if stack, _ := line["stack"].(string); !strings.Contains(stack, "server_test.go") {
			t.Fatalf("panic log stack does not reach the handler: %q", stack)
		}
		if line["request_id"] != p.RequestID {
			t.Fatalf("panic log request_id: got %v, want %q", line["request_id"], p.RequestID)
		}
		// Counted as the 500 it became.
		if access := b.logLine(t, "http request"); access["status"] != float64(500) {
			t.Fatalf("access log status: got %v, want 500", access["status"])
		}
		for _, leak := range []string{"secret-token-xyz", "Bearer", "123-45-6789", "ssn"} {
			if bytes.Contains(b.logs.Bytes(), []byte(leak)) {
				t.Fatalf("logs carry %q:\n%s", leak, b.logs)
			}
		}
		metrics := b.serve(t, httptest.NewRequest(http.MethodGet, "/metrics", nil)).Body.String()
		want := `medrec_http_requests_total{method="GET",route="/test/panic",status="500"} 1`
		if !strings.Contains(metrics, want) {
			t.Fatalf("metrics lack %s:\n%s", want, metrics)
		}
	})

	tests := []struct {
		name    string
		handler http.HandlerFunc
		logged  bool
	}{
		{
			// net/http's deliberate abort is not ours to swallow.
			name:    "AbortHandlerPassesThrough",
			handler: func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) },
		},
		{
			// Too late for a 500: the connection is aborted instead.
			name: "AfterWriteAborts",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusOK)
				panic("late")
			},
			logged: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, testOptions{extra: []Route{handlerRoute("/test/abort", tt.handler)}})
			var got any
			func() {
				defer func() { got = recover() }()
				b.serve(t, httptest.NewRequest(http.MethodGet, "/test/abort", nil))
			}()
			if got != http.ErrAbortHandler {
				t.Fatalf("panic out of the handler: got %v, want http.ErrAbortHandler", got)
			}
			panicLogged := strings.Contains(b.logs.String(), "panic serving request")
			if panicLogged != tt.logged {
				t.Fatalf("panic logged: got %v, want %v", panicLogged, tt.logged)
			}
			access := b.logLine(t, "http request")
			if access["aborted"] != true || access["status"] != float64(500) {
				t.Fatalf("access log: got aborted=%v status=%v, want true 500", access["aborted"], access["status"])
			}
		})
	}
}

func TestNewPanicsOnMissingConfig(t *testing.T) {
	t.Parallel()
	ok := Config{
		Logger:    slog.New(slog.DiscardHandler),
		Readiness: readinessFunc(func(context.Context) error { return nil }),
		Metrics:   prometheus.NewRegistry(),
	}
	tests := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{name: "NoLogger", modify: func(c *Config) { c.Logger = nil }, want: "Config.Logger is nil"},
		{name: "NoReadiness", modify: func(c *Config) { c.Readiness = nil }, want: "Config.Readiness is nil"},
		{name: "NoMetrics", modify: func(c *Config) { c.Metrics = nil }, want: "Config.Metrics is nil"},
		{name: "NegativeBody", modify: func(c *Config) { c.MaxBodyBytes = -1 }, want: "Config.MaxBodyBytes is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := ok
			cfg.Metrics = prometheus.NewRegistry()
			tt.modify(&cfg)
			msg := panicMessage(func() { newServer(cfg) })
			if !strings.Contains(msg, tt.want) {
				t.Fatalf("panic: got %q, want it to contain %q", msg, tt.want)
			}
		})
	}
	// New, for production, also refuses a server missing any service,
	// naming each one.
	msg := panicMessage(func() { New(ok) })
	for _, want := range []string{"Config.Auth is nil", "Config.Patients is nil", "Config.Blobs is nil"} {
		if !strings.Contains(msg, want) {
			t.Errorf("New without services: panic %q lacks %q", msg, want)
		}
	}
}

func TestHTTPServer(t *testing.T) {
	t.Parallel()
	b := setup(t, testOptions{})
	srv := b.srv.HTTPServer(":8080")
	tests := []struct {
		name      string
		got, want time.Duration
	}{
		{"ReadHeaderTimeout", srv.ReadHeaderTimeout, 5 * time.Second},
		{"ReadTimeout", srv.ReadTimeout, 30 * time.Second},
		{"WriteTimeout", srv.WriteTimeout, 60 * time.Second},
		{"IdleTimeout", srv.IdleTimeout, 120 * time.Second},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	if srv.Addr != ":8080" || srv.MaxHeaderBytes != 64<<10 || srv.Handler == nil || srv.ErrorLog == nil {
		t.Fatalf("server: Addr %q, MaxHeaderBytes %d, Handler %v, ErrorLog %v", srv.Addr, srv.MaxHeaderBytes, srv.Handler, srv.ErrorLog)
	}
	if ctx := srv.BaseContext(nil); ctx == nil {
		t.Fatalf("BaseContext returned nil")
	}

	srv.ErrorLog.Print("http: TLS handshake error from 192.0.2.1:1234: EOF")
	line := b.logLine(t, "http: TLS handshake error from 192.0.2.1:1234: EOF")
	if line["level"] != "WARN" || line["component"] != "net/http" {
		t.Fatalf("server error log line: %v", line)
	}

	// Shutdown drains: /readyz fails from then on.
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !b.srv.draining.Load() {
		if time.Now().After(deadline) {
			t.Fatalf("Shutdown did not drain the server")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestHTTPServerBaseContext(t *testing.T) {
	t.Parallel()
	type key struct{}
	base := context.WithValue(context.Background(), key{}, "base")
	s := newServer(Config{
		Logger:      slog.New(slog.DiscardHandler),
		Readiness:   readinessFunc(func(context.Context) error { return nil }),
		Metrics:     prometheus.NewRegistry(),
		BaseContext: base,
	})
	if got := s.HTTPServer("").BaseContext(nil).Value(key{}); got != "base" {
		t.Fatalf("BaseContext value: got %v, want base", got)
	}
}

// panicMessage runs f and returns what it panicked with, as text, or "" if
// it did not panic.
func panicMessage(f func()) (msg string) {
	defer func() {
		if p := recover(); p != nil {
			msg = fmt.Sprint(p)
		}
	}()
	f()
	return ""
}
