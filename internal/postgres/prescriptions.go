package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"medrec"
	"medrec/internal/postgres/internal/dbsqlc"
)

// PrescriptionService implements medrec.PrescriptionService. Row-level
// security stands behind every query: a prescription is read only in care,
// and written only by its prescriber, a CLINICIAN in care whose own doctor
// record is ACTIVE, whatever this code checks.
type PrescriptionService struct{ db *DB }

var _ medrec.PrescriptionService = (*PrescriptionService)(nil)

// NewPrescriptionService returns a PrescriptionService on db.
func NewPrescriptionService(db *DB) *PrescriptionService { return &PrescriptionService{db: db} }

var errPrescriptionNotFound = medrec.Errorf(medrec.ENOTFOUND, "prescription not found")

// prescriptionFrom converts a row; every query returning a whole
// prescription has this row's shape (the status already as shown).
func prescriptionFrom(r dbsqlc.PrescriptionGetRow) *medrec.Prescription {
	p := &medrec.Prescription{
		ID: r.ID, PatientID: r.PatientID, DoctorID: r.DoctorID,
		DrugName: r.DrugName, Dosage: r.Dosage, Frequency: r.Frequency, Route: r.Route,
		StartDate: medrec.Date{Time: r.StartDate}, Status: r.Status,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if r.EndDate != nil {
		p.EndDate = &medrec.Date{Time: *r.EndDate}
	}
	return p
}

// prescriberDoctor returns the caller's own doctor record if they may
// author prescriptions with it, and EFORBIDDEN saying why not otherwise.
func prescriberDoctor(ctx context.Context, q *dbsqlc.Queries) (string, error) {
	c := medrec.CallerFromContext(ctx)
	if c == nil || c.Role != medrec.RoleClinician {
		return "", medrec.Errorf(medrec.EFORBIDDEN, "only a CLINICIAN with an ACTIVE doctor record may prescribe")
	}
	d, err := q.PrescriberDoctor(ctx, &c.UserID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", medrec.Errorf(medrec.EFORBIDDEN, "your user is not linked to a doctor record; only a CLINICIAN with an ACTIVE doctor record may prescribe")
	}
	if err != nil {
		return "", translate(err)
	}
	if d.Status != "ACTIVE" {
		return "", medrec.Errorf(medrec.EFORBIDDEN, "your doctor record is %s; only an ACTIVE doctor may prescribe", d.Status)
	}
	return d.ID, nil
}

// prescriptionWriteError translates a write's error; a row-level security refusal that
// slipped past the checks before it (a doctor's status changed meanwhile)
// is a refusal, not an internal error.
func prescriptionWriteError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42501" {
		return &medrec.Error{Code: medrec.EFORBIDDEN, Message: "you may not change this prescription", Err: err}
	}
	return translate(err)
}

// CreatePrescription prescribes as the caller's own ACTIVE doctor record.
func (s *PrescriptionService) CreatePrescription(ctx context.Context, patientID string, np medrec.NewPrescription) (*medrec.Prescription, error) {
	if err := np.Validate(); err != nil {
		return nil, err
	}
	var out *medrec.Prescription
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		q := dbsqlc.New(tx)
		// Not in care is 404 before anything else: no existence oracle.
		if err := requirePatient(ctx, q, patientID); err != nil {
			return err
		}
		doctorID, err := prescriberDoctor(ctx, q)
		if err != nil {
			return err
		}
		params := dbsqlc.PrescriptionCreateParams{
			PatientID: patientID, DoctorID: doctorID,
			DrugName: np.DrugName, Dosage: np.Dosage, Frequency: np.Frequency, Route: np.Route,
			StartDate: np.StartDate.Time,
		}
		if np.EndDate != nil {
			params.EndDate = &np.EndDate.Time
		}
		row, err := q.PrescriptionCreate(ctx, params)
		if err != nil {
			return prescriptionWriteError(err)
		}
		out = prescriptionFrom(dbsqlc.PrescriptionGetRow(row))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create prescription: %w", err)
	}
	return out, nil
}

// FindPrescriptionByID returns one prescription and audits the read.
func (s *PrescriptionService) FindPrescriptionByID(ctx context.Context, id string) (*medrec.Prescription, error) {
	if !medrec.IsUUID(id) {
		return nil, errPrescriptionNotFound
	}
	var out *medrec.Prescription
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		row, err := dbsqlc.New(tx).PrescriptionGet(ctx, id)
		if errors.Is(err, pgx.ErrNoRows) {
			return errPrescriptionNotFound
		} else if err != nil {
			return translate(err)
		}
		out = prescriptionFrom(row)
		return recordRead(ctx, tx, ReadAccess{Table: "prescriptions", RecordID: row.ID, PatientID: row.PatientID, What: "prescription"})
	})
	if err != nil {
		return nil, fmt.Errorf("load prescription %s: %w", id, err)
	}
	return out, nil
}

// FindPrescriptions lists a patient's prescriptions newest first and audits
// the read (one row, for the patient).
func (s *PrescriptionService) FindPrescriptions(ctx context.Context, patientID string, f medrec.PrescriptionFilter) ([]*medrec.Prescription, string, error) {
	if err := f.Normalize(); err != nil {
		return nil, "", err
	}
	if f.Status != nil && !medrec.ValidPrescriptionStatus(*f.Status) {
		return nil, "", medrec.Invalid(medrec.FieldError{Field: "status", Message: "must be one of ACTIVE, COMPLETED, CANCELLED"})
	}
	afterCreated, afterID, err := decodeCursor(f.Cursor)
	if err != nil {
		return nil, "", err
	}
	var (
		out  []*medrec.Prescription
		next string
	)
	err = s.db.inTx(ctx, func(tx pgx.Tx) error {
		q := dbsqlc.New(tx)
		if err := requirePatient(ctx, q, patientID); err != nil {
			return err
		}
		rows, err := q.PrescriptionList(ctx, dbsqlc.PrescriptionListParams{
			PatientID: patientID, Status: f.Status,
			AfterCreated: afterCreated, AfterID: afterID, MaxRows: int32(f.Limit + 1),
		})
		if err != nil {
			return translate(err)
		}
		if len(rows) > f.Limit {
			rows = rows[:f.Limit]
			last := rows[len(rows)-1]
			next = encodeCursor(last.CreatedAt, last.ID)
		}
		for _, r := range rows {
			out = append(out, prescriptionFrom(dbsqlc.PrescriptionGetRow(r)))
		}
		return recordRead(ctx, tx, ReadAccess{Table: "prescriptions", RecordID: patientID, PatientID: patientID, What: "prescriptions"})
	})
	if err != nil {
		return nil, "", fmt.Errorf("list prescriptions of patient %s: %w", patientID, err)
	}
	return out, next, nil
}

// UpdatePrescription changes the end date or ends an ACTIVE prescription.
// The row is locked first, so that of concurrent updates with the same
// If-Match exactly one succeeds and the others see the new version.
func (s *PrescriptionService) UpdatePrescription(ctx context.Context, id string, u medrec.PrescriptionUpdate) (*medrec.Prescription, error) {
	if err := u.Validate(); err != nil {
		return nil, err
	}
	if !medrec.IsUUID(id) {
		return nil, errPrescriptionNotFound
	}
	var out *medrec.Prescription
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		q := dbsqlc.New(tx)
		// Visible at all? Otherwise it does not exist for this caller.
		cur, err := q.PrescriptionGet(ctx, id)
		if errors.Is(err, pgx.ErrNoRows) {
			return errPrescriptionNotFound
		} else if err != nil {
			return translate(err)
		}
		// Visible, so saying why not leaks nothing: only the prescriber,
		// while their doctor record is ACTIVE, changes a prescription.
		doctorID, err := prescriberDoctor(ctx, q)
		if err != nil {
			return err
		}
		if cur.DoctorID != doctorID {
			return medrec.Errorf(medrec.EFORBIDDEN, "only the prescribing doctor may change a prescription")
		}
		lock, err := q.PrescriptionLock(ctx, id)
		if errors.Is(err, pgx.ErrNoRows) {
			// Seen a moment ago but not lockable: access changed meanwhile.
			return medrec.Errorf(medrec.EFORBIDDEN, "you may not change this prescription")
		} else if err != nil {
			return prescriptionWriteError(err)
		}
		if u.IfMatch != nil && !lock.UpdatedAt.Equal(*u.IfMatch) {
			return medrec.Errorf(medrec.EPRECONDITION, "the prescription has changed since you read it")
		}
		if lock.Status != medrec.PrescriptionActive {
			return medrec.Errorf(medrec.ECONFLICT, "the prescription is %s; only an ACTIVE prescription can change", lock.Status)
		}
		// Validate admits only the spec's statuses; from ACTIVE each is
		// legal (ACTIVE itself changes nothing).
		params := dbsqlc.PrescriptionUpdateParams{ID: id, SetEndDate: u.SetEndDate, Status: u.Status}
		if u.SetEndDate && u.EndDate != nil {
			if u.EndDate.Before(lock.StartDate) {
				return medrec.Invalid(medrec.FieldError{Field: "end_date", Message: "must not be before start_date (" + lock.StartDate.Format(time.DateOnly) + ")"})
			}
			params.EndDate = &u.EndDate.Time
		}
		row, err := q.PrescriptionUpdate(ctx, params)
		if err != nil {
			err = prescriptionWriteError(err)
			if medrec.ErrorCode(err) == medrec.EINVALID {
				return medrec.Invalid(medrec.FieldError{Field: "end_date", Message: "must not be before start_date"})
			}
			return err
		}
		out = prescriptionFrom(dbsqlc.PrescriptionGetRow(row))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("update prescription %s: %w", id, err)
	}
	return out, nil
}

// FindExpiringPrescriptions lists the ACTIVE prescriptions of the caller's
// patients that end within f.Days, soonest first, and audits one READ row
// per patient on the page.
func (s *PrescriptionService) FindExpiringPrescriptions(ctx context.Context, f medrec.ExpiringFilter) ([]*medrec.ExpiringPrescription, string, error) {
	if err := f.Validate(); err != nil {
		return nil, "", err
	}
	afterEnd, afterID, err := decodeCursorAt(f.Cursor, time.DateOnly)
	if err != nil {
		return nil, "", err
	}
	var (
		out  []*medrec.ExpiringPrescription
		next string
	)
	err = s.db.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := dbsqlc.New(tx).PrescriptionExpiring(ctx, dbsqlc.PrescriptionExpiringParams{
			Days: int32(f.Days), AfterEnd: afterEnd, AfterID: afterID, MaxRows: int32(f.Limit + 1),
		})
		if err != nil {
			return translate(err)
		}
		if len(rows) > f.Limit {
			rows = rows[:f.Limit]
			last := rows[len(rows)-1]
			next = encodeCursorAt(last.EndDate, last.ID, time.DateOnly)
		}
		audited := map[string]bool{}
		var patients []string
		for _, r := range rows {
			out = append(out, &medrec.ExpiringPrescription{
				ID: r.ID, PatientID: r.PatientID, PatientName: r.PatientName, DrugName: r.DrugName,
				EndDate: medrec.Date{Time: r.EndDate}, PrescribingDoctor: r.PrescribingDoctor,
			})
			if !audited[r.PatientID] {
				audited[r.PatientID] = true
				patients = append(patients, r.PatientID)
			}
		}
		// One READ row per patient on the page, in one statement.
		return recordReads(ctx, tx, "prescriptions", "expiring", patients, patients)
	})
	if err != nil {
		return nil, "", fmt.Errorf("list expiring prescriptions: %w", err)
	}
	return out, next, nil
}

// SweepExpiredPrescriptions stores COMPLETED on the ACTIVE prescriptions
// whose end date has passed. It runs as the system: whatever caller ctx
// carries is dropped, and medrec_sweep_prescriptions (migration 00011) does
// the one UPDATE that row-level security would refuse a caller-less
// transaction.
func (s *PrescriptionService) SweepExpiredPrescriptions(ctx context.Context) (int64, error) {
	return s.db.sweep(ctx, "sweep expired prescriptions", func(q *dbsqlc.Queries) (int64, error) {
		return q.PrescriptionSweep(ctx)
	})
}
