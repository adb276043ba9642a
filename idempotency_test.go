package medrec_test

import (
	"context"
	"errors"
	"testing"

	"medrec"
)

func TestIdempotencyClaimIsTakenOnce(t *testing.T) {
	t.Parallel()
	calls := 0
	c := medrec.NewIdempotencyClaim("k", func() ([]byte, error) { calls++; return []byte("sum"), nil })

	state, sum, err := c.Take()
	if err != nil || state != medrec.ClaimPending || string(sum) != "sum" {
		t.Fatalf("first Take: %v %q %v", state, sum, err)
	}
	if state, sum, _ := c.Take(); state != medrec.ClaimTaking || sum != nil {
		t.Errorf("Take while taking: %v %q, want ClaimTaking and no fingerprint", state, sum)
	}
	c.Done(medrec.ClaimPending) // the transaction rolled back: free again
	if state, _, _ := c.Take(); state != medrec.ClaimPending {
		t.Errorf("Take after a rollback: %v, want ClaimPending", state)
	}
	c.Done(medrec.ClaimCommitted)
	if state, _, _ := c.Take(); state != medrec.ClaimCommitted || c.State() != medrec.ClaimCommitted {
		t.Errorf("Take after commit: %v", state)
	}
	if calls != 1 {
		t.Errorf("fingerprint computed %d times, want once", calls)
	}
}

func TestIdempotencyClaimFingerprintError(t *testing.T) {
	t.Parallel()
	boom := errors.New("body too large")
	c := medrec.NewIdempotencyClaim("k", func() ([]byte, error) { return nil, boom })
	if state, _, err := c.Take(); !errors.Is(err, boom) || state != medrec.ClaimPending || c.State() != medrec.ClaimPending {
		t.Errorf("Take with a failing fingerprint: %v %v, state %v", state, err, c.State())
	}
}

func TestIdempotencyClaimContext(t *testing.T) {
	t.Parallel()
	c := medrec.NewIdempotencyClaim("k", nil)
	ctx := medrec.NewContextWithIdempotencyClaim(context.Background(), c)
	if medrec.IdempotencyClaimFromContext(ctx) != c {
		t.Error("the claim did not travel in the context")
	}
	if medrec.IdempotencyClaimFromContext(medrec.WithoutIdempotencyClaim(ctx)) != nil {
		t.Error("WithoutIdempotencyClaim kept the claim")
	}
}
