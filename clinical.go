package medrec

import "time"

// The clinical records of the spec's tables. JSON field names are the
// spec's column names (shared/design/api.md); dates are "YYYY-MM-DD".
// Validation and the services for each live in the resource's own file.

// Date is a calendar date without a time zone, as JSON "YYYY-MM-DD".
type Date struct{ time.Time }

// ParseDate parses "YYYY-MM-DD".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	return Date{t}, err
}

// MarshalJSON writes the date as "YYYY-MM-DD".
func (d Date) MarshalJSON() ([]byte, error) {
	return []byte(`"` + d.Format(time.DateOnly) + `"`), nil
}

// UnmarshalJSON reads "YYYY-MM-DD" and nothing else.
func (d *Date) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return Errorf(EINVALID, "a date must be a string YYYY-MM-DD")
	}
	t, err := time.Parse(time.DateOnly, string(b[1:len(b)-1]))
	if err != nil {
		return Errorf(EINVALID, "a date must be YYYY-MM-DD")
	}
	d.Time = t
	return nil
}

// Patient is a row of patients.
type Patient struct {
	ID        string    `json:"id"`
	FirstName string    `json:"first_name"`
	LastName  string    `json:"last_name"`
	DOB       Date      `json:"dob"`
	Gender    string    `json:"gender"`
	Email     *string   `json:"email"`
	Phone     *string   `json:"phone"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Doctor is a row of doctors.
type Doctor struct {
	ID        string    `json:"id"`
	FirstName string    `json:"first_name"`
	LastName  string    `json:"last_name"`
	Email     string    `json:"email"`
	Phone     *string   `json:"phone"`
	Specialty *string   `json:"specialty"`
	Status    string    `json:"status"`
	UserID    *string   `json:"user_id"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Report is a row of medical_reports.
type Report struct {
	ID         string    `json:"id"`
	PatientID  string    `json:"patient_id"`
	DoctorID   string    `json:"doctor_id"`
	DoctorName string    `json:"doctor_name,omitempty"` // for display in nested lists
	Title      string    `json:"title"`
	ReportType string    `json:"report_type"`
	StorageURL string    `json:"storage_url"`
	Summary    *string   `json:"summary"`
	ReportDate Date      `json:"report_date"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Prescription is a row of prescriptions.
type Prescription struct {
	ID         string    `json:"id"`
	PatientID  string    `json:"patient_id"`
	DoctorID   string    `json:"doctor_id"`
	DoctorName string    `json:"doctor_name,omitempty"` // for display in nested lists
	DrugName   string    `json:"drug_name"`
	Dosage     string    `json:"dosage"`
	Frequency  string    `json:"frequency"`
	Route      *string   `json:"route"`
	StartDate  Date      `json:"start_date"`
	EndDate    *Date     `json:"end_date"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}
