package medrec

import "context"

// History is a patient's complete medical history: the spec's sample query
// of that name, without its reports × prescriptions row multiplication.
// Reports and Prescriptions hold the same objects their own routes return,
// plus DoctorName; a patient with none has an empty list (the spec's query
// yields one element of nulls there).
type History struct {
	Patient       *Patient        `json:"patient"`
	Reports       []*Report       `json:"reports"`
	Prescriptions []*Prescription `json:"prescriptions"`
}

// HistoryService reads medical histories.
type HistoryService interface {
	// FindHistory returns the history of a patient in the caller's care,
	// and audits the read. Errors: ENOTFOUND (missing or not in care).
	FindHistory(ctx context.Context, patientID string) (*History, error)
}
