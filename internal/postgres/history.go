package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"medrec"
)

// HistoryService implements medrec.HistoryService.
type HistoryService struct{ db *DB }

var _ medrec.HistoryService = (*HistoryService)(nil)

// NewHistoryService returns a HistoryService on db.
func NewHistoryService(db *DB) *HistoryService { return &HistoryService{db: db} }

// historyGet reads a patient's complete medical history in one statement,
// so that the patient, the reports and the prescriptions come from one
// snapshot. medrec_patient_history (migration 00020) checks once, with
// index probes on this patient alone, that the caller may read them, and
// returns no row otherwise; row-level security would have built the
// caller's whole in-care set for each of the three tables. Unlike the
// spec's sample query, which joins reports and prescriptions to the patient
// side by side (N reports x M prescriptions rows, undone by
// json_agg(DISTINCT ...)), each list is its own subquery on its own index:
// N + M rows read. Each element has the fields of the resource's own route
// plus doctor_name; a patient with none has an empty array. The lists are
// json, in the API's field names and formats, and are returned as they
// come: the service neither decodes nor re-encodes them.
//
// Inline rather than in queries/*.sql: sqlc cannot type the columns of a
// function's RETURNS TABLE.
const historyGet = `
SELECT id, first_name, last_name, dob, gender, email, phone, status, created_at, updated_at,
       reports, prescriptions
FROM medrec_patient_history($1)`

// FindHistory reads a patient's history in one statement (one snapshot; see
// historyGet) and audits it with one READ row.
func (s *HistoryService) FindHistory(ctx context.Context, patientID string) (*medrec.History, error) {
	if !medrec.IsUUID(patientID) {
		return nil, errPatientNotFound
	}
	var h *medrec.History
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		var row struct {
			ID, FirstName, LastName, Gender, Status string
			Dob, CreatedAt, UpdatedAt               time.Time
			Email, Phone                            *string
		}
		var reports, rxes []byte // copies pgx made: they outlive the row
		err := tx.QueryRow(ctx, historyGet, patientID).Scan(&row.ID, &row.FirstName, &row.LastName, &row.Dob,
			&row.Gender, &row.Email, &row.Phone, &row.Status, &row.CreatedAt, &row.UpdatedAt, &reports, &rxes)
		if errors.Is(err, pgx.ErrNoRows) {
			return errPatientNotFound
		} else if err != nil {
			return translate(err)
		}
		h = &medrec.History{
			Patient: &medrec.Patient{
				ID: row.ID, FirstName: row.FirstName, LastName: row.LastName, DOB: medrec.Date{Time: row.Dob},
				Gender: row.Gender, Email: row.Email, Phone: row.Phone, Status: row.Status,
				CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt,
			},
			Reports:       reports,
			Prescriptions: rxes,
		}
		return recordRead(ctx, tx, ReadAccess{Table: "patients", RecordID: patientID, PatientID: patientID, What: "history"})
	})
	if err != nil {
		return nil, fmt.Errorf("load history of patient %s: %w", patientID, err)
	}
	return h, nil
}
