package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"medrec"
	"medrec/internal/postgres/internal/dbsqlc"
)

// PatientService implements medrec.PatientService. Every method runs in
// one transaction that carries the caller's identity, so row-level security
// (00008) decides which patients exist for the caller; this code only
// turns "no row" into ENOTFOUND and adds the audit rows.
//
// Audit of reads: every patient whose demographics a call returns gets its
// own READ row (table patients, record and patient the patient, what
// "demographics", "list" or "lookup"), for every role, written in the same
// transaction as the read. One row per patient rather than one per list,
// so that a patient's access log finds every read of them with the
// (patient_id, changed_at) index.
type PatientService struct{ db *DB }

var _ medrec.PatientService = (*PatientService)(nil)

// NewPatientService returns a PatientService on db.
func NewPatientService(db *DB) *PatientService { return &PatientService{db: db} }

// patientError translates err and names the field behind a duplicate
// email; a refusal by a policy or a SECURITY DEFINER function's own check
// (insufficient_privilege) is EFORBIDDEN, never a 500.
func patientError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42501" {
		return &medrec.Error{Code: medrec.EFORBIDDEN, Message: "not allowed", Err: err}
	}
	err = translate(err)
	if medrec.ErrorCode(err) == medrec.ECONFLICT && strings.Contains(err.Error(), "email") {
		return &medrec.Error{Code: medrec.ECONFLICT, Message: "a patient with this email already exists",
			Fields: []medrec.FieldError{{Field: "email", Message: "is already in use"}}, Err: err}
	}
	return err
}

func patientFromRow(r dbsqlc.Patient) *medrec.Patient {
	return &medrec.Patient{
		ID: r.ID, FirstName: r.FirstName, LastName: r.LastName, DOB: medrec.Date{Time: r.Dob},
		Gender: r.Gender, Email: r.Email, Phone: r.Phone, Status: r.Status,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

func callerRole(ctx context.Context) medrec.Role {
	if c := medrec.CallerFromContext(ctx); c != nil {
		return c.Role
	}
	return ""
}

// CreatePatient registers a patient. Row-level security lets only ADMIN and
// RECEPTIONIST insert; a CLINICIAN (who may edit demographics in care) is
// refused here with EFORBIDDEN rather than by the policy's error.
func (s *PatientService) CreatePatient(ctx context.Context, p medrec.NewPatient) (*medrec.Patient, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if r := callerRole(ctx); r != medrec.RoleAdmin && r != medrec.RoleReceptionist {
		return nil, medrec.Errorf(medrec.EFORBIDDEN, "only the front desk and administrators register patients")
	}
	status := p.Status
	if status == "" {
		status = medrec.PatientActive
	}
	var patient *medrec.Patient
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		row, err := dbsqlc.New(tx).PatientCreate(ctx, dbsqlc.PatientCreateParams{
			FirstName: p.FirstName, LastName: p.LastName, Dob: p.DOB.Time, Gender: p.Gender,
			Email: p.Email, Phone: p.Phone, Status: status,
		})
		if err != nil {
			return patientError(err)
		}
		patient = patientFromRow(row)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create patient: %w", err)
	}
	return patient, nil
}

// FindPatientByID returns one patient the caller may see, and audits the read.
func (s *PatientService) FindPatientByID(ctx context.Context, id string) (*medrec.Patient, error) {
	if !medrec.IsUUID(id) {
		return nil, errPatientNotFound
	}
	var patient *medrec.Patient
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		row, err := dbsqlc.New(tx).PatientGet(ctx, id)
		if err != nil {
			if medrec.ErrorCode(translate(err)) == medrec.ENOTFOUND {
				return errPatientNotFound
			}
			return translate(err)
		}
		if err := recordRead(ctx, tx, ReadAccess{Table: "patients", RecordID: row.ID, PatientID: row.ID, What: "demographics"}); err != nil {
			return err
		}
		patient = patientFromRow(row)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find patient: %w", err)
	}
	return patient, nil
}

// FindPatients lists the patients the caller may see, newest first, and
// audits one READ row per patient returned.
func (s *PatientService) FindPatients(ctx context.Context, f medrec.PatientFilter) ([]*medrec.Patient, string, error) {
	f.Q = strings.Join(strings.Fields(f.Q), " ")
	if err := f.Validate(); err != nil {
		return nil, "", err
	}
	afterCreated, afterID, err := decodeCursor(f.Cursor)
	if err != nil {
		return nil, "", err
	}
	params := dbsqlc.PatientListParams{AfterCreated: afterCreated, AfterID: afterID, MaxRows: int32(f.Limit + 1)}
	if f.DOB != nil {
		params.Dob = &f.DOB.Time
	}
	if f.Email != "" {
		params.Email = &f.Email
	}
	if f.Status != "" {
		params.Status = &f.Status
	}
	var (
		patients []*medrec.Patient
		next     string
	)
	err = s.db.inTx(ctx, func(tx pgx.Tx) error {
		q := dbsqlc.New(tx)
		var rows []dbsqlc.Patient
		var err error
		if f.Q != "" {
			rows, err = q.PatientSearch(ctx, dbsqlc.PatientSearchParams{
				Q: f.Q, Dob: params.Dob, Email: params.Email, Status: params.Status,
				AfterCreated: params.AfterCreated, AfterID: params.AfterID, MaxRows: params.MaxRows,
			})
		} else {
			rows, err = q.PatientList(ctx, params)
		}
		if err != nil {
			return translate(err)
		}
		if len(rows) > f.Limit {
			rows = rows[:f.Limit]
			last := rows[len(rows)-1]
			next = encodeCursor(last.CreatedAt, last.ID)
		}
		ids := make([]string, 0, len(rows))
		patients = make([]*medrec.Patient, 0, len(rows))
		for _, r := range rows {
			ids = append(ids, r.ID)
			patients = append(patients, patientFromRow(r))
		}
		return recordReads(ctx, tx, "patients", "list", ids, ids)
	})
	if err != nil {
		return nil, "", fmt.Errorf("list patients: %w", err)
	}
	return patients, next, nil
}

// UpdatePatient changes demographics, conditionally on ifMatch. When
// nothing was updated it tells a missing or invisible patient (ENOTFOUND)
// from a changed one (EPRECONDITION) by looking again under the same
// row-level security, so a conditional update never reveals a patient the
// caller may not see.
func (s *PatientService) UpdatePatient(ctx context.Context, id string, upd medrec.PatientUpdate, ifMatch *time.Time) (*medrec.Patient, error) {
	if err := upd.Validate(); err != nil {
		return nil, err
	}
	if !medrec.IsUUID(id) {
		return nil, errPatientNotFound
	}
	params := dbsqlc.PatientUpdateParams{
		ID: id, FirstName: upd.FirstName, LastName: upd.LastName, Gender: upd.Gender, Status: upd.Status,
		SetEmail: upd.Email.Set, Email: upd.Email.Value, SetPhone: upd.Phone.Set, Phone: upd.Phone.Value,
		IfMatch: ifMatch,
	}
	if upd.DOB != nil {
		params.Dob = &upd.DOB.Time
	}
	var patient *medrec.Patient
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		q := dbsqlc.New(tx)
		row, err := q.PatientUpdate(ctx, params)
		if err == nil {
			patient = patientFromRow(row)
			return nil
		}
		if err = patientError(err); medrec.ErrorCode(err) != medrec.ENOTFOUND {
			return err
		}
		if _, verr := q.PatientVersion(ctx, id); verr != nil {
			if medrec.ErrorCode(translate(verr)) == medrec.ENOTFOUND {
				return errPatientNotFound
			}
			return translate(verr)
		}
		if ifMatch != nil {
			return medrec.Errorf(medrec.EPRECONDITION, "the patient changed since the version in If-Match")
		}
		// Visible but not updatable: a role the policies let read but not write.
		return medrec.Errorf(medrec.EFORBIDDEN, "you may not change this patient")
	})
	if err != nil {
		return nil, fmt.Errorf("update patient: %w", err)
	}
	return patient, nil
}

// LookupPatients finds patients by exact identity through
// medrec_lookup_patients (00010), which returns identity fields only and
// checks the caller itself, and audits one READ row per match.
func (s *PatientService) LookupPatients(ctx context.Context, firstName, lastName string, dob medrec.Date) ([]*medrec.PatientIdentity, error) {
	var fields []medrec.FieldError
	for _, fe := range []*medrec.FieldError{
		validateLookupName("first_name", firstName), validateLookupName("last_name", lastName),
	} {
		if fe != nil {
			fields = append(fields, *fe)
		}
	}
	if dob.IsZero() {
		fields = append(fields, medrec.FieldError{Field: "dob", Message: "is required"})
	}
	if len(fields) > 0 {
		return nil, medrec.Invalid(fields...)
	}
	if c := medrec.CallerFromContext(ctx); c == nil || !c.Can(medrec.PermPatientsLookup) {
		return nil, medrec.Errorf(medrec.EFORBIDDEN, "you may not look patients up")
	}
	var matches []*medrec.PatientIdentity
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx,
			`SELECT id, first_name, last_name, dob FROM medrec_lookup_patients($1, $2, $3::date)`,
			firstName, lastName, dob.Time)
		if err != nil {
			return patientError(err)
		}
		defer rows.Close()
		var ids []string
		for rows.Next() {
			var m medrec.PatientIdentity
			if err := rows.Scan(&m.ID, &m.FirstName, &m.LastName, &m.DOB.Time); err != nil {
				return patientError(err)
			}
			ids = append(ids, m.ID)
			matches = append(matches, &m)
		}
		if err := rows.Err(); err != nil {
			return patientError(err)
		}
		return recordReads(ctx, tx, "patients", "lookup", ids, ids)
	})
	if err != nil {
		return nil, fmt.Errorf("look patients up: %w", err)
	}
	if matches == nil {
		matches = []*medrec.PatientIdentity{}
	}
	return matches, nil
}

func validateLookupName(field, s string) *medrec.FieldError {
	switch {
	case strings.TrimSpace(s) == "":
		return &medrec.FieldError{Field: field, Message: "is required"}
	case len([]rune(s)) > 100:
		return &medrec.FieldError{Field: field, Message: "must be at most 100 characters"}
	}
	return nil
}

// ErasePatient deletes a patient for good (ADMIN, with a reason). In one
// transaction it locks the patient row (so no report or prescription can
// be added meanwhile: their foreign key check needs a lock that conflicts),
// reads the storage URLs of the patient's report files through
// medrec_report_storage_urls (00010), deletes the patient (the foreign keys
// cascade to medical_reports, prescriptions, emergency_access and
// care_team, and the audit trigger records each DELETE), and adds one
// ERASE audit row holding the reason and who erased, without clinical
// content; then it redacts the payload of every earlier audit row about the
// patient (medrec_audit_redact_patient, 00017). The caller deletes the files
// once this has committed.
func (s *PatientService) ErasePatient(ctx context.Context, id, reason string) ([]string, error) {
	if c := medrec.CallerFromContext(ctx); c == nil || !c.Can(medrec.PermPatientsErase) {
		return nil, medrec.Errorf(medrec.EFORBIDDEN, "only an administrator erases patients")
	}
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return nil, medrec.Invalid(medrec.FieldError{Field: "reason", Message: "is required"})
	case len([]rune(reason)) > medrec.MaxEraseReasonLen:
		return nil, medrec.Invalid(medrec.FieldError{Field: "reason", Message: "must be at most 1000 characters"})
	}
	if !medrec.IsUUID(id) {
		return nil, errPatientNotFound
	}
	urls := []string{}
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		q := dbsqlc.New(tx)
		if _, err := q.PatientLockForErase(ctx, id); err != nil {
			if medrec.ErrorCode(translate(err)) == medrec.ENOTFOUND {
				return errPatientNotFound
			}
			return patientError(err)
		}
		rows, err := tx.Query(ctx, `SELECT url FROM medrec_report_storage_urls($1) AS url`, id)
		if err != nil {
			return patientError(err)
		}
		for rows.Next() {
			var u string
			if err := rows.Scan(&u); err != nil {
				rows.Close()
				return patientError(err)
			}
			urls = append(urls, u)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return patientError(err)
		}
		n, err := q.PatientDelete(ctx, id)
		if err != nil {
			return patientError(err)
		}
		if n != 1 {
			return errPatientNotFound
		}
		details, err := json.Marshal(map[string]string{"reason": reason, "request_id": medrec.RequestIDFromContext(ctx)})
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO audit_log (table_name, record_id, action, user_id, patient_id, new_values)
			VALUES ('patients', $1, 'ERASE', NULLIF(current_setting('app.user_id', true), '')::uuid, $1, $2)`,
			id, details); err != nil {
			return fmt.Errorf("audit erasure: %w", translate(err))
		}
		// Issue 4: the earlier audit rows about the patient (and the
		// cascade's DELETE rows just written) lose their clinical payload;
		// the hash chain covers only its digest, so it still verifies.
		if _, err := tx.Exec(ctx, `SELECT medrec_audit_redact_patient($1)`, id); err != nil {
			return fmt.Errorf("audit erasure: redact: %w", translate(err))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("erase patient: %w", err)
	}
	return urls, nil
}
