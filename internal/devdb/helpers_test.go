package devdb

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// requireServerBinaries fails the test, with FindBinDir's message on what
// to install, when there is no PostgreSQL to run: these tests exist to run
// the real server, so its absence is a failure and never a skip.
func requireServerBinaries(t *testing.T) {
	t.Helper()
	if _, err := FindBinDir(os.Getenv("MEDREC_PG_BINDIR")); err != nil {
		t.Fatal(err)
	}
}

// newClusterDir returns a fresh Dir for a cluster. As root, the directories
// above it are opened (0755) the way a normal checkout's are, so that the
// postgres OS user reaches it without the fallback; tests of the fallback
// make their own. Fallback locations are removed at the end in any case.
func newClusterDir(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	if os.Geteuid() == 0 {
		// t.TempDir makes base and its parent 0700.
		for _, p := range []string{base, filepath.Dir(base)} {
			if err := os.Chmod(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	dir := filepath.Join(base, "cluster")
	removeFallbacksAtEnd(t, dir)
	return dir
}

// removeFallbacksAtEnd deletes what a cluster in dir may have put outside
// it. Registered before the cluster starts, it runs after its Shutdown.
func removeFallbacksAtEnd(t *testing.T, dir string) {
	t.Cleanup(func() {
		for _, p := range []string{fallbackHome(dir), fallbackSocketDir(dir)} {
			if err := os.RemoveAll(p); err != nil {
				t.Errorf("remove %s: %v", p, err)
			}
		}
	})
}

// testConfig is a Config for dir with the settings the test harness uses,
// logging into the test's output.
func testConfig(t *testing.T, dir string) Config {
	return Config{
		Dir:      dir,
		BinDir:   os.Getenv("MEDREC_PG_BINDIR"),
		Settings: map[string]string{"fsync": "off", "synchronous_commit": "off"},
		Logger:   slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// startCluster starts cfg's cluster and shuts its server down, whoever
// started it, when the test ends.
func startCluster(t *testing.T, cfg Config) *Cluster {
	t.Helper()
	c, err := Start(testContext(t), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := c.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return c
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func connect(t *testing.T, c *Cluster) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(testContext(t), c.URL("postgres", c.Superuser()))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// writeRow stores value in a table of the cluster's postgres database.
func writeRow(t *testing.T, c *Cluster, value string) {
	t.Helper()
	conn := connect(t, c)
	ctx := testContext(t)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS kept (v text)`); err != nil {
		t.Fatalf("create table: %v", err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO kept VALUES ($1)`, value); err != nil {
		t.Fatalf("insert: %v", err)
	}
	conn.Close(ctx)
}

// requireRow fails unless writeRow stored value in the cluster before.
func requireRow(t *testing.T, c *Cluster, value string) {
	t.Helper()
	conn := connect(t, c)
	var n int
	if err := conn.QueryRow(testContext(t), `SELECT count(*) FROM kept WHERE v = $1`, value).Scan(&n); err != nil {
		t.Fatalf("read back: %v", err)
	}
	if n != 1 {
		t.Fatalf("found %d rows with %q, want 1", n, value)
	}
}

// requireGone fails unless the process pid exits within the timeout.
func requireGone(t *testing.T, pid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("PostgreSQL (pid %d) still runs after %v", pid, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runningPID is the PID in the cluster's postmaster.pid, failing the test
// when there is none.
func runningPID(t *testing.T, c *Cluster) int {
	t.Helper()
	pid, err := readPostmasterPID(c.layout.pgdata)
	if err != nil || pid == 0 {
		t.Fatalf("no postmaster.pid in %s (err %v)", c.layout.pgdata, err)
	}
	return pid
}

// initdbRuns counts the clusters initdb made for dir, by the line it
// writes to the server log each time.
func initdbRuns(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, logFileName))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return strings.Count(string(b), "creating configuration files")
}
