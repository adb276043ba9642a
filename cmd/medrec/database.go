package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"medrec/internal/devdb"
	"medrec/internal/postgres"
)

// privateDatabase is the database medrec makes in its private cluster.
const privateDatabase = "medrec"

// database is where medrec's data lives for one command: the connection
// strings of the schema owner and of the service role, and the private
// cluster when medrec runs one.
type database struct {
	ownerURL string
	appURL   string
	cluster  *devdb.Cluster // nil with DATABASE_URL
}

// openDatabase resolves the database from cfg. Without DATABASE_URL it
// starts (or attaches to) the private cluster under the data directory and
// makes sure its database exists.
func openDatabase(ctx context.Context, cfg Config, log *slog.Logger) (*database, error) {
	if cfg.DatabaseURL != "" {
		appURL := cfg.AppDatabaseURL
		if appURL == "" {
			var err error
			if appURL, err = postgres.ConnString(cfg.DatabaseURL, cfg.AppRole, cfg.AppRolePassword, ""); err != nil {
				return nil, fmt.Errorf("DATABASE_URL: %w", err)
			}
		}
		return &database{ownerURL: cfg.DatabaseURL, appURL: appURL}, nil
	}
	cluster, err := devdb.Start(ctx, devdb.Config{
		Dir:    filepath.Join(cfg.DataDir, "postgres"),
		BinDir: cfg.PGBinDir,
		Logger: log,
	})
	if err != nil {
		return nil, err
	}
	db := &database{
		ownerURL: cluster.URL(privateDatabase, cluster.Superuser()),
		appURL:   cluster.URL(privateDatabase, cfg.AppRole),
		cluster:  cluster,
	}
	if err := createDatabase(ctx, cluster.URL("postgres", cluster.Superuser()), privateDatabase); err != nil {
		db.close(context.WithoutCancel(ctx))
		return nil, err
	}
	return db, nil
}

// createDatabase creates name unless it exists.
func createDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to the private cluster: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// migrator returns a Migrator on the owner's connection.
func (d *database) migrator(cfg Config, log *slog.Logger) (*postgres.Migrator, error) {
	return postgres.NewMigrator(d.ownerURL, postgres.AppRole{Name: cfg.AppRole, Password: cfg.AppRolePassword}, log)
}

// close stops the private cluster if this process started it.
func (d *database) close(ctx context.Context) error {
	if d.cluster == nil {
		return nil
	}
	return d.cluster.Stop(ctx)
}
