package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"medrec"
)

// ReadAccess says what a read of clinical data touched, for its audit row.
type ReadAccess struct {
	Table     string // the table read, e.g. "patients", "medical_reports"
	RecordID  string // the record read (for a list: the patient)
	PatientID string // whose data it is
	What      string // what was read, e.g. "history", "report_file"; never clinical content
}

// recordRead writes the READ audit row of one read of clinical data; see
// recordReads.
func recordRead(ctx context.Context, tx pgx.Tx, r ReadAccess) error {
	return recordReads(ctx, tx, r.Table, r.What, []string{r.RecordID}, []string{r.PatientID})
}

// recordReads writes one READ audit row per record read, in one statement
// and in the read's own transaction: if the rows cannot be written, the read
// fails and nothing is returned (access model: every access leaves an audit
// row). recordIDs[i] belongs to patientIDs[i]. The rows name the caller
// (from the transaction's identity, like the triggers), the HTTP request id
// and route when there are some, and, when the caller holds an APPROVED,
// unexpired emergency grant for the patient at the time of the read (by
// medrec_now(), the clock the access check itself uses), that grant's id in
// emergency_access_id: every read made under a grant is marked with it.
func recordReads(ctx context.Context, tx pgx.Tx, table, what string, recordIDs, patientIDs []string) error {
	if len(recordIDs) == 0 {
		return nil
	}
	details, err := json.Marshal(map[string]string{
		"what": what, "request_id": medrec.RequestIDFromContext(ctx), "route": medrec.RouteFromContext(ctx),
	})
	if err != nil {
		return fmt.Errorf("audit read: %w", err)
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO audit_log (table_name, record_id, action, user_id, patient_id, emergency_access_id, new_values)
		SELECT $1, r.record_id, 'READ', NULLIF(current_setting('app.user_id', true), '')::uuid, r.patient_id,
		    (SELECT ea.id FROM emergency_access ea
		     WHERE medrec_role() IN ('CLINICIAN', 'NURSE')
		       AND ea.requested_by_user_id = medrec_user_id()
		       AND ea.patient_id = r.patient_id
		       AND ea.status = 'APPROVED'
		       AND ea.expires_at > medrec_now()
		     ORDER BY ea.expires_at DESC, ea.id
		     LIMIT 1),
		    $4
		FROM unnest($2::uuid[], $3::uuid[]) AS r(record_id, patient_id)`,
		table, recordIDs, patientIDs, details)
	if err != nil {
		return fmt.Errorf("audit read: %w", translate(err))
	}
	return nil
}
