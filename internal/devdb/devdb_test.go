package devdb

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestStopAndStartAgainKeepsTheData(t *testing.T) {
	t.Parallel()
	requireServerBinaries(t)
	dir := newClusterDir(t)
	// What an initdb killed half-way leaves behind must not survive.
	leftover := filepath.Join(dir, initdbTempPrefix+"interrupted")
	if err := os.MkdirAll(leftover, 0o700); err != nil {
		t.Fatal(err)
	}

	c := startCluster(t, testConfig(t, dir))
	if !c.Owned() {
		t.Fatal("the first Start should own the server")
	}
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Errorf("leftover of an interrupted initdb still there (err %v)", err)
	}
	conn := connect(t, c)
	settings := map[string]string{}
	for _, name := range []string{"listen_addresses", "fsync", "shared_preload_libraries", "unix_socket_permissions"} {
		var v string
		if err := conn.QueryRow(testContext(t), "SELECT current_setting($1)", name).Scan(&v); err != nil {
			t.Fatalf("show %s: %v", name, err)
		}
		settings[name] = v
	}
	conn.Close(context.Background())
	want := map[string]string{"listen_addresses": "", "fsync": "off", "shared_preload_libraries": "pg_stat_statements", "unix_socket_permissions": "0700"}
	for name, v := range want {
		if settings[name] != v {
			t.Errorf("%s = %q, want %q", name, settings[name], v)
		}
	}
	writeRow(t, c, "survives a restart")

	pid := runningPID(t, c)
	if err := c.Stop(testContext(t)); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	requireGone(t, pid, time.Second)
	if _, err := os.Stat(filepath.Join(c.layout.pgdata, "postmaster.pid")); !os.IsNotExist(err) {
		t.Errorf("postmaster.pid still there after Stop (err %v)", err)
	}
	if err := c.Stop(testContext(t)); err != nil {
		t.Errorf("second Stop: %v", err)
	}

	again := startCluster(t, testConfig(t, dir))
	if !again.Owned() {
		t.Error("Start after Stop should own the new server")
	}
	requireRow(t, again, "survives a restart")
	if n := initdbRuns(t, dir); n != 1 {
		t.Errorf("initdb ran %d times, want once", n)
	}
}

// TestHelperServerProcess is not a test: it is the child process that
// startInChildProcess runs, which sets the variables.
func TestHelperServerProcess(t *testing.T) {
	dir := os.Getenv("DEVDB_HELPER_CLUSTER_DIR")
	if dir == "" {
		return
	}
	detached := os.Getenv("DEVDB_HELPER_DETACHED") == "1"
	c, err := Start(t.Context(), Config{Dir: dir, BinDir: os.Getenv("MEDREC_PG_BINDIR"), Detached: detached})
	if err != nil {
		fmt.Printf("FAILED %v\n", strings.ReplaceAll(err.Error(), "\n", " | "))
		os.Exit(1)
	}
	pid, err := readPostmasterPID(c.layout.pgdata)
	if err != nil || !c.Owned() {
		fmt.Printf("FAILED pid %d, owned %v, err %v\n", pid, c.Owned(), err)
		os.Exit(1)
	}
	fmt.Printf("READY %d\n", pid)
	// Until killed; or until the parent goes, which closes stdin.
	bufio.NewReader(os.Stdin).ReadString('\n')
	os.Exit(0)
}

// startInChildProcess starts the cluster in dir from a child process (this
// test binary, running TestHelperServerProcess) and returns that child and
// the server's PID once the server accepts connections.
func startInChildProcess(t *testing.T, dir string, detached bool) (*exec.Cmd, int) {
	t.Helper()
	child := exec.Command(os.Args[0], "-test.run=^TestHelperServerProcess$")
	child.Env = append(os.Environ(), "DEVDB_HELPER_CLUSTER_DIR="+dir)
	if detached {
		child.Env = append(child.Env, "DEVDB_HELPER_DETACHED=1")
	}
	child.Stderr = os.Stderr
	stdin, err := child.StdinPipe() // closed when the test ends, which ends the child
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close() })
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "READY ") {
		child.Process.Kill()
		child.Wait()
		t.Fatalf("helper process: %q, %v", line, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "READY ")))
	if err != nil {
		t.Fatal(err)
	}
	return child, pid
}

func TestServerDiesWithTheProcessThatStartedIt(t *testing.T) {
	t.Parallel()
	requireServerBinaries(t)
	dir := newClusterDir(t)
	first := startCluster(t, testConfig(t, dir))
	writeRow(t, first, "outlives the child")
	if err := first.Stop(testContext(t)); err != nil {
		t.Fatal(err)
	}

	child, pid := startInChildProcess(t, dir, false)
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	// Nobody signals the server: the kernel's parent-death signal does.
	requireGone(t, pid, 30*time.Second)

	again := startCluster(t, testConfig(t, dir))
	if !again.Owned() {
		t.Error("Start after the owner died should start a new server, not attach")
	}
	requireRow(t, again, "outlives the child")
}

func TestDetachedServerOutlivesItsProcess(t *testing.T) {
	t.Parallel()
	requireServerBinaries(t)
	dir := newClusterDir(t)
	child, pid := startInChildProcess(t, dir, true)
	t.Cleanup(func() { stopServer(context.Background(), pid, nil, slog.New(slog.DiscardHandler)) })
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	time.Sleep(500 * time.Millisecond) // time enough for a parent-death signal to land
	if !processAlive(pid) {
		t.Fatal("a detached server died with the process that started it")
	}

	c := startCluster(t, testConfig(t, dir))
	if c.Owned() {
		t.Error("Start should attach to the detached server")
	}
	writeRow(t, c, "in the detached server")
	if err := c.Shutdown(testContext(t)); err != nil {
		t.Fatal(err)
	}
	requireGone(t, pid, time.Second)
}

func TestStartWaitsForAServerThatIsShuttingDown(t *testing.T) {
	t.Parallel()
	requireServerBinaries(t)
	dir := newClusterDir(t)
	old := startCluster(t, testConfig(t, dir))
	session := connect(t, old)
	// A smart shutdown waits for the open session, turning new connections
	// away meanwhile: the server is alive but does not answer.
	if err := syscall.Kill(old.server.pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for {
		ok, err := answering(testContext(t), old.URL("", ""))
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break // the shutdown has begun
		}
		time.Sleep(10 * time.Millisecond)
	}
	started := make(chan *Cluster, 1)
	go func() {
		c, err := Start(testContext(t), testConfig(t, dir))
		if err != nil {
			t.Errorf("Start: %v", err)
		}
		started <- c
	}()
	select {
	case c := <-started:
		if c != nil {
			c.Shutdown(context.Background())
		}
		t.Fatal("Start returned while the old server was still shutting down")
	case <-time.After(time.Second):
	}
	session.Close(context.Background())

	c := <-started
	if c == nil {
		t.FailNow()
	}
	t.Cleanup(func() { c.Shutdown(context.Background()) })
	if !c.Owned() {
		t.Error("Start should have started a new server once the old one was gone")
	}
	if _, err := pgx.Connect(testContext(t), c.URL("", "")); err != nil {
		t.Errorf("connect to the new server: %v", err)
	}
}

func TestStalePIDFileOfAnotherProgramIsIgnored(t *testing.T) {
	t.Parallel()
	requireServerBinaries(t)
	dir := newClusterDir(t)
	c := startCluster(t, testConfig(t, dir))
	if err := c.Stop(testContext(t)); err != nil {
		t.Fatal(err)
	}
	// After a reboot, the PID in a stale postmaster.pid may belong to any
	// program; PostgreSQL alone would refuse to start over it.
	other := exec.Command("sleep", "60")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Process.Kill(); other.Wait() })
	pidFile := filepath.Join(c.layout.pgdata, "postmaster.pid")
	if err := os.WriteFile(pidFile, fmt.Appendf(nil, "%d\n%s\n", other.Process.Pid, c.layout.pgdata), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Shutdown(testContext(t)); err != nil {
		t.Errorf("Shutdown with a stale file: %v", err)
	}
	again := startCluster(t, testConfig(t, dir))
	if !again.Owned() {
		t.Error("Start over a stale postmaster.pid should start a server")
	}
	if !processAlive(other.Process.Pid) {
		t.Error("the program that got the stale PID was signalled")
	}
}

func TestRecoversAfterThePostmasterIsKilled(t *testing.T) {
	t.Parallel()
	requireServerBinaries(t)
	dir := newClusterDir(t)
	cfg := testConfig(t, dir)
	cfg.Settings = nil // crash recovery should find the row in WAL, not rely on luck
	c := startCluster(t, cfg)
	writeRow(t, c, "survives kill -9")
	// An open session keeps a backend, which outlives the postmaster for a
	// moment and holds its shared memory: the restart must cope with that.
	conn := connect(t, c)

	if err := syscall.Kill(c.server.pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-c.server.exited
	if _, err := os.Stat(filepath.Join(c.layout.pgdata, "postmaster.pid")); err != nil {
		t.Fatalf("kill -9 should leave a stale postmaster.pid: %v", err)
	}
	if err := c.Stop(testContext(t)); err != nil {
		t.Errorf("Stop of a dead server: %v", err)
	}

	again := startCluster(t, cfg)
	if !again.Owned() {
		t.Error("Start after a crash should start a new server, not attach")
	}
	requireRow(t, again, "survives kill -9")
	conn.Close(context.Background())
}

func TestSecondStartAttachesAndShutdownStopsTheServer(t *testing.T) {
	t.Parallel()
	requireServerBinaries(t)
	dir := newClusterDir(t)
	owner := startCluster(t, testConfig(t, dir))
	pid := runningPID(t, owner)

	guest := startCluster(t, testConfig(t, dir))
	if guest.Owned() {
		t.Fatal("a Start on a running cluster should attach, not own")
	}
	if guest.URL("app", "") != owner.URL("app", "") {
		t.Errorf("attached URL %q differs from the owner's %q", guest.URL("app", ""), owner.URL("app", ""))
	}
	writeRow(t, guest, "via the guest")
	if err := guest.Stop(testContext(t)); err != nil {
		t.Fatalf("guest Stop: %v", err)
	}
	if !processAlive(pid) {
		t.Fatal("the guest's Stop stopped the server")
	}
	requireRow(t, owner, "via the guest")

	if err := guest.Shutdown(testContext(t)); err != nil {
		t.Fatalf("guest Shutdown: %v", err)
	}
	requireGone(t, pid, time.Second)
	select {
	case <-owner.server.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the owner did not see its server exit")
	}
	for name, stop := range map[string]func(context.Context) error{"owner Stop": owner.Stop, "owner Shutdown": owner.Shutdown, "guest Shutdown": guest.Shutdown} {
		if err := stop(testContext(t)); err != nil {
			t.Errorf("%s after Shutdown: %v", name, err)
		}
	}
}

func TestConcurrentStartsLaunchOneServer(t *testing.T) {
	t.Parallel()
	requireServerBinaries(t)
	dir := newClusterDir(t)
	clusters := make([]*Cluster, 3)
	var wg sync.WaitGroup
	for i := range clusters {
		wg.Go(func() { clusters[i] = startCluster(t, testConfig(t, dir)) })
	}
	wg.Wait()
	owners := 0
	for _, c := range clusters {
		if c == nil {
			t.FailNow() // startCluster reported why
		}
		if c.Owned() {
			owners++
		}
		conn := connect(t, c)
		if err := conn.Ping(testContext(t)); err != nil {
			t.Errorf("ping: %v", err)
		}
	}
	if owners != 1 {
		t.Errorf("%d of %d concurrent Starts own a server, want exactly 1", owners, len(clusters))
	}
}

func TestLongDirectoryGetsAShortSocketPath(t *testing.T) {
	t.Parallel()
	requireServerBinaries(t)
	dir := newClusterDir(t)
	dir = filepath.Join(dir, strings.Repeat("a-rather-long-directory-name-", 4))
	removeFallbacksAtEnd(t, dir)
	c := startCluster(t, testConfig(t, dir))
	if c.SocketDir() != fallbackSocketDir(dir) {
		t.Errorf("SocketDir = %s, want %s", c.SocketDir(), fallbackSocketDir(dir))
	}
	info, err := os.Stat(c.SocketDir())
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o700 {
		t.Errorf("socket directory mode %v, want 0700", info.Mode().Perm())
	}
	writeRow(t, c, "through a short socket")
}

func TestRootKeepsClusterOutsideAnUnreachableDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only a root process hands the server to another OS user")
	}
	t.Parallel()
	requireServerBinaries(t)
	private, err := os.MkdirTemp("", "devdb-private-") // 0700: the postgres OS user may not pass
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(private) })
	dir := filepath.Join(private, "checkout", "cluster")
	removeFallbacksAtEnd(t, dir)

	c := startCluster(t, testConfig(t, dir))
	target, err := os.Readlink(filepath.Join(dir, fallbackLinkName))
	if err != nil {
		t.Fatalf("no %s link: %v", fallbackLinkName, err)
	}
	if target != fallbackHome(dir) || c.layout.pgdata != filepath.Join(target, "pgdata") {
		t.Errorf("link to %s, pgdata %s; want the files in %s", target, c.layout.pgdata, fallbackHome(dir))
	}
	writeRow(t, c, "in the fallback")
	if err := c.Stop(testContext(t)); err != nil {
		t.Fatal(err)
	}
	again := startCluster(t, testConfig(t, dir))
	requireRow(t, again, "in the fallback")
	if n := initdbRuns(t, dir); n != 1 {
		t.Errorf("initdb ran %d times, want once", n)
	}
}

func TestFailedStartReportsTheServerLog(t *testing.T) {
	t.Parallel()
	requireServerBinaries(t)
	dir := newClusterDir(t)
	cfg := testConfig(t, dir)
	cfg.Settings = map[string]string{"shared_buffers": "lots"}
	c, err := Start(testContext(t), cfg)
	if err == nil {
		c.Shutdown(context.Background())
		t.Fatal("Start with an invalid setting succeeded")
	}
	if !strings.Contains(err.Error(), `invalid value for parameter "shared_buffers"`) {
		t.Errorf("error does not carry the server's complaint: %v", err)
	}
}

func TestStartRefusesWhatItCannotUse(t *testing.T) {
	t.Parallel()
	requireServerBinaries(t)
	for _, setting := range []string{"listen_addresses", "Port", "unix_socket_directories", "unix_socket_permissions"} {
		_, err := Start(testContext(t), Config{Dir: t.TempDir(), Settings: map[string]string{setting: "x"}})
		if err == nil || !strings.Contains(err.Error(), "managed by devdb") {
			t.Errorf("Start with %s set: %v, want it refused", setting, err)
		}
	}

	dir := newClusterDir(t)
	if err := os.MkdirAll(filepath.Join(dir, "pgdata"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pgdata", "something"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Start(testContext(t), testConfig(t, dir))
	if err == nil || !strings.Contains(err.Error(), "holds no cluster") {
		t.Errorf("Start over a foreign pgdata: %v, want it refused", err)
	}
}

func TestURLParsesWithAwkwardNames(t *testing.T) {
	t.Parallel()
	c := &Cluster{layout: layout{runDir: "/tmp/it's a dir"}, superuser: "medrec"}
	cfg, err := pgx.ParseConfig(c.URL(`db 'x'\y`, ""))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "/tmp/it's a dir" || cfg.Port != 5432 || cfg.User != "medrec" || cfg.Database != `db 'x'\y` {
		t.Errorf("parsed host %q port %d user %q database %q", cfg.Host, cfg.Port, cfg.User, cfg.Database)
	}
	if got := c.URL("", "someone"); !strings.Contains(got, "dbname='postgres'") || !strings.Contains(got, "user='someone'") {
		t.Errorf("defaults: %s", got)
	}
}

func TestInitdbFallsBackToNoLocale(t *testing.T) {
	t.Parallel()
	requireServerBinaries(t)
	realBinDir, err := FindBinDir(os.Getenv("MEDREC_PG_BINDIR"))
	if err != nil {
		t.Fatal(err)
	}
	// An installation whose initdb rejects C.UTF-8, as on a C library
	// without that locale, and which lacks pg_stat_statements.
	dir := newClusterDir(t)
	binDir := filepath.Join(filepath.Dir(dir), "fake", "bin")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	initdb := fmt.Sprintf(`#!/bin/sh
for arg in "$@"; do
	if [ "$arg" = "--locale=C.UTF-8" ]; then
		echo 'initdb: error: invalid locale name "C.UTF-8"' >&2
		exit 1
	fi
done
exec %s/initdb "$@"
`, realBinDir)
	if err := os.WriteFile(filepath.Join(binDir, "initdb"), []byte(initdb), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(realBinDir, "postgres"), filepath.Join(binDir, "postgres")); err != nil {
		t.Fatal(err)
	}

	cfg := testConfig(t, dir)
	cfg.BinDir = binDir
	c := startCluster(t, cfg)
	conn := connect(t, c)
	var collate, preload string
	if err := conn.QueryRow(testContext(t), `SELECT current_setting('lc_collate'), current_setting('shared_preload_libraries')`).Scan(&collate, &preload); err != nil {
		t.Fatal(err)
	}
	if collate != "C" || preload != "" {
		t.Errorf("lc_collate %q, shared_preload_libraries %q; want C and none", collate, preload)
	}
}
