// Package pgtest gives tests their own PostgreSQL databases.
//
// The server is TEST_DATABASE_URL when it is set (a role that may create
// databases and roles), and otherwise a private cluster started from the
// installed PostgreSQL binaries and shared by every test process of the run
// (see cluster.go). Each test gets a fresh database cloned from a template
// that was migrated once, so tests run in parallel and may commit freely.
//
// A package that uses it runs its tests through Main:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
package pgtest
