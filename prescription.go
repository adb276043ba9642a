package medrec

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The statuses of the spec's prescriptions.status CHECK constraint.
const (
	PrescriptionActive    = "ACTIVE"
	PrescriptionCompleted = "COMPLETED"
	PrescriptionCancelled = "CANCELLED"
)

// ValidPrescriptionStatus reports whether s is one of the spec's statuses.
func ValidPrescriptionStatus(s string) bool {
	return s == PrescriptionActive || s == PrescriptionCompleted || s == PrescriptionCancelled
}

// The spec's VARCHAR lengths of prescriptions, in characters.
const (
	maxDrugNameLen  = 255
	maxDosageLen    = 100
	maxFrequencyLen = 100
	maxRouteLen     = 50
)

// Dates outside these years are refused as typing mistakes before they
// reach the database (which would take 4713 BC).
const (
	minDateYear = 1900
	maxDateYear = 9999
)

// NewPrescription is what a CLINICIAN gives to prescribe. The prescriber is
// always the caller's own doctor record, never a field of the request.
type NewPrescription struct {
	DrugName  string
	Dosage    string
	Frequency string
	Route     *string
	StartDate Date // required: the zero Date means missing
	EndDate   *Date
}

// Validate checks every field against the spec's columns and constraints
// (NOT NULL, VARCHAR lengths, chk_prescription_dates) and reports all
// problems at once.
func (p *NewPrescription) Validate() error {
	var fields []FieldError
	add := func(f *FieldError) {
		if f != nil {
			fields = append(fields, *f)
		}
	}
	add(validateText("drug_name", p.DrugName, maxDrugNameLen, true))
	add(validateText("dosage", p.Dosage, maxDosageLen, true))
	add(validateText("frequency", p.Frequency, maxFrequencyLen, true))
	if p.Route != nil {
		add(validateText("route", *p.Route, maxRouteLen, true))
	}
	if p.StartDate.IsZero() {
		add(&FieldError{Field: "start_date", Message: "is required"})
	} else {
		add(validateDate("start_date", p.StartDate))
	}
	if p.EndDate != nil {
		if f := validateDate("end_date", *p.EndDate); f != nil {
			add(f)
		} else if !p.StartDate.IsZero() && p.EndDate.Before(p.StartDate.Time) {
			add(&FieldError{Field: "end_date", Message: "must not be before start_date"})
		}
	}
	if len(fields) > 0 {
		return Invalid(fields...)
	}
	return nil
}

// validateText checks a text field that must fit a VARCHAR(max).
func validateText(field, s string, max int, required bool) *FieldError {
	switch {
	case required && strings.TrimSpace(s) == "":
		return &FieldError{Field: field, Message: "is required"}
	case !utf8.ValidString(s) || strings.ContainsRune(s, 0):
		return &FieldError{Field: field, Message: "must be valid text"}
	case utf8.RuneCountInString(s) > max:
		return &FieldError{Field: field, Message: "must be at most " + strconv.Itoa(max) + " characters"}
	}
	return nil
}

func validateDate(field string, d Date) *FieldError {
	if y := d.Year(); y < minDateYear || y > maxDateYear {
		return &FieldError{Field: field, Message: "must be a date between 1900-01-01 and 9999-12-31"}
	}
	return nil
}

// PrescriptionUpdate changes a prescription's end date or status. Only an
// ACTIVE prescription changes, and its status only to COMPLETED or
// CANCELLED.
type PrescriptionUpdate struct {
	// SetEndDate says EndDate is given; EndDate nil then clears it (an
	// open-ended prescription).
	SetEndDate bool
	EndDate    *Date
	Status     *string
	// IfMatch, when set, is the updated_at the caller last saw: the update
	// happens only if the record has not changed since (EPRECONDITION).
	IfMatch *time.Time
}

// Validate checks the fields that are set.
func (u *PrescriptionUpdate) Validate() error {
	var fields []FieldError
	if u.Status != nil && !ValidPrescriptionStatus(*u.Status) {
		fields = append(fields, FieldError{Field: "status", Message: "must be one of ACTIVE, COMPLETED, CANCELLED"})
	}
	if u.SetEndDate && u.EndDate != nil {
		if f := validateDate("end_date", *u.EndDate); f != nil {
			fields = append(fields, *f)
		}
	}
	if !u.SetEndDate && u.Status == nil {
		fields = append(fields, FieldError{Field: "status", Message: "give end_date or status to change"})
	}
	if len(fields) > 0 {
		return Invalid(fields...)
	}
	return nil
}

// PrescriptionFilter selects a patient's prescriptions; nil fields do not
// filter. Status filters on the status as shown (see PrescriptionService).
type PrescriptionFilter struct {
	Status *string
	Page
}

// ExpiringPrescription is a row of the spec's "active prescriptions
// expiring soon".
type ExpiringPrescription struct {
	ID                string `json:"id"`
	PatientID         string `json:"patient_id"`
	PatientName       string `json:"patient_name"`
	DrugName          string `json:"drug_name"`
	EndDate           Date   `json:"end_date"`
	PrescribingDoctor string `json:"prescribing_doctor"`
}

// Limits of ExpiringFilter.Days.
const (
	DefaultExpiringDays = 7
	MaxExpiringDays     = 365
)

// ExpiringFilter asks for the ACTIVE prescriptions whose end date falls
// between today and today + Days (by the database clock).
type ExpiringFilter struct {
	Days int
	Page
}

// Validate checks Days and the page.
func (f *ExpiringFilter) Validate() error {
	var fields []FieldError
	if f.Days < 1 || f.Days > MaxExpiringDays {
		fields = append(fields, FieldError{Field: "days", Message: "must be a whole number between 1 and 365"})
	}
	if err := f.Normalize(); err != nil {
		fields = append(fields, ErrorFields(err)...)
	}
	if len(fields) > 0 {
		return Invalid(fields...)
	}
	return nil
}

// PrescriptionService manages prescriptions. A prescription whose end date
// has passed (by the database clock) is shown and counted as COMPLETED even
// before SweepExpiredPrescriptions has stored that. Reads write READ audit
// rows; a prescription the caller may not see is ENOTFOUND.
type PrescriptionService interface {
	// CreatePrescription prescribes for a patient in the caller's care as
	// the caller's own ACTIVE doctor record. Errors: EINVALID, ENOTFOUND
	// (patient), EFORBIDDEN (no ACTIVE doctor record).
	CreatePrescription(ctx context.Context, patientID string, p NewPrescription) (*Prescription, error)

	// FindPrescriptionByID returns one prescription. Errors: ENOTFOUND.
	FindPrescriptionByID(ctx context.Context, id string) (*Prescription, error)

	// FindPrescriptions lists a patient's prescriptions, newest first, and
	// the cursor of the next page ("" on the last). Errors: ENOTFOUND
	// (patient), EINVALID (filter, cursor or limit).
	FindPrescriptions(ctx context.Context, patientID string, f PrescriptionFilter) ([]*Prescription, string, error)

	// UpdatePrescription changes the end date or ends an ACTIVE prescription.
	// Errors: EINVALID, ENOTFOUND, EFORBIDDEN (not the prescriber, or not an
	// ACTIVE doctor), ECONFLICT (not ACTIVE: an illegal transition),
	// EPRECONDITION (IfMatch is stale).
	UpdatePrescription(ctx context.Context, id string, u PrescriptionUpdate) (*Prescription, error)

	// FindExpiringPrescriptions lists the ACTIVE prescriptions of patients in
	// the caller's care whose end date is within f.Days, soonest first.
	// Errors: EINVALID.
	FindExpiringPrescriptions(ctx context.Context, f ExpiringFilter) ([]*ExpiringPrescription, string, error)

	// SweepExpiredPrescriptions stores COMPLETED on every ACTIVE prescription
	// whose end date has passed and returns how many it changed. It is the
	// system's own work (no caller), idempotent, and safe to run from
	// several processes at once.
	SweepExpiredPrescriptions(ctx context.Context) (int64, error)
}
