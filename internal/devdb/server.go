package devdb

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// postmaster is a server process that this process started.
type postmaster struct {
	pid       int
	logOffset int64         // where its output starts in the log, for error reports
	exited    chan struct{} // closed once it has exited and been reaped
	exitErr   error         // how it exited; read only after exited is closed
}

// launchRequest is one server to start on a prepared, initialised cluster.
type launchRequest struct {
	layout   layout
	binDir   string
	account  serverAccount
	settings map[string]string
	detached bool
	url      string // where to check that it accepts connections
	logger   *slog.Logger
}

// launch starts the server and waits until it accepts connections. A
// server that fails to come up is stopped again, and the error carries the
// end of its log, which is where PostgreSQL says why.
func launch(ctx context.Context, r launchRequest) (*postmaster, error) {
	args := serverArgs(r.layout, r.settings, preloadLibraries(r.binDir))
	deadline := time.Now().Add(startTimeout)
	for {
		p, err := startPostmaster(r, args)
		if err != nil {
			return nil, err
		}
		exited, err := waitAnswering(ctx, r.url, deadline, p.exited)
		if err == nil && !exited {
			r.logger.Info("devdb: PostgreSQL started", "pid", p.pid, "pgdata", r.layout.pgdata, "socket_dir", r.layout.runDir, "log", r.layout.logFile)
			return p, nil
		}
		tail := logTail(r.layout.logFile, p.logOffset, 20)
		if exited {
			// After a kill -9 of the postmaster its children take a moment
			// to notice and exit; until they have, PostgreSQL refuses to
			// start over the shared memory they still hold.
			if strings.Contains(tail, "pre-existing shared memory block") && time.Now().Before(deadline) {
				if err := sleepCtx(ctx, 250*time.Millisecond); err != nil {
					return nil, fmt.Errorf("start PostgreSQL: %w", err)
				}
				continue
			}
			return nil, fmt.Errorf("PostgreSQL exited during start-up (%v); the last lines of %s:\n%s", p.exitErr, r.layout.logFile, tail)
		}
		if stopErr := stopServer(context.Background(), p.pid, p.exited, r.logger); stopErr != nil {
			r.logger.Warn("devdb: stop the server that failed to start", "pid", p.pid, "err", stopErr)
		}
		return nil, fmt.Errorf("start PostgreSQL: %w; the last lines of %s:\n%s", err, r.layout.logFile, tail)
	}
}

// startPostmaster runs the postgres binary directly rather than through
// pg_ctl, so that this process is its parent: it can reap it, see it exit
// during start-up, and tie its life to this process with Pdeathsig.
func startPostmaster(r launchRequest, args []string) (*postmaster, error) {
	logFile, err := openLog(r.layout.logFile, r.account)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the server holds its own copy of the descriptor
	offset, err := logFile.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("find the end of %s: %w", r.layout.logFile, err)
	}

	cmd := exec.Command(filepath.Join(r.binDir, "postgres"), args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Dir = "/" // this process's directory may be one the server account cannot enter
	cmd.Env = r.account.env()
	attr := &syscall.SysProcAttr{Credential: r.account.credential()}
	if r.detached {
		attr.Setsid = true // no terminal or session of ours reaches it, so it outlives us
	} else {
		// SIGINT is a fast shutdown, sent by the kernel when this process
		// dies however it dies. Its own process group keeps a Ctrl-C at the
		// terminal from stopping it before this process has drained.
		attr.Pdeathsig = syscall.SIGINT
		attr.Setpgid = true
	}
	cmd.SysProcAttr = attr

	// Pdeathsig fires when the thread that forked the child ends, not the
	// process (go.dev/issue/27505). The caller's goroutine may be locked to
	// a thread that ends with it; a fresh goroutine is not locked, and the
	// Go runtime does not end unlocked threads.
	fmt.Fprintf(logFile, "devdb: %s starting %s\n", time.Now().Format(time.RFC3339), strings.Join(cmd.Args, " "))
	started := make(chan error, 1)
	go func() { started <- cmd.Start() }()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("run %s: %w", cmd.Path, err)
	}

	p := &postmaster{pid: cmd.Process.Pid, logOffset: offset, exited: make(chan struct{})}
	go func() {
		// Reap it even when detached, so that it never lingers as a zombie
		// of this process.
		p.exitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// serverArgs is the postgres command line. listen_addresses is empty so
// that there is no TCP listener: the socket in its private directory is the
// only way in, which is what makes trust authentication safe.
func serverArgs(l layout, settings map[string]string, preload string) []string {
	args := []string{
		"-D", l.pgdata,
		"-c", "listen_addresses=",
		"-c", "unix_socket_directories=" + quoteSocketDir(l.runDir),
		"-c", "unix_socket_permissions=0700",
		"-c", fmt.Sprintf("port=%d", serverPort),
	}
	libraries := preload
	for _, name := range slices.Sorted(maps.Keys(settings)) {
		if strings.EqualFold(name, "shared_preload_libraries") {
			libraries = joinLibraries(preload, settings[name])
			continue
		}
		args = append(args, "-c", name+"="+settings[name])
	}
	if libraries != "" {
		args = append(args, "-c", "shared_preload_libraries="+libraries)
	}
	return args
}

// quoteSocketDir quotes a directory for unix_socket_directories, a
// comma-separated list, so that commas and spaces in it survive.
func quoteSocketDir(dir string) string {
	return `"` + strings.ReplaceAll(dir, `"`, `""`) + `"`
}

// joinLibraries adds ours to the libraries a caller asked to preload,
// unless they already name it.
func joinLibraries(ours, theirs string) string {
	switch {
	case strings.TrimSpace(theirs) == "":
		return ours
	case ours == "":
		return theirs
	}
	for lib := range strings.SplitSeq(theirs, ",") {
		if strings.TrimSpace(lib) == ours {
			return theirs
		}
	}
	return ours + "," + theirs
}

// preloadLibraries is "pg_stat_statements" when the installation has it,
// so that query statistics are there for the asking; an installation
// without it is fine.
func preloadLibraries(binDir string) string {
	if _, err := os.Stat(filepath.Join(pkgLibDir(binDir), "pg_stat_statements.so")); err == nil {
		return "pg_stat_statements"
	}
	return ""
}

// pkgLibDir is where the installation keeps its loadable modules: what its
// own pg_config says, else the usual lib directory beside bin.
func pkgLibDir(binDir string) string {
	if pgConfig := filepath.Join(binDir, "pg_config"); isExecutable(pgConfig) {
		if dir, err := runPgConfig(pgConfig, "--pkglibdir"); err == nil && dir != "" {
			return dir
		}
	}
	return filepath.Join(filepath.Dir(binDir), "lib")
}

// openLog opens the server log for appending and hands it to the server
// account, whose processes write to it.
func openLog(path string, acct serverAccount) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the server log: %w", err)
	}
	if err := acct.chown(path); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
