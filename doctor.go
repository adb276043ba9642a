package medrec

import (
	"context"
	"time"
	"unicode/utf8"
)

// Doctor statuses (doctors.status). A doctor who is not ACTIVE cannot
// author reports or prescriptions or approve emergency access.
const (
	DoctorActive  = "ACTIVE"
	DoctorOnLeave = "ON_LEAVE"
	DoctorRetired = "RETIRED"
)

// NewDoctor is what it takes to add a doctor to the directory. Status
// defaults to ACTIVE when empty; UserID optionally links a CLINICIAN user.
type NewDoctor struct {
	FirstName string
	LastName  string
	Email     string
	Phone     *string
	Specialty *string
	Status    string
	UserID    *string
}

// Validate checks every field and reports all problems in one EINVALID.
// That UserID names a CLINICIAN is checked by the service.
func (d *NewDoctor) Validate() error {
	var fields []FieldError
	add := func(f *FieldError) {
		if f != nil {
			fields = append(fields, *f)
		}
	}
	add(validateName("first_name", d.FirstName))
	add(validateName("last_name", d.LastName))
	add(validateEmail("email", d.Email))
	if d.Phone != nil {
		add(validatePhone("phone", *d.Phone))
	}
	if d.Specialty != nil {
		add(validateSpecialty("specialty", *d.Specialty))
	}
	if d.Status != "" {
		add(validateDoctorStatus("status", d.Status))
	}
	if d.UserID != nil && *d.UserID == "" {
		add(&FieldError{Field: "user_id", Message: "must be the id of a CLINICIAN user (or null)"})
	}
	if len(fields) > 0 {
		return Invalid(fields...)
	}
	return nil
}

// DoctorUpdate changes a doctor record; unset fields stay as they are.
// Phone, Specialty and UserID may be cleared with a null Value.
type DoctorUpdate struct {
	FirstName *string
	LastName  *string
	Email     *string
	Phone     NullableString
	Specialty NullableString
	Status    *string
	UserID    NullableString
}

// ContactOnly reports whether the update touches only the contact fields
// (email, phone): what a CLINICIAN may change on their own record.
func (u *DoctorUpdate) ContactOnly() bool {
	return u.FirstName == nil && u.LastName == nil && !u.Specialty.Set && u.Status == nil && !u.UserID.Set
}

// Validate checks the fields that are set and reports all problems in one
// EINVALID; an update that changes nothing is invalid too.
func (u *DoctorUpdate) Validate() error {
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
	if u.Email != nil {
		add(validateEmail("email", *u.Email))
	}
	if u.Phone.Set && u.Phone.Value != nil {
		add(validatePhone("phone", *u.Phone.Value))
	}
	if u.Specialty.Set && u.Specialty.Value != nil {
		add(validateSpecialty("specialty", *u.Specialty.Value))
	}
	if u.Status != nil {
		add(validateDoctorStatus("status", *u.Status))
	}
	if u.UserID.Set && u.UserID.Value != nil && *u.UserID.Value == "" {
		add(&FieldError{Field: "user_id", Message: "must be the id of a CLINICIAN user (or null)"})
	}
	if u.FirstName == nil && u.LastName == nil && u.Email == nil && !u.Phone.Set &&
		!u.Specialty.Set && u.Status == nil && !u.UserID.Set {
		add(&FieldError{Field: "first_name", Message: "give at least one field to change"})
	}
	if len(fields) > 0 {
		return Invalid(fields...)
	}
	return nil
}

func validateSpecialty(field, s string) *FieldError {
	switch {
	case utf8.RuneCountInString(s) > maxSpecialtyLen:
		return &FieldError{Field: field, Message: "must be at most 100 characters"}
	case s == "":
		return &FieldError{Field: field, Message: "must not be empty (send null for none)"}
	}
	return nil
}

func validateDoctorStatus(field, s string) *FieldError {
	switch s {
	case DoctorActive, DoctorOnLeave, DoctorRetired:
		return nil
	}
	return &FieldError{Field: field, Message: "must be one of ACTIVE, ON_LEAVE, RETIRED"}
}

// DoctorFilter selects doctors for a list; empty fields do not filter.
type DoctorFilter struct {
	Specialty string // exact, ignoring case
	Status    string
	Page
}

// Validate checks the filter and its page.
func (f *DoctorFilter) Validate() error {
	var fields []FieldError
	if err := f.Page.Normalize(); err != nil {
		fields = append(fields, ErrorFields(err)...)
	}
	if f.Status != "" {
		if fe := validateDoctorStatus("status", f.Status); fe != nil {
			fields = append(fields, *fe)
		}
	}
	if utf8.RuneCountInString(f.Specialty) > maxSpecialtyLen {
		fields = append(fields, FieldError{Field: "specialty", Message: "must be at most 100 characters"})
	}
	if len(fields) > 0 {
		return Invalid(fields...)
	}
	return nil
}

// DoctorService manages the doctor directory. Writes are ADMIN's; a
// CLINICIAN may change the contact fields (email, phone) of their own
// record.
type DoctorService interface {
	// CreateDoctor adds a doctor. Errors: EINVALID (also a user_id that is
	// not a CLINICIAN user), ECONFLICT (email taken ignoring case, or the
	// user already linked to another doctor), EFORBIDDEN.
	CreateDoctor(ctx context.Context, d NewDoctor) (*Doctor, error)

	// FindDoctorByID returns one doctor. Errors: ENOTFOUND.
	FindDoctorByID(ctx context.Context, id string) (*Doctor, error)

	// FindDoctors lists doctors, newest first, and the next page's cursor
	// ("" on the last). Errors: EINVALID.
	FindDoctors(ctx context.Context, f DoctorFilter) ([]*Doctor, string, error)

	// UpdateDoctor changes a doctor record, conditionally on ifMatch when
	// set. Errors: EINVALID, ENOTFOUND, ECONFLICT, EFORBIDDEN (a CLINICIAN
	// changing someone else's record or a non-contact field),
	// EPRECONDITION.
	UpdateDoctor(ctx context.Context, id string, upd DoctorUpdate, ifMatch *time.Time) (*Doctor, error)
}
