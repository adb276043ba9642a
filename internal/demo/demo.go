// Package demo loads a realistic synthetic data set into a medrec database:
// the engine of `medrec demo`. Names, dates, specialties, report types,
// drugs and dosages are plausible but invented, and every person's e-mail
// address ends in @demo.medrec.invalid, which is how demo data is told from
// real data. It is built for size: a million patients with five million
// reports and five million prescriptions go in through COPY in one
// transaction, with the secondary indexes of the big tables rebuilt and
// their foreign keys validated once at the end instead of row by row.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options size and shape a demo load. Zero values take the defaults given
// per field.
type Options struct {
	// Patients is how many patients to create, e.g. 1_000_000.
	Patients int
	// Doctors defaults to max(10, Patients/500): a few hundred patients in
	// the care of each clinician, as in a real practice.
	Doctors int
	// ReportsPerPatient is the average number of medical reports per
	// ordinary patient (each has 0..2×average, uniformly); 0 means 5, a
	// negative value none.
	ReportsPerPatient int
	// PrescriptionsPerPatient is the average number of prescriptions per
	// ordinary patient, like ReportsPerPatient; 0 means 5, negative none.
	PrescriptionsPerPatient int
	// HeavyPatients is how many patients get exactly 200 reports and 200
	// prescriptions, the worst case a patient-record benchmark reads; 0
	// means 1, negative none. At most Patients.
	HeavyPatients int
	// Seed makes the output deterministic: the same seed, options, Today
	// and load number (Result.Load; 1 in a database without demo loads)
	// give the same rows.
	Seed int64
	// Force loads even when the database already holds patients that are
	// not demo data. Without it such a database is refused (ErrRealPatients).
	Force bool
	// Today is the date the data set is relative to (records are never
	// dated after it; some prescriptions end in the week after it). Zero
	// means the database's current_date. Set it for output that does not
	// change from one day to the next.
	Today time.Time
	// Logger receives progress lines (counts and rates only, never a
	// generated value). Nil discards them.
	Logger *slog.Logger
}

// Result says what a load created.
type Result struct {
	// Rows added per table (Users: one CLINICIAN per doctor and a few
	// NURSEs; CareTeam: care_team rows, one or two per patient).
	Patients, Doctors, Users, Reports, Prescriptions, CareTeam int64
	// HeavyPatientIDs are the patients with exactly 200 reports and 200
	// prescriptions.
	HeavyPatientIDs []string
	// OrdinaryPatientID is a patient with exactly the average number of
	// reports and prescriptions ("" when every patient is heavy), the
	// benchmark's ordinary case.
	OrdinaryPatientID string
	// Load numbers the demo loads into this database, from 1. Later loads
	// use it to keep their e-mail addresses and ids apart from earlier ones.
	Load int
	// AuditID is the record_id of the single DEMO_LOAD audit_log row.
	AuditID string
	// Duration is the whole load, from connecting to the final VACUUM (ANALYZE).
	Duration time.Duration
}

// ErrRealPatients is returned, wrapped, when the database holds patients
// that are not demo data and Options.Force is not set.
var ErrRealPatients = errors.New("the database holds patients that are not demo data; use --force to load demo data next to them")

// The tables a load writes, in foreign-key order. The spec's tables keep
// their names; care_team comes from migration 00007.
var (
	loadTables = []string{"users", "doctors", "patients", "care_team", "medical_reports", "prescriptions"}
	// bigTables have their plain (non-unique, non-constraint) indexes and
	// their foreign keys dropped for the COPY and restored after it (see
	// dropIndexes): building an index once over sorted input, or checking
	// a foreign key with one join, is several times cheaper than doing it
	// ten million times one row at a time. doctors and users stay small.
	bigTables = []string{"patients", "care_team", "medical_reports", "prescriptions"}
	// rlsTables also include audit_log, which receives the DEMO_LOAD row.
	rlsTables = []string{"users", "doctors", "patients", "care_team", "medical_reports", "prescriptions", "audit_log"}
)

func (o Options) withDefaults() (Options, error) {
	if o.Patients < 0 || o.Doctors < 0 {
		return o, errors.New("demo: patients and doctors must not be negative")
	}
	if o.Doctors == 0 {
		o.Doctors = max(10, o.Patients/500)
	}
	o.ReportsPerPatient = orDefault(o.ReportsPerPatient, 5)
	o.PrescriptionsPerPatient = orDefault(o.PrescriptionsPerPatient, 5)
	o.HeavyPatients = min(orDefault(o.HeavyPatients, 1), o.Patients)
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o, nil
}

func orDefault(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// Load connects to ownerURL as the schema owner (the role that ran the
// migrations) and adds a synthetic data set in a single transaction: either
// all of it is there afterwards or none of it, and so are the triggers,
// indexes and row-level security it switches around, which are DDL and
// roll back with it.
//
// The load takes ACCESS EXCLUSIVE locks on the big tables (to drop and
// rebuild their indexes) for its whole length, so the service waits while
// it runs; waiting more than 10 s for those locks fails the load instead.
func Load(ctx context.Context, ownerURL string, o Options) (*Result, error) {
	started := time.Now()
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(ownerURL)
	if err != nil {
		return nil, fmt.Errorf("demo: database URL: %w", err)
	}
	if cfg.RuntimeParams["application_name"] == "" {
		// So that a DBA looking at pg_stat_activity or a lock queue sees
		// what holds the tables.
		cfg.RuntimeParams["application_name"] = "medrec demo"
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("demo: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("demo: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	l := &loader{tx: tx, o: o, log: o.Logger}
	res, err := l.run(ctx)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("demo: commit: %w", err)
	}
	// VACUUM (ANALYZE) after the commit: the planner needs statistics
	// before the first query on a table that just grew from nothing to
	// millions of rows, and the visibility map lets the in-care set's arms
	// be index-only scans (migration 00020) from the first request instead
	// of after autovacuum comes round. Outside the load it holds no locks
	// any longer (and VACUUM cannot run in a transaction anyway).
	t := time.Now()
	for _, table := range loadTables {
		if _, err := conn.Exec(ctx, "VACUUM (ANALYZE) "+pgx.Identifier{table}.Sanitize()); err != nil {
			// The data is committed; autovacuum will analyze it later.
			o.Logger.WarnContext(ctx, "demo: vacuum failed; the data is loaded", "table", table, "error", err)
		}
	}
	o.Logger.InfoContext(ctx, "demo: vacuumed and analyzed", "seconds", time.Since(t).Seconds())
	res.Duration = time.Since(started)
	total := res.Patients + res.Doctors + res.Users + res.Reports + res.Prescriptions + res.CareTeam
	o.Logger.InfoContext(ctx, "demo: loaded", "rows", total, "seconds", res.Duration.Seconds(),
		"rows_per_second", rate(total, res.Duration), "load", res.Load)
	return res, nil
}

type loader struct {
	tx  pgx.Tx
	o   Options
	log *slog.Logger
}

// trigger is a user trigger that was enabled before the load, with its mode
// (tgenabled: O origin, A always, R replica), so it comes back exactly so.
type trigger struct{ table, name, mode string }

// index is a plain index or a foreign key dropped for the COPY, with the
// statement that recreates it from its catalog definition (pg_get_indexdef,
// pg_get_constraintdef): the same name, columns, method, predicate, storage
// options, actions and deferrability. comment restores a COMMENT ON it.
type index struct{ table, drop, create, comment string }

func (l *loader) exec(ctx context.Context, sql string, args ...any) error {
	if _, err := l.tx.Exec(ctx, sql, args...); err != nil {
		return fmt.Errorf("demo: %s: %w", firstLine(sql), err)
	}
	return nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func (l *loader) run(ctx context.Context) (*Result, error) {
	// Bulk-load settings, local to this transaction.
	for _, s := range []string{
		"SET LOCAL lock_timeout = '10s'",           // fail rather than queue behind the service for long
		"SET LOCAL statement_timeout = 0",          // a COPY of millions of rows is meant to take minutes
		"SET LOCAL maintenance_work_mem = '256MB'", // index rebuilds sort in memory
	} {
		if err := l.exec(ctx, s); err != nil {
			return nil, err
		}
	}
	if err := l.exec(ctx, `LOCK TABLE patients, care_team, medical_reports, prescriptions IN ACCESS EXCLUSIVE MODE`); err != nil {
		return nil, err
	}
	if err := l.exec(ctx, `LOCK TABLE users, doctors IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return nil, err
	}
	forced, err := l.liftForcedRLS(ctx)
	if err != nil {
		return nil, err
	}
	// From here a query that row-level security would filter fails instead:
	// neither the check for real patients nor a COPY can be quietly cut short.
	if err := l.exec(ctx, "SET LOCAL row_security = off"); err != nil {
		return nil, err
	}
	if err := l.refuseRealPatients(ctx); err != nil {
		return nil, err
	}
	g, load, err := l.newGenerator(ctx)
	if err != nil {
		return nil, err
	}
	triggers, err := l.disableTriggers(ctx)
	if err != nil {
		return nil, err
	}
	indexes, err := l.dropIndexes(ctx)
	if err != nil {
		return nil, err
	}

	res := &Result{Load: load}
	copies := []struct {
		table string
		cols  []string
		rows  func([]any) bool
		n     *int64
	}{
		{"users", userColumns, g.userRows(), &res.Users},
		{"doctors", doctorColumns, g.doctorRows(), &res.Doctors},
		{"patients", patientColumns, g.patientRows(), &res.Patients},
		{"care_team", careTeamColumns, g.careTeamRows(), &res.CareTeam},
		{"medical_reports", reportColumns, g.reportRows(), &res.Reports},
		{"prescriptions", prescriptionColumns, g.prescriptionRows(), &res.Prescriptions},
	}
	for _, c := range copies {
		t := time.Now()
		src := newRowSource(ctx, l.log, c.table, len(c.cols), c.rows)
		n, err := l.tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, src)
		if err != nil {
			return nil, fmt.Errorf("demo: copy %s: %w", c.table, err)
		}
		*c.n = n
		l.log.InfoContext(ctx, "demo: copied", "table", c.table, "rows", n,
			"seconds", time.Since(t).Seconds(), "rows_per_second", rate(n, time.Since(t)))
	}

	t := time.Now()
	for _, ix := range indexes {
		t := time.Now()
		if err := l.exec(ctx, ix.create); err != nil {
			return nil, err
		}
		l.log.DebugContext(ctx, "demo: restored", "statement", firstLine(ix.create), "seconds", time.Since(t).Seconds())
		if ix.comment != "" {
			if err := l.exec(ctx, ix.comment); err != nil {
				return nil, err
			}
		}
	}
	l.log.InfoContext(ctx, "demo: indexes and foreign keys restored", "count", len(indexes), "seconds", time.Since(t).Seconds())
	for _, tr := range triggers {
		how := map[string]string{"O": "ENABLE", "A": "ENABLE ALWAYS", "R": "ENABLE REPLICA"}[tr.mode]
		if err := l.exec(ctx, "ALTER TABLE "+tr.table+" "+how+" TRIGGER "+pgx.Identifier{tr.name}.Sanitize()); err != nil {
			return nil, err
		}
	}
	for i := 0; i < g.heavy; i++ {
		res.HeavyPatientIDs = append(res.HeavyPatientIDs, uuidString(g.patientAt(newRNG(), i).id))
	}
	if g.heavy < g.patients {
		res.OrdinaryPatientID = uuidString(g.patientAt(newRNG(), g.heavy).id)
	}
	if err := l.audit(ctx, res, g); err != nil {
		return nil, err
	}
	// Last, once nothing more is written under row_security = off.
	for _, table := range forced {
		if err := l.exec(ctx, "ALTER TABLE "+table+" FORCE ROW LEVEL SECURITY"); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// liftForcedRLS lets COPY through row-level security. PostgreSQL refuses
// COPY FROM into a table whose RLS applies to the current role ("COPY FROM
// not supported with row-level security"), and every patient-data table
// FORCEs RLS even on its owner. A superuser (the usual development owner)
// bypasses RLS anyway; a non-superuser owner gets NO FORCE for the length of
// this transaction, which makes it bypass RLS as an owner does, and FORCE
// back before commit. It is DDL, so an aborted load restores it too, and
// the ACCESS EXCLUSIVE lock it takes keeps anyone from seeing the gap.
// It returns the tables to FORCE again.
func (l *loader) liftForcedRLS(ctx context.Context) ([]string, error) {
	rows, err := l.tx.Query(ctx, `
		SELECT format('%I.%I', n.nspname, c.relname), c.relforcerowsecurity, row_security_active(c.oid),
		       pg_has_role(c.relowner, 'USAGE')
		FROM unnest($1::text[]) AS t(name)
		JOIN pg_class c ON c.oid = t.name::regclass
		JOIN pg_namespace n ON n.oid = c.relnamespace`, rlsTables)
	if err != nil {
		return nil, fmt.Errorf("demo: read row-level security: %w", err)
	}
	type rel struct {
		name                 string
		forced, active, owns bool
	}
	rels, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (r rel, err error) {
		err = row.Scan(&r.name, &r.forced, &r.active, &r.owns)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("demo: read row-level security: %w", err)
	}
	var lifted []string
	for _, r := range rels {
		if !r.active {
			continue
		}
		if !r.forced || !r.owns {
			return nil, fmt.Errorf("demo: row-level security applies to this role on %s: connect as the schema owner (the role that runs the migrations)", r.name)
		}
		if err := l.exec(ctx, "ALTER TABLE "+r.name+" NO FORCE ROW LEVEL SECURITY"); err != nil {
			return nil, err
		}
		lifted = append(lifted, r.name)
	}
	return lifted, nil
}

// refuseRealPatients stops a load into a database that holds real patients:
// any patient without an address in the demo domain counts as real.
func (l *loader) refuseRealPatients(ctx context.Context) error {
	if l.o.Force {
		return nil
	}
	var real int64
	err := l.tx.QueryRow(ctx, `
		SELECT count(*) FROM patients
		WHERE email IS NULL OR lower(email) NOT LIKE '%' || $1`, demoDomain).Scan(&real)
	if err != nil {
		return fmt.Errorf("demo: look for real patients: %w", err)
	}
	if real > 0 {
		return fmt.Errorf("demo: %d patients without a %s address: %w", real, demoDomain, ErrRealPatients)
	}
	return nil
}

// newGenerator numbers this load and draws the doctors. The load number is
// one more than the highest recorded in an earlier DEMO_LOAD audit row (the
// audit log is append-only, so it survives erasing the demo rows). Load 1
// writes dr.1@demo.medrec.invalid and so on; load k > 1 writes
// dr.1.l<k>@... and mixes k into the seed, so a second load, even with the
// same seed, adds new people instead of colliding with the first.
func (l *loader) newGenerator(ctx context.Context) (*generator, int, error) {
	var load int
	var today, now time.Time
	err := l.tx.QueryRow(ctx, `
		SELECT coalesce(max((new_values->>'load')::int), 0) + 1, current_date, now()
		FROM audit_log WHERE table_name = 'demo' AND action = 'DEMO_LOAD'`).Scan(&load, &today, &now)
	if err != nil {
		return nil, 0, fmt.Errorf("demo: number this load: %w", err)
	}
	if !l.o.Today.IsZero() {
		y, m, d := l.o.Today.Date()
		today = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		if end := today.Add(24*time.Hour - time.Second); end.Before(now) {
			now = end
		}
	} else {
		today = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	}
	g := &generator{
		seed:     splitmix64(uint64(l.o.Seed)) ^ splitmix64(uint64(load)<<32),
		today:    today,
		now:      now,
		patients: l.o.Patients,
		heavy:    l.o.HeavyPatients,
		reports:  l.o.ReportsPerPatient,
		rx:       l.o.PrescriptionsPerPatient,
		nurses:   max(2, l.o.Doctors/10),
	}
	if load > 1 {
		g.tag = ".l" + strconv.Itoa(load)
	}
	r := newRNG()
	for j := 0; j < l.o.Doctors; j++ {
		ids, d := g.doctorAt(r, j)
		g.doctorIDs = append(g.doctorIDs, ids[0])
		g.doctorUserIDs = append(g.doctorUserIDs, ids[1])
		if d.status == "ACTIVE" {
			g.doctorActive = append(g.doctorActive, j)
		}
	}
	return g, load, nil
}

// disableTriggers switches off, for this transaction, the user triggers of
// the tables loaded: the audit trigger (which would write one audit_log row
// per synthetic row, eleven million at full size, and drown the trail of
// real clinical work) and set_updated_at (which fires only on UPDATE, but
// is switched off with the rest). Foreign-key checks are internal triggers
// and stay on.
//
// Why ALTER TABLE ... DISABLE TRIGGER and not SET session_replication_role
// = replica: the owner may run the former without being a superuser, which
// a production schema owner often is not; and replica mode would also skip
// the foreign-key triggers, loading rows no constraint had checked. It is
// DDL, so a failed load rolls back to the triggers as they were. Triggers
// already disabled are left alone, and each comes back in its own mode.
func (l *loader) disableTriggers(ctx context.Context) ([]trigger, error) {
	rows, err := l.tx.Query(ctx, `
		SELECT format('%I.%I', n.nspname, c.relname), t.tgname, t.tgenabled::text
		FROM pg_trigger t
		JOIN pg_class c ON c.oid = t.tgrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE t.tgrelid = ANY ($1::text[]::regclass[]) AND NOT t.tgisinternal AND t.tgenabled <> 'D'
		ORDER BY 1, 2`, loadTables)
	if err != nil {
		return nil, fmt.Errorf("demo: list triggers: %w", err)
	}
	triggers, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (t trigger, err error) {
		err = row.Scan(&t.table, &t.name, &t.mode)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("demo: list triggers: %w", err)
	}
	for _, tr := range triggers {
		if err := l.exec(ctx, "ALTER TABLE "+tr.table+" DISABLE TRIGGER "+pgx.Identifier{tr.name}.Sanitize()); err != nil {
			return nil, err
		}
	}
	return triggers, nil
}

// dropIndexes drops the plain indexes and the foreign keys of the big
// tables when the load at least doubles them (for a small load into a big
// table, maintaining them row by row is cheaper than rebuilding them over
// the whole table). run recreates them, in this order, before commit.
//
// Foreign keys: checked row by row, each COPYed row runs one lookup query
// per foreign key, which measured as most of the server's time (about
// 40,000 report rows/s with them, three times that without). Added back
// after the COPY, PostgreSQL validates each one with a single join over the
// whole table, which checks exactly the same thing; a violation fails the
// ADD CONSTRAINT and with it the whole load. The names are the spec's
// contract and come back unchanged (TestLoadDefaults compares every
// constraint's definition before and after).
//
// Primary keys and unique indexes stay: they are the data's identity, and
// rebuilding them would mean dropping the foreign keys of other tables too.
// So do invalid indexes (rebuilding would change them) and indexes outside
// the default tablespace (pg_get_indexdef does not name it).
func (l *loader) dropIndexes(ctx context.Context) ([]index, error) {
	added := map[string]float64{
		"patients":        float64(l.o.Patients),
		"care_team":       1.3 * float64(l.o.Patients),
		"medical_reports": float64(l.o.Patients*l.o.ReportsPerPatient + l.o.HeavyPatients*heavyRows),
		"prescriptions":   float64(l.o.Patients*l.o.PrescriptionsPerPatient + l.o.HeavyPatients*heavyRows),
	}
	var all []index
	for _, table := range bigTables {
		var have float64
		err := l.tx.QueryRow(ctx, `SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = $1::regclass`, table).Scan(&have)
		if err != nil {
			return nil, fmt.Errorf("demo: size of %s: %w", table, err)
		}
		if added[table] < have {
			continue
		}
		rows, err := l.tx.Query(ctx, `
			SELECT $1::text,
			       format('DROP INDEX %I.%I', n.nspname, c.relname),
			       pg_get_indexdef(i.indexrelid),
			       coalesce(format('COMMENT ON INDEX %I.%I IS %L', n.nspname, c.relname, obj_description(i.indexrelid, 'pg_class')), '')
			FROM pg_index i
			JOIN pg_class c ON c.oid = i.indexrelid
			JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE i.indrelid = $1::regclass
			  AND NOT i.indisunique AND NOT i.indisprimary AND i.indisvalid
			  AND c.reltablespace = 0
			  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
			ORDER BY c.relname`, table)
		if err != nil {
			return nil, fmt.Errorf("demo: list indexes of %s: %w", table, err)
		}
		ixs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ix index, err error) {
			err = row.Scan(&ix.table, &ix.drop, &ix.create, &ix.comment)
			return ix, err
		})
		if err != nil {
			return nil, fmt.Errorf("demo: list indexes of %s: %w", table, err)
		}
		// The table's foreign keys, as the same kind of drop/create pair:
		// pg_get_constraintdef prints ON DELETE, MATCH, DEFERRABLE and NOT
		// VALID, so the constraint comes back under its own name exactly as
		// it was.
		rows, err = l.tx.Query(ctx, `
			SELECT $1::text,
			       format('ALTER TABLE %I.%I DROP CONSTRAINT %I', n.nspname, c.relname, k.conname),
			       format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s', n.nspname, c.relname, k.conname, pg_get_constraintdef(k.oid)),
			       coalesce(format('COMMENT ON CONSTRAINT %I ON %I.%I IS %L', k.conname, n.nspname, c.relname, obj_description(k.oid, 'pg_constraint')), '')
			FROM pg_constraint k
			JOIN pg_class c ON c.oid = k.conrelid
			JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE k.conrelid = $1::regclass AND k.contype = 'f'
			ORDER BY k.conname`, table)
		if err != nil {
			return nil, fmt.Errorf("demo: list foreign keys of %s: %w", table, err)
		}
		fks, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ix index, err error) {
			err = row.Scan(&ix.table, &ix.drop, &ix.create, &ix.comment)
			return ix, err
		})
		if err != nil {
			return nil, fmt.Errorf("demo: list foreign keys of %s: %w", table, err)
		}
		for _, ix := range append(ixs, fks...) {
			if err := l.exec(ctx, ix.drop); err != nil {
				return nil, err
			}
		}
		all = append(all, ixs...)
		all = append(all, fks...)
	}
	return all, nil
}

// audit records the load as one audit_log row: what was loaded and with
// which seed, and no personal data. The triggers were off for the rows
// themselves, so this row is the whole trail of the load. user_id is NULL,
// the system, as for migrations.
func (l *loader) audit(ctx context.Context, res *Result, g *generator) error {
	values, err := json.Marshal(map[string]any{
		"load":                      res.Load,
		"seed":                      l.o.Seed,
		"forced":                    l.o.Force,
		"today":                     g.today.Format(time.DateOnly),
		"patients":                  res.Patients,
		"doctors":                   res.Doctors,
		"users":                     res.Users,
		"care_team":                 res.CareTeam,
		"medical_reports":           res.Reports,
		"prescriptions":             res.Prescriptions,
		"reports_per_patient":       l.o.ReportsPerPatient,
		"prescriptions_per_patient": l.o.PrescriptionsPerPatient,
		"heavy_patient_ids":         res.HeavyPatientIDs,
		"email_domain":              strings.TrimPrefix(demoDomain, "@"),
	})
	if err != nil {
		return fmt.Errorf("demo: audit values: %w", err)
	}
	err = l.tx.QueryRow(ctx, `
		INSERT INTO audit_log (table_name, record_id, action, user_id, new_values)
		VALUES ('demo', gen_random_uuid(), 'DEMO_LOAD', NULL, $1::jsonb)
		RETURNING record_id::text`, string(values)).Scan(&res.AuditID)
	if err != nil {
		return fmt.Errorf("demo: audit the load: %w", err)
	}
	return nil
}
