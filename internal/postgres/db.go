// Package postgres implements medrec's services on PostgreSQL through pgx.
// Every service method runs in a transaction that carries the caller's
// identity (see tx.go); queries live in queries/*.sql, compiled by sqlc into
// the private package internal/dbsqlc.
package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"medrec"
	"medrec/internal/postgres/internal/dbsqlc"
)

// DB is the service's connection pool, logged in as the service role.
type DB struct {
	pool *pgxpool.Pool
}

// Open connects to PostgreSQL as the service role and checks the connection.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL, password included: keep it out.
		return nil, fmt.Errorf("parse database URL: invalid connection string")
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "medrec"
	// Ceilings that stop one runaway query or an abandoned transaction from
	// holding locks and connections for ever.
	cfg.ConnConfig.RuntimeParams["statement_timeout"] = "30000"
	cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = "60000"
	cfg.MaxConnIdleTime = 5 * time.Minute
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database pool: %w", translate(err))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database: %w", translate(err))
	}
	return &DB{pool: pool}, nil
}

// Pool is the service's connection pool itself, for `medrec bench`: its
// raw-SQL baseline must queue for the same connections the service uses.
// Nothing else should run SQL on it outside this package.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Close waits for borrowed connections to return and closes the pool.
func (db *DB) Close() { db.pool.Close() }

// Ready reports whether the database answers and its schema is at the
// newest migration this binary embeds. Errors: EUNAVAILABLE.
func (db *DB) Ready(ctx context.Context) error {
	version, err := dbsqlc.New(db.pool).MigrationCurrentVersion(ctx)
	if err != nil {
		return &medrec.Error{Code: medrec.EUNAVAILABLE, Message: "database not reachable", Err: err}
	}
	if want := LatestVersion(); version != want {
		return medrec.Errorf(medrec.EUNAVAILABLE, "database schema at migration %d, this binary needs %d", version, want)
	}
	return nil
}
