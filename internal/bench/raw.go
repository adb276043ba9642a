package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"medrec"
)

// Identity is a signed-in user as the raw-SQL baseline presents it: the
// same session the API's requests carry.
type Identity struct {
	UserID, Role, SessionID string
	// The session rules the server was started with.
	IdleTimeout, MaxSessionAge time.Duration
}

// Raw is the baseline: each operation is the database work of one API
// request, written by hand as plain statements, one round trip each, on the
// service's own pool: the session check (by the database clock), BEGIN,
// set_config of the identity, the read or write, the READ audit row (the
// trigger's row for a write), COMMIT. What it leaves out is everything the
// API adds around that: HTTP, routing, JSON in and out, the domain types.
//
// The SQL is the service's (internal/postgres/queries/*.sql), copied here
// because sqlc's code is private to that package.
type Raw struct {
	Pool *pgxpool.Pool
}

// The session check of internal/postgres Authenticate (SessionForRequest).
const sqlSession = `
SELECT u.role, u.status, s.mfa_pending,
       (s.revoked_at IS NULL
        AND s.last_seen_at > now() - make_interval(secs => $1::float8)
        AND s.created_at > now() - make_interval(secs => $2::float8))::boolean AS live,
       (s.last_seen_at < now() - interval '30 seconds')::boolean AS stale,
       coalesce(d.id::text, '')::text AS doctor_id
FROM sessions s
JOIN users u ON u.id = s.user_id
LEFT JOIN doctors d ON d.user_id = u.id
WHERE s.id = $3 AND s.user_id = $4`

const sqlIdentity = `SELECT set_config('app.user_id', $1, true), set_config('app.role', $2, true)`

// The READ audit row (internal/postgres recordReads), with the caller's
// emergency grant, if any, looked up as the service does for every read.
const sqlAuditRead = `
INSERT INTO audit_log (table_name, record_id, action, user_id, patient_id, emergency_access_id, new_values)
SELECT $1, r.record_id, 'READ', NULLIF(current_setting('app.user_id', true), '')::uuid, r.patient_id,
    (SELECT ea.id FROM emergency_access ea
     WHERE medrec_role() IN ('CLINICIAN', 'NURSE')
       AND ea.requested_by_user_id = medrec_user_id()
       AND ea.patient_id = r.patient_id
       AND ea.status = 'APPROVED'
       AND ea.expires_at > medrec_now()
     ORDER BY ea.expires_at DESC, ea.id
     LIMIT 1),
    $4
FROM unnest($2::uuid[], $3::uuid[]) AS r(record_id, patient_id)`

const sqlPatientGet = `
SELECT id, first_name, last_name, dob, gender, email, phone, status, created_at, updated_at
FROM patients WHERE id = $1`

// The service's history query (internal/postgres history.go): one
// function call that checks the caller's access to this one patient and
// reads the three tables.
const sqlHistory = `
SELECT id, first_name, last_name, dob, gender, email, phone, status, created_at, updated_at,
       reports, prescriptions
FROM medrec_patient_history($1)`

// SpecHistory is the spec's "Get Patient's Complete Medical History"
// sample query (shared/spec/medical-system-schema.md, "Sample Queries"),
// verbatim but for the patient id, which is a parameter.
const SpecHistory = `
SELECT 
    p.id,
    p.first_name || ' ' || p.last_name AS patient_name,
    p.dob,
    json_agg(DISTINCT jsonb_build_object(
        'report_id', mr.id,
        'title', mr.title,
        'type', mr.report_type,
        'date', mr.report_date,
        'doctor', d1.first_name || ' ' || d1.last_name
    )) AS reports,
    json_agg(DISTINCT jsonb_build_object(
        'prescription_id', pr.id,
        'drug', pr.drug_name,
        'dosage', pr.dosage,
        'doctor', d2.first_name || ' ' || d2.last_name
    )) AS prescriptions
FROM patients p
LEFT JOIN medical_reports mr ON p.id = mr.patient_id
LEFT JOIN doctors d1 ON mr.doctor_id = d1.id
LEFT JOIN prescriptions pr ON p.id = pr.patient_id
LEFT JOIN doctors d2 ON pr.doctor_id = d2.id
WHERE p.id = $1
GROUP BY p.id`

// PrescriptionExpiring (queries/prescriptions.sql).
const sqlExpiring = `
SELECT pr.id, pr.patient_id,
    (p.first_name || ' ' || p.last_name)::text AS patient_name,
    pr.drug_name, pr.end_date::date AS end_date,
    (d.first_name || ' ' || d.last_name)::text AS prescribing_doctor
FROM prescriptions pr
JOIN patients p ON pr.patient_id = p.id
JOIN doctors d ON pr.doctor_id = d.id
WHERE pr.status = 'ACTIVE'
  AND pr.patient_id IN (SELECT medrec_patients_in_care())
  AND pr.end_date BETWEEN current_date AND current_date + $1::integer
  AND (pr.end_date, pr.id) > (coalesce($2::date, '-infinity'::date),
                              coalesce($3::uuid, '00000000-0000-0000-0000-000000000000'::uuid))
ORDER BY pr.end_date, pr.id
LIMIT $4 `

const (
	sqlPatientVisible    = `SELECT EXISTS (SELECT 1 FROM patients WHERE id = $1)::boolean`
	sqlPrescriberDoctor  = `SELECT d.id, d.status FROM doctors d WHERE d.user_id = $1`
	sqlPrescriptionWrite = `
INSERT INTO prescriptions (patient_id, doctor_id, drug_name, dosage, frequency, route, start_date, end_date)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING id, patient_id, doctor_id, drug_name, dosage, frequency, route, start_date, end_date,
    (CASE WHEN status = 'ACTIVE' AND end_date < current_date THEN 'COMPLETED' ELSE status END)::text AS status,
    created_at, updated_at`
)

// auditDetails is the new_values of a READ row, as the service writes it.
func auditDetails(what string) []byte {
	b, _ := json.Marshal(map[string]string{"what": what, "request_id": "bench", "route": "bench"})
	return b
}

// inTx does what every authenticated API request does around its work.
func (r *Raw) inTx(ctx context.Context, id Identity, fn func(tx pgx.Tx) error) error {
	var (
		role, status, doctorID string
		mfa, live, stale       bool
	)
	err := r.Pool.QueryRow(ctx, sqlSession, id.IdleTimeout.Seconds(), id.MaxSessionAge.Seconds(),
		id.SessionID, id.UserID).Scan(&role, &status, &mfa, &live, &stale, &doctorID)
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	if !live || status != "ACTIVE" || role != id.Role {
		return errors.New("session: not live")
	}
	tx, err := r.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, sqlIdentity, id.UserID, id.Role); err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

type patientRow struct {
	id, first, last, gender, status string
	dob, created, updated           time.Time
	email, phone                    *string
}

func (p *patientRow) dest() []any {
	return []any{&p.id, &p.first, &p.last, &p.dob, &p.gender, &p.email, &p.phone, &p.status, &p.created, &p.updated}
}

// GetPatient is GET /patients/{id}: the row and one READ row.
func (r *Raw) GetPatient(id Identity, patientID string) Op {
	details := auditDetails("demographics")
	return func(ctx context.Context) error {
		return r.inTx(ctx, id, func(tx pgx.Tx) error {
			var p patientRow
			if err := tx.QueryRow(ctx, sqlPatientGet, patientID).Scan(p.dest()...); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, sqlAuditRead, "patients", []string{p.id}, []string{p.id}, details)
			return err
		})
	}
}

// History is GET /patients/{id}/history: the service's query and one
// READ row.
func (r *Raw) History(id Identity, patientID string) Op {
	return r.history(id, patientID, func(ctx context.Context, tx pgx.Tx) error {
		var p patientRow
		var reports, rx []byte
		return tx.QueryRow(ctx, sqlHistory, patientID).Scan(append(p.dest(), &reports, &rx)...)
	})
}

// SpecHistory is the same, with the spec's sample query as the read.
func (r *Raw) SpecHistory(id Identity, patientID string) Op {
	return r.history(id, patientID, func(ctx context.Context, tx pgx.Tx) error {
		var (
			pid, name  string
			dob        time.Time
			reports, x []byte
		)
		return tx.QueryRow(ctx, SpecHistory, patientID).Scan(&pid, &name, &dob, &reports, &x)
	})
}

func (r *Raw) history(id Identity, patientID string, read func(context.Context, pgx.Tx) error) Op {
	details := auditDetails("history")
	return func(ctx context.Context) error {
		return r.inTx(ctx, id, func(tx pgx.Tx) error {
			if err := read(ctx, tx); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, sqlAuditRead, "patients", []string{patientID}, []string{patientID}, details)
			return err
		})
	}
}

// Expiring is GET /prescriptions/expiring?days=N: the first page (the
// default page size, plus one row to know whether there is a next page)
// and one READ row per patient on it.
func (r *Raw) Expiring(id Identity, days int) Op {
	details := auditDetails("expiring")
	return func(ctx context.Context) error {
		return r.inTx(ctx, id, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, sqlExpiring, days, nil, nil, medrec.DefaultPageSize+1)
			if err != nil {
				return err
			}
			var (
				rid, pid, pname, drug, doctor string
				end                           time.Time
				patients                      []string
				n                             int
			)
			seen := map[string]bool{}
			_, err = pgx.ForEachRow(rows, []any{&rid, &pid, &pname, &drug, &end, &doctor}, func() error {
				if n++; n <= medrec.DefaultPageSize && !seen[pid] {
					seen[pid] = true
					patients = append(patients, pid)
				}
				return nil
			})
			if err != nil || len(patients) == 0 {
				return err
			}
			_, err = tx.Exec(ctx, sqlAuditRead, "prescriptions", patients, patients, details)
			return err
		})
	}
}

// CreatePrescription is POST /patients/{id}/prescriptions: the visibility
// check, the prescriber's doctor record, the INSERT (whose audit trigger
// writes the audit row).
func (r *Raw) CreatePrescription(id Identity, patientID string, np NewPrescription) Op {
	return func(ctx context.Context) error {
		return r.inTx(ctx, id, func(tx pgx.Tx) error {
			var ok bool
			if err := tx.QueryRow(ctx, sqlPatientVisible, patientID).Scan(&ok); err != nil {
				return err
			}
			if !ok {
				return errors.New("patient not visible")
			}
			var doctorID, status string
			if err := tx.QueryRow(ctx, sqlPrescriberDoctor, id.UserID).Scan(&doctorID, &status); err != nil {
				return err
			}
			if status != "ACTIVE" {
				return errors.New("doctor not ACTIVE")
			}
			var (
				rid, pid, did, drug, dosage, freq, st string
				route                                 *string
				start                                 time.Time
				end                                   *time.Time
				created, updated                      time.Time
			)
			return tx.QueryRow(ctx, sqlPrescriptionWrite, patientID, doctorID, np.DrugName, np.Dosage, np.Frequency,
				np.Route, np.StartDate, np.EndDate).Scan(&rid, &pid, &did, &drug, &dosage, &freq, &route, &start, &end, &st, &created, &updated)
		})
	}
}

// NewPrescription is what the POST scenario prescribes, the same through
// HTTP and SQL.
type NewPrescription struct {
	DrugName, Dosage, Frequency string
	Route                       *string
	StartDate, EndDate          time.Time
}
