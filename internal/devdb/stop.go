package devdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"syscall"
	"time"
)

const (
	// stopTimeout bounds a fast shutdown, which ends sessions, rolls back
	// and writes a checkpoint; a dev cluster finishes in well under a second.
	stopTimeout = 60 * time.Second
	// quitTimeout bounds an immediate shutdown, which skips the checkpoint.
	quitTimeout = 10 * time.Second
)

// stopServer asks the postmaster pid for a fast shutdown (SIGINT) and waits
// for it to exit, escalating to an immediate shutdown (SIGQUIT; the next
// start recovers from WAL) when that takes longer than stopTimeout or ctx
// ends. exited is the reaper's channel when this process started the
// server, nil otherwise. Stopping a server that is gone is not an error.
func stopServer(ctx context.Context, pid int, exited <-chan struct{}, logger *slog.Logger) error {
	gone := func() bool {
		if exited == nil {
			return !processAlive(pid)
		}
		select {
		case <-exited:
			return true
		default:
			return false
		}
	}
	if gone() {
		return nil
	}
	logger.Info("devdb: stopping PostgreSQL", "pid", pid)
	if err := signalServer(pid, syscall.SIGINT); err != nil {
		return err
	}
	if waitGone(ctx, gone, stopTimeout) {
		return nil
	}
	logger.Warn("devdb: PostgreSQL did not finish a fast shutdown; requesting an immediate one", "pid", pid)
	if err := signalServer(pid, syscall.SIGQUIT); err != nil {
		return err
	}
	// Not bound by ctx: having ended, it would leave the server running.
	if !waitGone(context.Background(), gone, quitTimeout) {
		return fmt.Errorf("PostgreSQL (pid %d) still runs after a fast and an immediate shutdown request", pid)
	}
	return nil
}

// signalServer sends sig to the postmaster; one that has already exited
// needs no signal.
func signalServer(pid int, sig syscall.Signal) error {
	if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("send %v to PostgreSQL (pid %d): %w", sig, pid, err)
	}
	return nil
}

// waitGone polls gone until it holds (true), or until timeout passes or
// ctx ends (false).
func waitGone(ctx context.Context, gone func() bool, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for !gone() {
		if time.Now().After(deadline) || sleepCtx(ctx, pollInterval) != nil {
			return gone()
		}
	}
	return true
}
