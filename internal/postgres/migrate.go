package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver goose runs on
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var embeddedMigrations embed.FS

// Migrations returns the numbered migrations embedded in the binary.
func Migrations() fs.FS {
	sub, err := fs.Sub(embeddedMigrations, "migrations")
	if err != nil {
		panic(err) // the embed pattern above guarantees the folder exists
	}
	return sub
}

// Migrator applies the embedded migrations as the schema owner and keeps the
// service's login role and its grants in step with the schema.
type Migrator struct {
	db       *sql.DB
	provider *goose.Provider
	appRole  AppRole
}

// NewMigrator connects to ownerURL, the connection string of the role that
// owns (or will own) medrec's tables. Close it when done.
func NewMigrator(ownerURL string, appRole AppRole, logger *slog.Logger) (*Migrator, error) {
	if err := appRole.validate(); err != nil {
		return nil, err
	}
	db, err := sql.Open("pgx", ownerURL)
	if err != nil {
		return nil, fmt.Errorf("open owner connection: %w", err)
	}
	// A session-level advisory lock keeps two medrec processes that start at
	// the same time from applying the same migration twice.
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("create migration lock: %w", err)
	}
	opts := []goose.ProviderOption{goose.WithSessionLocker(locker)}
	if logger != nil {
		opts = append(opts, goose.WithSlog(logger))
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, db, Migrations(), opts...)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return &Migrator{db: db, provider: provider, appRole: appRole}, nil
}

// Close releases the owner connection.
func (m *Migrator) Close() error { return m.provider.Close() }

// Up applies every pending migration, each in its own transaction, then
// creates or updates the service role's grants.
func (m *Migrator) Up(ctx context.Context) error {
	if _, err := m.provider.Up(ctx); err != nil {
		return fmt.Errorf("migrate up: %w", err)
	}
	if err := m.grantAppRole(ctx); err != nil {
		return err
	}
	// This month's and next month's audit_log partitions (00017); a no-op
	// when they exist.
	if _, err := m.db.ExecContext(ctx, `
		SELECT medrec_audit_ensure_partitions()
		WHERE to_regprocedure('medrec_audit_ensure_partitions()') IS NOT NULL`); err != nil {
		return fmt.Errorf("audit partitions: %w", err)
	}
	return nil
}

// Down rolls back the newest migration, or all of them when all is true.
func (m *Migrator) Down(ctx context.Context, all bool) error {
	var err error
	if all {
		_, err = m.provider.DownTo(ctx, 0)
	} else {
		_, err = m.provider.Down(ctx)
	}
	if err != nil {
		return fmt.Errorf("migrate down: %w", err)
	}
	return nil
}

// MigrationState is one embedded migration and whether it is applied.
type MigrationState struct {
	Version int64
	Name    string
	Applied bool
}

// Status lists every embedded migration in order with its state.
func (m *Migrator) Status(ctx context.Context) ([]MigrationState, error) {
	statuses, err := m.provider.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]MigrationState, 0, len(statuses))
	for _, s := range statuses {
		out = append(out, MigrationState{
			Version: s.Source.Version,
			Name:    s.Source.Path,
			Applied: s.State == goose.StateApplied,
		})
	}
	return out, nil
}

// LatestVersion is the newest migration embedded in this binary.
func LatestVersion() int64 {
	// Reading the embedded directory cannot fail once the binary is built.
	entries, _ := fs.ReadDir(Migrations(), ".")
	var latest int64
	for _, e := range entries {
		var v int64
		if _, err := fmt.Sscanf(e.Name(), "%d_", &v); err == nil && v > latest {
			latest = v
		}
	}
	return latest
}
