package main

import (
	"net/http"
	"testing"
)

// The review's findings through the API: an approval for a requester who
// is no longer ACTIVE is a 409, a suspended approver is refused, the access
// log shows an ADMIN no clinical value, and the emergency audit report is
// an ADMIN's alone.
func TestReviewEmergencyThroughTheAPI(t *testing.T) {
	t.Parallel()
	e := newEmEnv(t)

	t.Run("no approval for a suspended requester", func(t *testing.T) {
		g := e.ask(e.nurse, e.patient, 30)
		e.ownerExec(`UPDATE users SET status = 'SUSPENDED' WHERE id = $1`, e.nurseID)
		defer e.ownerExec(`UPDATE users SET status = 'ACTIVE' WHERE id = $1`, e.nurseID)
		if got, _ := e.decide(e.approver, g.ID, "approve"); got != http.StatusConflict {
			t.Fatalf("approving a suspended nurse's request: %d, want 409", got)
		}
		if got := e.ownerInt(`SELECT count(*) FROM emergency_access WHERE id = $1 AND status = 'PENDING'`, g.ID); got != 1 {
			t.Fatal("the refused approval changed the request")
		}
	})

	t.Run("the access log shows an ADMIN no prescription route", func(t *testing.T) {
		e.ownerExec(`INSERT INTO prescriptions (patient_id, doctor_id, drug_name, dosage, frequency, route, start_date)
			VALUES ($1, $2, 'morphine', '5mg', 'hourly', 'Intrathecal', current_date)`, e.patient, e.approverDoctor)
		r := e.call("GET", "/api/v1/patients/"+e.patient+"/access-log?limit=200", e.admin, nil)
		if r.status != http.StatusOK {
			t.Fatalf("access log: %d %s", r.status, r.body)
		}
		var page struct {
			Items []struct {
				Action string  `json:"action"`
				Table  string  `json:"table_name"`
				Route  *string `json:"route"`
			} `json:"items"`
		}
		r.json(t, &page)
		saw := false
		for _, it := range page.Items {
			if it.Table == "prescriptions" && it.Action == "INSERT" {
				saw = true
				if it.Route != nil {
					t.Fatalf("the prescription's INSERT shows route %q to an ADMIN", *it.Route)
				}
			}
		}
		if !saw {
			t.Fatalf("no prescriptions INSERT in the access log: %s", r.body)
		}
	})

	t.Run("the emergency audit report is an ADMIN's", func(t *testing.T) {
		// The nurse's token died with her suspension above: the approver
		// stands for every role without emergency:report.
		for who, token := range map[string]string{"approver": e.approver} {
			if got := e.status("GET", "/api/v1/emergency-access/audit", token); got != http.StatusForbidden {
				t.Errorf("%s: %d, want 403", who, got)
			}
		}
		if got := e.status("GET", "/api/v1/emergency-access/audit", e.admin); got != http.StatusOK {
			t.Fatalf("admin: %d, want 200", got)
		}
	})
}
