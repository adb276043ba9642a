package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"medrec/internal/pgtest"
)

// emergencyJSON is an emergency request as the API answers it.
type emergencyJSON struct {
	ID                 string    `json:"id"`
	PatientID          string    `json:"patient_id"`
	RequestedByUserID  *string   `json:"requested_by_user_id"`
	RequesterName      string    `json:"requester_name"`
	Reason             string    `json:"reason"`
	Notes              *string   `json:"notes"`
	Status             string    `json:"status"`
	ApprovedByDoctorID *string   `json:"approved_by_doctor_id"`
	ExpiresAt          time.Time `json:"expires_at"`
	CreatedAt          time.Time `json:"created_at"`
}

// emEnv is a booted medrec with the people of the break-glass stories: a
// NURSE who asks, an approving CLINICIAN with an ACTIVE doctor record, a
// CLINICIAN whose doctor record is ON_LEAVE, and an ADMIN.
type emEnv struct {
	*apiEnv
	nurseID, nurse       string
	approverID, approver string
	approverDoctor       string
	onLeave              string
	admin                string
	patient, other       string // neither is in anyone's care
}

func newEmEnv(t *testing.T) *emEnv {
	t.Helper()
	env := bootAPI(t, nil)
	e := &emEnv{apiEnv: env}
	e.nurseID, e.nurse = env.userToken("er.nurse@example.org", "NURSE")
	e.approverID, e.approver = env.userToken("approver@example.org", "CLINICIAN")
	e.approverDoctor = env.addDoctor("Gregory", "House", "ACTIVE", e.approverID)
	var onLeaveID string
	onLeaveID, e.onLeave = env.userToken("on.leave@example.org", "CLINICIAN")
	env.addDoctor("Lisa", "Away", "ON_LEAVE", onLeaveID)
	_, e.admin = env.userToken("privacy@example.org", "ADMIN")
	e.patient = env.addPatient("Una", "Conscious")
	e.other = env.addPatient("Otto", "Other")
	return e
}

// stopSweep stops the periodic sweeps, so that only the database clock
// can end a grant.
func (e *emEnv) stopSweep() {
	if e.m.stopSweep != nil {
		e.m.stopSweep()
		<-e.m.sweepDone
	}
}

// setClock pins medrec_now() in this test's database (zero: back to now()).
func (e *emEnv) setClock(at time.Time) {
	e.t.Helper()
	body := `SELECT pg_catalog.now()`
	if !at.IsZero() {
		body = `SELECT '` + at.UTC().Format(time.RFC3339Nano) + `'::timestamptz`
	}
	e.ownerExec(`CREATE OR REPLACE FUNCTION medrec_now() RETURNS timestamptz LANGUAGE sql STABLE AS $$ ` + body + ` $$`)
}

func (e *emEnv) dbNow() time.Time {
	e.t.Helper()
	var now time.Time
	if err := e.ownerConn().QueryRow(context.Background(), `SELECT now()`).Scan(&now); err != nil {
		e.t.Fatal(err)
	}
	return now
}

// ask files a request as token and fails unless it is created.
func (e *emEnv) ask(token, patient string, minutes int) emergencyJSON {
	e.t.Helper()
	r := e.call("POST", "/api/v1/emergency-access", token, map[string]any{
		"patient_id": patient, "reason": "unconscious in the ER", "duration_minutes": minutes})
	if r.status != http.StatusCreated {
		e.t.Fatalf("request: %d %s", r.status, r.body)
	}
	var g emergencyJSON
	r.json(e.t, &g)
	if loc := r.header.Get("Location"); loc != "/api/v1/emergency-access/"+g.ID {
		e.t.Fatalf("Location %q for %s", loc, g.ID)
	}
	return g
}

// decide posts approve, deny or revoke and returns the status and object.
func (e *emEnv) decide(token, id, action string) (int, emergencyJSON) {
	e.t.Helper()
	r := e.call("POST", "/api/v1/emergency-access/"+id+"/"+action, token, map[string]string{"notes": action + " by test"})
	var g emergencyJSON
	if r.status == http.StatusOK {
		r.json(e.t, &g)
	}
	return r.status, g
}

func (e *emEnv) status(method, path, token string) int {
	e.t.Helper()
	return e.call(method, path, token, nil).status
}

// sqlSees reports whether the user, as the service role with raw SQL and
// the identity set the way the service sets it, can read the patient.
func (e *emEnv) sqlSees(userID, role, patient string) bool {
	e.t.Helper()
	ctx := context.Background()
	conn := pgtest.Conn(e.t, e.db.AppURL)
	var n int
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('app.user_id', $1, true), set_config('app.role', $2, true)`, userID, role); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT count(*) FROM patients WHERE id = $1`, patient).Scan(&n)
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return n == 1
}

func TestEmergencyWorkflow(t *testing.T) {
	t.Parallel()
	e := newEmEnv(t)
	patientPath := "/api/v1/patients/" + e.patient

	t.Run("a request is PENDING, in the requester's name, and opens nothing yet", func(t *testing.T) {
		before := e.dbNow()
		g := e.ask(e.nurse, e.patient, 30)
		if g.Status != "PENDING" || g.RequestedByUserID == nil || *g.RequestedByUserID != e.nurseID ||
			g.RequesterName != "er.nurse@example.org" || g.ApprovedByDoctorID != nil || g.PatientID != e.patient {
			t.Fatalf("created %+v", g)
		}
		if d := g.ExpiresAt.Sub(before); d < 30*time.Minute || d > 31*time.Minute {
			t.Fatalf("expires %v after the request, want 30 minutes", d)
		}
		if got := e.status("GET", patientPath, e.nurse); got != http.StatusNotFound {
			t.Fatalf("nurse reads the patient before approval: %d, want 404", got)
		}
	})
	t.Run("bad requests", func(t *testing.T) {
		for name, body := range map[string]map[string]any{
			"blank reason":     {"patient_id": e.patient, "reason": "  ", "duration_minutes": 10},
			"no reason":        {"patient_id": e.patient, "duration_minutes": 10},
			"over the maximum": {"patient_id": e.patient, "reason": "why", "duration_minutes": 241},
			"no duration":      {"patient_id": e.patient, "reason": "why"},
			"a requester name": {"patient_id": e.patient, "reason": "why", "duration_minutes": 10, "requester_name": "Dr Who"},
		} {
			if r := e.call("POST", "/api/v1/emergency-access", e.nurse, body); r.status != http.StatusBadRequest {
				t.Errorf("%s: %d %s, want 400", name, r.status, r.body)
			}
		}
		r := e.call("POST", "/api/v1/emergency-access", e.nurse, map[string]any{"patient_id": "00000000-0000-4000-8000-000000000000", "reason": "why", "duration_minutes": 10})
		if r.status != http.StatusNotFound {
			t.Fatalf("a patient that does not exist: %d, want 404", r.status)
		}
	})
	t.Run("approve, read the one patient, revoke", func(t *testing.T) {
		g := e.ask(e.nurse, e.patient, 30)
		if got, _ := e.decide(e.onLeave, g.ID, "approve"); got != http.StatusForbidden {
			t.Fatalf("approval by a doctor ON_LEAVE: %d, want 403", got)
		}
		got, a := e.decide(e.approver, g.ID, "approve")
		if got != http.StatusOK || a.Status != "APPROVED" || a.ApprovedByDoctorID == nil || *a.ApprovedByDoctorID != e.approverDoctor {
			t.Fatalf("approval: %d %+v", got, a)
		}
		if a.Notes == nil || !strings.Contains(*a.Notes, "APPROVED: approve by test") {
			t.Fatalf("notes %v", a.Notes)
		}
		for _, path := range []string{patientPath, patientPath + "/history", patientPath + "/prescriptions"} {
			if got := e.status("GET", path, e.nurse); got != http.StatusOK {
				t.Fatalf("GET %s under the grant: %d, want 200", path, got)
			}
		}
		if got := e.status("GET", "/api/v1/patients/"+e.other, e.nurse); got != http.StatusNotFound {
			t.Fatalf("another patient under the grant: %d, want 404", got)
		}
		if got, _ := e.decide(e.approver, g.ID, "approve"); got != http.StatusConflict {
			t.Fatalf("approving twice: %d, want 409", got)
		}
		if got, _ := e.decide(e.approver, g.ID, "deny"); got != http.StatusConflict {
			t.Fatalf("denying an approved grant: %d, want 409", got)
		}
		got, r := e.decide(e.approver, g.ID, "revoke")
		if got != http.StatusOK || r.Status != "EXPIRED" || !r.ExpiresAt.Before(g.ExpiresAt) || r.ExpiresAt.After(e.dbNow()) {
			t.Fatalf("revocation: %d %+v", got, r)
		}
		if got := e.status("GET", patientPath, e.nurse); got != http.StatusNotFound {
			t.Fatalf("after revocation: %d, want 404", got)
		}
		if got, _ := e.decide(e.approver, g.ID, "revoke"); got != http.StatusConflict {
			t.Fatalf("revoking twice: %d, want 409", got)
		}
	})
	t.Run("self-approval is 403", func(t *testing.T) {
		g := e.ask(e.approver, e.patient, 30)
		if got, _ := e.decide(e.approver, g.ID, "approve"); got != http.StatusForbidden {
			t.Fatalf("self-approval: %d, want 403", got)
		}
		if got, _ := e.decide(e.approver, g.ID, "deny"); got != http.StatusForbidden {
			t.Fatalf("self-denial: %d, want 403", got)
		}
	})
	t.Run("a denial records the decider and opens nothing", func(t *testing.T) {
		g := e.ask(e.nurse, e.other, 30)
		got, d := e.decide(e.approver, g.ID, "deny")
		if got != http.StatusOK || d.Status != "DENIED" || d.ApprovedByDoctorID == nil || *d.ApprovedByDoctorID != e.approverDoctor {
			t.Fatalf("denial: %d %+v", got, d)
		}
		if got := e.status("GET", "/api/v1/patients/"+e.other, e.nurse); got != http.StatusNotFound {
			t.Fatalf("after denial: %d, want 404", got)
		}
		if got, _ := e.decide(e.approver, g.ID, "approve"); got != http.StatusConflict {
			t.Fatalf("approving a denied request: %d, want 409", got)
		}
	})
	t.Run("a PENDING request past its expiry cannot be approved", func(t *testing.T) {
		g := e.ask(e.nurse, e.patient, 1)
		e.setClock(g.ExpiresAt.Add(time.Second))
		defer e.setClock(time.Time{})
		if got, _ := e.decide(e.approver, g.ID, "approve"); got != http.StatusConflict {
			t.Fatalf("approving an expired request: %d, want 409", got)
		}
		var shown emergencyJSON
		e.call("GET", "/api/v1/emergency-access/"+g.ID, e.nurse, nil).json(t, &shown)
		if shown.Status != "EXPIRED" {
			t.Fatalf("an expired PENDING request shows as %s, want EXPIRED", shown.Status)
		}
	})
	t.Run("lists: requesters see their own, approvers and ADMIN all, newest first, paged", func(t *testing.T) {
		list := func(token, query string) (ids []string, next *string) {
			var page struct {
				Items      []emergencyJSON `json:"items"`
				NextCursor *string         `json:"next_cursor"`
			}
			r := e.call("GET", "/api/v1/emergency-access"+query, token, nil)
			if r.status != http.StatusOK {
				t.Fatalf("list %s: %d %s", query, r.status, r.body)
			}
			r.json(t, &page)
			for i, g := range page.Items {
				if i > 0 && g.CreatedAt.After(page.Items[i-1].CreatedAt) {
					t.Fatalf("list %s is not newest first", query)
				}
				ids = append(ids, g.ID)
			}
			return ids, page.NextCursor
		}
		all, _ := list(e.admin, "")
		byApprover, _ := list(e.approver, "")
		byNurse, _ := list(e.nurse, "")
		mine := e.ownerInt(`SELECT count(*) FROM emergency_access WHERE requested_by_user_id = $1`, e.nurseID)
		total := e.ownerInt(`SELECT count(*) FROM emergency_access`)
		if len(all) != total || len(byApprover) != total || len(byNurse) != mine || mine == total {
			t.Fatalf("admin sees %d, approver %d, nurse %d; want %d, %d, %d", len(all), len(byApprover), len(byNurse), total, total, mine)
		}
		pending, _ := list(e.admin, "?status=PENDING")
		if want := e.ownerInt(`SELECT count(*) FROM emergency_access WHERE status = 'PENDING' AND expires_at > now()`); len(pending) != want {
			t.Fatalf("%d PENDING, want %d", len(pending), want)
		}
		first, next := list(e.admin, "?limit=2")
		if len(first) != 2 || next == nil {
			t.Fatalf("first page %v, next %v", first, next)
		}
		second, _ := list(e.admin, "?limit=2&cursor="+*next)
		if len(second) == 0 || second[0] == first[1] || second[0] != all[2] {
			t.Fatalf("second page %v after %v, want it to start at %s", second, first, all[2])
		}
		if got := e.status("GET", "/api/v1/emergency-access?status=SOON", e.admin); got != http.StatusBadRequest {
			t.Fatalf("bad status filter: %d, want 400", got)
		}
		var othersID string
		for _, id := range all {
			if !slices.Contains(byNurse, id) {
				othersID = id
			}
		}
		if got := e.status("GET", "/api/v1/emergency-access/"+othersID, e.nurse); got != http.StatusNotFound {
			t.Fatalf("nurse reads someone else's request: %d, want 404", got)
		}
		if got := e.status("GET", "/api/v1/emergency-access/"+byNurse[0], e.nurse); got != http.StatusOK {
			t.Fatalf("nurse reads her own request: %d, want 200", got)
		}
	})
}

// TestEmergencyGrantEndsOnTimeThroughTheAPI: a grant approved for 60
// seconds gives access at second 59 and a 404 at second 61, through the
// API and through raw SQL as the service role, with the sweep stopped.
func TestEmergencyGrantEndsOnTimeThroughTheAPI(t *testing.T) {
	t.Parallel()
	e := newEmEnv(t)
	e.stopSweep()
	t0 := e.dbNow()
	e.setClock(t0)
	g := e.ask(e.nurse, e.patient, 1)
	if !g.ExpiresAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("expires_at %v, want %v", g.ExpiresAt, t0.Add(time.Minute))
	}
	if got, _ := e.decide(e.approver, g.ID, "approve"); got != http.StatusOK {
		t.Fatalf("approval: %d", got)
	}
	patientPath := "/api/v1/patients/" + e.patient
	e.setClock(t0.Add(59 * time.Second))
	if got := e.status("GET", patientPath, e.nurse); got != http.StatusOK {
		t.Fatalf("API at second 59: %d, want 200", got)
	}
	if got := e.status("GET", patientPath+"/history", e.nurse); got != http.StatusOK {
		t.Fatalf("history at second 59: %d, want 200", got)
	}
	if !e.sqlSees(e.nurseID, "NURSE", e.patient) {
		t.Fatal("raw SQL at second 59: the patient is hidden")
	}
	e.setClock(t0.Add(61 * time.Second))
	if got := e.status("GET", patientPath, e.nurse); got != http.StatusNotFound {
		t.Fatalf("API at second 61: %d, want 404", got)
	}
	if got := e.status("GET", patientPath+"/history", e.nurse); got != http.StatusNotFound {
		t.Fatalf("history at second 61: %d, want 404", got)
	}
	if e.sqlSees(e.nurseID, "NURSE", e.patient) {
		t.Fatal("raw SQL at second 61: the patient is visible")
	}
	if n := e.ownerInt(`SELECT count(*) FROM emergency_access WHERE id = $1 AND status = 'APPROVED'`, g.ID); n != 1 {
		t.Fatal("the stored status changed: the sweep ran, and the test proves nothing about the clock")
	}
	var shown emergencyJSON
	e.call("GET", "/api/v1/emergency-access/"+g.ID, e.nurse, nil).json(t, &shown)
	if shown.Status != "EXPIRED" {
		t.Fatalf("shown as %s at second 61, want EXPIRED", shown.Status)
	}
}

// TestEmergencyAuditReportAndAccessLog: the audit report and the access log
// show every read made under a grant, and no read made outside it.
func TestEmergencyAuditReportAndAccessLog(t *testing.T) {
	t.Parallel()
	e := newEmEnv(t)
	// The nurse is on the other patient's care team: reads of that patient
	// are not made under any grant.
	e.addToCareTeam(e.other, e.nurseID)
	g := e.ask(e.nurse, e.patient, 30)
	if got, _ := e.decide(e.approver, g.ID, "approve"); got != http.StatusOK {
		t.Fatalf("approval: %d", got)
	}
	underGrant := []string{"/api/v1/patients/" + e.patient, "/api/v1/patients/" + e.patient + "/history", "/api/v1/patients/" + e.patient}
	for _, p := range underGrant {
		if got := e.status("GET", p, e.nurse); got != http.StatusOK {
			t.Fatalf("GET %s: %d", p, got)
		}
	}
	if got := e.status("GET", "/api/v1/patients/"+e.other, e.nurse); got != http.StatusOK {
		t.Fatalf("care-team read: %d", got)
	}
	// A read by someone else, outside any grant.
	if got := e.status("GET", "/api/v1/patients/"+e.patient, e.admin); got != http.StatusOK {
		t.Fatalf("admin read: %d", got)
	}

	type read struct {
		TableName string `json:"table_name"`
		RecordID  string `json:"record_id"`
		What      string `json:"what"`
		Route     string `json:"route"`
	}
	var report struct {
		Items []struct {
			ID            string  `json:"id"`
			PatientName   string  `json:"patient_name"`
			RequesterName string  `json:"requester_name"`
			Reason        string  `json:"reason"`
			Status        string  `json:"status"`
			ApprovedBy    *string `json:"approved_by"`
			Reads         []read  `json:"reads"`
		} `json:"items"`
	}
	r := e.call("GET", "/api/v1/emergency-access/audit?days=30", e.admin, nil)
	if r.status != http.StatusOK {
		t.Fatalf("report: %d %s", r.status, r.body)
	}
	r.json(t, &report)
	if len(report.Items) != 1 {
		t.Fatalf("report has %d entries, want 1: %s", len(report.Items), r.body)
	}
	entry := report.Items[0]
	if entry.ID != g.ID || entry.PatientName != "Una Conscious" || entry.RequesterName != "er.nurse@example.org" ||
		entry.Status != "APPROVED" || entry.ApprovedBy == nil || *entry.ApprovedBy != "Gregory House" || entry.Reason != "unconscious in the ER" {
		t.Fatalf("report entry %+v", entry)
	}
	routes := map[string]int{}
	for _, rd := range entry.Reads {
		routes[rd.Route]++
		if rd.RecordID == e.other {
			t.Fatalf("a read of another patient is listed under the grant: %+v", rd)
		}
	}
	if len(entry.Reads) != len(underGrant) || routes["GET /api/v1/patients/{id}"] != 2 || routes["GET /api/v1/patients/{id}/history"] != 1 {
		t.Fatalf("reads under the grant %+v, want the nurse's %d reads with their routes", entry.Reads, len(underGrant))
	}
	if got := e.status("GET", "/api/v1/emergency-access/audit?days=0", e.admin); got != http.StatusBadRequest {
		t.Fatalf("days=0: %d, want 400", got)
	}

	type logEntry struct {
		UserID            *string `json:"user_id"`
		UserEmail         *string `json:"user_email"`
		Action            string  `json:"action"`
		TableName         string  `json:"table_name"`
		Route             *string `json:"route"`
		EmergencyAccessID *string `json:"emergency_access_id"`
	}
	var log struct {
		Items []logEntry `json:"items"`
	}
	r = e.call("GET", "/api/v1/patients/"+e.patient+"/access-log?limit=200", e.admin, nil)
	if r.status != http.StatusOK {
		t.Fatalf("access log: %d %s", r.status, r.body)
	}
	r.json(t, &log)
	var marked, unmarkedReads int
	for _, l := range log.Items {
		if l.Action != "READ" {
			continue
		}
		switch {
		case l.UserID != nil && *l.UserID == e.nurseID:
			if l.EmergencyAccessID == nil || *l.EmergencyAccessID != g.ID || l.Route == nil || l.UserEmail == nil || *l.UserEmail != "er.nurse@example.org" {
				t.Fatalf("the nurse's read is not marked with the grant: %+v", l)
			}
			marked++
		default:
			if l.EmergencyAccessID != nil {
				t.Fatalf("a read outside the grant is marked: %+v", l)
			}
			unmarkedReads++
		}
	}
	if marked != len(underGrant) || unmarkedReads == 0 {
		t.Fatalf("access log: %d marked reads (want %d), %d other reads (want the admin's)", marked, len(underGrant), unmarkedReads)
	}
	// The other patient's log holds the care-team read, unmarked.
	r = e.call("GET", "/api/v1/patients/"+e.other+"/access-log", e.admin, nil)
	r.json(t, &log)
	for _, l := range log.Items {
		if l.EmergencyAccessID != nil {
			t.Fatalf("a read outside any grant is marked: %+v", l)
		}
	}
	// Who may read a log: ADMIN; a CLINICIAN in care; not a grant holder,
	// not a clinician out of care, not a NURSE.
	if got := e.status("GET", "/api/v1/patients/"+e.patient+"/access-log", e.approver); got != http.StatusNotFound {
		t.Fatalf("a clinician out of care: %d, want 404", got)
	}
	if got := e.status("GET", "/api/v1/patients/"+e.patient+"/access-log", e.nurse); got != http.StatusForbidden {
		t.Fatalf("a nurse: %d, want 403", got)
	}
	e.addToCareTeam(e.patient, e.approverID)
	if got := e.status("GET", "/api/v1/patients/"+e.patient+"/access-log", e.approver); got != http.StatusOK {
		t.Fatalf("a clinician in care: %d, want 200", got)
	}
	if n := e.ownerInt(`SELECT count(*) FROM audit_log WHERE action = 'READ' AND new_values->>'what' = 'access_log' AND patient_id = $1`, e.patient); n < 2 {
		t.Fatalf("%d audited readings of the access log, want at least 2", n)
	}
}

// emergencyCase helpers for the authorization table.

// emRequest files, as the owner, a request by userID for a fresh patient
// and returns its id; status APPROVED also records an approver.
func (f *authzFixture) emRequest(userID, status string) string {
	e := f.env
	f.seq++
	patient := e.addPatient("Em", fmt.Sprintf("Patient%d", f.seq))
	var approver any
	if status == "APPROVED" {
		approver = e.addDoctor("Em", fmt.Sprintf("Approver%d", f.seq), "ACTIVE", "")
	}
	return e.ownerID(`INSERT INTO emergency_access (patient_id, requested_by_user_id, requester_name, reason, expires_at, status, approved_by_doctor_id)
		VALUES ($1, $2, 'someone', 'emergency', now() + interval '1 hour', $3, $4) RETURNING id`, patient, userID, status, approver)
}

// emRequester is a fresh NURSE who files requests others decide.
func (f *authzFixture) emRequester() string {
	id, _ := f.freshUser("NURSE")
	return id
}

// emDecider is a user of role and its token; a CLINICIAN is a fresh one
// with an ACTIVE doctor record (so that a permitted decision succeeds).
func (f *authzFixture) emDecider(role string) (id, token string) {
	if role != "CLINICIAN" {
		return f.own(role), f.tokens[role]
	}
	id, token = f.freshUser(role)
	f.seq++
	f.env.addDoctor("Em", fmt.Sprintf("Decider%d", f.seq), "ACTIVE", id)
	return id, token
}

// emDeciderToken is emDecider's token alone.
func (f *authzFixture) emDeciderToken(role string) string {
	_, tok := f.emDecider(role)
	return tok
}

// emPatientInCare is a patient in the care (care team) of role's user.
func (f *authzFixture) emPatientInCare(role string) string {
	f.seq++
	patient := f.env.addPatient("Log", fmt.Sprintf("InCare%d", f.seq))
	if role != anonymous {
		f.env.addToCareTeam(patient, f.own(role))
	}
	return patient
}

// TestEmergencyBadInputIsA4xx: every malformed piece of input to the
// break-glass routes gets a clear 400 or 404 naming what was wrong, never a
// 500 from a database cast or a decoder.
func TestEmergencyBadInputIsA4xx(t *testing.T) {
	e := newEmEnv(t)
	g := e.ask(e.nurse, e.patient, 30)
	const notUUID = "not-a-uuid"
	for _, c := range []struct {
		name, method, path, token string
		body                      any
		want                      int
		mentions                  string
	}{
		{"GET a request by a bad id", "GET", "/api/v1/emergency-access/" + notUUID, e.admin, nil, http.StatusNotFound, ""},
		{"approve a bad id", "POST", "/api/v1/emergency-access/" + notUUID + "/approve", e.approver, nil, http.StatusNotFound, ""},
		{"ask for a bad patient id", "POST", "/api/v1/emergency-access", e.nurse,
			map[string]any{"patient_id": notUUID, "reason": "why", "duration_minutes": 10}, http.StatusNotFound, ""},
		{"a bad status filter", "GET", "/api/v1/emergency-access?status=pending", e.admin, nil, http.StatusBadRequest, "status"},
		{"a bad cursor", "GET", "/api/v1/emergency-access?cursor=garbage", e.admin, nil, http.StatusBadRequest, "cursor"},
		{"a bad limit", "GET", "/api/v1/emergency-access?limit=many", e.admin, nil, http.StatusBadRequest, "limit"},
		{"days not a number", "GET", "/api/v1/emergency-access/audit?days=week", e.admin, nil, http.StatusBadRequest, "days"},
		{"days over the maximum", "GET", "/api/v1/emergency-access/audit?days=367", e.admin, nil, http.StatusBadRequest, "days"},
		{"a bad audit cursor", "GET", "/api/v1/emergency-access/audit?cursor=garbage", e.admin, nil, http.StatusBadRequest, "cursor"},
		{"a bad access log cursor", "GET", "/api/v1/patients/" + e.patient + "/access-log?cursor=garbage", e.admin, nil, http.StatusBadRequest, "cursor"},
		{"an access log of a bad patient id", "GET", "/api/v1/patients/" + notUUID + "/access-log", e.admin, nil, http.StatusNotFound, ""},
		{"an unknown field in a decision", "POST", "/api/v1/emergency-access/" + g.ID + "/approve", e.approver,
			map[string]any{"note": "typo"}, http.StatusBadRequest, "note"},
		{"notes of the wrong type", "POST", "/api/v1/emergency-access/" + g.ID + "/deny", e.approver,
			map[string]any{"notes": 7}, http.StatusBadRequest, "notes"},
	} {
		r := e.call(c.method, c.path, c.token, c.body)
		if r.status != c.want || !strings.Contains(string(r.body), c.mentions) {
			t.Errorf("%s: %d %s, want %d naming %q", c.name, r.status, r.body, c.want, c.mentions)
		}
	}
	// A body that is not JSON at all, which call cannot send.
	for _, path := range []string{"/api/v1/emergency-access", "/api/v1/emergency-access/" + g.ID + "/approve"} {
		token := e.nurse
		if strings.HasSuffix(path, "/approve") {
			token = e.approver
		}
		req, err := http.NewRequest("POST", e.base+path, strings.NewReader(`{"reason": `))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("malformed JSON to %s: %d, want 400", path, resp.StatusCode)
		}
	}
	// None of the refusals decided the request.
	if got := e.call("GET", "/api/v1/emergency-access/"+g.ID, e.admin, nil); !strings.Contains(string(got.body), `"PENDING"`) {
		t.Fatalf("the request after the bad decisions: %d %s, want still PENDING", got.status, got.body)
	}
}
