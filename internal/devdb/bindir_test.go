package devdb

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindBinDirFindsTheInstalledServer(t *testing.T) {
	t.Parallel()
	dir, err := FindBinDir(os.Getenv("MEDREC_PG_BINDIR"))
	if err != nil {
		t.Fatal(err)
	}
	if !holdsServerBinaries(dir) {
		t.Errorf("FindBinDir returned %s, which lacks initdb or postgres", dir)
	}
	// The override is taken as it is.
	again, err := FindBinDir(dir)
	if err != nil || again != dir {
		t.Errorf("FindBinDir(%q) = %q, %v", dir, again, err)
	}
}

func TestFindBinDirRejectsAnOverrideWithoutBinaries(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	_, err := FindBinDir(empty)
	if err == nil {
		t.Fatal("an override without binaries was accepted")
	}
	requireOneLine(t, err)
	for _, want := range []string{"MEDREC_PG_BINDIR=" + empty, "initdb", "postgres"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestFindBinDirSaysWhatToInstallWhenNothingIsFound(t *testing.T) {
	t.Parallel()
	_, err := binDirSearch{versionsRoot: t.TempDir(), path: ""}.find()
	if err == nil {
		t.Fatal("found binaries in an empty search")
	}
	requireOneLine(t, err)
	for _, want := range []string{"no PostgreSQL server binaries found", "apt-get install postgresql", "MEDREC_PG_BINDIR", "DATABASE_URL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestFindBinDirPrefersTheNewestVersion(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	for _, version := range []string{"9.6", "10", "15"} {
		fakeServerBinaries(t, filepath.Join(root, version, "bin"))
	}
	if err := os.MkdirAll(filepath.Join(root, "16", "bin"), 0o755); err != nil { // a client-only install
		t.Fatal(err)
	}
	got, err := binDirSearch{versionsRoot: root}.find()
	if want := filepath.Join(root, "15", "bin"); err != nil || got != want {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
}

func TestFindBinDirFollowsPostgresOnPath(t *testing.T) {
	t.Parallel()
	real := filepath.Join(t.TempDir(), "pg", "bin")
	fakeServerBinaries(t, real)
	onPath := t.TempDir()
	if err := os.Symlink(filepath.Join(real, "postgres"), filepath.Join(onPath, "postgres")); err != nil {
		t.Fatal(err)
	}
	got, err := binDirSearch{versionsRoot: t.TempDir(), path: "relative/dir" + string(os.PathListSeparator) + onPath}.find()
	if err != nil || got != real {
		t.Errorf("got %q, %v; want %q", got, err, real)
	}
}

func TestParseVersionComparesNumerically(t *testing.T) {
	t.Parallel()
	for name, ok := range map[string]bool{"15": true, "9.6": true, "10": true, "": false, "15beta": false, "x": false} {
		if _, got := parseVersion(name); got != ok {
			t.Errorf("parseVersion(%q) ok = %v, want %v", name, got, ok)
		}
	}
}

func fakeServerBinaries(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"initdb", "postgres"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func requireOneLine(t *testing.T, err error) {
	t.Helper()
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error should be one line: %q", err)
	}
}
