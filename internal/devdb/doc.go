// Package devdb runs a private PostgreSQL cluster from the installed server
// binaries, so that `medrec serve` and the tests work with no database set up
// by hand when DATABASE_URL is unset.
//
// A cluster lives in one directory (Config.Dir) and is reused across runs:
// initdb runs the first time only. The server listens on a Unix socket in a
// private directory and on no TCP port, which is what makes its trust
// authentication safe. Start either launches the server or, when one already
// runs on the data directory, attaches to it; a crashed server (kill -9, a
// stale postmaster.pid) is simply started again and PostgreSQL recovers from
// its WAL.
//
// PostgreSQL refuses to run as root, so a root process runs initdb and the
// server as the postgres OS user (or nobody) and, when that user cannot reach
// Config.Dir, keeps the files under /var/lib/medrec/clusters instead.
package devdb
