package devdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const (
	// startTimeout bounds waiting for a server to accept connections, ours
	// or one that another process is starting or stopping.
	startTimeout = 60 * time.Second
	// probeTimeout bounds one connection attempt, so that a wedged server
	// costs a retry rather than the whole wait.
	probeTimeout = 3 * time.Second
	pollInterval = 50 * time.Millisecond
)

// answering reports whether a server accepts connections at connString. A
// missing or refusing socket, or "the database system is starting up /
// shutting down", mean not now. Any other answer from the server means it
// is up; the one exception is a rejected role, which an error reports
// because waiting will not fix it.
func answering(ctx context.Context, connString string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, connString)
	if err == nil {
		conn.Close(ctx)
		return true, nil
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false, nil
	}
	switch pgErr.Code {
	case "57P03": // cannot_connect_now
		return false, nil
	case "28000": // invalid_authorization_specification
		return false, fmt.Errorf("the server rejects the role it was asked to connect as (was the cluster made with another Config.Superuser?): %w", pgErr)
	}
	return true, nil
}

// waitAnswering polls until the server at connString answers. It gives up
// at deadline or when ctx ends, and reports exited=true when the exited
// channel closes first: the server died during start-up. A nil channel
// (a server that this process did not start) never closes.
func waitAnswering(ctx context.Context, connString string, deadline time.Time, exited <-chan struct{}) (serverExited bool, err error) {
	for {
		ok, err := answering(ctx, connString)
		if ok || err != nil {
			return false, err
		}
		select {
		case <-exited:
			return true, nil
		default:
		}
		if time.Now().After(deadline) {
			return false, fmt.Errorf("server did not accept connections within %v", startTimeout)
		}
		if err := sleepCtx(ctx, pollInterval); err != nil {
			return false, fmt.Errorf("wait for the server to accept connections: %w", err)
		}
	}
}
