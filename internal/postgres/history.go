package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"medrec"
	"medrec/internal/postgres/internal/dbsqlc"
)

// HistoryService implements medrec.HistoryService.
type HistoryService struct{ db *DB }

var _ medrec.HistoryService = (*HistoryService)(nil)

// NewHistoryService returns a HistoryService on db.
func NewHistoryService(db *DB) *HistoryService { return &HistoryService{db: db} }

// FindHistory reads a patient's history in one statement (one snapshot; see
// queries/history.sql) and audits it with one READ row.
func (s *HistoryService) FindHistory(ctx context.Context, patientID string) (*medrec.History, error) {
	if !isUUID(patientID) {
		return nil, errPatientNotFound
	}
	var h *medrec.History
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		row, err := dbsqlc.New(tx).HistoryGet(ctx, patientID)
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
			Reports:       []*medrec.Report{},
			Prescriptions: []*medrec.Prescription{},
		}
		if err := json.Unmarshal(row.Reports, &h.Reports); err != nil {
			return fmt.Errorf("decode reports: %w", err)
		}
		if err := json.Unmarshal(row.Prescriptions, &h.Prescriptions); err != nil {
			return fmt.Errorf("decode prescriptions: %w", err)
		}
		return recordRead(ctx, tx, ReadAccess{Table: "patients", RecordID: patientID, PatientID: patientID, What: "history"})
	})
	if err != nil {
		return nil, fmt.Errorf("load history of patient %s: %w", patientID, err)
	}
	return h, nil
}
