package main

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// auditItem is an item of GET /api/v1/audit.
type auditItem struct {
	ID                string            `json:"id"`
	TableName         string            `json:"table_name"`
	RecordID          string            `json:"record_id"`
	Action            string            `json:"action"`
	UserID            *string           `json:"user_id"`
	ChangedAt         time.Time         `json:"changed_at"`
	PatientID         *string           `json:"patient_id"`
	EmergencyAccessID *string           `json:"emergency_access_id"`
	ChangedFields     []string          `json:"changed_fields"`
	OldValues         map[string]any    `json:"old_values"`
	NewValues         map[string]any    `json:"new_values"`
	Details           map[string]string `json:"details"`
}

type auditPage struct {
	Items      []auditItem `json:"items"`
	NextCursor *string     `json:"next_cursor"`
}

// audit reads one page of the audit log as token, with query q.
func (e *apiEnv) audit(token string, q url.Values) (auditPage, response) {
	e.t.Helper()
	r := e.call("GET", "/api/v1/audit?"+q.Encode(), token, nil)
	var p auditPage
	if r.status == http.StatusOK {
		r.json(e.t, &p)
	}
	return p, r
}

func TestAuditLogRead(t *testing.T) {
	t.Parallel()
	e := bootAPI(t, nil)
	adminID, admin := e.userToken("admin2@example.org", "ADMIN")
	recepID, recep := e.userToken("recep@example.org", "RECEPTIONIST")
	nurseID := e.createUser("nurse@example.org", "NURSE")
	reads := 0 // GET /audit calls made by admin

	// Clinical rows: a patient created, read and changed by the front desk.
	r := e.call("POST", "/api/v1/patients", recep, with(validPatient(), "phone", "555 0100"))
	if r.status != http.StatusCreated {
		t.Fatalf("create patient: %d %s", r.status, r.body)
	}
	var p patientJSON
	r.json(t, &p)
	if r := e.call("GET", "/api/v1/patients/"+p.ID, recep, nil); r.status != http.StatusOK {
		t.Fatalf("read patient: %d", r.status)
	}
	if r := e.call("PATCH", "/api/v1/patients/"+p.ID, recep, map[string]any{"phone": "555 0199"}); r.status != http.StatusOK {
		t.Fatalf("patch patient: %d %s", r.status, r.body)
	}
	// A non-clinical row: a user suspended by the ADMIN.
	if r := e.call("PATCH", "/api/v1/users/"+nurseID, admin, map[string]string{"status": "SUSPENDED"}); r.status != http.StatusOK {
		t.Fatalf("suspend nurse: %d %s", r.status, r.body)
	}

	page, resp := e.audit(admin, url.Values{"table_name": {"patients"}, "record_id": {p.ID}})
	reads++
	if resp.status != http.StatusOK {
		t.Fatalf("audit: %d %s", resp.status, resp.body)
	}
	// Clinical values never leave: not the name, not the phone numbers.
	for _, secret := range []string{"Lovelace", "555 0100", "555 0199", "old_values", "new_values"} {
		if strings.Contains(string(resp.body), secret) {
			t.Errorf("the audit answer for a patient shows %q: %s", secret, resp.body)
		}
	}
	var actions []string
	for i, it := range page.Items {
		actions = append(actions, it.Action)
		if it.TableName != "patients" || it.RecordID != p.ID || it.PatientID == nil || *it.PatientID != p.ID {
			t.Errorf("item %d: %+v", i, it)
		}
		if i > 0 && it.ChangedAt.After(page.Items[i-1].ChangedAt) {
			t.Errorf("item %d is newer than item %d: not newest first", i, i-1)
		}
		if it.UserID == nil || *it.UserID != recepID {
			t.Errorf("item %d: user_id %v, want the receptionist", i, it.UserID)
		}
	}
	if !slices.Equal(actions, []string{"UPDATE", "READ", "INSERT"}) {
		t.Fatalf("actions %v, want UPDATE, READ, INSERT", actions)
	}
	if got := page.Items[0].ChangedFields; !slices.Equal(got, []string{"phone", "updated_at"}) {
		t.Errorf("UPDATE changed_fields %v, want [phone updated_at]", got)
	}
	if d := page.Items[1].Details; d["what"] != "demographics" || d["request_id"] == "" || d["route"] != "GET /api/v1/patients/{id}" || page.Items[1].ChangedFields != nil {
		t.Errorf("READ item: details %v, changed_fields %v", d, page.Items[1].ChangedFields)
	}
	if got := page.Items[2].ChangedFields; !slices.Contains(got, "first_name") || !slices.Contains(got, "dob") {
		t.Errorf("INSERT changed_fields %v, want every column set", got)
	}

	// Non-clinical tables show their values, without secrets.
	page, _ = e.audit(admin, url.Values{"table_name": {"users"}, "record_id": {nurseID}, "action": {"UPDATE"}})
	reads++
	if len(page.Items) != 1 {
		t.Fatalf("user UPDATE rows: %+v", page.Items)
	}
	u := page.Items[0]
	if u.OldValues["status"] != "ACTIVE" || u.NewValues["status"] != "SUSPENDED" || !slices.Contains(u.ChangedFields, "status") {
		t.Errorf("user UPDATE: %+v", u)
	}
	if _, ok := u.NewValues["password_hash"]; ok || u.UserID == nil || *u.UserID != adminID {
		t.Errorf("user UPDATE shows a password hash or the wrong actor: %+v", u)
	}

	// Filters: user and action; a window in the future is empty.
	page, _ = e.audit(admin, url.Values{"user_id": {recepID}, "action": {"READ"}})
	reads++
	if len(page.Items) != 1 || page.Items[0].RecordID != p.ID {
		t.Errorf("the receptionist's READ rows: %+v", page.Items)
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	page, _ = e.audit(admin, url.Values{"from": {future}})
	reads++
	if len(page.Items) != 0 {
		t.Errorf("rows from an hour ahead: %+v", page.Items)
	}
	page, _ = e.audit(admin, url.Values{"to": {future}, "record_id": {p.ID}, "from": {time.Now().Add(-time.Hour).Format(time.RFC3339Nano)}})
	reads++
	if len(page.Items) != 3 {
		t.Errorf("rows of the last hour about the patient: %d, want 3", len(page.Items))
	}

	// Keyset pages: limit=1 walks the same rows, in the same order, once each.
	all, _ := e.audit(admin, url.Values{"table_name": {"patients"}})
	reads++
	var walked []string
	q := url.Values{"table_name": {"patients"}, "limit": {"1"}}
	for range 10 {
		pg, resp := e.audit(admin, q)
		reads++
		if resp.status != http.StatusOK || len(pg.Items) > 1 {
			t.Fatalf("page: %d %s", resp.status, resp.body)
		}
		for _, it := range pg.Items {
			walked = append(walked, it.ID)
		}
		if pg.NextCursor == nil {
			break
		}
		q.Set("cursor", *pg.NextCursor)
	}
	var want []string
	for _, it := range all.Items {
		want = append(want, it.ID)
	}
	if len(want) != 3 || !slices.Equal(walked, want) {
		t.Errorf("pages of one: %v, want %v", walked, want)
	}

	// Every read of the audit log is itself audited, once per request.
	if got := e.ownerInt(`SELECT count(*) FROM audit_log WHERE table_name = 'audit_log' AND action = 'READ' AND user_id = $1`, adminID); got != reads {
		t.Errorf("%d audit-log READ rows, want %d", got, reads)
	}
	page, _ = e.audit(admin, url.Values{"table_name": {"audit_log"}, "limit": {"1"}})
	reads++
	if len(page.Items) != 1 || page.Items[0].Details["what"] != "audit_log" || page.Items[0].RecordID != adminID {
		t.Errorf("the audit log's own READ rows: %+v", page.Items)
	}
}

func TestAuditLogBadFilters(t *testing.T) {
	t.Parallel()
	e := bootAPI(t, nil)
	adminID, admin := e.userToken("admin2@example.org", "ADMIN")
	_, r := e.audit(admin, url.Values{
		"record_id": {"42"}, "user_id": {"nobody"}, "action": {"SELECT"},
		"from": {"yesterday"}, "to": {"2026-01-01"}, "limit": {"500"}, "cursor": {"!!"},
	})
	if r.status != http.StatusBadRequest {
		t.Fatalf("bad filters: %d %s", r.status, r.body)
	}
	got := problemFields(t, r)
	slices.Sort(got)
	want := []string{"action", "cursor", "from", "limit", "record_id", "to", "user_id"}
	// The cursor is checked once the rest is valid; the others all at once.
	want = slices.DeleteFunc(want, func(s string) bool { return s == "cursor" })
	if !slices.Equal(got, want) {
		t.Errorf("fields %v, want %v", got, want)
	}
	if _, r := e.audit(admin, url.Values{"cursor": {"!!"}}); r.status != http.StatusBadRequest || !slices.Equal(problemFields(t, r), []string{"cursor"}) {
		t.Errorf("bad cursor: %d %s", r.status, r.body)
	}
	_, r = e.audit(admin, url.Values{"from": {"2026-02-01T00:00:00Z"}, "to": {"2026-01-01T00:00:00Z"}})
	if r.status != http.StatusBadRequest || !slices.Equal(problemFields(t, r), []string{"to"}) {
		t.Errorf("to before from: %d %s", r.status, r.body)
	}
	if got := e.ownerInt(`SELECT count(*) FROM audit_log WHERE table_name = 'audit_log' AND user_id = $1`, adminID); got != 0 {
		t.Errorf("refused audit reads left %d READ rows", got)
	}
}
