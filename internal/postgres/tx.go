package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"medrec"
)

// inTx runs fn in one transaction that carries the caller's identity and
// commits only if fn succeeds.
//
// The identity reaches PostgreSQL through set_config(..., true): local to the
// transaction, so a pooled connection never carries one request's user into
// the next. The audit triggers and row-level security policies read it; a
// transaction without a caller acts as the system, and policies show it no
// patient data.
func (db *DB) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", translate(err))
	}
	// Rollback after Commit is a no-op, so this only undoes failed work.
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	if c := medrec.CallerFromContext(ctx); c != nil {
		if _, err := tx.Exec(ctx,
			`SELECT set_config('app.user_id', $1, true), set_config('app.role', $2, true)`,
			c.UserID, string(c.Role)); err != nil {
			return fmt.Errorf("set caller identity: %w", translate(err))
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", translate(err))
	}
	return nil
}
