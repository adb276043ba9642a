package pgtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"medrec/internal/devdb"
)

// sharedCluster is this process's hold on the private test cluster, which all
// test processes of a run share: go test runs one process per package, in
// parallel. Two flocks coordinate them:
//   - start.lock (exclusive) serialises starting the cluster and leaving it;
//   - users.lock is held shared by every process using the cluster. The one
//     that can turn it exclusive on the way out is the last user and stops
//     the server, so no run leaves a PostgreSQL behind.
type sharedCluster struct {
	cluster *devdb.Cluster
	start   *os.File
	users   *os.File
}

// clusterDir is where the test cluster lives: one per OS user, reused across
// runs so that initdb runs only once per machine.
func clusterDir() string {
	if dir := os.Getenv("MEDREC_TEST_DATA_DIR"); dir != "" {
		return dir
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("medrec-test-%d", os.Getuid()))
}

// testSettings trade durability for speed: a test cluster holds nothing that
// must survive a crash.
var testSettings = map[string]string{
	"fsync":              "off",
	"synchronous_commit": "off",
	"full_page_writes":   "off",
	"max_connections":    "300",
}

func joinCluster(ctx context.Context) (*sharedCluster, error) {
	dir := clusterDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create test cluster directory: %w", err)
	}
	start, err := lockFile(filepath.Join(dir, "start.lock"), syscall.LOCK_EX)
	if err != nil {
		return nil, err
	}
	defer syscall.Flock(int(start.Fd()), syscall.LOCK_UN)

	cluster, err := devdb.Start(ctx, devdb.Config{
		Dir:      filepath.Join(dir, "cluster"),
		BinDir:   os.Getenv("MEDREC_PG_BINDIR"),
		Settings: testSettings,
		Detached: true, // it must outlive this process while others still use it
	})
	if err != nil {
		start.Close()
		return nil, fmt.Errorf("start the private test PostgreSQL (or set TEST_DATABASE_URL to a server that lets its role create databases and roles): %w", err)
	}
	users, err := lockFile(filepath.Join(dir, "users.lock"), syscall.LOCK_SH)
	if err != nil {
		start.Close()
		return nil, err
	}
	return &sharedCluster{cluster: cluster, start: start, users: users}, nil
}

// leave drops this process's hold and stops the server if nobody else uses it.
func (s *sharedCluster) leave() error {
	defer s.start.Close()
	defer s.users.Close()
	if err := syscall.Flock(int(s.start.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock test cluster: %w", err)
	}
	defer syscall.Flock(int(s.start.Fd()), syscall.LOCK_UN)
	// Holding start.lock, no process can newly join; if the shared lock turns
	// exclusive, every other user has left.
	if err := syscall.Flock(int(s.users.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return nil // others still use it
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return s.cluster.Shutdown(ctx)
}

func lockFile(path string, how int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}
