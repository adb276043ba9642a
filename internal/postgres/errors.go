package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"medrec"
)

// translate turns driver errors into *medrec.Error so that no caller has to
// know SQLSTATEs. It is the only place that reads them. Errors it does not
// recognise pass through and end as EINTERNAL.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var me *medrec.Error
	if errors.As(err, &me) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &medrec.Error{Code: medrec.ENOTFOUND, Message: "not found", Err: err}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &medrec.Error{Code: medrec.EUNAVAILABLE, Message: "the database did not answer in time", Err: err}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return &medrec.Error{Code: medrec.ECONFLICT, Message: "a record with the same unique value already exists", Err: err}
		case "23503": // foreign_key_violation
			return &medrec.Error{Code: medrec.EINVALID, Message: "a referenced record does not exist or is still referenced", Err: err}
		case "23514", "23502", "22001", "22003", "22007", "22008", "22021", "22P02": // check, not null, too long, out of range, bad datetime, bad encoding or NUL, bad text
			return &medrec.Error{Code: medrec.EINVALID, Message: "a value breaks a database rule", Err: err}
		case "57014": // query_canceled (statement_timeout)
			return &medrec.Error{Code: medrec.EUNAVAILABLE, Message: "the database did not answer in time", Err: err}
		case "40001", "40P01": // serialization failure, deadlock
			return &medrec.Error{Code: medrec.ECONFLICT, Message: "the record changed concurrently; retry", Err: err}
		}
		switch pgErr.Code[:2] {
		case "08", "53", "57": // connection exception, insufficient resources, operator intervention
			return &medrec.Error{Code: medrec.EUNAVAILABLE, Message: "the database is unavailable", Err: err}
		}
		return err
	}
	if pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return &medrec.Error{Code: medrec.EUNAVAILABLE, Message: "the database is unavailable", Err: err}
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return &medrec.Error{Code: medrec.EUNAVAILABLE, Message: "the database is unavailable", Err: err}
	}
	return err
}
