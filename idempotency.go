package medrec

import (
	"context"
	"sync"
)

// MaxIdempotencyKeyLen is the longest Idempotency-Key accepted.
const MaxIdempotencyKeyLen = 255

// IdempotencyClaim is the promise that one POST with an Idempotency-Key is
// performed at most once. The HTTP layer puts it in the request's context;
// the database adapter inserts it as the first statement of the first
// transaction the request runs, so it commits with that transaction's work
// or not at all. Whoever holds it then learns from State what happened.
//
// A transaction that only reads before the real work (a permission check)
// must run with WithoutIdempotencyClaim, or it would take the claim.
type IdempotencyClaim struct {
	// Key is the header's value; it is scoped to the caller.
	Key string

	mu          sync.Mutex
	fingerprint func() ([]byte, error)
	sum         []byte
	state       ClaimState
}

// ClaimState is what became of a claim.
type ClaimState int

const (
	// ClaimPending: no transaction has taken the claim yet (none ran, or
	// every one rolled back): nothing was performed under the key.
	ClaimPending ClaimState = iota
	// ClaimTaking: a transaction inserted the claim and has not ended.
	ClaimTaking
	// ClaimCommitted: the claim committed with the request's work.
	ClaimCommitted
	// ClaimTaken: another request holds the key; this one performed
	// nothing and must answer with the other's outcome.
	ClaimTaken
	// ClaimUncertain: the commit's outcome is unknown (the connection
	// broke during COMMIT); the key must not be run again.
	ClaimUncertain
)

// NewIdempotencyClaim returns a pending claim of key. fingerprint returns
// the SHA-256 of the request (method, path, body); it is called once, when
// a transaction takes the claim, by which time the handler has read the
// body it needs.
func NewIdempotencyClaim(key string, fingerprint func() ([]byte, error)) *IdempotencyClaim {
	return &IdempotencyClaim{Key: key, fingerprint: fingerprint}
}

// Fingerprint returns the request's fingerprint, computing it on first use.
func (c *IdempotencyClaim) Fingerprint() ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fingerprintLocked()
}

func (c *IdempotencyClaim) fingerprintLocked() ([]byte, error) {
	if c.sum == nil {
		sum, err := c.fingerprint()
		if err != nil {
			return nil, err
		}
		c.sum = sum
	}
	return c.sum, nil
}

// Take starts taking the claim in a transaction. While the claim is
// pending it returns ClaimPending and the fingerprint to insert, and the
// caller must report the transaction's end with Done. Otherwise it returns
// the state and the transaction must not take the claim again: with
// ClaimCommitted (or ClaimTaking) this request owns the key and may go on;
// with ClaimTaken or ClaimUncertain it must perform nothing more.
func (c *IdempotencyClaim) Take() (ClaimState, []byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != ClaimPending {
		return c.state, nil, nil
	}
	sum, err := c.fingerprintLocked()
	if err != nil {
		return ClaimPending, nil, err
	}
	c.state = ClaimTaking
	return ClaimPending, sum, nil
}

// Done records how the transaction that called Take ended. It is a no-op
// on a nil claim, so a transaction that took none may call it too.
func (c *IdempotencyClaim) Done(s ClaimState) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.state = s
}

// State returns what became of the claim.
func (c *IdempotencyClaim) State() ClaimState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// IdempotentOutcome is what a key's first request answered: its status and
// the URL of the resource it showed (Location of a 201, Content-Location of
// an action answering 200). Status zero means the work committed but its
// answer was never recorded. No body is kept: a replay reads Location again.
type IdempotentOutcome struct {
	Fingerprint []byte
	Status      int
	Location    string
}

// IdempotencyService stores the outcome of POSTs made with an
// Idempotency-Key, per caller.
type IdempotencyService interface {
	// FindIdempotencyKey returns the caller's unexpired key, or
	// ENOTFOUND.
	FindIdempotencyKey(ctx context.Context, key string) (*IdempotentOutcome, error)
	// RecordIdempotentOutcome stores the answer of the request whose
	// claim committed.
	RecordIdempotentOutcome(ctx context.Context, key string, fingerprint []byte, status int, location string) error
	// SweepIdempotencyKeys deletes expired keys (the system's work).
	SweepIdempotencyKeys(ctx context.Context) (int64, error)
}

// ErrIdempotencyKeyTaken is returned by a transaction that found its
// request's Idempotency-Key already taken: it performed nothing.
var ErrIdempotencyKeyTaken = &Error{Code: ECONFLICT, Message: "this Idempotency-Key was already used"}

type claimKey struct{}

// NewContextWithIdempotencyClaim returns a copy of ctx carrying c.
func NewContextWithIdempotencyClaim(ctx context.Context, c *IdempotencyClaim) context.Context {
	return context.WithValue(ctx, claimKey{}, c)
}

// WithoutIdempotencyClaim returns a copy of ctx carrying no claim, for
// transactions that must not take it (reads before the work, replays).
func WithoutIdempotencyClaim(ctx context.Context) context.Context {
	if IdempotencyClaimFromContext(ctx) == nil {
		return ctx
	}
	return context.WithValue(ctx, claimKey{}, (*IdempotencyClaim)(nil))
}

// IdempotencyClaimFromContext returns the claim ctx carries, or nil.
func IdempotencyClaimFromContext(ctx context.Context) *IdempotencyClaim {
	c, _ := ctx.Value(claimKey{}).(*IdempotencyClaim)
	return c
}
