package main

import (
	"net/http"
	"testing"
)

// An action POST (approve, deny, revoke) answers 200 with the updated
// object and no Location. Its Idempotency-Key replay must answer the same:
// 200, the object (read again through Content-Location, as the caller), not
// an empty body, and the action performed once.
func TestIdempotencyActionReplay(t *testing.T) {
	t.Parallel()
	e := newEmEnv(t)
	g := e.ask(e.nurse, e.patient, 30)
	resource := "/api/v1/emergency-access/" + g.ID

	// updates counts the audit rows of decisions on the request: the
	// trigger writes one per UPDATE of the row.
	updates := func() int {
		return e.ownerInt(`SELECT count(*) FROM audit_log
			WHERE table_name = 'emergency_access' AND action = 'UPDATE' AND record_id = $1`, g.ID)
	}
	check := func(name string, r response, replayed bool, wantStatus string) emergencyJSON {
		t.Helper()
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s, want 200", name, r.status, r.body)
		}
		if got := r.header.Get("Content-Location"); got != resource {
			t.Errorf("%s: Content-Location %q, want %q", name, got, resource)
		}
		if got := r.header.Get("Location"); got != "" {
			t.Errorf("%s: Location %q on a 200, want none", name, got)
		}
		if got := r.header.Get("Idempotent-Replayed") == "true"; got != replayed {
			t.Errorf("%s: Idempotent-Replayed %v, want %v", name, got, replayed)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q, want application/json", name, ct)
		}
		var out emergencyJSON
		r.json(t, &out)
		if out.ID != g.ID || out.Status != wantStatus || out.ApprovedByDoctorID == nil || *out.ApprovedByDoctorID != e.approverDoctor {
			t.Errorf("%s: body %s, want request %s %s approved by %s", name, r.body, g.ID, wantStatus, e.approverDoctor)
		}
		return out
	}

	body := map[string]string{"notes": "approved once"}
	first := check("approve", e.postKey(resource+"/approve", e.approver, "approve-1", body), false, "APPROVED")
	if n := updates(); n != 1 {
		t.Fatalf("%d UPDATE audit rows after approving, want 1", n)
	}
	again := check("approve replay", e.postKey(resource+"/approve", e.approver, "approve-1", body), true, "APPROVED")
	if !again.ExpiresAt.Equal(first.ExpiresAt) {
		t.Errorf("replay shows expires_at %v, first %v", again.ExpiresAt, first.ExpiresAt)
	}
	if n := updates(); n != 1 {
		t.Errorf("%d UPDATE audit rows after the replay, want 1: approved twice", n)
	}
	if got := e.keyRows(`idempotency_key = 'approve-1' AND status = 200 AND location = $1`, resource); got != 1 {
		t.Errorf("%d recorded keys, want 1 with status 200 and the resource", got)
	}
	// Without the key the same approval is a second, illegal transition.
	if r := e.call("POST", resource+"/approve", e.approver, body); r.status != http.StatusConflict {
		t.Errorf("approving again without the key: %d %s, want 409", r.status, r.body)
	}

	// The same key on another action is another request: 422.
	if r := e.postKey(resource+"/revoke", e.approver, "approve-1", body); r.status != http.StatusUnprocessableEntity {
		t.Errorf("the approve key on revoke: %d %s, want 422", r.status, r.body)
	}

	// Revoke with a key twice: one revocation, both answers show it.
	revoked := check("revoke", e.postKey(resource+"/revoke", e.approver, "revoke-1", map[string]string{}), false, "EXPIRED")
	replay := check("revoke replay", e.postKey(resource+"/revoke", e.approver, "revoke-1", map[string]string{}), true, "EXPIRED")
	if !replay.ExpiresAt.Equal(revoked.ExpiresAt) {
		t.Errorf("revoke replay shows expires_at %v, first %v", replay.ExpiresAt, revoked.ExpiresAt)
	}
	if n := updates(); n != 2 {
		t.Errorf("%d UPDATE audit rows after approve and revoke (each with a replay), want 2", n)
	}
}
