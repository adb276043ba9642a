package devdb

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// serverAccount is the OS account that initdb and postgres run as.
// PostgreSQL refuses to run as root, so a root process hands the server to
// the postgres account (or nobody); any other user runs it as itself.
type serverAccount struct {
	name     string
	uid, gid uint32
	home     string // HOME for the server's environment
	switchTo bool   // this process is root and the server must drop to uid/gid
}

// lookupServerAccount picks the account for this process.
func lookupServerAccount() (serverAccount, error) {
	if os.Geteuid() != 0 {
		home, err := os.UserHomeDir()
		if err != nil {
			home = "/"
		}
		return serverAccount{
			name: strconv.Itoa(os.Geteuid()),
			uid:  uint32(os.Geteuid()),
			gid:  uint32(os.Getegid()),
			home: home,
		}, nil
	}
	// The account the distribution's packages made for PostgreSQL, else the
	// one that exists everywhere.
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, uidErr := strconv.ParseUint(u.Uid, 10, 32)
		gid, gidErr := strconv.ParseUint(u.Gid, 10, 32)
		if uidErr != nil || gidErr != nil || uid == 0 {
			continue
		}
		return serverAccount{
			name:     name,
			uid:      uint32(uid),
			gid:      uint32(gid),
			home:     existingDirOr(u.HomeDir, "/"),
			switchTo: true,
		}, nil
	}
	return serverAccount{}, errors.New("running as root, and PostgreSQL refuses to: no postgres or nobody OS user exists to run it as (create one: useradd --system postgres)")
}

// credential is what the server's process switches to; nil keeps this
// process's identity. Supplementary groups are emptied so the server gets
// none of root's.
func (a serverAccount) credential() *syscall.Credential {
	if !a.switchTo {
		return nil
	}
	return &syscall.Credential{Uid: a.uid, Gid: a.gid, Groups: []uint32{}}
}

// env is the server's whole environment: a minimal one, so that nothing
// meant for this process (PGDATA, PGPORT, LC_*) steers initdb or postgres.
func (a serverAccount) env() []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	env := []string{"PATH=" + path, "LANG=C.UTF-8", "HOME=" + a.home}
	if tz, ok := os.LookupEnv("TZ"); ok {
		env = append(env, "TZ="+tz) // keeps log timestamps in the local zone
	}
	return env
}

// chown hands path to the account when the server runs as another user,
// since postgres insists on owning its data and socket directories.
func (a serverAccount) chown(path string) error {
	if !a.switchTo {
		return nil
	}
	if err := os.Chown(path, int(a.uid), int(a.gid)); err != nil {
		return fmt.Errorf("hand %s to the %s OS user: %w", path, a.name, err)
	}
	return nil
}

// canSearch reports whether the account may pass through the directory
// described by info, by its mode bits as the kernel checks them: only the
// owner bits count for the owner, then the group bits for the group (the
// server has no supplementary groups), then the rest.
func (a serverAccount) canSearch(info os.FileInfo) bool {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok || a.uid == 0 {
		return true
	}
	perm := info.Mode().Perm()
	switch {
	case st.Uid == a.uid:
		return perm&0o100 != 0
	case st.Gid == a.gid:
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}

// blockingAncestor returns the first directory above dir (symlinks
// resolved) that the account cannot pass through, or "" when it can reach
// dir. dir itself is not checked: it is the cluster's own and can be fixed.
func (a serverAccount) blockingAncestor(dir string) (string, error) {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", dir, err)
	}
	var ancestors []string
	for p := filepath.Dir(real); ; p = filepath.Dir(p) {
		ancestors = append(ancestors, p)
		if p == filepath.Dir(p) {
			break
		}
	}
	for i := len(ancestors) - 1; i >= 0; i-- { // from / downwards
		info, err := os.Stat(ancestors[i])
		if err != nil {
			return "", fmt.Errorf("check access to %s: %w", ancestors[i], err)
		}
		if !a.canSearch(info) {
			return ancestors[i], nil
		}
	}
	return "", nil
}

// makeSearchable lets the account pass through dir (mode 0711 at least),
// which may stay root's: it holds the cluster's directories but the server
// need not list it.
func (a serverAccount) makeSearchable(dir string) error {
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("check access to %s: %w", dir, err)
	}
	if a.canSearch(info) {
		return nil
	}
	if err := os.Chmod(dir, info.Mode().Perm()|0o011); err != nil {
		return fmt.Errorf("let the %s OS user pass through %s: %w", a.name, dir, err)
	}
	return nil
}

func existingDirOr(dir, fallback string) string {
	if info, err := os.Stat(dir); err == nil && info.IsDir() {
		return dir
	}
	return fallback
}
