package devdb

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Cluster is a running private PostgreSQL server, started by this process
// or attached to.
type Cluster struct {
	layout    layout
	superuser string
	logger    *slog.Logger
	server    *postmaster // the server this process started; nil when attached
	stopMu    sync.Mutex  // one Stop or Shutdown at a time, so repeats wait and then find nothing to do
}

// Start returns the cluster in cfg.Dir with its server accepting
// connections. It makes the cluster with initdb the first time, attaches
// to a server that already runs on it (Owned reports false then), and
// otherwise starts one, which after a crash recovers by itself. A lock in
// Dir makes processes that start at once take turns, so only one launches
// a server.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	binDir, err := FindBinDir(cfg.BinDir)
	if err != nil {
		return nil, err
	}
	account, err := lookupServerAccount()
	if err != nil {
		return nil, err
	}
	dirMode := os.FileMode(0o700)
	if account.switchTo {
		dirMode = 0o755 // the server account must pass through it
	}
	if err := os.MkdirAll(cfg.Dir, dirMode); err != nil {
		return nil, fmt.Errorf("create cluster directory: %w", err)
	}
	unlock, err := lockExclusive(ctx, filepath.Join(cfg.Dir, lockFileName))
	if err != nil {
		return nil, err
	}
	defer unlock()

	l, err := prepareLayout(cfg.Dir, account, cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("prepare cluster directory %s: %w", cfg.Dir, err)
	}
	c := &Cluster{layout: l, superuser: cfg.Superuser, logger: cfg.Logger}
	pid, err := c.runningServer(ctx)
	if err != nil {
		return nil, err
	}
	if pid != 0 {
		c.logger.Info("devdb: attached to the running PostgreSQL", "pid", pid, "pgdata", l.pgdata)
		return c, nil
	}
	err = ensureInitialized(ctx, initdbRequest{layout: l, binDir: binDir, account: account, superuser: cfg.Superuser, logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	c.server, err = launch(ctx, launchRequest{
		layout:   l,
		binDir:   binDir,
		account:  account,
		settings: cfg.Settings,
		detached: cfg.Detached,
		url:      c.URL("", ""),
		logger:   cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// runningServer returns the PID of a server that runs on the data
// directory and accepts connections, or 0 when none runs. A server that is
// starting or shutting down is waited for; a postmaster.pid whose process
// is gone is stale (a kill -9) and left for PostgreSQL to replace.
func (c *Cluster) runningServer(ctx context.Context) (int, error) {
	deadline := time.Now().Add(startTimeout)
	for {
		pid, err := readPostmasterPID(c.layout.pgdata)
		if err != nil || pid == 0 || !processAlive(pid) {
			return 0, err // a dead PID's file is PostgreSQL's to replace
		}
		if !isPostmasterOf(pid, c.layout.pgdata) {
			c.logger.Info("devdb: postmaster.pid names a process that is not this cluster's server; removing it", "pid", pid)
			return 0, removeStalePIDFile(c.layout.pgdata)
		}
		ok, err := answering(ctx, c.URL("", ""))
		if err != nil {
			return 0, fmt.Errorf("attach to the running PostgreSQL (pid %d): %w", pid, err)
		}
		if ok {
			return pid, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("PostgreSQL (pid %d) runs on %s but has not accepted connections on %s for %v; see %s", pid, c.layout.pgdata, c.layout.runDir, startTimeout, c.layout.logFile)
		}
		if err := sleepCtx(ctx, pollInterval); err != nil {
			return 0, fmt.Errorf("wait for the PostgreSQL (pid %d) that is starting or stopping: %w", pid, err)
		}
	}
}

// URL is a pgx connection string for database as user over the cluster's
// Unix socket. An empty database means "postgres", an empty user the
// superuser. Values are quoted, so paths and names with spaces work.
func (c *Cluster) URL(database, user string) string {
	if database == "" {
		database = "postgres"
	}
	if user == "" {
		user = c.superuser
	}
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable",
		quoteConnValue(c.layout.runDir), serverPort, quoteConnValue(user), quoteConnValue(database))
}

// quoteConnValue quotes a keyword/value connection string value.
func quoteConnValue(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// SocketDir is the directory holding the server's Unix socket, for tools
// such as psql -h.
func (c *Cluster) SocketDir() string { return c.layout.runDir }

// Superuser is the cluster's bootstrap superuser, which URL uses by default.
func (c *Cluster) Superuser() string { return c.superuser }

// Owned reports whether this process started the server, rather than
// attaching to one that was already running. Only an owned server is
// stopped by Stop.
func (c *Cluster) Owned() bool { return c.server != nil }

// Stop shuts the server down (fast shutdown) if this process started it;
// a server it merely attached to keeps running for whoever started it.
// Calling it again, or after the server has died, does nothing.
func (c *Cluster) Stop(ctx context.Context) error {
	if c.server == nil {
		return nil
	}
	c.stopMu.Lock()
	defer c.stopMu.Unlock()
	return stopServer(ctx, c.server.pid, c.server.exited, c.logger)
}

// Shutdown shuts down whatever server runs on the cluster's data
// directory, whoever started it: the last of several processes sharing a
// detached cluster uses it. Without a running server it does nothing.
func (c *Cluster) Shutdown(ctx context.Context) error {
	c.stopMu.Lock()
	defer c.stopMu.Unlock()
	pid, err := readPostmasterPID(c.layout.pgdata)
	if err != nil {
		return fmt.Errorf("find the running PostgreSQL: %w", err)
	}
	if c.server != nil && (pid == 0 || pid == c.server.pid) {
		// Ours: the reaper tells for certain when it has gone.
		return stopServer(ctx, c.server.pid, c.server.exited, c.logger)
	}
	if pid == 0 || !processAlive(pid) || !isPostmasterOf(pid, c.layout.pgdata) {
		return nil // nothing runs; and a stale file's PID may now be another program's
	}
	return stopServer(ctx, pid, nil, c.logger)
}
