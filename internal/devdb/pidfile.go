package devdb

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// readPostmasterPID returns the PID on the first line of
// pgdata/postmaster.pid, or 0 when there is no such file. The file may be
// stale (the server was killed); processAlive and isPostmasterOf tell.
func readPostmasterPID(pgdata string) (int, error) {
	path := filepath.Join(pgdata, "postmaster.pid")
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && line == "" {
		// The server creates the file and then writes it: empty for a moment.
		return 0, nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		return 0, nil // half-written, or not ours to interpret; PostgreSQL decides at start
	}
	return pid, nil
}

// processAlive reports whether pid is a running process. A zombie counts
// as gone: it has exited, its parent just has not reaped it yet.
func processAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	_, state, ok := procStat(pid)
	return !ok || (state != 'Z' && state != 'X')
}

// isPostmasterOf reports whether the live process pid is a PostgreSQL
// server working in pgdata, as opposed to a program that got the PID of a
// postmaster that died, which happens when a stale postmaster.pid survives
// a reboot. Where /proc cannot tell, it assumes the PID is the server's.
func isPostmasterOf(pid int, pgdata string) bool {
	if comm, _, ok := procStat(pid); ok && !strings.HasPrefix(comm, "postgres") && !strings.HasPrefix(comm, "postmaster") {
		return false
	}
	// The postmaster and all its children work in the data directory.
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	if err != nil {
		return true // another user's process: not ours to inspect
	}
	real, err := filepath.EvalSymlinks(pgdata)
	return err != nil || cwd == real
}

// procStat returns the command name and state of pid from /proc; ok is
// false when there is no /proc to ask.
func procStat(pid int) (comm string, state byte, ok bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, false
	}
	// The line is "pid (comm) state ...", and comm may hold spaces and
	// parentheses, so the state follows the last ')'.
	s := string(stat)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open || closing+2 >= len(s) {
		return "", 0, false
	}
	return s[open+1 : closing], s[closing+2], true
}

// removeStalePIDFile deletes a postmaster.pid that names a process which is
// not this cluster's server. PostgreSQL itself would take any live PID for
// a running server and refuse to start.
func removeStalePIDFile(pgdata string) error {
	path := filepath.Join(pgdata, "postmaster.pid")
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale %s: %w", path, err)
	}
	return nil
}
