package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"medrec/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// syncBuffer is a log sink that tests read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testConfig builds a Config the way medrec serve does, from an environment.
func testConfig(t *testing.T, env map[string]string) Config {
	t.Helper()
	base := map[string]string{
		"MEDREC_DATA_DIR":       t.TempDir(),
		"MEDREC_ADDR":           "127.0.0.1:0",
		"MEDREC_BCRYPT_COST":    "10",
		"MEDREC_ADMIN_EMAIL":    "admin@example.org",
		"MEDREC_ADMIN_PASSWORD": "a long admin password",
	}
	for k, v := range env {
		base[k] = v
	}
	cfg, err := loadConfig(flag.NewFlagSet("test", flag.ContinueOnError), nil, func(k string) string { return base[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// boot starts Main like `medrec serve` and stops it when the test ends.
func boot(t *testing.T, cfg Config) (*Main, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	m := NewMain(cfg, slog.New(slog.NewJSONHandler(logs, nil)), io.Discard)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := m.Run(ctx); err != nil {
		m.Close()
		t.Fatalf("run: %v\nlogs:\n%s", err, logs)
	}
	t.Cleanup(func() { m.Close() })
	checkResponses(t, m.Addr())
	return m, logs
}

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestServeEndToEnd(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	m, logs := boot(t, testConfig(t, map[string]string{
		"DATABASE_URL":            db.OwnerURL,
		"MEDREC_APP_DATABASE_URL": db.AppURL,
		"MEDREC_DB_APP_ROLE":      pgtest.AppRoleName,
	}))
	base := "http://" + m.Addr()

	t.Run("healthz", func(t *testing.T) {
		resp, body := get(t, base+"/healthz")
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"ok"`) {
			t.Fatalf("healthz = %d %s", resp.StatusCode, body)
		}
		if resp.Header.Get("X-Request-Id") == "" {
			t.Fatal("no X-Request-Id on the response")
		}
	})
	t.Run("readyz", func(t *testing.T) {
		resp, body := get(t, base+"/readyz")
		if resp.StatusCode != 200 {
			t.Fatalf("readyz = %d %s", resp.StatusCode, body)
		}
	})
	t.Run("metrics", func(t *testing.T) {
		get(t, base+"/healthz")
		resp, body := get(t, base+"/metrics")
		if resp.StatusCode != 200 {
			t.Fatalf("metrics = %d", resp.StatusCode)
		}
		for _, want := range []string{
			`medrec_http_requests_total{method="GET",route="/healthz",status="200"}`,
			`medrec_http_request_duration_seconds_bucket{method="GET",route="/healthz",status="200"`,
			"medrec_db_pool_total_connections",
			"medrec_db_pool_max_connections",
			"go_goroutines",
		} {
			if !strings.Contains(string(body), want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
	t.Run("NotFoundProblem", func(t *testing.T) {
		resp, body := get(t, base+"/api/v1/no-such-thing")
		if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("unknown route = %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		var p struct {
			Status int    `json:"status"`
			Title  string `json:"title"`
		}
		if err := json.Unmarshal(body, &p); err != nil || p.Status != 404 || p.Title == "" {
			t.Fatalf("problem body %s: %v", body, err)
		}
	})
	t.Run("FirstAdminCreated", func(t *testing.T) {
		var n int
		conn := pgtest.Conn(t, db.OwnerURL)
		if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM users WHERE email = 'admin@example.org' AND role = 'ADMIN'`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("first admin rows = %d, %v", n, err)
		}
		if strings.Contains(logs.String(), "a long admin password") {
			t.Fatal("the admin password reached the log")
		}
	})
}

// TestGracefulShutdownFinishesInFlightRequest holds a /readyz request inside
// the database (the test locks the table its query reads), starts shutting
// down, and shows the server stops taking connections but still answers the
// request in flight before Close returns.
func TestGracefulShutdownFinishesInFlightRequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	m, _ := boot(t, testConfig(t, map[string]string{
		"DATABASE_URL":            db.OwnerURL,
		"MEDREC_APP_DATABASE_URL": db.AppURL,
		"MEDREC_DB_APP_ROLE":      pgtest.AppRoleName,
		"MEDREC_SHUTDOWN_TIMEOUT": "30s",
	}))
	addr := m.Addr()

	owner := pgtest.Conn(t, db.OwnerURL)
	tx, err := owner.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE goose_db_version IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}

	type result struct {
		status int
		err    error
	}
	inFlight := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			inFlight <- result{err: err}
			return
		}
		resp.Body.Close()
		inFlight <- result{status: resp.StatusCode}
	}()
	// Polled from another connection: inside the locking transaction,
	// pg_stat_activity would stay frozen at its first snapshot.
	watcher := pgtest.Conn(t, db.OwnerURL)
	waitFor(t, "the request to block on the lock", func() bool {
		var waiting int
		err := watcher.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		return err == nil && waiting > 0
	})

	closed := make(chan error, 1)
	go func() { closed <- m.Close() }()
	waitFor(t, "the listener to close", func() bool {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a request was still in flight", err)
	case r := <-inFlight:
		t.Fatalf("in-flight request finished (%+v) before the lock was released", r)
	default:
	}

	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-inFlight
	if r.err != nil || r.status != http.StatusOK {
		t.Fatalf("in-flight request = %+v, want 200", r)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
