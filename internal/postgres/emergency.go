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

// EmergencyService implements medrec.EmergencyService. The service role
// cannot write emergency_access at all (migration 00016): requests and
// decisions go through SECURITY DEFINER functions that check the caller and
// the transition themselves, so this code only validates input early and
// translates the database's refusals.
type EmergencyService struct {
	db  *DB
	max time.Duration
}

var _ medrec.EmergencyService = (*EmergencyService)(nil)

// NewEmergencyService returns an EmergencyService on db whose grants last
// at most max (zero: medrec.DefaultEmergencyMax).
func NewEmergencyService(db *DB, max time.Duration) *EmergencyService {
	if max <= 0 {
		max = medrec.DefaultEmergencyMax
	}
	return &EmergencyService{db: db, max: max}
}

var errEmergencyNotFound = medrec.Errorf(medrec.ENOTFOUND, "emergency access request not found")

func emergencyFrom(r dbsqlc.EmergencyGetRow) *medrec.EmergencyAccess {
	return &medrec.EmergencyAccess{
		ID: r.ID, PatientID: r.PatientID, RequestedByUserID: r.RequestedByUserID,
		RequesterName: r.RequesterName, Reason: r.Reason, Notes: r.Notes, Status: r.Status,
		ApprovedByDoctorID: r.ApprovedByDoctorID, ExpiresAt: r.ExpiresAt,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

// emergencyError translates the refusals of the 00016 functions.
func emergencyError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "42501": // insufficient_privilege: wrong caller
			return &medrec.Error{Code: medrec.EFORBIDDEN, Message: pgErr.Message, Err: err}
		case "55000": // object_not_in_prerequisite_state: illegal transition, expired
			return &medrec.Error{Code: medrec.ECONFLICT, Message: pgErr.Message, Err: err}
		case "22023": // invalid_parameter_value
			return &medrec.Error{Code: medrec.EINVALID, Message: pgErr.Message, Err: err}
		}
	}
	return translate(err)
}

// getEmergency reads one request back under row-level security.
func getEmergency(ctx context.Context, q *dbsqlc.Queries, id string) (*medrec.EmergencyAccess, error) {
	row, err := q.EmergencyGet(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errEmergencyNotFound
	} else if err != nil {
		return nil, translate(err)
	}
	return emergencyFrom(row), nil
}

// RequestEmergencyAccess files a PENDING request through
// medrec_request_emergency_access, which answers whether the patient exists
// (and is ACTIVE) only by filing the request.
func (s *EmergencyService) RequestEmergencyAccess(ctx context.Context, n medrec.NewEmergencyAccess) (*medrec.EmergencyAccess, error) {
	if err := n.Validate(s.max); err != nil {
		return nil, err
	}
	if !medrec.IsUUID(n.PatientID) {
		return nil, errPatientNotFound
	}
	var out *medrec.EmergencyAccess
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		q := dbsqlc.New(tx)
		id, err := q.EmergencyRequest(ctx, dbsqlc.EmergencyRequestParams{
			PatientID: n.PatientID, Reason: n.Reason, Notes: n.Notes, DurationMinutes: int32(n.DurationMinutes),
		})
		if errors.Is(err, pgx.ErrNoRows) {
			return errPatientNotFound
		} else if err != nil {
			return emergencyError(err)
		}
		out, err = getEmergency(ctx, q, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("request emergency access: %w", err)
	}
	return out, nil
}

// FindEmergencyAccessByID returns one request the caller may see.
func (s *EmergencyService) FindEmergencyAccessByID(ctx context.Context, id string) (*medrec.EmergencyAccess, error) {
	if !medrec.IsUUID(id) {
		return nil, errEmergencyNotFound
	}
	var out *medrec.EmergencyAccess
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = getEmergency(ctx, dbsqlc.New(tx), id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("load emergency access %s: %w", id, err)
	}
	return out, nil
}

// FindEmergencyAccess lists the requests the caller may see, newest first.
func (s *EmergencyService) FindEmergencyAccess(ctx context.Context, f medrec.EmergencyFilter) ([]*medrec.EmergencyAccess, string, error) {
	if err := f.Normalize(); err != nil {
		return nil, "", err
	}
	if f.Status != nil && !medrec.ValidEmergencyStatus(*f.Status) {
		return nil, "", medrec.Invalid(medrec.EmergencyStatusFieldError)
	}
	afterCreated, afterID, err := decodeCursor(f.Cursor)
	if err != nil {
		return nil, "", err
	}
	out := []*medrec.EmergencyAccess{}
	var next string
	err = s.db.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := dbsqlc.New(tx).EmergencyList(ctx, dbsqlc.EmergencyListParams{
			Status: f.Status, AfterCreated: afterCreated, AfterID: afterID, MaxRows: int32(f.Limit + 1),
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
			out = append(out, emergencyFrom(dbsqlc.EmergencyGetRow(r)))
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list emergency access: %w", err)
	}
	return out, next, nil
}

// DecideEmergencyAccess approves, denies or revokes through
// medrec_decide_emergency_access.
func (s *EmergencyService) DecideEmergencyAccess(ctx context.Context, id, decision string, notes *string) (*medrec.EmergencyAccess, error) {
	switch decision {
	case medrec.EmergencyApprove, medrec.EmergencyDeny, medrec.EmergencyRevoke:
	default:
		return nil, medrec.Invalid(medrec.FieldError{Field: "decision", Message: "must be APPROVE, DENY or REVOKE"})
	}
	if err := medrec.ValidateEmergencyNotes(notes); err != nil {
		return nil, err
	}
	if !medrec.IsUUID(id) {
		return nil, errEmergencyNotFound
	}
	var out *medrec.EmergencyAccess
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		q := dbsqlc.New(tx)
		_, err := q.EmergencyDecide(ctx, dbsqlc.EmergencyDecideParams{ID: id, Decision: decision, Notes: notes})
		if errors.Is(err, pgx.ErrNoRows) {
			return errEmergencyNotFound
		} else if err != nil {
			return emergencyError(err)
		}
		out, err = getEmergency(ctx, q, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s emergency access %s: %w", decision, id, err)
	}
	return out, nil
}

// EmergencyAccessAudit is the emergency access audit report: the requests
// of the last f.Days days, newest first, each with the reads made under it.
// Listing them is itself a read of patient data (names, reasons), so each
// listed request leaves one READ row (what: emergency_audit).
func (s *EmergencyService) EmergencyAccessAudit(ctx context.Context, f medrec.EmergencyAuditFilter) ([]*medrec.EmergencyAuditEntry, string, error) {
	// The report is an ADMIN's (access model). Row-level security alone
	// would answer a CLINICIAN too (every request, by the queue's policy,
	// with the reads of their patients), so the service checks the role
	// itself, like GET /audit, whatever route or caller reaches it.
	if c := medrec.CallerFromContext(ctx); c == nil || !c.Can(medrec.PermEmergencyReport) {
		return nil, "", medrec.Errorf(medrec.EFORBIDDEN, "only an administrator reads the emergency access audit report")
	}
	if f.Days < 1 || f.Days > medrec.MaxEmergencyAuditDays {
		return nil, "", medrec.Invalid(medrec.EmergencyAuditDaysFieldError)
	}
	if err := f.Normalize(); err != nil {
		return nil, "", err
	}
	afterCreated, afterID, err := decodeCursor(f.Cursor)
	if err != nil {
		return nil, "", err
	}
	out := []*medrec.EmergencyAuditEntry{}
	var next string
	err = s.db.inTx(ctx, func(tx pgx.Tx) error {
		q := dbsqlc.New(tx)
		rows, err := q.EmergencyAudit(ctx, dbsqlc.EmergencyAuditParams{
			Days: int32(f.Days), AfterCreated: afterCreated, AfterID: afterID, MaxRows: int32(f.Limit + 1),
		})
		if err != nil {
			return translate(err)
		}
		if len(rows) > f.Limit {
			rows = rows[:f.Limit]
			last := rows[len(rows)-1]
			next = encodeCursor(last.CreatedAt, last.ID)
		}
		byID := map[string]*medrec.EmergencyAuditEntry{}
		ids := make([]string, 0, len(rows))
		patients := make([]string, 0, len(rows))
		for _, r := range rows {
			e := &medrec.EmergencyAuditEntry{
				ID: r.ID, PatientID: r.PatientID, PatientName: r.PatientName,
				RequestedByUserID: r.RequestedByUserID, RequesterName: r.RequesterName, Reason: r.Reason,
				Status: r.Status, ApprovedByDoctorID: r.ApprovedByDoctorID, ApprovedBy: nonEmpty(r.ApprovedBy),
				CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, Reads: []medrec.EmergencyRead{},
			}
			out = append(out, e)
			byID[r.ID] = e
			ids = append(ids, r.ID)
			patients = append(patients, r.PatientID)
		}
		if len(ids) == 0 {
			return nil
		}
		reads, err := q.EmergencyAuditReads(ctx, ids)
		if err != nil {
			return translate(err)
		}
		for _, r := range reads {
			if e := byID[r.EmergencyAccessID]; e != nil {
				e.Reads = append(e.Reads, medrec.EmergencyRead{
					At: r.ChangedAt, Table: r.TableName, RecordID: r.RecordID,
					What: r.What, Route: r.Route, RequestID: r.RequestID,
				})
			}
		}
		return recordReads(ctx, tx, "emergency_access", "emergency_audit", ids, patients)
	})
	if err != nil {
		return nil, "", fmt.Errorf("emergency access audit report: %w", err)
	}
	return out, next, nil
}

// SweepExpiredEmergencyAccess stores EXPIRED on the requests past their
// expiry. It runs as the system: whatever caller ctx carries is dropped.
func (s *EmergencyService) SweepExpiredEmergencyAccess(ctx context.Context) (int64, error) {
	return s.db.sweep(ctx, "sweep expired emergency access", func(q *dbsqlc.Queries) (int64, error) {
		return q.EmergencySweep(ctx)
	})
}

// AccessLogService implements medrec.AccessLogService.
type AccessLogService struct{ db *DB }

var _ medrec.AccessLogService = (*AccessLogService)(nil)

// NewAccessLogService returns an AccessLogService on db.
func NewAccessLogService(db *DB) *AccessLogService { return &AccessLogService{db: db} }

// FindAccessLog lists the audit rows about one patient, newest first, and
// audits the reading (one READ row, what: access_log): the log names who
// saw the record and how, which is itself about the patient.
func (s *AccessLogService) FindAccessLog(ctx context.Context, patientID string, p medrec.Page) ([]*medrec.AccessLogEntry, string, error) {
	if err := p.Normalize(); err != nil {
		return nil, "", err
	}
	afterChanged, afterID, err := decodeCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	if !medrec.IsUUID(patientID) {
		return nil, "", errPatientNotFound
	}
	out := []*medrec.AccessLogEntry{}
	var next string
	err = s.db.inTx(ctx, func(tx pgx.Tx) error {
		q := dbsqlc.New(tx)
		ok, err := q.AccessLogAllowed(ctx, patientID)
		if err != nil {
			return translate(err)
		}
		if !ok {
			return errPatientNotFound
		}
		rows, err := q.AccessLogList(ctx, dbsqlc.AccessLogListParams{
			PatientID: patientID, AfterChanged: afterChanged, AfterID: afterID, MaxRows: int32(p.Limit + 1),
		})
		if err != nil {
			return translate(err)
		}
		if len(rows) > p.Limit {
			rows = rows[:p.Limit]
			last := rows[len(rows)-1]
			next = encodeCursor(last.ChangedAt, last.ID)
		}
		for _, r := range rows {
			out = append(out, &medrec.AccessLogEntry{
				ID: r.ID, At: r.ChangedAt, UserID: r.UserID,
				UserEmail: nonEmpty(r.UserEmail), UserRole: nonEmpty(r.UserRole),
				Action: r.Action, Table: r.TableName, RecordID: r.RecordID,
				What: nonEmpty(r.What), Route: nonEmpty(r.Route), EmergencyAccessID: r.EmergencyAccessID,
			})
		}
		return recordRead(ctx, tx, ReadAccess{Table: "audit_log", RecordID: patientID, PatientID: patientID, What: "access_log"})
	})
	if err != nil {
		return nil, "", fmt.Errorf("access log of patient %s: %w", patientID, err)
	}
	return out, next, nil
}
