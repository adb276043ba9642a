package pgtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"medrec/internal/postgres"
)

// AppRoleName is the service role the test databases grant to. It differs
// from the production default so that tests against a shared server never
// touch a real deployment's role.
const AppRoleName = "medrec_test_app"

// appRolePassword lets the test role log in where the server asks for
// passwords; it guards nothing but test data.
const appRolePassword = "medrec-test-only"

// server is the PostgreSQL server this test process uses, set up on first
// use and released by Main.
type server struct {
	adminURL string
	admin    *pgxpool.Pool
	template string
	shared   *sharedCluster // nil with TEST_DATABASE_URL
}

var (
	serverOnce sync.Once
	theServer  *server
	serverErr  error
)

func getServer() (*server, error) {
	serverOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		theServer, serverErr = startServer(ctx)
	})
	return theServer, serverErr
}

func startServer(ctx context.Context) (*server, error) {
	s := &server{adminURL: os.Getenv("TEST_DATABASE_URL")}
	if s.adminURL == "" {
		shared, err := joinCluster(ctx)
		if err != nil {
			return nil, err
		}
		s.shared = shared
		s.adminURL = shared.cluster.URL("postgres", shared.cluster.Superuser())
	}
	admin, err := pgxpool.New(ctx, s.adminURL)
	if err == nil {
		err = admin.Ping(ctx)
	}
	if err != nil {
		s.release()
		return nil, fmt.Errorf("connect to the test PostgreSQL server (TEST_DATABASE_URL=%q): %w", os.Getenv("TEST_DATABASE_URL"), err)
	}
	s.admin = admin
	if s.template, err = s.ensureTemplate(ctx); err != nil {
		s.release()
		return nil, err
	}
	return s, nil
}

func (s *server) release() {
	if s.admin != nil {
		s.admin.Close()
	}
	if s.shared != nil {
		if err := s.shared.leave(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest: stop test cluster:", err)
		}
	}
}

// ensureTemplate returns the name of a database migrated to the embedded
// migrations, creating it once per distinct set of migrations and service
// role grants. Its name holds a hash of both, so a changed migration or
// grant gets a new template.
func (s *server) ensureTemplate(ctx context.Context) (string, error) {
	hash, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := "medrec_tpl_" + hash
	conn, err := s.admin.Acquire(ctx)
	if err != nil {
		return "", fmt.Errorf("acquire admin connection: %w", err)
	}
	defer conn.Release()
	// Every test process of the run may get here at once; one builds.
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtext('medrec.pgtest.template'))`); err != nil {
		return "", fmt.Errorf("lock template: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext('medrec.pgtest.template'))`)

	var complete *bool
	err = conn.QueryRow(ctx, `SELECT datistemplate FROM pg_database WHERE datname = $1`, name).Scan(&complete)
	switch {
	case err == nil && *complete:
		return name, nil
	case err == nil: // left half-built by an interrupted run
		if _, err := conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			return "", fmt.Errorf("drop half-built template: %w", err)
		}
	case err != pgx.ErrNoRows:
		return "", fmt.Errorf("look up template: %w", err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create template: %w", err)
	}
	if err := Migrate(ctx, s.urlFor(name, "")); err != nil {
		return "", fmt.Errorf("migrate template: %w", err)
	}
	// IS_TEMPLATE marks it complete; no connections keeps clones from failing
	// because someone is looking at it.
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"); err != nil {
		return "", fmt.Errorf("mark template: %w", err)
	}
	return name, nil
}

// Migrate applies every migration to the database at ownerURL and grants the
// test service role, exactly as `medrec migrate up` does.
func Migrate(ctx context.Context, ownerURL string) error {
	m, err := postgres.NewMigrator(ownerURL, postgres.AppRole{Name: AppRoleName, Password: appRolePassword}, nil)
	if err != nil {
		return err
	}
	defer m.Close()
	return m.Up(ctx)
}

// urlFor is the connection string for database name as the admin role, or as
// role when it is not empty.
func (s *server) urlFor(name, role string) string {
	password := ""
	if role == AppRoleName {
		password = appRolePassword
	}
	u, err := postgres.ConnString(s.adminURL, role, password, name)
	if err != nil {
		panic(err) // adminURL was already used to connect, so it parses
	}
	return u
}

func migrationsHash() (string, error) {
	h := sha256.New()
	fmt.Fprintln(h, "pgtest v1", AppRoleName)
	// The template also holds the service role's grants.
	fmt.Fprintln(h, postgres.AppGrants())
	err := fs.WalkDir(postgres.Migrations(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(postgres.Migrations(), path)
		if err != nil {
			return err
		}
		fmt.Fprintln(h, path, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash migrations: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// Main runs the tests and then releases the server.
func Main(m *testing.M) int {
	code := m.Run()
	if theServer != nil {
		theServer.release()
	}
	return code
}
