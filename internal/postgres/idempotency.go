package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"medrec"
	"medrec/internal/postgres/internal/dbsqlc"
)

// IdempotencyService keeps the outcome of POSTs made with an
// Idempotency-Key. The claim itself is taken by inTx (tx.go), in the same
// transaction as the request's work; this service reads a key and records
// what its request answered. Rows hold no request or response body.
type IdempotencyService struct {
	db *DB
}

// NewIdempotencyService returns the service on db.
func NewIdempotencyService(db *DB) *IdempotencyService {
	return &IdempotencyService{db: db}
}

var _ medrec.IdempotencyService = (*IdempotencyService)(nil)

// FindIdempotencyKey returns the caller's unexpired key: its fingerprint,
// and its status and Location once recorded (Status 0 before). ENOTFOUND
// when the caller has no such key. Row-level security scopes keys to their
// user; the query says so too.
func (s *IdempotencyService) FindIdempotencyKey(ctx context.Context, key string) (*medrec.IdempotentOutcome, error) {
	ctx = medrec.WithoutIdempotencyClaim(ctx)
	if medrec.CallerFromContext(ctx) == nil {
		return nil, medrec.Errorf(medrec.EUNAUTHORIZED, "idempotency keys belong to a signed-in user")
	}
	var out *medrec.IdempotentOutcome
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		row, err := dbsqlc.New(tx).IdempotencyFind(ctx, key)
		if errors.Is(err, pgx.ErrNoRows) {
			return medrec.Errorf(medrec.ENOTFOUND, "no such idempotency key")
		}
		if err != nil {
			return translate(err)
		}
		out = &medrec.IdempotentOutcome{Fingerprint: row.Fingerprint}
		if row.Status != nil {
			out.Status = int(*row.Status)
		}
		if row.Location != nil {
			out.Location = *row.Location
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find idempotency key: %w", err)
	}
	return out, nil
}

// RecordIdempotentOutcome stores status and location on the caller's key,
// once: a key whose outcome is already recorded, or whose fingerprint
// differs, is left alone (ECONFLICT).
func (s *IdempotencyService) RecordIdempotentOutcome(ctx context.Context, key string, fingerprint []byte, status int, location string) error {
	ctx = medrec.WithoutIdempotencyClaim(ctx)
	if medrec.CallerFromContext(ctx) == nil {
		return medrec.Errorf(medrec.EUNAUTHORIZED, "idempotency keys belong to a signed-in user")
	}
	if status < 200 || status > 599 {
		return fmt.Errorf("record idempotency outcome: status %d out of range", status)
	}
	st := int16(status)
	var loc *string
	if location != "" {
		loc = &location
	}
	return s.db.inTx(ctx, func(tx pgx.Tx) error {
		n, err := dbsqlc.New(tx).IdempotencyRecord(ctx, dbsqlc.IdempotencyRecordParams{
			Status: &st, Location: loc, IdempotencyKey: key, Fingerprint: fingerprint,
		})
		if err != nil {
			return fmt.Errorf("record idempotency outcome: %w", translate(err))
		}
		if n != 1 {
			return medrec.Errorf(medrec.ECONFLICT, "the idempotency key has no open claim to record")
		}
		return nil
	})
}

// SweepIdempotencyKeys deletes the keys older than 24 hours. It runs as
// the system, through medrec_sweep_idempotency_keys (migration 00015): the
// service role has no DELETE on the table.
func (s *IdempotencyService) SweepIdempotencyKeys(ctx context.Context) (int64, error) {
	return s.db.sweep(ctx, "sweep idempotency keys", func(q *dbsqlc.Queries) (int64, error) {
		return q.IdempotencySweep(ctx)
	})
}
