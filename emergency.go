package medrec

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// The statuses of the spec's emergency_access.status CHECK constraint.
const (
	EmergencyPending  = "PENDING"
	EmergencyApproved = "APPROVED"
	EmergencyDenied   = "DENIED"
	EmergencyExpired  = "EXPIRED"
)

// ValidEmergencyStatus reports whether s is one of the spec's statuses.
func ValidEmergencyStatus(s string) bool {
	return s == EmergencyPending || s == EmergencyApproved || s == EmergencyDenied || s == EmergencyExpired
}

// EmergencyStatusFieldError is the answer to a status filter that is not
// one of the statuses, the same from the handler and the service.
var EmergencyStatusFieldError = FieldError{Field: "status", Message: "must be one of PENDING, APPROVED, DENIED, EXPIRED"}

// The decisions on an emergency request.
const (
	EmergencyApprove = "APPROVE" // PENDING -> APPROVED
	EmergencyDeny    = "DENY"    // PENDING -> DENIED
	EmergencyRevoke  = "REVOKE"  // APPROVED -> EXPIRED, expires_at = now
)

// Limits of emergency grants. The database refuses a grant longer than
// MaxEmergencyDuration whatever the configuration says (migration 00016).
const (
	DefaultEmergencyMax  = 4 * time.Hour
	MaxEmergencyDuration = 24 * time.Hour
	maxEmergencyTextLen  = 10000
)

// EmergencyAccess is a break-glass request and, once approved, a grant: its
// requester may read the one patient until ExpiresAt (by the database
// clock). Status is shown as EXPIRED as soon as a PENDING or APPROVED
// request's ExpiresAt has passed, before the sweep stores it.
type EmergencyAccess struct {
	ID                 string    `json:"id"`
	PatientID          string    `json:"patient_id"`
	RequestedByUserID  *string   `json:"requested_by_user_id"`
	RequesterName      string    `json:"requester_name"`
	Reason             string    `json:"reason"`
	Notes              *string   `json:"notes"`
	Status             string    `json:"status"`
	ApprovedByDoctorID *string   `json:"approved_by_doctor_id"`
	ExpiresAt          time.Time `json:"expires_at"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
}

// NewEmergencyAccess is what a CLINICIAN or NURSE gives to ask for access.
// The requester, their name, the status and the expiry come from the
// database, never from the request.
type NewEmergencyAccess struct {
	PatientID       string
	Reason          string
	Notes           *string
	DurationMinutes int
}

// Validate checks the request against max, the configured longest grant.
func (n *NewEmergencyAccess) Validate(max time.Duration) error {
	var fields []FieldError
	if strings.TrimSpace(n.PatientID) == "" {
		fields = append(fields, FieldError{Field: "patient_id", Message: "is required"})
	}
	if f := validateText("reason", n.Reason, maxEmergencyTextLen, true); f != nil {
		fields = append(fields, *f)
	}
	if n.Notes != nil {
		if f := validateText("notes", *n.Notes, maxEmergencyTextLen, false); f != nil {
			fields = append(fields, *f)
		}
	}
	if maxMin := int(max / time.Minute); n.DurationMinutes < 1 || n.DurationMinutes > maxMin {
		fields = append(fields, FieldError{Field: "duration_minutes", Message: "must be a whole number of minutes between 1 and " + strconv.Itoa(maxMin)})
	}
	if len(fields) > 0 {
		return Invalid(fields...)
	}
	return nil
}

// ValidateEmergencyNotes checks the optional notes of a decision.
func ValidateEmergencyNotes(notes *string) error {
	if notes == nil {
		return nil
	}
	if f := validateText("notes", *notes, maxEmergencyTextLen, false); f != nil {
		return Invalid(*f)
	}
	return nil
}

// EmergencyFilter selects emergency requests; Status filters on the status
// as shown.
type EmergencyFilter struct {
	Status *string
	Page
}

// Limits of EmergencyAuditFilter.Days.
const (
	DefaultEmergencyAuditDays = 30
	MaxEmergencyAuditDays     = 366
)

// EmergencyAuditDaysFieldError is the answer to days outside 1 to
// MaxEmergencyAuditDays, the same from the handler and the service.
var EmergencyAuditDaysFieldError = FieldError{Field: "days", Message: "must be a whole number between 1 and " + strconv.Itoa(MaxEmergencyAuditDays)}

// EmergencyAuditFilter asks for the requests made in the last Days days.
type EmergencyAuditFilter struct {
	Days int
	Page
}

// EmergencyAuditEntry is one row of the spec's "emergency access audit
// report", with what was read under the grant.
type EmergencyAuditEntry struct {
	ID                 string  `json:"id"`
	PatientID          string  `json:"patient_id"`
	PatientName        string  `json:"patient_name"`
	RequestedByUserID  *string `json:"requested_by_user_id"`
	RequesterName      string  `json:"requester_name"`
	Reason             string  `json:"reason"`
	Status             string  `json:"status"`
	ApprovedByDoctorID *string `json:"approved_by_doctor_id"`
	// ApprovedBy is the deciding doctor's name (for a DENIED request too),
	// null when nobody decided: never the spec's "Pending" placeholder.
	ApprovedBy *string         `json:"approved_by"`
	CreatedAt  time.Time       `json:"created_at"`
	ExpiresAt  time.Time       `json:"expires_at"`
	Reads      []EmergencyRead `json:"reads"`
}

// EmergencyRead is one read made under a grant: an audit_log READ row
// marked with the grant's id.
type EmergencyRead struct {
	At        time.Time `json:"at"`
	Table     string    `json:"table_name"`
	RecordID  string    `json:"record_id"`
	What      string    `json:"what"`
	Route     string    `json:"route"`
	RequestID string    `json:"request_id"`
}

// EmergencyService runs the break-glass workflow. The database enforces
// every rule (migration 00016); these methods translate its refusals.
type EmergencyService interface {
	// RequestEmergencyAccess files a PENDING request in the caller's name.
	// Errors: EINVALID, ENOTFOUND (no ACTIVE patient with that id),
	// EFORBIDDEN (not a CLINICIAN or NURSE).
	RequestEmergencyAccess(ctx context.Context, n NewEmergencyAccess) (*EmergencyAccess, error)

	// FindEmergencyAccessByID returns one request the caller may see.
	// Errors: ENOTFOUND.
	FindEmergencyAccessByID(ctx context.Context, id string) (*EmergencyAccess, error)

	// FindEmergencyAccess lists the requests the caller may see (a
	// CLINICIAN and an ADMIN all, anyone else their own), newest first.
	// Errors: EINVALID.
	FindEmergencyAccess(ctx context.Context, f EmergencyFilter) ([]*EmergencyAccess, string, error)

	// DecideEmergencyAccess approves, denies or revokes a request (decision
	// is EmergencyApprove, EmergencyDeny or EmergencyRevoke). Errors:
	// ENOTFOUND, EFORBIDDEN (the requester, or no ACTIVE doctor record),
	// ECONFLICT (illegal transition, or the request has expired), EINVALID.
	DecideEmergencyAccess(ctx context.Context, id, decision string, notes *string) (*EmergencyAccess, error)

	// EmergencyAccessAudit is the emergency access audit report (ADMIN),
	// newest first. Errors: EINVALID, EFORBIDDEN (not an ADMIN).
	EmergencyAccessAudit(ctx context.Context, f EmergencyAuditFilter) ([]*EmergencyAuditEntry, string, error)

	// SweepExpiredEmergencyAccess stores EXPIRED on every PENDING or
	// APPROVED request past its expiry and returns how many it changed. It
	// is the system's own work, idempotent, and safe from several processes.
	SweepExpiredEmergencyAccess(ctx context.Context) (int64, error)
}

// AccessLogEntry is one row of a patient's accounting of disclosures: an
// audit_log row about the patient.
type AccessLogEntry struct {
	ID                string    `json:"id"`
	At                time.Time `json:"at"`
	UserID            *string   `json:"user_id"`
	UserEmail         *string   `json:"user_email"`
	UserRole          *string   `json:"user_role"` // the user's role now
	Action            string    `json:"action"`
	Table             string    `json:"table_name"`
	RecordID          string    `json:"record_id"`
	What              *string   `json:"what"`  // for reads
	Route             *string   `json:"route"` // for reads made through the API
	EmergencyAccessID *string   `json:"emergency_access_id"`
}

// AccessLogService reads a patient's access log.
type AccessLogService interface {
	// FindAccessLog lists who accessed a patient's record, newest first,
	// and audits the reading. ADMIN, or a CLINICIAN in care by the care
	// team or treatment (not by an emergency grant). Errors: ENOTFOUND
	// (no such patient, or not in the caller's care), EINVALID.
	FindAccessLog(ctx context.Context, patientID string, p Page) ([]*AccessLogEntry, string, error)
}
