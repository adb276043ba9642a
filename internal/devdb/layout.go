package devdb

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
)

const (
	// serverPort only names the socket file (.s.PGSQL.5432): the server
	// listens on no TCP port.
	serverPort     = 5432
	socketFileName = ".s.PGSQL.5432"
	// maxSocketPathLen keeps the socket path clear of the 107-byte limit of
	// sun_path, which the server would refuse at start.
	maxSocketPathLen = 100
	// fallbackClustersRoot holds clusters whose Dir the server account
	// cannot reach, e.g. a clone under /root (mode 0700).
	fallbackClustersRoot = "/var/lib/medrec/clusters"
	// fallbackLinkName is the symlink in Dir that points at the fallback, so
	// that the files can be found and later starts reuse them.
	fallbackLinkName = "pgcluster"
	lockFileName     = "devdb.lock"
	logFileName      = "postgres.log"
)

// layout is where one cluster's files live.
type layout struct {
	dir     string // Config.Dir, absolute
	home    string // holds pgdata and run: dir, or a fallback the server account can reach
	pgdata  string
	runDir  string // the socket directory
	logFile string // always in dir: the server writes it through a descriptor this process opens
}

// dirHash names a cluster's fallback locations after its Dir, so that each
// Dir gets its own and finds it again.
func dirHash(dir string) string {
	sum := sha256.Sum256([]byte(dir))
	return hex.EncodeToString(sum[:])[:16]
}

// fallbackHome is where the cluster of dir lives when the server account
// cannot reach dir.
func fallbackHome(dir string) string {
	return filepath.Join(fallbackClustersRoot, dirHash(dir))
}

// fallbackSocketDir is the socket directory of dir's cluster when the
// regular one would make the socket path too long.
func fallbackSocketDir(dir string) string {
	return filepath.Join("/tmp", "medrec-"+dirHash(dir))
}

// prepareLayout decides where the cluster of dir keeps its files and makes
// the directories the server needs (not pgdata: initdb makes that).
func prepareLayout(dir string, acct serverAccount, logger *slog.Logger) (layout, error) {
	home, err := chooseHome(dir, acct, logger)
	if err != nil {
		return layout{}, err
	}
	l := layout{
		dir:     dir,
		home:    home,
		pgdata:  filepath.Join(home, "pgdata"),
		runDir:  filepath.Join(home, "run"),
		logFile: filepath.Join(dir, logFileName),
	}
	if len(filepath.Join(l.runDir, socketFileName)) > maxSocketPathLen {
		l.runDir = fallbackSocketDir(dir)
		logger.Info("devdb: socket path under the cluster directory would be too long; using a short one", "socket_dir", l.runDir)
	}
	if err := ensurePrivateDir(l.runDir, acct); err != nil {
		return layout{}, err
	}
	return l, nil
}

// chooseHome returns the directory that holds pgdata and run. That is dir,
// unless the server runs as another account that cannot reach dir: then it
// is a fallback under /var/lib/medrec, linked from dir/pgcluster.
func chooseHome(dir string, acct serverAccount, logger *slog.Logger) (string, error) {
	link := filepath.Join(dir, fallbackLinkName)
	if target, err := os.Readlink(link); err == nil {
		// An earlier start moved the files out: keep them where they are,
		// even if dir has become reachable since.
		if acct.switchTo {
			if err := ensureFallbackHome(target, acct); err != nil {
				return "", err
			}
		}
		logger.Info("devdb: cluster files are kept outside the cluster directory", "dir", dir, "files", target)
		return target, nil
	}
	if !acct.switchTo {
		return dir, nil
	}
	blocked, err := acct.blockingAncestor(dir)
	if err != nil {
		return "", err
	}
	if blocked == "" {
		return dir, acct.makeSearchable(dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "pgdata", "PG_VERSION")); err == nil {
		return "", fmt.Errorf("the cluster in %s cannot be reached by the %s OS user, which runs PostgreSQL, because it may not pass through %s: make that directory searchable (chmod o+x %s) or move the cluster", dir, acct.name, blocked, blocked)
	}
	home := fallbackHome(dir)
	if err := ensureFallbackHome(home, acct); err != nil {
		return "", err
	}
	if err := os.Symlink(home, link); err != nil {
		return "", fmt.Errorf("link %s to the cluster files in %s: %w", link, home, err)
	}
	logger.Info("devdb: cluster files are kept outside the cluster directory, which the server's OS user cannot reach", "dir", dir, "files", home, "blocked_by", blocked, "os_user", acct.name)
	return home, nil
}

// ensureFallbackHome makes a fallback home: its parents are root's and
// open (0755) so the account can pass, the home itself is the account's
// alone (0700).
func ensureFallbackHome(home string, acct serverAccount) error {
	var parents []string
	for p := filepath.Dir(home); p != filepath.Dir(p); p = filepath.Dir(p) {
		parents = append(parents, p)
	}
	for i := len(parents) - 1; i >= 0; i-- {
		err := os.Mkdir(parents[i], 0o755)
		if err == nil {
			err = os.Chmod(parents[i], 0o755) // not narrowed by the umask
		}
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create %s for the cluster files: %w", parents[i], err)
		}
	}
	if err := ensurePrivateDir(home, acct); err != nil {
		return err
	}
	blocked, err := acct.blockingAncestor(home)
	if err != nil {
		return err
	}
	if blocked != "" {
		return fmt.Errorf("the %s OS user cannot reach %s either: it may not pass through %s", acct.name, home, blocked)
	}
	return nil
}

// ensurePrivateDir makes path a directory that only the server account may
// use (0700). An existing one must already belong to the account: in /tmp
// anyone could have made it first, and a symlink there could point anywhere.
func ensurePrivateDir(path string, acct serverAccount) error {
	created := true
	if err := os.Mkdir(path, 0o700); err != nil {
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create %s: %w", path, err)
		}
		created = false
	}
	info, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	if !info.IsDir() {
		return fmt.Errorf("%s is not a directory: remove it", path)
	}
	if created {
		if err := acct.chown(path); err != nil {
			return err
		}
	} else if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Uid != acct.uid {
		return fmt.Errorf("%s belongs to uid %d, not to uid %d that runs PostgreSQL: remove it", path, st.Uid, acct.uid)
	}
	if err := os.Chmod(path, 0o700); err != nil {
		return fmt.Errorf("make %s private: %w", path, err)
	}
	return nil
}
