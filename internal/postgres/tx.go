package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"medrec"
	"medrec/internal/postgres/internal/dbsqlc"
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
	c := medrec.CallerFromContext(ctx)
	var opts pgx.TxOptions
	if c != nil && medrec.IsUUID(c.UserID) && c.Role.Valid() {
		// BEGIN and the identity in one round trip: a simple-protocol
		// query may hold several statements, and pgx sends BeginQuery that
		// way. Both values are checked above (a uuid, a known role name),
		// so as literals they cannot be anything else; anything odd takes
		// the parameterised path below. Measured by medrec bench: one
		// round trip of five per request, while the transaction holds a
		// pooled connection.
		opts.BeginQuery = "BEGIN; SELECT set_config('app.user_id', '" + c.UserID +
			"', true), set_config('app.role', '" + string(c.Role) + "', true)"
	}
	tx, err := db.pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", translate(err))
	}
	// Rollback after Commit is a no-op, so this only undoes failed work.
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	if c != nil && opts.BeginQuery == "" {
		if _, err := tx.Exec(ctx,
			`SELECT set_config('app.user_id', $1, true), set_config('app.role', $2, true)`,
			c.UserID, string(c.Role)); err != nil {
			return fmt.Errorf("set caller identity: %w", translate(err))
		}
	}
	claim, err := takeIdempotencyClaim(ctx, tx)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		claim.Done(medrec.ClaimPending) // rolled back with the work
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		// A failed COMMIT may still have committed: the key must not
		// be run again.
		claim.Done(medrec.ClaimUncertain)
		return fmt.Errorf("commit: %w", translate(err))
	}
	claim.Done(medrec.ClaimCommitted)
	return nil
}

// takeIdempotencyClaim inserts the request's Idempotency-Key claim, if ctx
// carries one not yet taken, as the first statement of tx: the key then
// commits with tx's work or not at all, so a POST is performed at most once
// however requests race or processes crash. A concurrent transaction
// holding the same key makes the INSERT wait until it ends; if it
// committed, the key is taken and this transaction does nothing
// (medrec.ErrIdempotencyKeyTaken). It returns the claim tx took, or nil
// (whose Done is a no-op) when there was nothing to take.
func takeIdempotencyClaim(ctx context.Context, tx pgx.Tx) (*medrec.IdempotencyClaim, error) {
	c := medrec.IdempotencyClaimFromContext(ctx)
	if c == nil || medrec.CallerFromContext(ctx) == nil {
		return nil, nil
	}
	state, fingerprint, err := c.Take()
	switch {
	case err != nil:
		return nil, fmt.Errorf("idempotency fingerprint: %w", err)
	case state == medrec.ClaimTaken || state == medrec.ClaimUncertain:
		// Another request owns the key (or may): this one performs
		// nothing, not even a fallback after its first transaction.
		return nil, medrec.ErrIdempotencyKeyTaken
	case state != medrec.ClaimPending:
		return nil, nil // this request owns the key already
	}
	_, err = dbsqlc.New(tx).IdempotencyClaim(ctx, dbsqlc.IdempotencyClaimParams{
		IdempotencyKey: c.Key, Fingerprint: fingerprint,
	})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		c.Done(medrec.ClaimTaken)
		return nil, medrec.ErrIdempotencyKeyTaken
	case err != nil:
		c.Done(medrec.ClaimPending)
		return nil, fmt.Errorf("claim idempotency key: %w", translate(err))
	}
	return c, nil
}

// sweep runs one periodic maintenance statement as the system, never as a
// caller: whatever caller (or Idempotency-Key claim) ctx carries is dropped,
// so row-level security and the SECURITY DEFINER sweep functions see no
// user. It returns how many rows the statement changed.
func (db *DB) sweep(ctx context.Context, what string, run func(q *dbsqlc.Queries) (int64, error)) (int64, error) {
	ctx = medrec.WithoutIdempotencyClaim(medrec.NewContextWithCaller(ctx, nil))
	var n int64
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		n, err = run(dbsqlc.New(tx))
		return translate(err)
	})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return n, nil
}
