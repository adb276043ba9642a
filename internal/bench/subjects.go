package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// demoDomain ends the e-mail address of every person `medrec demo` makes;
// the bench only ever touches such users.
const demoDomain = "@demo.medrec.invalid"

// Subjects are the demo records a run works on.
type Subjects struct {
	HeavyPatient    string // 200 reports and 200 prescriptions
	OrdinaryPatient string // the demo's average numbers of each
	RxPatient       string // receives the POST prescription scenario's rows
	// The CLINICIANs in care of them (with an ACTIVE doctor record), by
	// user id, and their e-mail addresses for signing in.
	HeavyClinician, Clinician           string
	HeavyClinicianEmail, ClinicianEmail string
	CareLoad                            int // patients in Clinician's care team
	Today                               time.Time
}

// DataSize describes the database the run measured.
type DataSize struct {
	ServerVersion                                          string
	Patients, Reports, Prescriptions, Doctors, Users, Care int64
	HeavyReports, HeavyRx, OrdinaryReports, OrdinaryRx     int64
}

// FindSubjects picks the patients and clinicians of a run from the newest
// demo load, as the schema owner. The owner must not be subject to
// row-level security (a superuser, as the private cluster's and a
// development server's owner are): the picking reads across every patient.
func FindSubjects(ctx context.Context, owner *pgx.Conn) (*Subjects, error) {
	var s Subjects
	var reports, rx int
	err := owner.QueryRow(ctx, `
		SELECT new_values->'heavy_patient_ids'->>0, (new_values->>'reports_per_patient')::int,
		       (new_values->>'prescriptions_per_patient')::int, current_date
		FROM audit_log WHERE table_name = 'demo' AND action = 'DEMO_LOAD'
		ORDER BY changed_at DESC LIMIT 1`).Scan(&s.HeavyPatient, &reports, &rx, &s.Today)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errors.New("no demo data: run `medrec demo` first")
	}
	if err != nil {
		return nil, fmt.Errorf("find the demo load: %w", err)
	}
	if s.HeavyPatient == "" {
		return nil, errors.New("the newest demo load has no heavy patient: load with -heavy 1 or more")
	}
	// A CLINICIAN in the patient's active care team, with an ACTIVE
	// doctor record (so that they may also prescribe), a demo user.
	const clinicianOf = `
		SELECT u.id, u.email FROM care_team ct
		JOIN users u ON u.id = ct.user_id
		JOIN doctors d ON d.user_id = u.id
		WHERE ct.patient_id = $1 AND ct.since <= now() AND (ct.until IS NULL OR ct.until > now())
		  AND u.role = 'CLINICIAN' AND u.status = 'ACTIVE' AND d.status = 'ACTIVE'
		  AND lower(u.email) LIKE '%' || $2
		ORDER BY u.email LIMIT 1`
	if err := owner.QueryRow(ctx, clinicianOf, s.HeavyPatient, demoDomain).Scan(&s.HeavyClinician, &s.HeavyClinicianEmail); err != nil {
		return nil, fmt.Errorf("find a clinician of the heavy patient (is the owner subject to row-level security?): %w", err)
	}
	// An ordinary patient: exactly the load's averages, ACTIVE, in the
	// care of a clinician who may prescribe. The demo's patients are in
	// random order on disk, so the first match is as good as any.
	err = owner.QueryRow(ctx, `
		SELECT p.id FROM patients p
		WHERE p.status = 'ACTIVE' AND p.id <> $1 AND lower(p.email) LIKE '%' || $4
		  AND (SELECT count(*) FROM medical_reports r WHERE r.patient_id = p.id) = $2
		  AND (SELECT count(*) FROM prescriptions x WHERE x.patient_id = p.id) = $3
		  AND EXISTS (SELECT 1 FROM care_team ct JOIN users u ON u.id = ct.user_id JOIN doctors d ON d.user_id = u.id
		              WHERE ct.patient_id = p.id AND ct.until IS NULL AND u.status = 'ACTIVE' AND d.status = 'ACTIVE')
		LIMIT 1`, s.HeavyPatient, reports, rx, demoDomain).Scan(&s.OrdinaryPatient)
	if err != nil {
		return nil, fmt.Errorf("find an ordinary patient with %d reports and %d prescriptions: %w", reports, rx, err)
	}
	if err := owner.QueryRow(ctx, clinicianOf, s.OrdinaryPatient, demoDomain).Scan(&s.Clinician, &s.ClinicianEmail); err != nil {
		return nil, fmt.Errorf("find a clinician of the ordinary patient: %w", err)
	}
	// Another patient of the same clinician takes the new prescriptions,
	// so that a run never changes what the history scenarios read.
	err = owner.QueryRow(ctx, `
		SELECT ct.patient_id, (SELECT count(*) FROM care_team c2 WHERE c2.user_id = $1 AND (c2.until IS NULL OR c2.until > now()))
		FROM care_team ct JOIN patients p ON p.id = ct.patient_id
		WHERE ct.user_id = $1 AND ct.patient_id NOT IN ($2, $3) AND ct.until IS NULL AND p.status = 'ACTIVE'
		ORDER BY ct.patient_id LIMIT 1`, s.Clinician, s.OrdinaryPatient, s.HeavyPatient).Scan(&s.RxPatient, &s.CareLoad)
	if err != nil {
		return nil, fmt.Errorf("find a second patient of clinician %s: %w", s.ClinicianEmail, err)
	}
	return &s, nil
}

// SetPasswords lets the run sign in as its clinicians: demo users are
// loaded with a hash no password matches. It sets hash (of a password the
// run generated and keeps to itself) on demo users only and clears their
// failed sign-ins. The users audit trigger records the change, and the
// revoke_user_sessions trigger ends their earlier sessions, as for any
// password change.
func SetPasswords(ctx context.Context, owner *pgx.Conn, hash string, userIDs ...string) error {
	tag, err := owner.Exec(ctx, `
		UPDATE users SET password_hash = $1, failed_login_count = 0
		WHERE id = ANY($2::uuid[]) AND lower(email) LIKE '%' || $3`, hash, userIDs, demoDomain)
	if err != nil {
		return fmt.Errorf("set the bench clinicians' password: %w", err)
	}
	if want := len(unique(userIDs)); int(tag.RowsAffected()) != want {
		return fmt.Errorf("set the bench clinicians' password: %d of %d demo users updated", tag.RowsAffected(), want)
	}
	return nil
}

func unique(ss []string) map[string]bool {
	m := map[string]bool{}
	for _, s := range ss {
		m[s] = true
	}
	return m
}

// Size counts what the database holds, for the report.
func Size(ctx context.Context, owner *pgx.Conn, s *Subjects) (*DataSize, error) {
	var d DataSize
	err := owner.QueryRow(ctx, `
		SELECT current_setting('server_version'),
		       (SELECT count(*) FROM patients), (SELECT count(*) FROM medical_reports),
		       (SELECT count(*) FROM prescriptions), (SELECT count(*) FROM doctors),
		       (SELECT count(*) FROM users), (SELECT count(*) FROM care_team),
		       (SELECT count(*) FROM medical_reports WHERE patient_id = $1),
		       (SELECT count(*) FROM prescriptions WHERE patient_id = $1),
		       (SELECT count(*) FROM medical_reports WHERE patient_id = $2),
		       (SELECT count(*) FROM prescriptions WHERE patient_id = $2)`,
		s.HeavyPatient, s.OrdinaryPatient).Scan(&d.ServerVersion, &d.Patients, &d.Reports, &d.Prescriptions,
		&d.Doctors, &d.Users, &d.Care, &d.HeavyReports, &d.HeavyRx, &d.OrdinaryReports, &d.OrdinaryRx)
	if err != nil {
		return nil, fmt.Errorf("count the data: %w", err)
	}
	return &d, nil
}
