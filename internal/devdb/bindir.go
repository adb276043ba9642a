package devdb

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// debianVersionsRoot holds one server installation per major version on
// Debian and Ubuntu (/usr/lib/postgresql/15/bin, ...), none of them on PATH.
const debianVersionsRoot = "/usr/lib/postgresql"

// FindBinDir returns the directory holding the PostgreSQL server binaries.
// It tries, in order: override (the value of MEDREC_PG_BINDIR), the newest
// /usr/lib/postgresql/<major>/bin, the directory of the postgres found on
// PATH (symlinks resolved, since /usr/local/bin may only hold links), and
// `pg_config --bindir`. A directory counts only if it holds executable
// initdb and postgres. An override that does not is an error rather than a
// reason to look elsewhere, because whoever set it meant that one.
func FindBinDir(override string) (string, error) {
	return binDirSearch{
		override:     override,
		versionsRoot: debianVersionsRoot,
		path:         os.Getenv("PATH"),
	}.find()
}

// binDirSearch is one FindBinDir search; its fields are the places looked
// in, so that tests can point them at empty directories.
type binDirSearch struct {
	override     string // MEDREC_PG_BINDIR; when set, the only candidate
	versionsRoot string // holds <major>/bin directories
	path         string // a PATH list to find postgres and pg_config in
}

func (s binDirSearch) find() (string, error) {
	if s.override != "" {
		dir, err := filepath.Abs(s.override)
		if err == nil && holdsServerBinaries(dir) {
			return dir, nil
		}
		return "", fmt.Errorf("MEDREC_PG_BINDIR=%s holds no executable initdb and postgres: point it at the PostgreSQL server's bin directory (e.g. /usr/lib/postgresql/15/bin) or unset it to search %s/*/bin, PATH and pg_config --bindir", s.override, s.versionsRoot)
	}
	for _, dir := range s.versionedBinDirs() {
		if holdsServerBinaries(dir) {
			return dir, nil
		}
	}
	if postgres, ok := lookPath("postgres", s.path); ok {
		if real, err := filepath.EvalSymlinks(postgres); err == nil && holdsServerBinaries(filepath.Dir(real)) {
			return filepath.Dir(real), nil
		}
	}
	if dir, ok := s.pgConfigBinDir(); ok && holdsServerBinaries(dir) {
		return dir, nil
	}
	return "", fmt.Errorf("no PostgreSQL server binaries found (looked in MEDREC_PG_BINDIR, %s/*/bin, PATH, pg_config --bindir): install the PostgreSQL server package (Debian/Ubuntu: apt-get install postgresql) or set MEDREC_PG_BINDIR, or set DATABASE_URL to use an existing server", s.versionsRoot)
}

// versionedBinDirs lists versionsRoot/<major>/bin, newest major first,
// comparing numerically so that 10 comes after 9.6.
func (s binDirSearch) versionedBinDirs() []string {
	entries, err := os.ReadDir(s.versionsRoot)
	if err != nil {
		return nil
	}
	type version struct {
		name  string
		parts []int
	}
	var versions []version
	for _, e := range entries {
		if parts, ok := parseVersion(e.Name()); ok {
			versions = append(versions, version{e.Name(), parts})
		}
	}
	slices.SortFunc(versions, func(a, b version) int { return slices.Compare(b.parts, a.parts) })
	dirs := make([]string, 0, len(versions))
	for _, v := range versions {
		dirs = append(dirs, filepath.Join(s.versionsRoot, v.name, "bin"))
	}
	return dirs
}

// parseVersion splits a directory name such as "15" or "9.6" into numbers;
// anything else is not a version directory.
func parseVersion(name string) ([]int, bool) {
	var parts []int
	for field := range strings.SplitSeq(name, ".") {
		n, err := strconv.Atoi(field)
		if err != nil || n < 0 {
			return nil, false
		}
		parts = append(parts, n)
	}
	return parts, true
}

// pgConfigBinDir asks the pg_config on PATH where the binaries are; it may
// be a client-only pg_config, hence the check by the caller.
func (s binDirSearch) pgConfigBinDir() (string, bool) {
	pgConfig, ok := lookPath("pg_config", s.path)
	if !ok {
		return "", false
	}
	dir, err := runPgConfig(pgConfig, "--bindir")
	return dir, err == nil && dir != ""
}

// runPgConfig runs pg_config with one option and returns its trimmed output.
func runPgConfig(pgConfig, option string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, pgConfig, option).Output()
	if err != nil {
		return "", fmt.Errorf("run %s %s: %w", pgConfig, option, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// lookPath finds an executable in the directories of a PATH list, like
// exec.LookPath but on a given list; relative entries are skipped for the
// same reason exec.LookPath refuses them.
func lookPath(name, pathList string) (string, bool) {
	for _, dir := range filepath.SplitList(pathList) {
		if !filepath.IsAbs(dir) {
			continue
		}
		if file := filepath.Join(dir, name); isExecutable(file) {
			return file, true
		}
	}
	return "", false
}

// holdsServerBinaries reports whether dir can run a cluster: it needs
// initdb to make one and postgres to run it.
func holdsServerBinaries(dir string) bool {
	return isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "postgres"))
}

func isExecutable(file string) bool {
	info, err := os.Stat(file)
	return err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0
}
