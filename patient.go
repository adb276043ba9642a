package medrec

import (
	"context"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
)

// Patient statuses (patients.status). A patient is never deleted through
// the ordinary API: "deleting" one is a change of status. Only erasure
// (right to erasure, ADMIN) removes the row.
const (
	PatientActive   = "ACTIVE"
	PatientInactive = "INACTIVE"
	PatientDeceased = "DECEASED"
)

// Genders of the spec's patients.gender CHECK constraint.
const (
	GenderMale   = "MALE"
	GenderFemale = "FEMALE"
	GenderOther  = "OTHER"
)

// Column limits of the spec's tables, checked before the database is asked.
const (
	maxNameLen      = 100 // first_name, last_name: VARCHAR(100)
	maxPhoneLen     = 20  // phone: VARCHAR(20)
	maxSpecialtyLen = 100 // doctors.specialty: VARCHAR(100)
	// MaxEraseReasonLen bounds the reason recorded for an erasure.
	MaxEraseReasonLen = 1000
)

// earliestDOB is the oldest date of birth medrec accepts.
var earliestDOB = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

// latestZone is the time zone whose calendar day starts first (UTC+14): a
// date of birth is "in the future" only once no place on Earth has reached
// it yet, so a baby born today anywhere can be registered.
var latestZone = time.FixedZone("UTC+14", 14*60*60)

// NullableString is a PATCH value for a column that may be NULL: Set
// reports whether the request named the field at all, and a nil Value
// (JSON null) clears the column.
type NullableString struct {
	Set   bool
	Value *string
}

// UnmarshalJSON records that the field was present; null clears it.
func (n *NullableString) UnmarshalJSON(b []byte) error {
	n.Set = true
	if string(b) == "null" {
		n.Value = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	n.Value = &s
	return nil
}

// NewPatient is what it takes to register a patient. Status defaults to
// ACTIVE when empty.
type NewPatient struct {
	FirstName string
	LastName  string
	DOB       Date // zero: missing
	Gender    string
	Email     *string
	Phone     *string
	Status    string
}

// Validate checks every field against the spec's constraints and reports
// all problems in one EINVALID.
func (p *NewPatient) Validate() error {
	var fields []FieldError
	add := func(f *FieldError) {
		if f != nil {
			fields = append(fields, *f)
		}
	}
	add(validateName("first_name", p.FirstName))
	add(validateName("last_name", p.LastName))
	add(validateDOB("dob", p.DOB))
	add(validateGender("gender", p.Gender))
	if p.Email != nil {
		add(validateOptionalEmail("email", *p.Email))
	}
	if p.Phone != nil {
		add(validatePhone("phone", *p.Phone))
	}
	if p.Status != "" {
		add(validatePatientStatus("status", p.Status))
	}
	if len(fields) > 0 {
		return Invalid(fields...)
	}
	return nil
}

// PatientUpdate changes a patient's demographics; nil (or unset) fields
// stay as they are. Email and Phone may be cleared with a null Value.
type PatientUpdate struct {
	FirstName *string
	LastName  *string
	DOB       *Date
	Gender    *string
	Email     NullableString
	Phone     NullableString
	Status    *string
}

// Validate checks the fields that are set and reports all problems in one
// EINVALID; an update that changes nothing is invalid too.
func (u *PatientUpdate) Validate() error {
	var fields []FieldError
	add := func(f *FieldError) {
		if f != nil {
			fields = append(fields, *f)
		}
	}
	if u.FirstName != nil {
		add(validateName("first_name", *u.FirstName))
	}
	if u.LastName != nil {
		add(validateName("last_name", *u.LastName))
	}
	if u.DOB != nil {
		add(validateDOB("dob", *u.DOB))
	}
	if u.Gender != nil {
		add(validateGender("gender", *u.Gender))
	}
	if u.Email.Set && u.Email.Value != nil {
		add(validateOptionalEmail("email", *u.Email.Value))
	}
	if u.Phone.Set && u.Phone.Value != nil {
		add(validatePhone("phone", *u.Phone.Value))
	}
	if u.Status != nil {
		add(validatePatientStatus("status", *u.Status))
	}
	if u.FirstName == nil && u.LastName == nil && u.DOB == nil && u.Gender == nil &&
		!u.Email.Set && !u.Phone.Set && u.Status == nil {
		add(&FieldError{Field: "first_name", Message: "give at least one field to change"})
	}
	if len(fields) > 0 {
		return Invalid(fields...)
	}
	return nil
}

func validateName(field, s string) *FieldError {
	switch {
	case strings.TrimSpace(s) == "":
		return &FieldError{Field: field, Message: "is required"}
	case utf8.RuneCountInString(s) > maxNameLen:
		return &FieldError{Field: field, Message: "must be at most 100 characters"}
	case !utf8.ValidString(s) || strings.ContainsFunc(s, isControl):
		return &FieldError{Field: field, Message: "must be printable text"}
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func validateDOB(field string, d Date) *FieldError {
	if d.IsZero() {
		return &FieldError{Field: field, Message: "is required"}
	}
	if d.Before(earliestDOB) {
		return &FieldError{Field: field, Message: "must not be before 1900-01-01"}
	}
	y, m, day := time.Now().In(latestZone).Date()
	if d.After(time.Date(y, m, day, 0, 0, 0, 0, time.UTC)) {
		return &FieldError{Field: field, Message: "must not be in the future"}
	}
	return nil
}

func validateGender(field, g string) *FieldError {
	switch g {
	case GenderMale, GenderFemale, GenderOther:
		return nil
	case "":
		return &FieldError{Field: field, Message: "is required"}
	}
	return &FieldError{Field: field, Message: "must be one of MALE, FEMALE, OTHER"}
}

func validatePatientStatus(field, s string) *FieldError {
	switch s {
	case PatientActive, PatientInactive, PatientDeceased:
		return nil
	}
	return &FieldError{Field: field, Message: "must be one of ACTIVE, INACTIVE, DECEASED"}
}

// validateOptionalEmail checks an email that was given: an empty string is
// not an address (send null, or leave the field out, for none).
func validateOptionalEmail(field, email string) *FieldError {
	if email == "" {
		return &FieldError{Field: field, Message: "must be a valid email address (or null for none)"}
	}
	return validateEmail(field, email)
}

// validatePhone accepts at most 20 characters of digits, spaces and + - ( ),
// with at least one digit.
func validatePhone(field, phone string) *FieldError {
	if len(phone) > maxPhoneLen {
		return &FieldError{Field: field, Message: "must be at most 20 characters"}
	}
	digits := 0
	for _, r := range phone {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == ' ' || r == '+' || r == '-' || r == '(' || r == ')':
		default:
			return &FieldError{Field: field, Message: "may hold only digits, spaces and + - ( )"}
		}
	}
	if digits == 0 {
		return &FieldError{Field: field, Message: "must contain digits"}
	}
	return nil
}

// PatientFilter selects patients for a list; zero fields do not filter.
type PatientFilter struct {
	// Q is a prefix of the first name, the last name, or "first last",
	// matched ignoring case and accents.
	Q      string
	DOB    *Date
	Email  string // exact, ignoring case
	Status string
	Page
}

// Validate checks the filter's own fields (the page is checked with it).
func (f *PatientFilter) Validate() error {
	var fields []FieldError
	if err := f.Page.Normalize(); err != nil {
		fields = append(fields, ErrorFields(err)...)
	}
	if utf8.RuneCountInString(f.Q) > 2*maxNameLen+1 {
		fields = append(fields, FieldError{Field: "q", Message: "must be at most 201 characters"})
	}
	if f.Status != "" {
		if fe := validatePatientStatus("status", f.Status); fe != nil {
			fields = append(fields, *fe)
		}
	}
	if len(f.Email) > maxEmailLen {
		fields = append(fields, FieldError{Field: "email", Message: "must be at most 255 characters"})
	}
	if len(fields) > 0 {
		return Invalid(fields...)
	}
	return nil
}

// PatientIdentity is what a lookup by identity returns: enough to tell
// which record is meant, and nothing else.
type PatientIdentity struct {
	ID        string `json:"id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	DOB       Date   `json:"dob"`
}

// PatientService registers and reads patients. Visibility is the access
// model's: a patient the caller may not see is ENOTFOUND, exactly like one
// that does not exist. Every read of demographics leaves a READ audit row
// in the same transaction.
type PatientService interface {
	// CreatePatient registers a patient (ADMIN, RECEPTIONIST).
	// Errors: EINVALID, ECONFLICT (the email is taken, whatever its case),
	// EFORBIDDEN (a role that may not register patients).
	CreatePatient(ctx context.Context, p NewPatient) (*Patient, error)

	// FindPatientByID returns one patient. Errors: ENOTFOUND.
	FindPatientByID(ctx context.Context, id string) (*Patient, error)

	// FindPatients lists the patients the caller may see, newest first,
	// and the cursor of the next page ("" on the last).
	// Errors: EINVALID (filter, cursor or limit).
	FindPatients(ctx context.Context, f PatientFilter) ([]*Patient, string, error)

	// UpdatePatient changes demographics. With ifMatch set, the update
	// happens only if the record's updated_at still equals it.
	// Errors: EINVALID, ENOTFOUND, ECONFLICT (email taken),
	// EPRECONDITION (the record changed since ifMatch).
	UpdatePatient(ctx context.Context, id string, upd PatientUpdate, ifMatch *time.Time) (*Patient, error)

	// LookupPatients returns the identity fields of the patients whose
	// first and last name (ignoring case) and date of birth match exactly,
	// whether or not they are in the caller's care. Each match is audited.
	// Errors: EINVALID, EFORBIDDEN.
	LookupPatients(ctx context.Context, firstName, lastName string, dob Date) ([]*PatientIdentity, error)

	// ErasePatient deletes a patient and everything that cascades from it
	// (ADMIN only, with a reason), and returns the storage URLs of the
	// patient's report files so that the caller can delete the files.
	// Errors: EINVALID (reason), ENOTFOUND, EFORBIDDEN.
	ErasePatient(ctx context.Context, id, reason string) (storageURLs []string, err error)
}
