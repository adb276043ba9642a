package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"medrec/internal/pgtest"
)

// asUser runs sql in one transaction on conn as an ADMIN with app.user_id set
// the way the service sets it: transaction-local.
func asUser(t *testing.T, conn *pgx.Conn, userID, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT set_config('app.user_id', $1, true), set_config('app.role', 'ADMIN', true)`, userID); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestAuditRecordsWhoActed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	app := pgtest.Conn(t, db.AppURL)

	const (
		patient  = "11111111-1111-4111-8111-111111111111"
		creator  = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
		editor   = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
		remover  = "cccccccc-cccc-4ccc-8ccc-cccccccccccc"
		lastName = "Lovelace"
	)
	asUser(t, app, creator, `INSERT INTO patients (id, first_name, last_name, dob, gender) VALUES ($1, 'Ada', $2, '1815-12-10', 'FEMALE')`, patient, lastName)
	asUser(t, app, editor, `UPDATE patients SET status = 'DECEASED' WHERE id = $1`, patient)
	asUser(t, app, remover, `DELETE FROM patients WHERE id = $1`, patient)

	// Read the log as the owner: what the service may read of it is a later
	// concern of row-level security, not of this test.
	owner := pgtest.Conn(t, db.OwnerURL)
	rows, err := owner.Query(ctx, `
		SELECT action, user_id::text, table_name, old_values->>'status', new_values->>'status'
		FROM audit_log WHERE record_id = $1 ORDER BY changed_at`, patient)
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		action, user, table  string
		oldStatus, newStatus *string
	}
	var got []entry
	for rows.Next() {
		var e entry
		if err := rows.Scan(&e.action, &e.user, &e.table, &e.oldStatus, &e.newStatus); err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		action, user         string
		oldStatus, newStatus string
	}{
		{"INSERT", creator, "", "ACTIVE"},
		{"UPDATE", editor, "ACTIVE", "DECEASED"},
		{"DELETE", remover, "DECEASED", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d audit rows for the patient, want %d: %+v", len(got), len(want), got)
	}
	deref := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	for i, w := range want {
		g := got[i]
		if g.action != w.action || g.user != w.user || g.table != "patients" ||
			deref(g.oldStatus) != w.oldStatus || deref(g.newStatus) != w.newStatus {
			t.Errorf("audit row %d = {%s %s %s old=%q new=%q}, want {%s %s patients old=%q new=%q}",
				i, g.action, g.user, g.table, deref(g.oldStatus), deref(g.newStatus), w.action, w.user, w.oldStatus, w.newStatus)
		}
	}
}

func TestAuditWithoutCallerRecordsNoUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	app := pgtest.Conn(t, db.AppURL)
	var id string
	if err := app.QueryRow(ctx, `INSERT INTO doctors (first_name, last_name, email) VALUES ('Gregory', 'House', 'house@example.org') RETURNING id`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pgtest.Conn(t, db.OwnerURL).QueryRow(ctx,
		`SELECT count(*) FROM audit_log WHERE table_name = 'doctors' AND record_id = $1 AND action = 'INSERT' AND user_id IS NULL`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("got %d system audit rows for the doctor insert, want 1", n)
	}
}

func TestAuditNeverHoldsPasswordHashes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	app := pgtest.Conn(t, db.AppURL)
	const (
		firstHash  = "$2a$10$firsthashfirsthashfirsthashfirsthashfirsthashfirsth"
		secondHash = "$2a$10$secondhashsecondhashsecondhashsecondhashsecondhashs"
		actor      = "dddddddd-dddd-4ddd-8ddd-dddddddddddd"
	)
	var id string
	if err := app.QueryRow(ctx, `INSERT INTO users (email, password_hash) VALUES ('nurse@example.org', $1) RETURNING id`, firstHash).Scan(&id); err != nil {
		t.Fatal(err)
	}
	asUser(t, app, actor, `UPDATE users SET password_hash = $1, role = 'NURSE' WHERE id = $2`, secondHash, id)
	asUser(t, app, actor, `DELETE FROM users WHERE id = $1`, id)

	rows, err := pgtest.Conn(t, db.OwnerURL).Query(ctx, `SELECT action, coalesce(old_values::text, ''), coalesce(new_values::text, '') FROM audit_log WHERE record_id = $1`, id)
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]bool{}
	for rows.Next() {
		var action, oldValues, newValues string
		if err := rows.Scan(&action, &oldValues, &newValues); err != nil {
			t.Fatal(err)
		}
		actions[action] = true
		for _, text := range []string{oldValues, newValues} {
			for _, secret := range []string{"password_hash", firstHash, secondHash, "$2a$"} {
				if strings.Contains(text, secret) {
					t.Errorf("%s audit row holds %q: %s", action, secret, text)
				}
			}
		}
		if action != "DELETE" && !strings.Contains(newValues, "nurse@example.org") {
			t.Errorf("%s audit row lost the row's other fields: %s", action, newValues)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(actions) != 3 {
		t.Fatalf("audit actions for the user = %v, want INSERT, UPDATE and DELETE", actions)
	}
}

func TestUpdatedAtMovesOnUpdate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	// As the owner: the trigger is under test here, not row-level security.
	app := pgtest.Conn(t, db.OwnerURL)
	stale := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

	// One row per table that has updated_at, each inserted with a stale
	// updated_at; an UPDATE that does not mention the column must move it.
	var doctor, patient string
	if err := app.QueryRow(ctx, `INSERT INTO doctors (first_name, last_name, email, updated_at) VALUES ('A', 'B', 'ab@example.org', $1) RETURNING id`, stale).Scan(&doctor); err != nil {
		t.Fatal(err)
	}
	if err := app.QueryRow(ctx, `INSERT INTO patients (first_name, last_name, dob, gender, updated_at) VALUES ('C', 'D', '1990-01-01', 'OTHER', $1) RETURNING id`, stale).Scan(&patient); err != nil {
		t.Fatal(err)
	}
	inserts := []string{
		`INSERT INTO medical_reports (patient_id, doctor_id, title, report_type, storage_url, report_date, updated_at) VALUES ($1, $2, 't', 'LAB', 'blob://x', '2026-01-01', $3)`,
		`INSERT INTO prescriptions (patient_id, doctor_id, drug_name, dosage, frequency, start_date, updated_at) VALUES ($1, $2, 'd', '1mg', 'daily', '2026-01-01', $3)`,
		`INSERT INTO emergency_access (patient_id, approved_by_doctor_id, requester_name, reason, expires_at, updated_at) VALUES ($1, $2, 'r', 'why', now() + interval '1 hour', $3)`,
	}
	for _, ins := range inserts {
		if _, err := app.Exec(ctx, ins, patient, doctor, stale); err != nil {
			t.Fatalf("%s: %v", ins, err)
		}
	}
	if _, err := app.Exec(ctx, `INSERT INTO users (email, password_hash, updated_at) VALUES ('u@example.org', 'x', $1)`, stale); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Exec(ctx, `INSERT INTO ai_request_logs (request_type, updated_at) VALUES ('OCR', $1)`, stale); err != nil {
		t.Fatal(err)
	}
	tables := map[string]string{
		"patients": "first_name = first_name", "doctors": "first_name = first_name",
		"medical_reports": "title = title", "prescriptions": "dosage = dosage",
		"emergency_access": "notes = 'n'", "users": "role = role", "ai_request_logs": "latency_ms = 5",
	}
	for table, set := range tables {
		var before, after time.Time
		if err := app.QueryRow(ctx, `SELECT updated_at FROM `+table).Scan(&before); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		if !before.Equal(stale) {
			t.Fatalf("%s: updated_at after insert = %v, want the inserted %v", table, before, stale)
		}
		if err := app.QueryRow(ctx, `UPDATE `+table+` SET `+set+` RETURNING updated_at`).Scan(&after); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		if time.Since(after) > time.Minute || after.Before(before) {
			t.Errorf("%s: updated_at after update = %v, want about now", table, after)
		}
	}
}
