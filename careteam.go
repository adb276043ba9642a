package medrec

import (
	"context"
	"time"
)

// CareTeamMember is a clinician or nurse assigned to a patient's care.
// While the membership is active, they may read the patient's record.
type CareTeamMember struct {
	PatientID string     `json:"patient_id"`
	UserID    string     `json:"user_id"`
	Email     string     `json:"email"`
	Role      Role       `json:"role"`
	AddedBy   *string    `json:"added_by"`
	Since     time.Time  `json:"since"`
	Until     *time.Time `json:"until"`
}

// NewCareTeamMember adds a user to a care team, optionally until a time.
type NewCareTeamMember struct {
	UserID string
	Until  *time.Time
}

// CareTeamService manages care teams (ADMIN and RECEPTIONIST).
type CareTeamService interface {
	// FindCareTeam lists the active members. Errors: ENOTFOUND (patient).
	FindCareTeam(ctx context.Context, patientID string) ([]*CareTeamMember, error)
	// AddCareTeamMember adds (or re-activates) a CLINICIAN or NURSE.
	// Errors: ENOTFOUND (patient), EINVALID (user_id, until).
	AddCareTeamMember(ctx context.Context, patientID string, m NewCareTeamMember) (*CareTeamMember, error)
	// RemoveCareTeamMember ends a membership now; the row stays as history.
	// Errors: ENOTFOUND (patient or active membership).
	RemoveCareTeamMember(ctx context.Context, patientID, userID string) error
}
