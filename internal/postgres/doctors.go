package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"medrec"
	"medrec/internal/postgres/internal/dbsqlc"
)

// DoctorService implements medrec.DoctorService: the doctor directory.
// doctors holds no patient data and has no row-level security, so the
// service itself checks who may write: ADMIN anything, a CLINICIAN only the
// contact fields (email, phone) of their own record.
type DoctorService struct{ db *DB }

var _ medrec.DoctorService = (*DoctorService)(nil)

// NewDoctorService returns a DoctorService on db.
func NewDoctorService(db *DB) *DoctorService { return &DoctorService{db: db} }

var errDoctorNotFound = medrec.Errorf(medrec.ENOTFOUND, "doctor not found")

func doctorFromRow(r dbsqlc.Doctor) *medrec.Doctor {
	return &medrec.Doctor{
		ID: r.ID, FirstName: r.FirstName, LastName: r.LastName, Email: r.Email, Phone: r.Phone,
		Specialty: r.Specialty, Status: r.Status, UserID: r.UserID, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

// doctorError names the field behind a unique violation: the email
// (ignoring case) or the linked user.
func doctorError(err error) error {
	err = translate(err)
	if medrec.ErrorCode(err) != medrec.ECONFLICT {
		return err
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "user_id"):
		return &medrec.Error{Code: medrec.ECONFLICT, Message: "this user is already linked to another doctor",
			Fields: []medrec.FieldError{{Field: "user_id", Message: "is already linked to another doctor"}}, Err: err}
	case strings.Contains(msg, "email"):
		return &medrec.Error{Code: medrec.ECONFLICT, Message: "a doctor with this email already exists",
			Fields: []medrec.FieldError{{Field: "email", Message: "is already in use"}}, Err: err}
	}
	return err
}

// checkClinicianUser answers EINVALID unless id names a CLINICIAN user.
func checkClinicianUser(ctx context.Context, q *dbsqlc.Queries, id string) error {
	bad := medrec.Invalid(medrec.FieldError{Field: "user_id", Message: "must be the id of a CLINICIAN user"})
	if !medrec.IsUUID(id) {
		return bad
	}
	role, err := q.UserRole(ctx, id)
	if err != nil {
		if medrec.ErrorCode(translate(err)) == medrec.ENOTFOUND {
			return bad
		}
		return translate(err)
	}
	if role != string(medrec.RoleClinician) {
		return bad
	}
	return nil
}

func canManageDoctors(ctx context.Context) bool {
	c := medrec.CallerFromContext(ctx)
	return c != nil && c.Can(medrec.PermDoctorsManage)
}

// CreateDoctor adds a doctor (ADMIN).
func (s *DoctorService) CreateDoctor(ctx context.Context, d medrec.NewDoctor) (*medrec.Doctor, error) {
	if !canManageDoctors(ctx) {
		return nil, medrec.Errorf(medrec.EFORBIDDEN, "only an administrator adds doctors")
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	status := d.Status
	if status == "" {
		status = medrec.DoctorActive
	}
	var doctor *medrec.Doctor
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		q := dbsqlc.New(tx)
		if d.UserID != nil {
			if err := checkClinicianUser(ctx, q, *d.UserID); err != nil {
				return err
			}
		}
		row, err := q.DoctorCreate(ctx, dbsqlc.DoctorCreateParams{
			FirstName: d.FirstName, LastName: d.LastName, Email: d.Email, Phone: d.Phone,
			Specialty: d.Specialty, Status: status, UserID: d.UserID,
		})
		if err != nil {
			return doctorError(err)
		}
		doctor = doctorFromRow(row)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create doctor: %w", err)
	}
	return doctor, nil
}

// FindDoctorByID returns one doctor.
func (s *DoctorService) FindDoctorByID(ctx context.Context, id string) (*medrec.Doctor, error) {
	if !medrec.IsUUID(id) {
		return nil, errDoctorNotFound
	}
	var doctor *medrec.Doctor
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		row, err := dbsqlc.New(tx).DoctorGet(ctx, id)
		if err != nil {
			if medrec.ErrorCode(translate(err)) == medrec.ENOTFOUND {
				return errDoctorNotFound
			}
			return translate(err)
		}
		doctor = doctorFromRow(row)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find doctor: %w", err)
	}
	return doctor, nil
}

// FindDoctors lists doctors newest first.
func (s *DoctorService) FindDoctors(ctx context.Context, f medrec.DoctorFilter) ([]*medrec.Doctor, string, error) {
	if err := f.Validate(); err != nil {
		return nil, "", err
	}
	afterCreated, afterID, err := decodeCursor(f.Cursor)
	if err != nil {
		return nil, "", err
	}
	params := dbsqlc.DoctorListParams{AfterCreated: afterCreated, AfterID: afterID, MaxRows: int32(f.Limit + 1)}
	if f.Specialty != "" {
		params.Specialty = &f.Specialty
	}
	if f.Status != "" {
		params.Status = &f.Status
	}
	var (
		doctors []*medrec.Doctor
		next    string
	)
	err = s.db.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := dbsqlc.New(tx).DoctorList(ctx, params)
		if err != nil {
			return translate(err)
		}
		if len(rows) > f.Limit {
			rows = rows[:f.Limit]
			last := rows[len(rows)-1]
			next = encodeCursor(last.CreatedAt, last.ID)
		}
		doctors = make([]*medrec.Doctor, 0, len(rows))
		for _, r := range rows {
			doctors = append(doctors, doctorFromRow(r))
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list doctors: %w", err)
	}
	return doctors, next, nil
}

// UpdateDoctor changes a doctor record, conditionally on ifMatch. An ADMIN
// may change any field; a CLINICIAN only the email and phone of the record
// linked to their own user.
func (s *DoctorService) UpdateDoctor(ctx context.Context, id string, upd medrec.DoctorUpdate, ifMatch *time.Time) (*medrec.Doctor, error) {
	c := medrec.CallerFromContext(ctx)
	manager := canManageDoctors(ctx)
	if !manager && (c == nil || c.Role != medrec.RoleClinician) {
		return nil, medrec.Errorf(medrec.EFORBIDDEN, "only an administrator changes the doctor directory")
	}
	if err := upd.Validate(); err != nil {
		return nil, err
	}
	if !medrec.IsUUID(id) {
		return nil, errDoctorNotFound
	}
	params := dbsqlc.DoctorUpdateParams{
		ID: id, FirstName: upd.FirstName, LastName: upd.LastName, Email: upd.Email, Status: upd.Status,
		SetPhone: upd.Phone.Set, Phone: upd.Phone.Value, SetSpecialty: upd.Specialty.Set, Specialty: upd.Specialty.Value,
		SetUserID: upd.UserID.Set, UserID: upd.UserID.Value, IfMatch: ifMatch,
	}
	var doctor *medrec.Doctor
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		q := dbsqlc.New(tx)
		owner, err := q.DoctorOwner(ctx, id)
		if err != nil {
			if medrec.ErrorCode(translate(err)) == medrec.ENOTFOUND {
				return errDoctorNotFound
			}
			return translate(err)
		}
		if !manager {
			if owner == nil || *owner != c.UserID {
				return medrec.Errorf(medrec.EFORBIDDEN, "a clinician may change only their own doctor record")
			}
			if !upd.ContactOnly() {
				return medrec.Errorf(medrec.EFORBIDDEN, "a clinician may change only the email and phone of their record")
			}
		}
		if upd.UserID.Set && upd.UserID.Value != nil {
			if err := checkClinicianUser(ctx, q, *upd.UserID.Value); err != nil {
				return err
			}
		}
		row, err := q.DoctorUpdate(ctx, params)
		if err != nil {
			err = doctorError(err)
			if medrec.ErrorCode(err) == medrec.ENOTFOUND {
				// It existed a moment ago (DoctorOwner): only If-Match can
				// have kept the row from matching.
				return medrec.Errorf(medrec.EPRECONDITION, "the doctor changed since the version in If-Match")
			}
			return err
		}
		doctor = doctorFromRow(row)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("update doctor: %w", err)
	}
	return doctor, nil
}
