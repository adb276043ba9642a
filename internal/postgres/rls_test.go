package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver for goose
	"github.com/pressly/goose/v3"

	"medrec/internal/pgtest"
	"medrec/internal/postgres"
)

// These tests run raw SQL as the service role (pgtest's AppURL, which is how
// `medrec serve` connects), with the caller's identity set the way the
// service sets it, and check what row-level security (migration 00008)
// lets through. Fixtures are written as the owner, which RLS does not stop.

// rlsTables are the tables that hold patient data and are under RLS.
var rlsTables = []string{"patients", "medical_reports", "prescriptions", "emergency_access", "care_team", "audit_log", "ai_request_logs"}

// The fixture's people and records. Fixed ids keep failure messages readable
// (see rlsNames).
const (
	userA     = "aaaaaaaa-0000-4000-8000-000000000001" // CLINICIAN, doctor A, on P1's care team
	userB     = "bbbbbbbb-0000-4000-8000-000000000001" // CLINICIAN, doctor B, authored P2's records
	userNurse = "cccccccc-0000-4000-8000-000000000001" // NURSE, on P1's care team
	userDesk  = "dddddddd-0000-4000-8000-000000000001" // RECEPTIONIST
	userAdmin = "eeeeeeee-0000-4000-8000-000000000001" // ADMIN

	doctorA = "aaaaaaaa-0000-4000-8000-000000000002"
	doctorB = "bbbbbbbb-0000-4000-8000-000000000002"
	doctorC = "0c0c0c0c-0000-4000-8000-000000000002" // no user; authored P3's records

	patient1 = "f1f1f1f1-0000-4000-8000-000000000000"
	patient2 = "f2f2f2f2-0000-4000-8000-000000000000"
	patient3 = "f3f3f3f3-0000-4000-8000-000000000000"
	patient4 = "f4f4f4f4-0000-4000-8000-000000000000" // only in some tests
	patient5 = "f5f5f5f5-0000-4000-8000-000000000000" // only in some tests

	report1 = "71717171-0000-4000-8000-000000000000"
	report2 = "72727272-0000-4000-8000-000000000000"
	report3 = "73737373-0000-4000-8000-000000000000"

	prescription1 = "81818181-0000-4000-8000-000000000000"
	prescription2 = "82828282-0000-4000-8000-000000000000"
	prescription3 = "83838383-0000-4000-8000-000000000000"

	careA     = "c7c7c7c7-0000-4000-8000-00000000000a" // A on P1's care team
	careNurse = "c7c7c7c7-0000-4000-8000-00000000000c" // the nurse on P1's care team

	deniedB = "eaeaeaea-0000-4000-8000-00000000000b" // B's DENIED emergency request for P3
)

var rlsNames = map[string]string{
	userA: "userA", userB: "userB", userNurse: "userNurse", userDesk: "userDesk", userAdmin: "userAdmin",
	doctorA: "doctorA", doctorB: "doctorB", doctorC: "doctorC",
	patient1: "P1", patient2: "P2", patient3: "P3",
	patient4: "P4", patient5: "P5",
	report1: "report1", report2: "report2", report3: "report3",
	prescription1: "prescription1", prescription2: "prescription2", prescription3: "prescription3",
	careA: "careA", careNurse: "careNurse", deniedB: "deniedB",
}

// identity is a caller as the service presents it; the zero value is no one.
type identity struct{ user, role string }

var (
	clinicianA   = identity{userA, "CLINICIAN"}
	clinicianB   = identity{userB, "CLINICIAN"}
	nurse        = identity{userNurse, "NURSE"}
	receptionist = identity{userDesk, "RECEPTIONIST"}
	admin        = identity{userAdmin, "ADMIN"}
	noOne        = identity{}
)

type rlsFixture struct {
	db    *pgtest.DB
	owner *pgx.Conn // the migrating role: a superuser in the test cluster
	app   *pgx.Conn // the service role
}

const rlsFixtureSQL = `
INSERT INTO users (id, email, password_hash, role) VALUES
    ('` + userA + `', 'a@example.org', 'x', 'CLINICIAN'),
    ('` + userB + `', 'b@example.org', 'x', 'CLINICIAN'),
    ('` + userNurse + `', 'nurse@example.org', 'x', 'NURSE'),
    ('` + userDesk + `', 'desk@example.org', 'x', 'RECEPTIONIST'),
    ('` + userAdmin + `', 'admin@example.org', 'x', 'ADMIN');
INSERT INTO doctors (id, first_name, last_name, email, user_id) VALUES
    ('` + doctorA + `', 'Ann', 'A', 'doctor-a@example.org', '` + userA + `'),
    ('` + doctorB + `', 'Bob', 'B', 'doctor-b@example.org', '` + userB + `'),
    ('` + doctorC + `', 'Cy', 'C', 'doctor-c@example.org', NULL);
INSERT INTO patients (id, first_name, last_name, dob, gender) VALUES
    ('` + patient1 + `', 'Pat', 'One', '1980-01-01', 'FEMALE'),
    ('` + patient2 + `', 'Pat', 'Two', '1980-02-02', 'MALE'),
    ('` + patient3 + `', 'Pat', 'Three', '1980-03-03', 'OTHER');
INSERT INTO care_team (id, patient_id, user_id, added_by) VALUES
    ('` + careA + `', '` + patient1 + `', '` + userA + `', '` + userDesk + `'),
    ('` + careNurse + `', '` + patient1 + `', '` + userNurse + `', '` + userDesk + `');
INSERT INTO medical_reports (id, patient_id, doctor_id, title, report_type, storage_url, report_date) VALUES
    ('` + report1 + `', '` + patient1 + `', '` + doctorA + `', 'r1', 'LAB', 'blob://r1', '2026-01-01'),
    ('` + report2 + `', '` + patient2 + `', '` + doctorB + `', 'r2', 'LAB', 'blob://r2', '2026-01-02'),
    ('` + report3 + `', '` + patient3 + `', '` + doctorC + `', 'r3', 'LAB', 'blob://r3', '2026-01-03');
INSERT INTO prescriptions (id, patient_id, doctor_id, drug_name, dosage, frequency, start_date) VALUES
    ('` + prescription1 + `', '` + patient1 + `', '` + doctorA + `', 'd1', '1mg', 'daily', '2026-01-01'),
    ('` + prescription2 + `', '` + patient2 + `', '` + doctorB + `', 'd2', '2mg', 'daily', '2026-01-02'),
    ('` + prescription3 + `', '` + patient3 + `', '` + doctorC + `', 'd3', '3mg', 'daily', '2026-01-03');
INSERT INTO emergency_access (id, patient_id, requested_by_user_id, requester_name, reason, expires_at, status) VALUES
    ('` + deniedB + `', '` + patient3 + `', '` + userB + `', 'Bob B', 'night shift', now() + interval '1 hour', 'DENIED');
INSERT INTO audit_log (table_name, record_id, action, user_id, patient_id) VALUES
    ('patients', '` + patient1 + `', 'READ', '` + userA + `', '` + patient1 + `');
INSERT INTO ai_request_logs (request_type, input_data) VALUES ('OCR', 'scan of report1');
`

// setupRLS returns a fresh migrated database holding the fixture, with a
// connection as the owner and one as the service role.
func setupRLS(t *testing.T) rlsFixture {
	t.Helper()
	db := pgtest.New(t)
	f := rlsFixture{db: db, owner: pgtest.Conn(t, db.OwnerURL), app: pgtest.Conn(t, db.AppURL)}
	if _, err := f.owner.Exec(context.Background(), rlsFixtureSQL); err != nil {
		t.Fatalf("write the fixture as the owner: %v", err)
	}
	return f
}

// as runs fn in one transaction on conn that carries who's identity, set as
// the service sets it (transaction-local); no one sets nothing. The
// transaction commits only when commit is true and fn succeeded; fn's error
// is returned for the caller to judge.
func as(t *testing.T, conn *pgx.Conn, who identity, commit bool, fn func(tx pgx.Tx) error) error {
	t.Helper()
	ctx := context.Background()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if who != noOne {
		if _, err := tx.Exec(ctx, `SELECT set_config('app.user_id', $1, true), set_config('app.role', $2, true)`, who.user, who.role); err != nil {
			t.Fatalf("set identity: %v", err)
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	if commit {
		return tx.Commit(ctx)
	}
	return nil
}

// querier is a connection or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// names runs a query of one text column (ids) and returns the values by
// their fixture names, sorted.
func names(t *testing.T, q querier, query string, args ...any) []string {
	t.Helper()
	rows, err := q.Query(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	for i, id := range got {
		if name, ok := rlsNames[id]; ok {
			got[i] = name
		}
	}
	slices.Sort(got)
	if got == nil {
		got = []string{}
	}
	return got
}

func count(t *testing.T, q querier, query string, args ...any) int {
	t.Helper()
	var n int
	if err := q.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// affected runs a statement that must succeed and returns how many rows it touched.
func affected(t *testing.T, q querier, stmt string, args ...any) int64 {
	t.Helper()
	tag, err := q.Exec(context.Background(), stmt, args...)
	if err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
	return tag.RowsAffected()
}

func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// wantDenied fails unless err is insufficient_privilege (42501), which is
// also what "new row violates row-level security policy" raises.
func wantDenied(t *testing.T, err error) {
	t.Helper()
	if got := sqlState(err); got != "42501" {
		t.Fatalf("got %v, want insufficient_privilege (42501)", err)
	}
}

func TestRLSEachRoleSeesOnlyWhatItsWorkNeeds(t *testing.T) {
	t.Parallel()
	f := setupRLS(t)
	none := []string{}
	// What the visible audit rows are about; "none" is a row about no patient.
	auditAbout := `SELECT DISTINCT coalesce(patient_id::text, 'none') FROM audit_log`
	auditRowsAbout := func(patient string) int {
		return count(t, f.owner, `SELECT count(*) FROM audit_log WHERE patient_id = $1`, patient)
	}
	allAuditRows := count(t, f.owner, `SELECT count(*) FROM audit_log`)
	// P1: the patient, two care-team rows, a report, a prescription and A's
	// READ; P2: the patient, a report and a prescription.
	if auditRowsAbout(patient1) != 6 || auditRowsAbout(patient2) != 3 || count(t, f.owner, `SELECT count(*) FROM audit_log WHERE patient_id IS NULL`) < 8 {
		t.Fatalf("the fixture's audit rows are not filed under their patients (P1: %d, P2: %d of %d)",
			auditRowsAbout(patient1), auditRowsAbout(patient2), allAuditRows)
	}

	tests := []struct {
		name                                   string
		who                                    identity
		patients, reports, prescriptions, team []string
		audit                                  []string
		auditRows                              int
		inCare                                 []string // what medrec_in_care answers true for
	}{
		{
			name: "clinician A sees only P1, on their care team", who: clinicianA,
			patients: []string{"P1"}, reports: []string{"report1"}, prescriptions: []string{"prescription1"},
			team: []string{"careA"}, audit: []string{"P1"}, auditRows: auditRowsAbout(patient1), inCare: []string{"P1"},
		},
		{
			name: "clinician B sees only P2, whom they treated", who: clinicianB,
			patients: []string{"P2"}, reports: []string{"report2"}, prescriptions: []string{"prescription2"},
			team: none, audit: []string{"P2"}, auditRows: auditRowsAbout(patient2), inCare: []string{"P2"},
		},
		{
			name: "nurse sees only P1, on their care team, and no audit log", who: nurse,
			patients: []string{"P1"}, reports: []string{"report1"}, prescriptions: []string{"prescription1"},
			team: []string{"careNurse"}, audit: none, inCare: []string{"P1"},
		},
		{
			name: "receptionist sees every patient but no clinical record", who: receptionist,
			patients: []string{"P1", "P2", "P3"}, reports: none, prescriptions: none,
			team: []string{"careA", "careNurse"}, audit: none, inCare: none,
		},
		{
			name: "admin sees every patient and the whole audit log but no clinical record", who: admin,
			patients: []string{"P1", "P2", "P3"}, reports: none, prescriptions: none,
			team: []string{"careA", "careNurse"}, audit: []string{"P1", "P2", "P3", "none"}, auditRows: allAuditRows, inCare: none,
		},
		{
			name: "no one sees nothing", who: noOne,
			patients: none, reports: none, prescriptions: none, team: none, audit: none, inCare: none,
		},
		{
			name: "a role without a user id sees nothing", who: identity{"", "ADMIN"},
			patients: none, reports: none, prescriptions: none, team: none, audit: none, inCare: none,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as(t, f.app, tt.who, false, func(tx pgx.Tx) error {
				for _, c := range []struct {
					what  string
					query string
					want  []string
				}{
					{"patients", `SELECT id::text FROM patients`, tt.patients},
					{"medical_reports", `SELECT id::text FROM medical_reports`, tt.reports},
					{"prescriptions", `SELECT id::text FROM prescriptions`, tt.prescriptions},
					{"care_team", `SELECT id::text FROM care_team`, tt.team},
					{"audit_log", auditAbout, tt.audit},
				} {
					if got := names(t, tx, c.query); !slices.Equal(got, c.want) {
						t.Errorf("%s: got %v, want %v", c.what, got, c.want)
					}
				}
				if got := count(t, tx, `SELECT count(*) FROM audit_log`); got != tt.auditRows {
					t.Errorf("audit_log: got %d rows, want %d", got, tt.auditRows)
				}
				// The point check the service may use agrees with the policies.
				if got := names(t, tx, `SELECT p::text FROM unnest($1::uuid[]) AS p WHERE medrec_in_care(p)`,
					[]string{patient1, patient2, patient3}); !slices.Equal(got, tt.inCare) {
					t.Errorf("medrec_in_care: true for %v, want %v", got, tt.inCare)
				}
				return nil
			})
		})
	}
}

func TestRLSWithoutIdentityEveryTableIsEmpty(t *testing.T) {
	t.Parallel()
	f := setupRLS(t)
	for _, table := range rlsTables {
		t.Run(table+" is empty", func(t *testing.T) {
			if n := count(t, f.owner, `SELECT count(*) FROM `+table); n == 0 {
				t.Fatalf("the owner sees no rows in %s; the fixture must fill it for this test to mean anything", table)
			}
			// Outside any transaction, and in one that never sets an identity.
			if n := count(t, f.app, `SELECT count(*) FROM `+table); n != 0 {
				t.Fatalf("the service role without an identity sees %d rows of %s, want 0", n, table)
			}
			as(t, f.app, noOne, false, func(tx pgx.Tx) error {
				if n := count(t, tx, `SELECT count(*) FROM `+table); n != 0 {
					t.Fatalf("a transaction without an identity sees %d rows of %s, want 0", n, table)
				}
				return nil
			})
		})
	}
}

func TestRLSIdentityDoesNotOutliveItsTransaction(t *testing.T) {
	t.Parallel()
	f := setupRLS(t)
	ctx := context.Background()
	// One connection, as a pool hands the same one to the next request.
	err := as(t, f.app, clinicianA, true, func(tx pgx.Tx) error {
		if got := names(t, tx, `SELECT id::text FROM patients`); !slices.Equal(got, []string{"P1"}) {
			t.Fatalf("with A's identity: patients %v, want [P1]", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = as(t, f.app, noOne, false, func(tx pgx.Tx) error {
		if n := count(t, tx, `SELECT count(*) FROM patients`); n != 0 {
			t.Fatalf("the next transaction on the connection sees %d patients, want 0", n)
		}
		// Empty or NULL: never set on this connection, or set and gone.
		var user, role string
		if err := tx.QueryRow(ctx, `SELECT coalesce(current_setting('app.user_id', true), ''), coalesce(current_setting('app.role', true), '')`).Scan(&user, &role); err != nil {
			t.Fatal(err)
		}
		if user != "" || role != "" {
			t.Fatalf("the next transaction still carries app.user_id=%q app.role=%q", user, role)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRLSWrites(t *testing.T) {
	t.Parallel()
	f := setupRLS(t)
	ctx := context.Background()
	// Without RETURNING, so that a refusal comes from the INSERT policy
	// itself and not from the SELECT policy that RETURNING also applies.
	const newReport = `INSERT INTO medical_reports (patient_id, doctor_id, title, report_type, storage_url, report_date)
		VALUES ($1, $2, 'new', 'LAB', 'blob://new', '2026-02-01')`
	const newPrescription = `INSERT INTO prescriptions (patient_id, doctor_id, drug_name, dosage, frequency, start_date)
		VALUES ($1, $2, 'new', '1mg', 'daily', '2026-02-01')`
	insert := func(tx pgx.Tx, stmt string, args ...any) error {
		_, err := tx.Exec(ctx, stmt, args...)
		return err
	}
	returning := func(tx pgx.Tx, stmt string, args ...any) (string, error) {
		var id string
		err := tx.QueryRow(ctx, stmt+` RETURNING id::text`, args...).Scan(&id)
		return id, err
	}

	t.Run("clinician writes the first report and prescription for a new care-team patient", func(t *testing.T) {
		// P4 joins A's care team; A has authored nothing for P4 yet.
		if _, err := f.owner.Exec(ctx, `
			INSERT INTO patients (id, first_name, last_name, dob, gender) VALUES ('`+patient4+`', 'Pat', 'Four', '1980-04-04', 'OTHER');
			INSERT INTO care_team (patient_id, user_id) VALUES ('`+patient4+`', '`+userA+`')`); err != nil {
			t.Fatal(err)
		}
		err := as(t, f.app, clinicianA, false, func(tx pgx.Tx) error {
			id, err := returning(tx, newReport, patient4, doctorA)
			if err != nil {
				return err
			}
			if n := count(t, tx, `SELECT count(*) FROM medical_reports WHERE id = $1`, id); n != 1 {
				t.Fatalf("A sees %d of the report they just wrote, want 1", n)
			}
			_, err = returning(tx, newPrescription, patient4, doctorA)
			return err
		})
		if err != nil {
			t.Fatalf("A's first report and prescription for a care-team patient: %v", err)
		}
	})
	t.Run("clinician cannot write a report for a patient outside their care", func(t *testing.T) {
		wantDenied(t, as(t, f.app, clinicianA, false, func(tx pgx.Tx) error { return insert(tx, newReport, patient3, doctorA) }))
	})
	t.Run("clinician cannot write a prescription for a patient outside their care", func(t *testing.T) {
		wantDenied(t, as(t, f.app, clinicianA, false, func(tx pgx.Tx) error { return insert(tx, newPrescription, patient2, doctorA) }))
	})
	t.Run("clinician cannot write a report in another doctor's name", func(t *testing.T) {
		wantDenied(t, as(t, f.app, clinicianA, false, func(tx pgx.Tx) error { return insert(tx, newReport, patient1, doctorB) }))
	})
	t.Run("clinician cannot move their report to a patient outside their care", func(t *testing.T) {
		wantDenied(t, as(t, f.app, clinicianA, false, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE medical_reports SET patient_id = $1 WHERE id = $2`, patient3, report1)
			return err
		}))
	})
	t.Run("clinician whose doctor record is not active cannot write", func(t *testing.T) {
		wantDenied(t, as(t, f.app, clinicianA, false, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `UPDATE doctors SET status = 'ON_LEAVE' WHERE id = $1`, doctorA); err != nil {
				t.Fatal(err)
			}
			return insert(tx, newReport, patient1, doctorA)
		}))
	})
	t.Run("nurse cannot write a prescription", func(t *testing.T) {
		wantDenied(t, as(t, f.app, nurse, false, func(tx pgx.Tx) error { return insert(tx, newPrescription, patient1, doctorA) }))
	})
	t.Run("receptionist cannot write a report", func(t *testing.T) {
		wantDenied(t, as(t, f.app, receptionist, false, func(tx pgx.Tx) error { return insert(tx, newReport, patient1, doctorA) }))
	})
	t.Run("receptionist registers a patient and gives them a care team", func(t *testing.T) {
		var patient string
		err := as(t, f.app, receptionist, true, func(tx pgx.Tx) error {
			var err error
			if patient, err = returning(tx, `INSERT INTO patients (first_name, last_name, dob, gender) VALUES ('New', 'Patient', '2000-05-05', 'OTHER')`); err != nil {
				return err
			}
			_, err = returning(tx, `INSERT INTO care_team (patient_id, user_id, added_by) VALUES ($1, $2, $3)`, patient, userB, userDesk)
			return err
		})
		if err != nil {
			t.Fatalf("receptionist registers and assigns: %v", err)
		}
		as(t, f.app, clinicianB, false, func(tx pgx.Tx) error {
			if n := count(t, tx, `SELECT count(*) FROM patients WHERE id = $1`, patient); n != 1 {
				t.Fatalf("B sees %d of the patient just put in their care, want 1", n)
			}
			return nil
		})
	})
	t.Run("clinician cannot put themselves on a care team", func(t *testing.T) {
		wantDenied(t, as(t, f.app, clinicianA, false, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO care_team (patient_id, user_id) VALUES ($1, $2)`, patient3, userA)
			return err
		}))
	})
	t.Run("clinician updates a patient in care and no other", func(t *testing.T) {
		as(t, f.app, clinicianA, false, func(tx pgx.Tx) error {
			if n := affected(t, tx, `UPDATE patients SET phone = '555' WHERE id = $1`, patient3); n != 0 {
				t.Fatalf("A updated %d rows of P3, want 0", n)
			}
			if n := affected(t, tx, `UPDATE patients SET phone = '555' WHERE id = $1`, patient1); n != 1 {
				t.Fatalf("A updated %d rows of P1, want 1", n)
			}
			// Without a WHERE clause only the UPDATE policy filters. A's
			// care team holds P1 and, since the first subtest, P4.
			if n := affected(t, tx, `UPDATE patients SET phone = '556'`); n != 2 {
				t.Fatalf("A's unfiltered update touched %d patients, want 2 (P1, P4)", n)
			}
			return nil
		})
	})
	t.Run("nobody but an admin deletes a patient", func(t *testing.T) {
		for _, who := range []identity{clinicianA, clinicianB, nurse, receptionist, noOne} {
			as(t, f.app, who, false, func(tx pgx.Tx) error {
				if n := affected(t, tx, `DELETE FROM patients WHERE id = $1`, patient1); n != 0 {
					t.Fatalf("%s deleted %d rows of P1, want 0", who.role, n)
				}
				return nil
			})
		}
	})
	t.Run("nobody writes the audit log in another's name", func(t *testing.T) {
		const stmt = `INSERT INTO audit_log (table_name, record_id, action, user_id, patient_id) VALUES ('patients', $1, 'READ', $2, $1)`
		wantDenied(t, as(t, f.app, clinicianA, false, func(tx pgx.Tx) error { _, err := tx.Exec(ctx, stmt, patient1, userB); return err }))
		wantDenied(t, as(t, f.app, noOne, false, func(tx pgx.Tx) error { _, err := tx.Exec(ctx, stmt, patient1, userA); return err }))
		if err := as(t, f.app, clinicianA, false, func(tx pgx.Tx) error { _, err := tx.Exec(ctx, stmt, patient1, userA); return err }); err != nil {
			t.Fatalf("A writes an audit row in their own name: %v", err)
		}
	})
	t.Run("AI request logs are written for a user and read by admins only", func(t *testing.T) {
		const stmt = `INSERT INTO ai_request_logs (request_type) VALUES ('CHAT')`
		wantDenied(t, as(t, f.app, noOne, false, func(tx pgx.Tx) error { _, err := tx.Exec(ctx, stmt); return err }))
		as(t, f.app, clinicianA, false, func(tx pgx.Tx) error {
			affected(t, tx, stmt)
			if n := count(t, tx, `SELECT count(*) FROM ai_request_logs`); n != 0 {
				t.Fatalf("A sees %d AI request logs, want 0", n)
			}
			if n := affected(t, tx, `UPDATE ai_request_logs SET latency_ms = 1`); n != 0 {
				t.Fatalf("A updated %d AI request logs, want 0", n)
			}
			return nil
		})
		as(t, f.app, admin, false, func(tx pgx.Tx) error {
			if n := count(t, tx, `SELECT count(*) FROM ai_request_logs`); n != 1 {
				t.Fatalf("admin sees %d AI request logs, want 1", n)
			}
			if n := affected(t, tx, `DELETE FROM ai_request_logs`); n != 0 {
				t.Fatalf("admin deleted %d AI request logs, want 0", n)
			}
			return nil
		})
	})
	t.Run("emergency requests are filed only through medrec_request_emergency_access, pending and in the requester's own name", func(t *testing.T) {
		// 00016: no INSERT policy; the function is the only way in.
		const stmt = `INSERT INTO emergency_access (patient_id, requested_by_user_id, requester_name, reason, expires_at, status)
			VALUES ($1, $2, 'x', 'why', now() + interval '1 hour', $3)`
		for _, who := range []identity{nurse, clinicianA, admin, receptionist} {
			wantDenied(t, as(t, f.app, who, false, func(tx pgx.Tx) error { return insert(tx, stmt, patient3, who.user, "PENDING") }))
		}
		if err := as(t, f.app, nurse, false, func(tx pgx.Tx) error {
			var id, by, status string
			if err := tx.QueryRow(ctx, `SELECT medrec_request_emergency_access($1, 'why', NULL, interval '1 hour')::text`, patient3).Scan(&id); err != nil {
				return err
			}
			err := tx.QueryRow(ctx, `SELECT requested_by_user_id::text, status FROM emergency_access WHERE id = $1`, id).Scan(&by, &status)
			if err == nil && (by != userNurse || status != "PENDING") {
				t.Fatalf("the nurse's request is %s by %s, want PENDING by the nurse", status, rlsNames[by])
			}
			return err
		}); err != nil {
			t.Fatalf("nurse files a pending request: %v", err)
		}
		wantDenied(t, as(t, f.app, receptionist, false, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `SELECT medrec_request_emergency_access($1, 'why', NULL, interval '1 hour')`, patient3)
			return err
		}))
	})
}

func TestRLSReportsAreChangedByTheirAuthorOnly(t *testing.T) {
	t.Parallel()
	f := setupRLS(t)
	// B joins P1's care team: B may read A's report but not rewrite it.
	if _, err := f.owner.Exec(context.Background(), `INSERT INTO care_team (patient_id, user_id) VALUES ($1, $2)`, patient1, userB); err != nil {
		t.Fatal(err)
	}
	as(t, f.app, clinicianB, false, func(tx pgx.Tx) error {
		if got := names(t, tx, `SELECT id::text FROM medical_reports`); !slices.Equal(got, []string{"report1", "report2"}) {
			t.Fatalf("B on P1's care team sees reports %v, want [report1 report2]", got)
		}
		if n := affected(t, tx, `UPDATE medical_reports SET summary = 'rewritten' WHERE id = $1`, report1); n != 0 {
			t.Fatalf("B updated %d of A's reports, want 0", n)
		}
		if n := affected(t, tx, `UPDATE prescriptions SET dosage = '9mg' WHERE id = $1`, prescription1); n != 0 {
			t.Fatalf("B updated %d of A's prescriptions, want 0", n)
		}
		if n := affected(t, tx, `UPDATE medical_reports SET summary = 'own' WHERE id = $1`, report2); n != 1 {
			t.Fatalf("B updated %d of their own reports, want 1", n)
		}
		return nil
	})
}

func TestRLSOnlyAdminErasesAPatientAndTheRecordsGoWithIt(t *testing.T) {
	t.Parallel()
	f := setupRLS(t)
	for _, table := range []string{"medical_reports", "prescriptions", "care_team"} {
		if n := count(t, f.owner, `SELECT count(*) FROM `+table+` WHERE patient_id = $1`, patient1); n == 0 {
			t.Fatalf("the fixture has no %s for P1", table)
		}
	}
	err := as(t, f.app, admin, true, func(tx pgx.Tx) error {
		if n := count(t, tx, `SELECT count(*) FROM medical_reports`); n != 0 {
			t.Fatalf("admin sees %d reports, want 0", n)
		}
		// No one deletes clinical records one by one, not even an admin.
		if n := affected(t, tx, `DELETE FROM medical_reports`); n != 0 {
			t.Fatalf("admin deleted %d reports directly, want 0", n)
		}
		if n := affected(t, tx, `DELETE FROM prescriptions`); n != 0 {
			t.Fatalf("admin deleted %d prescriptions directly, want 0", n)
		}
		if n := affected(t, tx, `DELETE FROM patients WHERE id = $1`, patient1); n != 1 {
			t.Fatalf("admin erased %d rows of P1, want 1", n)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("admin erases P1: %v", err)
	}
	for _, table := range []string{"patients", "medical_reports", "prescriptions", "care_team"} {
		column := "patient_id"
		if table == "patients" {
			column = "id"
		}
		if n := count(t, f.owner, `SELECT count(*) FROM `+table+` WHERE `+column+` = $1`, patient1); n != 0 {
			t.Errorf("%s still holds %d rows of the erased P1", table, n)
		}
	}
	if n := count(t, f.owner, `SELECT count(*) FROM medical_reports`); n != 2 {
		t.Errorf("%d reports left after erasing P1, want the other patients' 2", n)
	}
	// The cascaded deletes are audited in the admin's name, under P1.
	if n := count(t, f.owner, `SELECT count(*) FROM audit_log WHERE action = 'DELETE' AND patient_id = $1 AND user_id = $2`, patient1, userAdmin); n != 5 {
		t.Errorf("got %d audit rows for the erasure, want 5 (patient, report, prescription, two care-team rows)", n)
	}
}

func TestRLSEmergencyAccessFollowsTheDatabaseClock(t *testing.T) {
	t.Parallel()
	f := setupRLS(t)
	ctx := context.Background()
	const grant = "eaeaeaea-0000-4000-8000-00000000000c"
	// The nurse holds an approved grant for P3, and a pending and a denied
	// request for P2.
	if _, err := f.owner.Exec(ctx, `
		INSERT INTO emergency_access (id, patient_id, requested_by_user_id, approved_by_doctor_id, requester_name, reason, expires_at, status) VALUES
		    ('`+grant+`', '`+patient3+`', '`+userNurse+`', '`+doctorB+`', 'Nurse', 'collapse', now() + interval '1 hour', 'APPROVED'),
		    (gen_random_uuid(), '`+patient2+`', '`+userNurse+`', NULL, 'Nurse', 'waiting', now() + interval '1 hour', 'PENDING'),
		    (gen_random_uuid(), '`+patient2+`', '`+userNurse+`', '`+doctorB+`', 'Nurse', 'no', now() + interval '1 hour', 'DENIED')`); err != nil {
		t.Fatal(err)
	}
	seen := func() (patients, reports []string) {
		as(t, f.app, nurse, false, func(tx pgx.Tx) error {
			patients = names(t, tx, `SELECT id::text FROM patients`)
			reports = names(t, tx, `SELECT id::text FROM medical_reports`)
			return nil
		})
		return patients, reports
	}

	t.Run("an approved grant opens its one patient until it expires", func(t *testing.T) {
		patients, reports := seen()
		if !slices.Equal(patients, []string{"P1", "P3"}) || !slices.Equal(reports, []string{"report1", "report3"}) {
			t.Fatalf("nurse with an approved grant for P3 sees patients %v and reports %v, want [P1 P3] and [report1 report3]", patients, reports)
		}
	})
	t.Run("the grant closes when the database clock passes expires_at, still APPROVED", func(t *testing.T) {
		if _, err := f.owner.Exec(ctx, `UPDATE emergency_access SET expires_at = now() - interval '1 second' WHERE id = $1`, grant); err != nil {
			t.Fatal(err)
		}
		patients, reports := seen()
		if !slices.Equal(patients, []string{"P1"}) || !slices.Equal(reports, []string{"report1"}) {
			t.Fatalf("nurse with an expired grant sees patients %v and reports %v, want [P1] and [report1]", patients, reports)
		}
	})
	t.Run("a revoked grant gives nothing", func(t *testing.T) {
		if _, err := f.owner.Exec(ctx, `UPDATE emergency_access SET expires_at = now() + interval '1 hour', status = 'EXPIRED' WHERE id = $1`, grant); err != nil {
			t.Fatal(err)
		}
		if patients, _ := seen(); !slices.Equal(patients, []string{"P1"}) {
			t.Fatalf("nurse with a revoked grant sees patients %v, want [P1]", patients)
		}
	})
}

func TestRLSCareTeamMembershipIsTimeBounded(t *testing.T) {
	t.Parallel()
	f := setupRLS(t)
	for _, tt := range []struct {
		name, since, until string
		want               []string
	}{
		{"an ended membership gives nothing", `now() - interval '2 hours'`, `now() - interval '1 second'`, []string{}},
		{"a membership that has not begun gives nothing", `now() + interval '1 hour'`, `NULL`, []string{}},
		{"a membership with an end to come gives the patient", `now() - interval '2 hours'`, `now() + interval '1 hour'`, []string{"P1"}},
		{"a membership joined again gives the patient", `now()`, `NULL`, []string{"P1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := f.owner.Exec(context.Background(), `UPDATE care_team SET since = `+tt.since+`, until = `+tt.until+` WHERE id = $1`, careNurse); err != nil {
				t.Fatal(err)
			}
			as(t, f.app, nurse, false, func(tx pgx.Tx) error {
				if got := names(t, tx, `SELECT id::text FROM patients`); !slices.Equal(got, tt.want) {
					t.Fatalf("nurse sees patients %v, want %v", got, tt.want)
				}
				return nil
			})
		})
	}
}

func TestRLSTreatedMeansAuthoredAReportOrAPrescription(t *testing.T) {
	t.Parallel()
	f := setupRLS(t)
	// A, on P1's care team, authors a report only for P4 and a prescription
	// only for P5, and is on neither's care team.
	if _, err := f.owner.Exec(context.Background(), `
		INSERT INTO patients (id, first_name, last_name, dob, gender) VALUES
		    ('`+patient4+`', 'Pat', 'Four', '1980-04-04', 'OTHER'),
		    ('`+patient5+`', 'Pat', 'Five', '1980-05-05', 'OTHER');
		INSERT INTO medical_reports (patient_id, doctor_id, title, report_type, storage_url, report_date)
		    VALUES ('`+patient4+`', '`+doctorA+`', 'r4', 'LAB', 'blob://r4', '2026-01-04');
		INSERT INTO prescriptions (patient_id, doctor_id, drug_name, dosage, frequency, start_date)
		    VALUES ('`+patient5+`', '`+doctorA+`', 'd5', '5mg', 'daily', '2026-01-05')`); err != nil {
		t.Fatal(err)
	}
	as(t, f.app, clinicianA, false, func(tx pgx.Tx) error {
		if got := names(t, tx, `SELECT id::text FROM patients`); !slices.Equal(got, []string{"P1", "P4", "P5"}) {
			t.Fatalf("A sees patients %v, want P1, P4 (a report) and P5 (a prescription)", got)
		}
		return nil
	})
	// The treated rule counts for a CLINICIAN only: the same user acting as
	// a NURSE keeps only the care team.
	as(t, f.app, identity{userA, "NURSE"}, false, func(tx pgx.Tx) error {
		if got := names(t, tx, `SELECT id::text FROM patients`); !slices.Equal(got, []string{"P1"}) {
			t.Fatalf("A's user as a NURSE sees patients %v, want [P1] (care team only)", got)
		}
		return nil
	})
}

func TestRLSOnlyCliniciansAndNursesAreInCare(t *testing.T) {
	t.Parallel()
	f := setupRLS(t)
	// The admin and the receptionist are put on P3's care team and given an
	// approved emergency grant for it: neither may read clinical records.
	if _, err := f.owner.Exec(context.Background(), `
		INSERT INTO care_team (patient_id, user_id) VALUES ('`+patient3+`', '`+userAdmin+`'), ('`+patient3+`', '`+userDesk+`');
		INSERT INTO emergency_access (patient_id, requested_by_user_id, approved_by_doctor_id, requester_name, reason, expires_at, status) VALUES
		    ('`+patient3+`', '`+userAdmin+`', '`+doctorB+`', 'Admin', 'x', now() + interval '1 hour', 'APPROVED'),
		    ('`+patient3+`', '`+userDesk+`', '`+doctorB+`', 'Desk', 'x', now() + interval '1 hour', 'APPROVED')`); err != nil {
		t.Fatal(err)
	}
	for _, who := range []identity{admin, receptionist} {
		as(t, f.app, who, false, func(tx pgx.Tx) error {
			for _, table := range []string{"medical_reports", "prescriptions"} {
				if n := count(t, tx, `SELECT count(*) FROM `+table); n != 0 {
					t.Errorf("%s on a care team with a grant sees %d %s, want 0", who.role, n, table)
				}
			}
			return nil
		})
	}
}

func TestRLSNobodyApprovesTheirOwnEmergencyRequest(t *testing.T) {
	t.Parallel()
	f := setupRLS(t)
	ctx := context.Background()
	var request string
	err := as(t, f.app, clinicianA, true, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT medrec_request_emergency_access($1, 'arrest', NULL, interval '1 hour')::text`, patient3).Scan(&request)
	})
	if err != nil {
		t.Fatalf("A files an emergency request: %v", err)
	}
	const approve = `SELECT medrec_decide_emergency_access($1, 'APPROVE', NULL)`

	t.Run("the requester's own approval is refused", func(t *testing.T) {
		wantDenied(t, as(t, f.app, clinicianA, false, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, approve, request)
			return err
		}))
	})
	t.Run("a nurse cannot approve", func(t *testing.T) {
		wantDenied(t, as(t, f.app, nurse, false, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, approve, request)
			return err
		}))
	})
	t.Run("an approver cannot take a request over as their own", func(t *testing.T) {
		wantDenied(t, as(t, f.app, clinicianB, false, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE emergency_access SET requested_by_user_id = $2 WHERE id = $1`, request, userB)
			return err
		}))
	})
	t.Run("another clinician approves, and the requester then sees the patient", func(t *testing.T) {
		if err := as(t, f.app, clinicianB, true, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, approve, request)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		as(t, f.app, clinicianA, false, func(tx pgx.Tx) error {
			if got := names(t, tx, `SELECT id::text FROM patients`); !slices.Equal(got, []string{"P1", "P3"}) {
				t.Fatalf("A with an approved grant for P3 sees %v, want [P1 P3]", got)
			}
			return nil
		})
	})
}

func TestRLSServiceRoleCannotSwitchItOff(t *testing.T) {
	t.Parallel()
	f := setupRLS(t)
	ctx := context.Background()
	var owner string
	if err := f.owner.QueryRow(ctx, `SELECT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = 'patients'`).Scan(&owner); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`ALTER TABLE patients DISABLE ROW LEVEL SECURITY`,
		`ALTER TABLE patients NO FORCE ROW LEVEL SECURITY`,
		`ALTER TABLE medical_reports DISABLE ROW LEVEL SECURITY`,
		`DROP POLICY patients_select ON patients`,
		`ALTER POLICY patients_select ON patients USING (true)`,
		`CREATE POLICY mine ON patients USING (true)`,
		`CREATE OR REPLACE FUNCTION medrec_in_care(patient uuid) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$`,
		`CREATE OR REPLACE FUNCTION medrec_patients_in_care() RETURNS SETOF uuid LANGUAGE sql AS $$ SELECT id FROM patients $$`,
		`ALTER FUNCTION medrec_patients_in_care() OWNER TO ` + pgx.Identifier{pgtest.AppRoleName}.Sanitize(),
		`ALTER FUNCTION medrec_patients_in_care() SECURITY INVOKER`,
		`SET ROLE ` + pgx.Identifier{owner}.Sanitize(),
	} {
		t.Run(stmt, func(t *testing.T) {
			_, err := f.app.Exec(ctx, stmt)
			wantDenied(t, err)
		})
	}
	t.Run("row_security off makes a filtered read fail", func(t *testing.T) {
		for _, who := range []identity{clinicianA, noOne} {
			err := as(t, f.app, who, false, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `SET LOCAL row_security = off`); err != nil {
					t.Fatalf("SET row_security: %v", err)
				}
				var n int
				return tx.QueryRow(ctx, `SELECT count(*) FROM patients`).Scan(&n)
			})
			// PostgreSQL refuses the query rather than return filtered rows.
			wantDenied(t, err)
		}
	})
}

func TestRLSIsForcedWithExactlyThesePolicies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn := pgtest.Conn(t, pgtest.New(t).OwnerURL)
	want := map[string][]string{
		"patients":         {"owner_all", "patients_delete", "patients_insert", "patients_select", "patients_update"},
		"medical_reports":  {"medical_reports_insert", "medical_reports_select", "medical_reports_update", "owner_all"},
		"prescriptions":    {"owner_all", "prescriptions_insert", "prescriptions_select", "prescriptions_update"},
		"emergency_access": {"emergency_access_select", "owner_all"},
		"care_team":        {"care_team_delete", "care_team_insert", "care_team_select", "care_team_update", "owner_all"},
		"audit_log":        {"audit_log_insert", "audit_log_select", "owner_all"},
		"ai_request_logs":  {"ai_request_logs_insert", "ai_request_logs_select", "owner_all"},
	}
	for _, table := range rlsTables {
		t.Run(table, func(t *testing.T) {
			var enabled, forced bool
			if err := conn.QueryRow(ctx, `SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = ('public.' || $1)::regclass`, table).Scan(&enabled, &forced); err != nil {
				t.Fatal(err)
			}
			if !enabled || !forced {
				t.Fatalf("%s: row level security enabled=%v forced=%v, want both", table, enabled, forced)
			}
			// A new permissive policy widens access: it must be added here on purpose.
			got := names(t, conn, `SELECT policyname::text FROM pg_policies WHERE schemaname = 'public' AND tablename = $1`, table)
			if !slices.Equal(got, want[table]) {
				t.Fatalf("%s: policies %v, want %v", table, got, want[table])
			}
			if n := count(t, conn, `SELECT count(*) FROM pg_policies WHERE schemaname = 'public' AND tablename = $1 AND permissive <> 'PERMISSIVE'`, table); n != 0 {
				t.Fatalf("%s: %d restrictive policies, want none", table, n)
			}
		})
	}
	// owner_all belongs to the migrating role (the tables' owner) alone,
	// never to PUBLIC or the service.
	owners := names(t, conn, `SELECT DISTINCT tableowner::text FROM pg_tables WHERE schemaname = 'public' AND tablename = ANY ($1)`, rlsTables)
	if got := names(t, conn, `SELECT DISTINCT array_to_string(roles, ',') FROM pg_policies WHERE policyname = 'owner_all'`); len(owners) != 1 || !slices.Equal(got, owners) {
		t.Fatalf("owner_all policies are for %v, want the tables' owner %v only", got, owners)
	}
}

// TestRLSHoldsForANonSuperuserOwner migrates a database as an owner that is
// not a superuser, so FORCEd RLS applies to it too: medrec_patients_in_care
// (SECURITY DEFINER, run as that owner) must still read the tables it needs
// through owner_all, without recursing, and the owner itself must still see
// everything. With a superuser owner (the other tests) none of this is
// exercised, since superusers bypass RLS.
func TestRLSHoldsForANonSuperuserOwner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := pgtest.New(t) // for its superuser connection string
	admin := pgtest.Conn(t, base.OwnerURL)
	var suffix [6]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		t.Fatal(err)
	}
	role := "medrec_test_owner_" + hex.EncodeToString(suffix[:])
	dbName := "medrec_test_nsowner_" + hex.EncodeToString(suffix[:])
	password := hex.EncodeToString(suffix[:]) + "-owner"
	if _, err := admin.Exec(ctx, `CREATE ROLE `+role+` LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB PASSWORD '`+password+`'`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		if _, err := admin.Exec(ctx, `DROP DATABASE IF EXISTS `+dbName+` WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", dbName, err)
		}
		if _, err := admin.Exec(ctx, `DROP ROLE IF EXISTS `+role); err != nil {
			t.Errorf("drop role %s: %v", role, err)
		}
	})
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+dbName+` OWNER `+role); err != nil {
		t.Fatal(err)
	}
	ownerURL, err := postgres.ConnString(base.OwnerURL, role, password, dbName)
	if err != nil {
		t.Fatal(err)
	}
	appURL, err := postgres.ConnString(base.AppURL, "", "", dbName)
	if err != nil {
		t.Fatal(err)
	}

	// The migrations alone, through goose as medrec runs them. (Migrator.Up
	// would also ALTER the shared service role, which only a superuser may.)
	sqlDB, err := sql.Open("pgx", ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	provider, err := goose.NewProvider(goose.DialectPostgres, sqlDB, postgres.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.Up(ctx); err != nil {
		t.Fatalf("migrate as a non-superuser owner: %v", err)
	}

	owner := pgtest.Conn(t, ownerURL)
	var super, bypass bool
	if err := owner.QueryRow(ctx, `SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user`).Scan(&super, &bypass); err != nil || super || bypass {
		t.Fatalf("owner superuser=%v bypassrls=%v err=%v; the test needs an ordinary owner", super, bypass, err)
	}
	if _, err := owner.Exec(ctx, rlsFixtureSQL+`
		GRANT CONNECT ON DATABASE `+dbName+` TO `+pgtest.AppRoleName+`;
		GRANT USAGE ON SCHEMA public TO `+pgtest.AppRoleName+`;
		GRANT SELECT ON patients, medical_reports, prescriptions, audit_log TO `+pgtest.AppRoleName); err != nil {
		t.Fatalf("fixture as the non-superuser owner (under FORCEd RLS, through owner_all): %v", err)
	}
	if n := count(t, owner, `SELECT count(*) FROM medical_reports`); n != 3 {
		t.Fatalf("the owner sees %d reports through owner_all, want 3", n)
	}

	app := pgtest.Conn(t, appURL)
	for _, tt := range []struct {
		who  identity
		want []string
	}{
		{clinicianA, []string{"P1"}}, // care team: reads care_team as the definer
		{clinicianB, []string{"P2"}}, // treated: reads medical_reports as the definer
		{noOne, []string{}},
	} {
		as(t, app, tt.who, false, func(tx pgx.Tx) error {
			if got := names(t, tx, `SELECT id::text FROM patients`); !slices.Equal(got, tt.want) {
				t.Errorf("%s %s sees patients %v, want %v", tt.who.role, rlsNames[tt.who.user], got, tt.want)
			}
			return nil
		})
	}
}
