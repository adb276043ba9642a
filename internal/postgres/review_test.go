package postgres_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pressly/goose/v3"

	"medrec"
	"medrec/internal/pgtest"
	"medrec/internal/postgres"
)

// Adversarial review of the emergency workflow (00016), the access log and
// the emergency audit report: each test is a way to break a rule of
// access-model.md that the code let through, and migration 00018 or the
// service now refuses.

// TestReviewDecideCrossChecksTheUsersRow: medrec_decide_emergency_access
// trusted app.role and the doctor record alone. The requesting side checks
// that the caller's users row is ACTIVE and holds the role the transaction
// claims; the deciding side must too, or a SUSPENDED (or LOCKED) clinician
// whose doctor record is still ACTIVE, or a user whose role was changed
// away from CLINICIAN but whose doctor link remains, decides break-glass
// requests whenever the service (or a stolen service connection) presents
// app.role = CLINICIAN for them.
func TestReviewDecideCrossChecksTheUsersRow(t *testing.T) {
	t.Parallel()
	f := setupRLS(t)
	ctx := context.Background()
	pending := request(t, f, clinicianA, patient3, "1 hour")
	setUser := func(status, role string) {
		t.Helper()
		if _, err := f.owner.Exec(ctx, `UPDATE users SET status = $2, role = $3 WHERE id = $1`, userB, status, role); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ status, role string }{
		{"SUSPENDED", "CLINICIAN"},
		{"LOCKED", "CLINICIAN"},
		{"ACTIVE", "ADMIN"},
		{"ACTIVE", "NURSE"},
	} {
		setUser(c.status, c.role)
		for _, d := range []string{"APPROVE", "DENY"} {
			if err := decide(t, f, clinicianB, pending, d); sqlState(err) != "42501" {
				t.Errorf("users row %s %s, app.role CLINICIAN: %s gave %v, want insufficient_privilege", c.status, c.role, d, err)
			}
		}
	}
	if g := grantOf(t, f, pending); g.Status != "PENDING" || g.ApprovedBy != "" {
		t.Fatalf("refused decisions changed the request: %+v", g)
	}
	setUser("ACTIVE", "CLINICIAN")
	if err := decide(t, f, clinicianB, pending, "APPROVE"); err != nil {
		t.Fatalf("an ACTIVE clinician approves: %v", err)
	}
	setUser("SUSPENDED", "CLINICIAN")
	if err := decide(t, f, clinicianB, pending, "REVOKE"); sqlState(err) != "42501" {
		t.Fatalf("a SUSPENDED clinician revokes: %v, want insufficient_privilege", err)
	}
}

// TestReviewApprovalNeedsAnActiveRequesterAndPatient: a request filed by a
// user who has since been SUSPENDED, LOCKED or re-roled (to RECEPTIONIST,
// say) must not become a grant that opens the record the moment the
// account is restored; and a request is filed only for an ACTIVE patient,
// so it must not be approved once the patient is no longer ACTIVE.
func TestReviewApprovalNeedsAnActiveRequesterAndPatient(t *testing.T) {
	t.Parallel()
	f := setupRLS(t)
	ctx := context.Background()
	exec := func(stmt string, args ...any) {
		t.Helper()
		if _, err := f.owner.Exec(ctx, stmt, args...); err != nil {
			t.Fatal(err)
		}
	}

	id := request(t, f, nurse, patient3, "1 hour")
	exec(`UPDATE users SET status = 'SUSPENDED' WHERE id = $1`, userNurse)
	wantState(t, decide(t, f, clinicianB, id, "APPROVE"), "55000")
	exec(`UPDATE users SET status = 'ACTIVE', role = 'RECEPTIONIST' WHERE id = $1`, userNurse)
	wantState(t, decide(t, f, clinicianB, id, "APPROVE"), "55000")
	exec(`UPDATE users SET role = 'NURSE' WHERE id = $1`, userNurse)
	if g := grantOf(t, f, id); g.Status != "PENDING" {
		t.Fatalf("refused approvals changed the request: %+v", g)
	}
	// Denying stays possible: it gives nothing.
	if err := decide(t, f, clinicianB, id, "DENY"); err != nil {
		t.Fatalf("deny a suspended requester's request: %v", err)
	}

	id = request(t, f, nurse, patient3, "1 hour")
	exec(`UPDATE patients SET status = 'DECEASED' WHERE id = $1`, patient3)
	wantState(t, decide(t, f, clinicianB, id, "APPROVE"), "55000")
	if sees(t, f, nurse, patient3) {
		t.Fatal("the nurse sees P3")
	}
}

// TestReviewAccessLogShowsNoClinicalValues: the access log's "route" is the
// API route of a READ row, but the query took new_values->>'route' from
// every audit row about the patient, and prescriptions has a column named
// route (the route of administration, "IV"): an ADMIN, who must not read
// clinical content, read it through GET /patients/{id}/access-log.
func TestReviewAccessLogShowsNoClinicalValues(t *testing.T) {
	t.Parallel()
	f := setupRLS(t)
	ctx := context.Background()
	if _, err := f.owner.Exec(ctx, `INSERT INTO prescriptions (patient_id, doctor_id, drug_name, dosage, frequency, route, start_date)
		VALUES ($1, $2, 'morphine', '5mg', 'hourly', 'Intrathecal', '2026-01-05')`, patient1, doctorA); err != nil {
		t.Fatal(err)
	}
	db := openApp(t, f.db)
	asAdmin := medrec.NewContextWithCaller(ctx, &medrec.Caller{UserID: userAdmin, Role: medrec.RoleAdmin})
	entries, _, err := postgres.NewAccessLogService(db).FindAccessLog(asAdmin, patient1, medrec.Page{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	sawInsert := false
	for _, e := range entries {
		if e.Table == "prescriptions" && e.Action == "INSERT" {
			sawInsert = true
		}
		if e.Action != "READ" && (e.Route != nil || e.What != nil) {
			t.Errorf("%s %s row shows route %v, what %v: values of a clinical row", e.Action, e.Table, deref(e.Route), deref(e.What))
		}
	}
	if !sawInsert {
		t.Fatal("the prescription's INSERT is not in the access log")
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// TestReviewEmergencyAuditReportIsForAdmins: the service answered the
// emergency access audit report to any caller; only the route's permission
// stood between a CLINICIAN (who sees every request by row-level security)
// and every requester's reasons with the reads made under each grant. Like
// GET /audit, the service checks the role itself.
func TestReviewEmergencyAuditReportIsForAdmins(t *testing.T) {
	t.Parallel()
	f := setupRLS(t)
	ctx := context.Background()
	db := openApp(t, f.db)
	svc := postgres.NewEmergencyService(db, 4*time.Hour)
	for _, c := range []*medrec.Caller{
		{UserID: userB, Role: medrec.RoleClinician, DoctorID: doctorB},
		{UserID: userNurse, Role: medrec.RoleNurse},
		{UserID: userDesk, Role: medrec.RoleReceptionist},
		nil,
	} {
		_, _, err := svc.EmergencyAccessAudit(medrec.NewContextWithCaller(ctx, c), medrec.EmergencyAuditFilter{Days: 30})
		if code := medrec.ErrorCode(err); code != medrec.EFORBIDDEN && code != medrec.EUNAUTHORIZED {
			t.Errorf("%+v: %v, want EFORBIDDEN", c, err)
		}
	}
	asAdmin := medrec.NewContextWithCaller(ctx, &medrec.Caller{UserID: userAdmin, Role: medrec.RoleAdmin})
	if _, _, err := svc.EmergencyAccessAudit(asAdmin, medrec.EmergencyAuditFilter{Days: 30}); err != nil {
		t.Fatalf("admin: %v", err)
	}
}

// TestReviewFixesMigrationDownRestoresTheCatalog: 00018's Down leaves the
// schema exactly as 00016 (and anything before 00018) made it, compared
// with a database migrated only that far.
func TestReviewFixesMigrationDownRestoresTheCatalog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	provider := func(db *pgtest.DB) *goose.Provider {
		t.Helper()
		sqlDB, err := sql.Open("pgx", db.OwnerURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sqlDB.Close() })
		p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, postgres.Migrations())
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	const before = 17 // the newest migration before 00018, whether or not 00017 exists
	short := pgtest.NewEmpty(t)
	if _, err := provider(short).UpTo(ctx, before); err != nil {
		t.Fatal(err)
	}
	want := readCatalog(t, pgtest.Conn(t, short.OwnerURL))

	full := pgtest.NewEmpty(t)
	p := provider(full)
	if _, err := p.UpTo(ctx, 18); err != nil {
		t.Fatal(err)
	}
	conn := pgtest.Conn(t, full.OwnerURL)
	if d := diff(want, readCatalog(t, conn)); len(d) == 0 {
		t.Fatal("00018 changes nothing in the catalog")
	}
	if _, err := p.DownTo(ctx, before); err != nil {
		t.Fatal(err)
	}
	if d := diff(want, readCatalog(t, conn)); len(d) > 0 {
		t.Fatalf("00018 down left the schema changed:\n%v", d)
	}
}

// TestReviewGrantDoesNotOpenTheAuditLog: an emergency grant opens one
// patient's record, not the log of who else read it (access model; the
// access-log route refuses a grant holder). But audit_log_select (00008)
// lets a CLINICIAN read every audit row of a patient in
// medrec_patients_in_care(), whose emergency arm includes the grant: as the
// service role, a grant holder reads the patient's audit rows, values and
// other users' reads included, so only the application's check stood.
// Migration 00019 bases the policy on medrec_patients_in_care_to_write().
func TestReviewGrantDoesNotOpenTheAuditLog(t *testing.T) {
	t.Parallel()
	f := setupRLS(t)
	id := request(t, f, clinicianA, patient3, "1 hour")
	if err := decide(t, f, clinicianB, id, "APPROVE"); err != nil {
		t.Fatal(err)
	}
	if !sees(t, f, clinicianA, patient3) {
		t.Fatal("the grant does not open P3")
	}
	var n int
	as(t, f.app, clinicianA, false, func(tx pgx.Tx) error {
		n = count(t, tx, `SELECT count(*) FROM audit_log WHERE patient_id = $1`, patient3)
		return nil
	})
	if n != 0 {
		t.Fatalf("under a grant, the service role reads %d audit rows of the patient, want 0", n)
	}
}

// TestReviewRequestDurationCeilingHoldsForAnyInterval: the 24-hour ceiling
// compared the interval argument, whose months and days PostgreSQL
// compares as 30 days and 24 hours, while expires_at adds them by the
// calendar: '1 mon -30 days 23 hours' compares as 23 hours, but from
// 15 January it reaches 16 January 23:00, 47 hours on. The service only
// passes minutes; a direct caller of the function (the service role) must
// not get past the ceiling either. The check is now on the resulting
// expires_at.
func TestReviewRequestDurationCeilingHoldsForAnyInterval(t *testing.T) {
	t.Parallel()
	f := setupRLS(t)
	ctx := context.Background()
	if _, err := f.owner.Exec(ctx, `SET TIME ZONE 'UTC'`); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	setClock(t, f.owner, t0)
	for _, d := range []string{"1 mon -30 days 23 hours", "24 hours"} {
		var id *string
		err := as(t, f.app, clinicianA, true, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SET LOCAL TIME ZONE 'UTC'`); err != nil {
				return err
			}
			return tx.QueryRow(ctx, `SELECT medrec_request_emergency_access($1, 'why', NULL, $2::interval)::text`, patient3, d).Scan(&id)
		})
		if err == nil && id != nil {
			if g := grantOf(t, f, *id); g.Expires.Sub(t0) > 24*time.Hour {
				t.Errorf("duration %q: a request until %v, %v after the request", d, g.Expires, g.Expires.Sub(t0))
			}
			continue
		}
		wantState(t, err, "22023")
	}
}
