package medrec_test

import (
	"testing"

	"medrec"
)

// A transaction that took no claim ends it like one that did (inTx calls
// Done either way): on a nil claim Done must do nothing, not panic.
func TestIdempotencyClaimDoneOnNil(t *testing.T) {
	t.Parallel()
	var c *medrec.IdempotencyClaim
	c.Done(medrec.ClaimCommitted)
}
