package medrec

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// AuditValueTables are the tables whose audit rows GET /audit shows with
// their values: they hold no clinical content (users, whose secrets the
// audit trigger strips, and the doctor directory). Every other table, the
// clinical ones (patients, medical_reports, prescriptions,
// emergency_access, care_team) and any added later, shows only which
// fields changed: IT administrators run the system, they do not read
// clinical content (access model). Deny by default.
var AuditValueTables = []string{"users", "doctors"}

// AuditActions are the actions an audit row may record.
var AuditActions = []string{"INSERT", "UPDATE", "DELETE", "READ", "ERASE"}

// AuditEntry is one row of the audit log as GET /audit shows it.
type AuditEntry struct {
	ID                string    `json:"id"`
	TableName         string    `json:"table_name"`
	RecordID          string    `json:"record_id"`
	Action            string    `json:"action"`
	UserID            *string   `json:"user_id"`
	ChangedAt         time.Time `json:"changed_at"`
	PatientID         *string   `json:"patient_id"`
	EmergencyAccessID *string   `json:"emergency_access_id"`
	// ChangedFields names the fields an INSERT, UPDATE or DELETE set,
	// changed or removed, for every table.
	ChangedFields []string `json:"changed_fields,omitempty"`
	// OldValues and NewValues are the row before and after, only for
	// AuditValueTables.
	OldValues map[string]any `json:"old_values,omitempty"`
	NewValues map[string]any `json:"new_values,omitempty"`
	// Details is what a READ or ERASE row says about itself: "what" was
	// read, the "request_id", the "route" it came through, the erasure's
	// "reason".
	Details map[string]string `json:"details,omitempty"`
}

// AuditFilter selects audit rows; empty fields match everything. From and
// To bound changed_at (From inclusive, To exclusive).
type AuditFilter struct {
	Page
	TableName string
	RecordID  string
	UserID    string
	Action    string
	From, To  *time.Time
}

// maxAuditTableNameLen is audit_log.table_name's width.
const maxAuditTableNameLen = 50

// Validate checks every field and reports every problem at once.
func (f *AuditFilter) Validate() error {
	var fields []FieldError
	if err := f.Page.Normalize(); err != nil {
		fields = append(fields, ErrorFields(err)...)
	}
	if len(f.TableName) > maxAuditTableNameLen {
		fields = append(fields, FieldError{Field: "table_name", Message: fmt.Sprintf("must be at most %d characters", maxAuditTableNameLen)})
	}
	for _, id := range []struct{ name, value string }{{"record_id", f.RecordID}, {"user_id", f.UserID}} {
		if id.value != "" && !IsUUID(id.value) {
			fields = append(fields, FieldError{Field: id.name, Message: "must be a UUID"})
		}
	}
	if f.Action != "" && !slices.Contains(AuditActions, f.Action) {
		fields = append(fields, FieldError{Field: "action", Message: "must be one of " + strings.Join(AuditActions, ", ")})
	}
	if f.From != nil && f.To != nil && !f.From.Before(*f.To) {
		fields = append(fields, FieldError{Field: "to", Message: "must be after from"})
	}
	if len(fields) > 0 {
		return Invalid(fields...)
	}
	return nil
}

// AuditService reads the audit log. Only an ADMIN may; the read is itself
// audited.
type AuditService interface {
	// FindAuditEntries returns one page of the rows f selects, newest
	// first, and the cursor of the next page ("" on the last).
	FindAuditEntries(ctx context.Context, f AuditFilter) ([]*AuditEntry, string, error)
}
