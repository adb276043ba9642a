package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"medrec/internal/pgtest"
)

// TestEmergencyGrantIsReadOnly shows, as the service role, that an approved
// emergency grant lets its holder read the patient but not write to the
// record; the care team, given afterwards, does.
func TestEmergencyGrantIsReadOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	owner := pgtest.Conn(t, db.OwnerURL)
	var user, doctor, patient string
	err := owner.QueryRow(ctx, `
		WITH u AS (INSERT INTO users (email, password_hash, role) VALUES ('er@example.org', 'x', 'CLINICIAN') RETURNING id),
		     d AS (INSERT INTO doctors (first_name, last_name, email, user_id) SELECT 'E', 'R', 'er.doc@example.org', id FROM u RETURNING id),
		     p AS (INSERT INTO patients (first_name, last_name, dob, gender) VALUES ('Un', 'Conscious', '1960-01-01', 'MALE') RETURNING id)
		SELECT (SELECT id FROM u), (SELECT id FROM d), (SELECT id FROM p)`).Scan(&user, &doctor, &patient)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Exec(ctx, `INSERT INTO emergency_access (patient_id, requested_by_user_id, requester_name, reason, status, expires_at)
		VALUES ($1, $2, 'E R', 'unconscious in ER', 'APPROVED', now() + interval '1 hour')`, patient, user); err != nil {
		t.Fatal(err)
	}

	app := pgtest.Conn(t, db.AppURL)
	as := func(sql string, args ...any) (int64, error) {
		tx, err := app.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, `SELECT set_config('app.user_id', $1, true), set_config('app.role', 'CLINICIAN', true)`, user); err != nil {
			t.Fatal(err)
		}
		tag, err := tx.Exec(ctx, sql, args...)
		if err != nil {
			return 0, err
		}
		return tag.RowsAffected(), tx.Commit(ctx)
	}
	denied := func(err error) bool {
		var pgErr *pgconn.PgError
		return errors.As(err, &pgErr) && pgErr.Code == "42501"
	}

	if n, err := as(`SELECT 1 FROM patients WHERE id = $1`, patient); err != nil || n != 1 {
		t.Fatalf("reading the patient under the grant: %d rows, %v; want 1", n, err)
	}
	prescribe := `INSERT INTO prescriptions (patient_id, doctor_id, drug_name, dosage, frequency, start_date) VALUES ($1, $2, 'Morphine', '5mg', 'once', current_date)`
	if _, err := as(prescribe, patient, doctor); !denied(err) {
		t.Fatalf("prescribing under an emergency grant: %v, want 42501", err)
	}
	if _, err := as(`INSERT INTO medical_reports (patient_id, doctor_id, title, report_type, storage_url, report_date) VALUES ($1, $2, 't', 'LAB', 'x', current_date)`, patient, doctor); !denied(err) {
		t.Fatalf("writing a report under an emergency grant: %v, want 42501", err)
	}
	if n, err := as(`UPDATE patients SET last_name = 'Changed' WHERE id = $1`, patient); err != nil || n != 0 {
		t.Fatalf("editing the patient under an emergency grant: %d rows, %v; want 0", n, err)
	}

	// Control: the same clinician on the care team may prescribe.
	if _, err := owner.Exec(ctx, `INSERT INTO care_team (patient_id, user_id) VALUES ($1, $2)`, patient, user); err != nil {
		t.Fatal(err)
	}
	if n, err := as(prescribe, patient, doctor); err != nil || n != 1 {
		t.Fatalf("prescribing on the care team: %d rows, %v; want 1", n, err)
	}
}
