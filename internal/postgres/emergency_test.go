package postgres_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"medrec"
	"medrec/internal/postgres"
)

// These tests hold the emergency workflow of migration 00016 to its word,
// as the service role (raw SQL, with the rls_test.go fixture) and through
// the services. The database clock is moved by replacing medrec_now() as
// the owner, in the test's own database.

// setClock pins medrec_now() to at (the zero time: back to now()).
func setClock(t *testing.T, owner *pgx.Conn, at time.Time) {
	t.Helper()
	body := `SELECT pg_catalog.now()`
	if !at.IsZero() {
		body = `SELECT '` + at.UTC().Format(time.RFC3339Nano) + `'::timestamptz`
	}
	if _, err := owner.Exec(context.Background(),
		`CREATE OR REPLACE FUNCTION medrec_now() RETURNS timestamptz LANGUAGE sql STABLE AS $$ `+body+` $$`); err != nil {
		t.Fatalf("set the database clock: %v", err)
	}
}

// dbNow returns the database's now().
func dbNow(t *testing.T, q querier) time.Time {
	t.Helper()
	var now time.Time
	if err := q.QueryRow(context.Background(), `SELECT now()`).Scan(&now); err != nil {
		t.Fatal(err)
	}
	return now
}

// request files an emergency request as who and returns its id ("" for NULL).
func request(t *testing.T, f rlsFixture, who identity, patient, duration string) string {
	t.Helper()
	var id *string
	if err := as(t, f.app, who, true, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT medrec_request_emergency_access($1, 'unconscious in the ER', NULL, $2::interval)::text`,
			patient, duration).Scan(&id)
	}); err != nil {
		t.Fatalf("%s requests access to %s: %v", who.role, rlsNames[patient], err)
	}
	if id == nil {
		return ""
	}
	return *id
}

// decide runs medrec_decide_emergency_access as who and returns its error.
func decide(t *testing.T, f rlsFixture, who identity, id, decision string) error {
	t.Helper()
	return as(t, f.app, who, true, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), `SELECT medrec_decide_emergency_access($1, $2, 'ok')`, id, decision)
		return err
	})
}

type grantRow struct {
	Patient, RequestedBy, Status, ApprovedBy string
	Expires                                  time.Time
}

func grantOf(t *testing.T, f rlsFixture, id string) grantRow {
	t.Helper()
	var g grantRow
	if err := f.owner.QueryRow(context.Background(), `SELECT patient_id::text, coalesce(requested_by_user_id::text, ''), status,
		coalesce(approved_by_doctor_id::text, ''), expires_at FROM emergency_access WHERE id = $1`, id).
		Scan(&g.Patient, &g.RequestedBy, &g.Status, &g.ApprovedBy, &g.Expires); err != nil {
		t.Fatal(err)
	}
	return g
}

func wantState(t *testing.T, err error, state string) {
	t.Helper()
	if got := sqlState(err); got != state {
		t.Fatalf("got %v, want SQLSTATE %s", err, state)
	}
}

// sees reports whether who can read patient's row right now.
func sees(t *testing.T, f rlsFixture, who identity, patient string) bool {
	t.Helper()
	var n int
	as(t, f.app, who, false, func(tx pgx.Tx) error {
		n = count(t, tx, `SELECT count(*) FROM patients WHERE id = $1`, patient)
		return nil
	})
	return n == 1
}

// TestEmergencyHolesAreClosed shows, as the service role, each way 00008
// let the service bend an emergency request, and that 00016 closes it.
func TestEmergencyHolesAreClosed(t *testing.T) {
	t.Parallel()
	f := setupRLS(t)
	ctx := context.Background()
	pending := request(t, f, clinicianA, patient3, "1 hour")
	before := grantOf(t, f, pending)

	t.Run("no direct UPDATE reaches a request", func(t *testing.T) {
		for _, stmt := range []string{
			`UPDATE emergency_access SET requested_by_user_id = '` + userB + `' WHERE id = $1`,
			`UPDATE emergency_access SET patient_id = '` + patient2 + `' WHERE id = $1`,
			`UPDATE emergency_access SET expires_at = now() + interval '10 years' WHERE id = $1`,
			`UPDATE emergency_access SET status = 'APPROVED', approved_by_doctor_id = '` + doctorB + `' WHERE id = $1`,
			`DELETE FROM emergency_access WHERE id = $1`,
		} {
			// Refused twice over: the service role holds only SELECT on
			// the table, and no policy admits an UPDATE or DELETE.
			for _, who := range []identity{clinicianB, clinicianA, admin, nurse} {
				wantDenied(t, as(t, f.app, who, true, func(tx pgx.Tx) error {
					_, err := tx.Exec(ctx, stmt, pending)
					return err
				}))
			}
		}
		if got := grantOf(t, f, pending); got != before {
			t.Fatalf("the request changed: %+v, want %+v", got, before)
		}
	})
	t.Run("no direct INSERT files a request", func(t *testing.T) {
		wantDenied(t, as(t, f.app, clinicianA, false, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO emergency_access (patient_id, requested_by_user_id, requester_name, reason, expires_at, status, approved_by_doctor_id)
				VALUES ($1, $2, 'A', 'why', now() + interval '10 years', 'APPROVED', $3)`, patient3, userA, doctorB)
			return err
		}))
		wantDenied(t, as(t, f.app, clinicianA, false, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO emergency_access (patient_id, requested_by_user_id, requester_name, reason, expires_at)
				VALUES ($1, $2, 'A', 'why', now() + interval '10 years')`, patient3, userA)
			return err
		}))
	})
	t.Run("the request function sets the trusted columns and checks its input", func(t *testing.T) {
		var name string
		if err := f.owner.QueryRow(ctx, `SELECT requester_name FROM emergency_access WHERE id = $1`, pending).Scan(&name); err != nil {
			t.Fatal(err)
		}
		if before.RequestedBy != userA || before.Status != "PENDING" || before.ApprovedBy != "" || name != "Ann A" {
			t.Fatalf("request %+v by %q, want PENDING, by userA (Ann A), no approver", before, name)
		}
		if got := request(t, f, clinicianA, "00000000-0000-4000-8000-000000000000", "1 hour"); got != "" {
			t.Fatalf("a request for a patient that does not exist: %s, want NULL", got)
		}
		if _, err := f.owner.Exec(ctx, `INSERT INTO patients (id, first_name, last_name, dob, gender, status) VALUES ($1, 'Gone', 'Away', '1950-01-01', 'OTHER', 'INACTIVE')`, patient4); err != nil {
			t.Fatal(err)
		}
		if got := request(t, f, clinicianA, patient4, "1 hour"); got != "" {
			t.Fatalf("a request for an INACTIVE patient: %s, want NULL", got)
		}
		call := func(who identity, reason, duration string) error {
			return as(t, f.app, who, false, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, `SELECT medrec_request_emergency_access($1, $2, NULL, $3::interval)`, patient3, reason, duration)
				return err
			})
		}
		wantState(t, call(clinicianA, "   ", "1 hour"), "22023")
		wantState(t, call(clinicianA, "why", "25 hours"), "22023")
		wantState(t, call(clinicianA, "why", "0 minutes"), "22023")
		wantDenied(t, call(receptionist, "why", "1 hour"))
		wantDenied(t, call(admin, "why", "1 hour"))
		wantDenied(t, call(noOne, "why", "1 hour"))
	})
	t.Run("nobody approves their own request", func(t *testing.T) {
		wantDenied(t, decide(t, f, clinicianA, pending, "APPROVE"))
		wantDenied(t, decide(t, f, clinicianA, pending, "DENY"))
	})
	t.Run("only a CLINICIAN decides", func(t *testing.T) {
		wantDenied(t, decide(t, f, nurse, pending, "APPROVE"))
		wantDenied(t, decide(t, f, admin, pending, "APPROVE"))
	})
	t.Run("a doctor who is not ACTIVE cannot approve", func(t *testing.T) {
		if _, err := f.owner.Exec(ctx, `UPDATE doctors SET status = 'ON_LEAVE' WHERE id = $1`, doctorB); err != nil {
			t.Fatal(err)
		}
		wantDenied(t, decide(t, f, clinicianB, pending, "APPROVE"))
		if _, err := f.owner.Exec(ctx, `UPDATE doctors SET status = 'ACTIVE' WHERE id = $1`, doctorB); err != nil {
			t.Fatal(err)
		}
		if got := grantOf(t, f, pending); got != before {
			t.Fatalf("refused approvals changed the request: %+v", got)
		}
	})
	t.Run("a PENDING request past its expiry cannot be approved", func(t *testing.T) {
		setClock(t, f.owner, before.Expires.Add(time.Second))
		wantState(t, decide(t, f, clinicianB, pending, "APPROVE"), "55000")
		setClock(t, f.owner, time.Time{})
		if got := grantOf(t, f, pending); got.Status != "PENDING" {
			t.Fatalf("status %s after a refused approval, want PENDING", got.Status)
		}
	})
	t.Run("an unknown request is NULL", func(t *testing.T) {
		var id *string
		as(t, f.app, clinicianB, false, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT medrec_decide_emergency_access('00000000-0000-4000-8000-000000000000', 'APPROVE', NULL)::text`).Scan(&id)
		})
		if id != nil {
			t.Fatalf("deciding an unknown request returned %s, want NULL", *id)
		}
	})
	t.Run("approve, then only revoke is legal; revoke ends access now", func(t *testing.T) {
		if sees(t, f, clinicianA, patient3) {
			t.Fatal("A sees P3 before approval")
		}
		if err := decide(t, f, clinicianB, pending, "APPROVE"); err != nil {
			t.Fatal(err)
		}
		g := grantOf(t, f, pending)
		if g.Status != "APPROVED" || g.ApprovedBy != doctorB || !g.Expires.Equal(before.Expires) || g.Patient != patient3 || g.RequestedBy != userA {
			t.Fatalf("after approval: %+v", g)
		}
		if !sees(t, f, clinicianA, patient3) || sees(t, f, clinicianA, patient2) {
			t.Fatal("the grant must open P3, and only P3")
		}
		wantState(t, decide(t, f, clinicianB, pending, "APPROVE"), "55000")
		wantState(t, decide(t, f, clinicianB, pending, "DENY"), "55000")
		wantDenied(t, decide(t, f, clinicianA, pending, "REVOKE"))
		if err := decide(t, f, clinicianB, pending, "REVOKE"); err != nil {
			t.Fatal(err)
		}
		g = grantOf(t, f, pending)
		if g.Status != "EXPIRED" || g.ApprovedBy != doctorB || !g.Expires.Before(before.Expires) {
			t.Fatalf("after revocation: %+v", g)
		}
		if sees(t, f, clinicianA, patient3) {
			t.Fatal("A still sees P3 after revocation")
		}
		wantState(t, decide(t, f, clinicianB, pending, "REVOKE"), "55000")
		wantState(t, decide(t, f, clinicianB, pending, "APPROVE"), "55000")
	})
	t.Run("deny records the decider and gives no access", func(t *testing.T) {
		id := request(t, f, nurse, patient3, "1 hour")
		wantState(t, decide(t, f, clinicianB, id, "REVOKE"), "55000")
		if err := decide(t, f, clinicianB, id, "DENY"); err != nil {
			t.Fatal(err)
		}
		if g := grantOf(t, f, id); g.Status != "DENIED" || g.ApprovedBy != doctorB {
			t.Fatalf("after denial: %+v", g)
		}
		if sees(t, f, nurse, patient3) {
			t.Fatal("a denied request opens the record")
		}
		wantState(t, decide(t, f, clinicianB, id, "APPROVE"), "55000")
	})
}

// TestEmergencyGrantEndsOnTime: a grant approved for 60 seconds gives
// access at second 59 and none at second 61, by the database clock alone
// (the sweep never runs), through raw SQL as the service role.
func TestEmergencyGrantEndsOnTime(t *testing.T) {
	t.Parallel()
	f := setupRLS(t)
	t0 := dbNow(t, f.owner)
	setClock(t, f.owner, t0)
	id := request(t, f, clinicianA, patient3, "60 seconds")
	if err := decide(t, f, clinicianB, id, "APPROVE"); err != nil {
		t.Fatal(err)
	}
	if g := grantOf(t, f, id); !g.Expires.Equal(t0.Add(60 * time.Second)) {
		t.Fatalf("expires_at %v, want %v", g.Expires, t0.Add(60*time.Second))
	}
	reports := func() []string {
		var got []string
		as(t, f.app, clinicianA, false, func(tx pgx.Tx) error {
			got = names(t, tx, `SELECT id::text FROM medical_reports WHERE patient_id = $1`, patient3)
			return nil
		})
		return got
	}
	setClock(t, f.owner, t0.Add(59*time.Second))
	if !sees(t, f, clinicianA, patient3) || !slices.Equal(reports(), []string{"report3"}) {
		t.Fatal("no access at second 59")
	}
	setClock(t, f.owner, t0.Add(61*time.Second))
	if sees(t, f, clinicianA, patient3) || len(reports()) != 0 {
		t.Fatal("access at second 61")
	}
	if g := grantOf(t, f, id); g.Status != "APPROVED" {
		t.Fatalf("stored status %s: the test must not depend on the sweep", g.Status)
	}

	// The sweep then stores what the clock already decided, once.
	sweep := func(who identity) (int64, error) {
		var n int64
		err := as(t, f.app, who, true, func(tx pgx.Tx) error {
			return tx.QueryRow(context.Background(), `SELECT medrec_sweep_emergency_access()`).Scan(&n)
		})
		return n, err
	}
	_, err := sweep(clinicianB)
	wantDenied(t, err)
	if n, err := sweep(noOne); err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v; want 1", n, err)
	}
	if n, err := sweep(noOne); err != nil || n != 0 {
		t.Fatalf("second sweep: %d, %v; want 0", n, err)
	}
	if g := grantOf(t, f, id); g.Status != "EXPIRED" {
		t.Fatalf("after the sweep: %s, want EXPIRED", g.Status)
	}
	var who *string
	if err := f.owner.QueryRow(context.Background(), `SELECT user_id::text FROM audit_log WHERE table_name = 'emergency_access' AND record_id = $1 AND action = 'UPDATE' ORDER BY changed_at DESC LIMIT 1`, id).Scan(&who); err != nil || who != nil {
		t.Fatalf("the sweep's audit row names %v (%v), want the system (NULL)", who, err)
	}
}

// TestEmergencyReadsAreMarked: through the services, a read under a grant
// carries the grant's id and the route; a read outside it does not; the
// audit report and the access log show exactly the reads under the grant.
func TestEmergencyReadsAreMarked(t *testing.T) {
	t.Parallel()
	f := setupRLS(t)
	ctx := context.Background()
	db := openApp(t, f.db)
	emergency := postgres.NewEmergencyService(db, 4*time.Hour)
	patients := postgres.NewPatientService(db)
	history := postgres.NewHistoryService(db)
	accessLog := postgres.NewAccessLogService(db)
	asA := medrec.NewContextWithCaller(ctx, &medrec.Caller{UserID: userA, Role: medrec.RoleClinician, DoctorID: doctorA})
	asB := medrec.NewContextWithCaller(ctx, &medrec.Caller{UserID: userB, Role: medrec.RoleClinician, DoctorID: doctorB})
	asAdmin := medrec.NewContextWithCaller(ctx, &medrec.Caller{UserID: userAdmin, Role: medrec.RoleAdmin})
	withRoute := func(ctx context.Context, route string) context.Context {
		return medrec.NewContextWithRoute(medrec.NewContextWithRequestID(ctx, "req-"+route), route)
	}

	// Outside any grant: A reads P1 (care team).
	if _, err := patients.FindPatientByID(withRoute(asA, "GET /api/v1/patients/{id}"), patient1); err != nil {
		t.Fatal(err)
	}
	g, err := emergency.RequestEmergencyAccess(asA, medrec.NewEmergencyAccess{PatientID: patient3, Reason: "arrest", DurationMinutes: 30})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := patients.FindPatientByID(asA, patient3); medrec.ErrorCode(err) != medrec.ENOTFOUND {
		t.Fatalf("before approval: %v, want ENOTFOUND", err)
	}
	if _, err := emergency.DecideEmergencyAccess(asA, g.ID, medrec.EmergencyApprove, nil); medrec.ErrorCode(err) != medrec.EFORBIDDEN {
		t.Fatalf("self-approval: %v, want EFORBIDDEN", err)
	}
	if g, err = emergency.DecideEmergencyAccess(asB, g.ID, medrec.EmergencyApprove, nil); err != nil || g.Status != medrec.EmergencyApproved {
		t.Fatalf("approval: %+v, %v", g, err)
	}
	// Under the grant: two reads of P3. Outside it: P1 again.
	if _, err := history.FindHistory(withRoute(asA, "GET /api/v1/patients/{id}/history"), patient3); err != nil {
		t.Fatal(err)
	}
	if _, err := patients.FindPatientByID(withRoute(asA, "GET /api/v1/patients/{id}"), patient3); err != nil {
		t.Fatal(err)
	}
	if _, err := patients.FindPatientByID(withRoute(asA, "GET /api/v1/patients/{id}"), patient1); err != nil {
		t.Fatal(err)
	}

	type read struct{ patient, grant, route string }
	rows, err := f.owner.Query(ctx, `SELECT patient_id::text, coalesce(emergency_access_id::text, ''), coalesce(new_values->>'route', '')
		FROM audit_log WHERE action = 'READ' AND user_id = $1 AND new_values IS NOT NULL -- not the fixture's row
		ORDER BY changed_at, id`, userA)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (read, error) {
		var x read
		return x, r.Scan(&x.patient, &x.grant, &x.route)
	})
	if err != nil {
		t.Fatal(err)
	}
	var under, outside int
	for _, r := range got {
		switch {
		case r.patient == patient3 && r.grant == g.ID:
			under++
		case r.patient == patient1 && r.grant == "":
			outside++
		default:
			t.Errorf("READ row %+v: a read of P3 must carry the grant, a read of P1 must not", r)
		}
		if r.route == "" {
			t.Errorf("READ row %+v has no route", r)
		}
	}
	if under < 2 || outside != 2 {
		t.Fatalf("%d reads under the grant (want at least 2), %d outside (want 2): %+v", under, outside, got)
	}

	report, _, err := emergency.EmergencyAccessAudit(asAdmin, medrec.EmergencyAuditFilter{Days: 30})
	if err != nil {
		t.Fatal(err)
	}
	if len(report) != 2 { // the fixture's DENIED request and this grant
		t.Fatalf("report has %d entries, want 2", len(report))
	}
	for _, e := range report {
		if e.ID != g.ID {
			if len(e.Reads) != 0 || e.ApprovedBy != nil {
				t.Fatalf("the undecided fixture request shows %+v", e)
			}
			continue
		}
		if e.PatientName != "Pat Three" || e.RequesterName != "Ann A" || e.ApprovedBy == nil || *e.ApprovedBy != "Bob B" || e.Status != medrec.EmergencyApproved {
			t.Fatalf("report entry %+v", e)
		}
		if len(e.Reads) != under {
			t.Fatalf("report lists %d reads under the grant, want %d", len(e.Reads), under)
		}
		for _, r := range e.Reads {
			if r.Route == "" || r.What == "" {
				t.Fatalf("report read %+v lacks route or what", r)
			}
		}
	}

	// The access log: ADMIN sees P3's reads, each marked; B (treated P2,
	// not P3) gets 404; A under a grant may not read the log.
	log, _, err := accessLog.FindAccessLog(asAdmin, patient3, medrec.Page{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	var marked int
	for _, e := range log {
		if e.Action == "READ" && e.UserID != nil && *e.UserID == userA {
			if e.EmergencyAccessID == nil || *e.EmergencyAccessID != g.ID || e.Route == nil {
				t.Fatalf("access log read %+v is not marked with the grant", e)
			}
			marked++
		}
	}
	if marked != under {
		t.Fatalf("access log shows %d reads by A, want %d", marked, under)
	}
	if _, _, err := accessLog.FindAccessLog(asB, patient3, medrec.Page{}); medrec.ErrorCode(err) != medrec.ENOTFOUND {
		t.Fatalf("B reads P3's access log: %v, want ENOTFOUND", err)
	}
	if _, _, err := accessLog.FindAccessLog(asA, patient3, medrec.Page{}); medrec.ErrorCode(err) != medrec.ENOTFOUND {
		t.Fatalf("A reads P3's access log under a grant: %v, want ENOTFOUND", err)
	}
	// Reading the log is itself audited: the second reading shows the first.
	for range 2 {
		if _, _, err := accessLog.FindAccessLog(asA, patient1, medrec.Page{}); err != nil {
			t.Fatalf("A reads P1's access log: %v", err)
		}
	}
	own, _, err := accessLog.FindAccessLog(asA, patient1, medrec.Page{Limit: 1})
	if err != nil || len(own) != 1 {
		t.Fatalf("A reads P1's access log: %d rows, %v", len(own), err)
	}
	b, _ := json.Marshal(own[0])
	if own[0].Action != "READ" || own[0].What == nil || *own[0].What != "access_log" {
		t.Fatalf("the newest row of P1's log is %s, want the READ of the log itself", b)
	}
}
