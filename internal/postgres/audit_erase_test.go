package postgres_test

import (
	"context"
	"strings"
	"testing"

	"medrec"
	"medrec/internal/pgtest"
	"medrec/internal/postgres"
)

// TestEraseRedactsTheAuditTrail: after an erasure no audit row about the
// patient holds any of their clinical values, the ERASE row says who and
// why, and the hash chain still verifies.
func TestEraseRedactsTheAuditTrail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	owner := pgtest.Conn(t, db.OwnerURL)
	const (
		admin   = "a0000000-0000-4000-8000-00000000000a"
		patient = "b0000000-0000-4000-8000-00000000000b"
		doctor  = "c0000000-0000-4000-8000-00000000000c"
	)
	secrets := []string{"Zebulon", "Quixotic", "1933-03-07", "Oxycodonexyz", "Biopsy of the left kidney", "zq@example.org"}
	if _, err := owner.Exec(ctx, `
		INSERT INTO users (id, email, password_hash, role) VALUES ('`+admin+`', 'admin.erase@example.org', 'x', 'ADMIN');
		INSERT INTO doctors (id, first_name, last_name, email) VALUES ('`+doctor+`', 'D', 'Oc', 'doc.erase@example.org');
		INSERT INTO patients (id, first_name, last_name, dob, gender, email) VALUES ('`+patient+`', 'Zebulon', 'Quixotic', '1933-03-07', 'MALE', 'zq@example.org');
		UPDATE patients SET phone = '555-0100' WHERE id = '`+patient+`';
		INSERT INTO medical_reports (patient_id, doctor_id, title, report_type, storage_url, report_date)
		VALUES ('`+patient+`', '`+doctor+`', 'Biopsy of the left kidney', 'PATHOLOGY', 'blob://k', '2026-01-01');
		INSERT INTO prescriptions (patient_id, doctor_id, drug_name, dosage, frequency, start_date)
		VALUES ('`+patient+`', '`+doctor+`', 'Oxycodonexyz', '5mg', 'daily', '2026-01-01');`); err != nil {
		t.Fatal(err)
	}
	pool, err := postgres.Open(ctx, db.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	svc := postgres.NewPatientService(pool)
	// A read is audited too; its row must survive the redaction as it is.
	caller := medrec.NewContextWithCaller(ctx, &medrec.Caller{UserID: admin, Role: medrec.RoleAdmin})
	if _, err := svc.FindPatientByID(caller, patient); err != nil {
		t.Fatal(err)
	}
	// Sealed as the service's seal would have done by now: the rows
	// written so far are in the chain with their payload digests.
	sealAll(t, owner)
	if _, err := svc.ErasePatient(caller, patient, "GDPR request 42"); err != nil {
		t.Fatal(err)
	}

	rows, err := owner.Query(ctx, `
		SELECT action, coalesce(old_values::text, ''), coalesce(new_values::text, ''), redacted_at IS NOT NULL
		FROM audit_log WHERE patient_id = $1`, patient)
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	for rows.Next() {
		var action, oldV, newV string
		var redacted bool
		if err := rows.Scan(&action, &oldV, &newV, &redacted); err != nil {
			t.Fatal(err)
		}
		actions[action]++
		for _, s := range secrets {
			if strings.Contains(oldV+newV, s) {
				t.Errorf("%s row still holds %q: %s %s", action, s, oldV, newV)
			}
		}
		switch action {
		case "INSERT", "UPDATE", "DELETE":
			if !redacted {
				t.Errorf("%s row not marked redacted", action)
			}
		case "ERASE":
			if !strings.Contains(newV, "GDPR request 42") || redacted {
				t.Errorf("ERASE row = %s (redacted %v), want the reason, unredacted", newV, redacted)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// INSERT and UPDATE of the patient, INSERTs of the report and the
	// prescription, and the three DELETEs of the erasure and its cascade.
	if actions["INSERT"] != 3 || actions["UPDATE"] != 1 || actions["DELETE"] != 3 || actions["ERASE"] != 1 || actions["READ"] != 1 {
		t.Errorf("audit rows about the patient: %v", actions)
	}
	var who string
	if err := owner.QueryRow(ctx, `SELECT user_id::text FROM audit_log WHERE patient_id = $1 AND action = 'ERASE'`, patient).Scan(&who); err != nil || who != admin {
		t.Errorf("ERASE row names %q (%v), want the admin", who, err)
	}
	sealAll(t, owner)
	rep, err := postgres.VerifyAuditChain(ctx, owner, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Redacted after sealing: the patient's INSERT and UPDATE and the
	// report's and prescription's INSERTs. The erasure's own DELETE rows
	// were redacted before they were sealed, so their digest is of no
	// payload.
	if !rep.OK() || rep.Redacted != 4 || rep.Pending != 0 {
		t.Fatalf("verify after erasure: %d redacted rows accepted, breaks %v", rep.Redacted, rep.Breaks)
	}

	// Redaction without an erasure is refused, and a payload blanked by
	// hand (even marked redacted) is caught.
	if _, err := owner.Exec(ctx, `
		SELECT set_config('app.user_id', $1, false), set_config('app.role', 'ADMIN', false);
		`, admin); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Exec(ctx, `SELECT medrec_audit_redact_patient($1)`, doctor); err == nil {
		t.Fatal("redacting the audit rows of someone never erased succeeded")
	}
	tx, err := owner.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica;
		UPDATE audit_log SET new_values = NULL, redacted_at = now()
		WHERE table_name = 'doctors' AND record_id = '`+doctor+`' AND action = 'INSERT'`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err = postgres.VerifyAuditChain(ctx, owner, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || !strings.Contains(rep.Breaks[0].Problem, "payload digest") {
		t.Fatalf("a payload removed without an erasure: %v", rep.Breaks)
	}
}
