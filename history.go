package medrec

import (
	"context"
	"encoding/json"
)

// History is a patient's complete medical history: the spec's sample query
// of that name, without its reports × prescriptions row multiplication.
//
// Reports and Prescriptions are JSON arrays as the database builds them:
// each element is the object the resource's own route returns (Report,
// Prescription), plus doctor_name, and a patient with none has [] (the
// spec's query yields one element of nulls there). They stay JSON because
// the history only passes them on: decoding hundreds of records into
// structs to encode them again was most of the route's CPU.
type History struct {
	Patient       *Patient        `json:"patient"`
	Reports       json.RawMessage `json:"reports"`
	Prescriptions json.RawMessage `json:"prescriptions"`
}

// HistoryService reads medical histories.
type HistoryService interface {
	// FindHistory returns the history of a patient in the caller's care,
	// and audits the read. Errors: ENOTFOUND (missing or not in care).
	FindHistory(ctx context.Context, patientID string) (*History, error)
}
