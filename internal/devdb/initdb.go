package devdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// initdbTempPrefix names the sibling directory initdb works in: only a
// finished cluster is renamed to pgdata, so an interrupted initdb never
// leaves something that later looks like a cluster.
const initdbTempPrefix = ".pgdata-initdb-"

// initdbRequest is one cluster to make.
type initdbRequest struct {
	layout    layout
	binDir    string
	account   serverAccount
	superuser string
	logger    *slog.Logger
}

// ensureInitialized runs initdb unless pgdata already holds a cluster.
func ensureInitialized(ctx context.Context, r initdbRequest) error {
	pgdata := r.layout.pgdata
	switch _, err := os.Stat(filepath.Join(pgdata, "PG_VERSION")); {
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("check for a cluster in %s: %w", pgdata, err)
	}
	// Only a complete cluster is ever renamed to pgdata, so a pgdata without
	// PG_VERSION is someone else's, unless it is empty.
	if err := os.Remove(pgdata); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s exists but holds no cluster (no PG_VERSION); remove it to let a new cluster be made there: %w", pgdata, err)
	}
	removeAbandonedInitdbDirs(r.layout.home, r.logger)

	logFile, err := openLog(r.layout.logFile, r.account)
	if err != nil {
		return err
	}
	defer logFile.Close()
	r.logger.Info("devdb: creating a PostgreSQL cluster with initdb", "pgdata", pgdata, "superuser", r.superuser)
	out, err := r.run(ctx, logFile, "--locale=C.UTF-8")
	// initdb says `invalid locale name "C.UTF-8"` where the C library lacks
	// that locale (older glibc, musl builds).
	if err != nil && strings.Contains(out, "invalid locale") {
		r.logger.Warn("devdb: initdb rejected locale C.UTF-8; using --no-locale")
		out, err = r.run(ctx, logFile, "--no-locale")
	}
	if err != nil {
		return fmt.Errorf("initdb for %s: %w; its last output:\n%s", pgdata, err, lastLines(out, 20))
	}
	return nil
}

// run makes the cluster in a temporary sibling of pgdata and renames it
// into place on success. It returns initdb's output, which also goes to
// the server log.
func (r initdbRequest) run(ctx context.Context, logFile io.Writer, localeOption string) (string, error) {
	tmp, err := os.MkdirTemp(r.layout.home, initdbTempPrefix)
	if err != nil {
		return "", fmt.Errorf("create a directory for initdb: %w", err)
	}
	if err := r.account.chown(tmp); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	// --auth=trust is safe: the server listens on no TCP port and its socket
	// directory is private (0700), so only this OS user (and root) can
	// connect at all.
	cmd := exec.CommandContext(ctx, filepath.Join(r.binDir, "initdb"),
		"-D", tmp,
		"-U", r.superuser,
		"--auth=trust",
		"--encoding=UTF8",
		localeOption,
		"--no-instructions",
	)
	var out bytes.Buffer
	cmd.Stdout = io.MultiWriter(&out, logFile)
	cmd.Stderr = cmd.Stdout
	cmd.Dir = "/" // this process's directory may be one the server account cannot enter
	cmd.Env = r.account.env()
	// SIGKILL if this process dies: the half-made directory is removed by
	// the next start.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.account.credential(), Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		os.RemoveAll(tmp)
		return out.String(), fmt.Errorf("run initdb: %w", err)
	}
	if err := os.Rename(tmp, r.layout.pgdata); err != nil {
		os.RemoveAll(tmp)
		return out.String(), fmt.Errorf("move the new cluster into place: %w", err)
	}
	return out.String(), nil
}

// removeAbandonedInitdbDirs deletes what interrupted initdb runs left. The
// start lock is held, so none of them is still in use.
func removeAbandonedInitdbDirs(home string, logger *slog.Logger) {
	leftovers, _ := filepath.Glob(filepath.Join(home, initdbTempPrefix+"*"))
	for _, dir := range leftovers {
		if err := os.RemoveAll(dir); err != nil {
			logger.Warn("devdb: remove the leftovers of an interrupted initdb", "dir", dir, "err", err)
		}
	}
}
