package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"medrec"
	"medrec/internal/postgres/internal/dbsqlc"
)

// CareTeamService implements medrec.CareTeamService. Row-level security
// stands behind every query: only ADMIN and RECEPTIONIST may change care
// teams, whatever this code checks.
type CareTeamService struct{ db *DB }

var _ medrec.CareTeamService = (*CareTeamService)(nil)

// NewCareTeamService returns a CareTeamService on db.
func NewCareTeamService(db *DB) *CareTeamService { return &CareTeamService{db: db} }

var errPatientNotFound = medrec.Errorf(medrec.ENOTFOUND, "patient not found")

// requirePatient answers ENOTFOUND for a patient that does not exist or
// that the caller may not see: the two must look the same.
func requirePatient(ctx context.Context, q *dbsqlc.Queries, id string) error {
	if !medrec.IsUUID(id) {
		return errPatientNotFound
	}
	ok, err := q.PatientVisible(ctx, id)
	if err != nil {
		return translate(err)
	}
	if !ok {
		return errPatientNotFound
	}
	return nil
}

// FindCareTeam lists a patient's active care team.
func (s *CareTeamService) FindCareTeam(ctx context.Context, patientID string) ([]*medrec.CareTeamMember, error) {
	var members []*medrec.CareTeamMember
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		q := dbsqlc.New(tx)
		if err := requirePatient(ctx, q, patientID); err != nil {
			return err
		}
		rows, err := q.CareTeamList(ctx, patientID)
		if err != nil {
			return translate(err)
		}
		for _, r := range rows {
			members = append(members, &medrec.CareTeamMember{
				PatientID: r.PatientID, UserID: r.UserID, Email: r.Email, Role: medrec.Role(r.Role),
				AddedBy: r.AddedBy, Since: r.Since, Until: r.Until,
			})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list care team: %w", err)
	}
	return members, nil
}

// AddCareTeamMember adds a CLINICIAN or NURSE to a patient's care team.
func (s *CareTeamService) AddCareTeamMember(ctx context.Context, patientID string, m medrec.NewCareTeamMember) (*medrec.CareTeamMember, error) {
	var member *medrec.CareTeamMember
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		q := dbsqlc.New(tx)
		if err := requirePatient(ctx, q, patientID); err != nil {
			return err
		}
		badUser := medrec.Invalid(medrec.FieldError{Field: "user_id", Message: "must be the id of a CLINICIAN or NURSE"})
		if !medrec.IsUUID(m.UserID) {
			return badUser
		}
		role, err := q.UserRole(ctx, m.UserID)
		if medrec.ErrorCode(translate(err)) == medrec.ENOTFOUND {
			return badUser
		} else if err != nil {
			return translate(err)
		}
		if role != string(medrec.RoleClinician) && role != string(medrec.RoleNurse) {
			return badUser
		}
		var addedBy *string
		if c := medrec.CallerFromContext(ctx); c != nil {
			addedBy = &c.UserID
		}
		row, err := q.CareTeamUpsert(ctx, dbsqlc.CareTeamUpsertParams{
			PatientID: patientID, UserID: m.UserID, AddedBy: addedBy, Until: m.Until,
		})
		if err != nil {
			if medrec.ErrorCode(translate(err)) == medrec.EINVALID {
				return medrec.Invalid(medrec.FieldError{Field: "until", Message: "must be after the membership starts"})
			}
			return translate(err)
		}
		var email string
		if err := tx.QueryRow(ctx, `SELECT email FROM users WHERE id = $1`, m.UserID).Scan(&email); err != nil {
			return translate(err)
		}
		member = &medrec.CareTeamMember{
			PatientID: row.PatientID, UserID: row.UserID, Email: email, Role: medrec.Role(role),
			AddedBy: row.AddedBy, Since: row.Since, Until: row.Until,
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("add care team member: %w", err)
	}
	return member, nil
}

// RemoveCareTeamMember ends an active membership now.
func (s *CareTeamService) RemoveCareTeamMember(ctx context.Context, patientID, userID string) error {
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		q := dbsqlc.New(tx)
		if err := requirePatient(ctx, q, patientID); err != nil {
			return err
		}
		if !medrec.IsUUID(userID) {
			return medrec.Errorf(medrec.ENOTFOUND, "no active care team membership")
		}
		n, err := q.CareTeamEnd(ctx, dbsqlc.CareTeamEndParams{PatientID: patientID, UserID: userID})
		if err != nil {
			return translate(err)
		}
		if n == 0 {
			return medrec.Errorf(medrec.ENOTFOUND, "no active care team membership")
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove care team member: %w", err)
	}
	return nil
}
