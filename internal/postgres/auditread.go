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

// recordRead writes the READ audit row of a read of clinical data, in the
// read's own transaction: if the row cannot be written, the read fails and
// nothing is returned (access model: every access leaves an audit row).
// The row names the caller (from the transaction's identity, like the
// triggers) and the HTTP request id when there is one.
func recordRead(ctx context.Context, tx pgx.Tx, r ReadAccess) error {
	details, err := json.Marshal(map[string]string{"what": r.What, "request_id": medrec.RequestIDFromContext(ctx)})
	if err != nil {
		return fmt.Errorf("audit read: %w", err)
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO audit_log (table_name, record_id, action, user_id, patient_id, new_values)
		VALUES ($1, $2, 'READ', NULLIF(current_setting('app.user_id', true), '')::uuid, $3, $4)`,
		r.Table, r.RecordID, r.PatientID, details)
	if err != nil {
		return fmt.Errorf("audit read: %w", translate(err))
	}
	return nil
}
