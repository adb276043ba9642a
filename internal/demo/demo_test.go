package demo_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"medrec/internal/demo"
	"medrec/internal/pgtest"
	"medrec/internal/postgres"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// testLogger sends the loader's progress lines to the test log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, nil))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func count(t testing.TB, conn *pgx.Conn, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// catalog is what a load must leave exactly as it found it: every index
// with its definition, every constraint with its definition, every trigger
// with its enabled state, and which tables force row-level security.
func catalog(t testing.TB, conn *pgx.Conn) map[string]string {
	t.Helper()
	rows, err := conn.Query(context.Background(), `
		SELECT 'index ' || schemaname || '.' || indexname, indexdef FROM pg_indexes
		WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
		UNION ALL
		SELECT 'trigger ' || tgrelid::regclass || '.' || tgname, tgenabled::text FROM pg_trigger
		WHERE NOT tgisinternal
		UNION ALL
		SELECT 'constraint ' || conrelid::regclass || '.' || conname,
		       pg_get_constraintdef(oid) || ' validated=' || convalidated || ' comment=' || coalesce(obj_description(oid, 'pg_constraint'), '')
		FROM pg_constraint WHERE connamespace = 'public'::regnamespace
		UNION ALL
		SELECT 'index comment ' || indexrelid::regclass, coalesce(obj_description(indexrelid, 'pg_class'), '') FROM pg_index
		WHERE indrelid::regclass::text IN ('patients', 'care_team', 'medical_reports', 'prescriptions')
		UNION ALL
		SELECT 'rls ' || oid::regclass, relrowsecurity || '/' || relforcerowsecurity FROM pg_class
		WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'`)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		m[k] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

func sameCatalog(t *testing.T, before, after map[string]string) {
	t.Helper()
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s: was %q, is %q after the load", k, v, after[k])
		}
	}
	for k, v := range after {
		if _, ok := before[k]; !ok {
			t.Errorf("%s = %q appeared with the load", k, v)
		}
	}
}

var bcryptHash = regexp.MustCompile(`^\$2[aby]\$(1[0-9]|2[0-9]|3[01])\$[./A-Za-z0-9]{53}$`)

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	owner := pgtest.Conn(t, db.OwnerURL)
	before := catalog(t, owner)
	if n := count(t, owner, `SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'O'`); n < 10 {
		t.Fatalf("only %d enabled triggers before the load; the test would prove little", n)
	}

	res, err := demo.Load(ctx, db.OwnerURL, demo.Options{Patients: 200, Seed: 1, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", *res)

	// Counts: Result, database and options agree.
	for _, c := range []struct {
		table string
		want  int64
	}{
		{"patients", res.Patients}, {"doctors", res.Doctors}, {"users", res.Users},
		{"medical_reports", res.Reports}, {"prescriptions", res.Prescriptions}, {"care_team", res.CareTeam},
	} {
		if got := count(t, owner, "SELECT count(*) FROM "+c.table); got != c.want {
			t.Errorf("%s: %d rows, Result says %d", c.table, got, c.want)
		}
	}
	if res.Patients != 200 || res.Doctors != 10 || res.Users != 12 || res.Load != 1 {
		t.Errorf("patients %d, doctors %d, users %d, load %d; want 200, 10, 12 (10 clinicians, 2 nurses), 1",
			res.Patients, res.Doctors, res.Users, res.Load)
	}
	if res.CareTeam < 200 || res.CareTeam > 400 {
		t.Errorf("care team rows %d, want one or two per patient", res.CareTeam)
	}
	// 199 ordinary patients averaging 5, one heavy with 200: about 1,195.
	for name, n := range map[string]int64{"reports": res.Reports, "prescriptions": res.Prescriptions} {
		if n < 1000 || n > 1400 {
			t.Errorf("%s: %d, want about 1,195", name, n)
		}
	}

	// Heavy and ordinary patients.
	if len(res.HeavyPatientIDs) != 1 || res.OrdinaryPatientID == "" {
		t.Fatalf("heavy %v, ordinary %q", res.HeavyPatientIDs, res.OrdinaryPatientID)
	}
	for id, want := range map[string]int64{res.HeavyPatientIDs[0]: 200, res.OrdinaryPatientID: 5} {
		if r, p := count(t, owner, `SELECT count(*) FROM medical_reports WHERE patient_id = $1`, id),
			count(t, owner, `SELECT count(*) FROM prescriptions WHERE patient_id = $1`, id); r != want || p != want {
			t.Errorf("patient %s: %d reports, %d prescriptions; want %d of each", id, r, p, want)
		}
	}

	// A patient's records are spread over the table as if written over the
	// years, not packed together: the heavy patient's reports lie on
	// (nearly) every page of the table.
	pages := `SELECT count(DISTINCT (ctid::text::point)[0]) FROM medical_reports`
	if all, heavy := count(t, owner, pages), count(t, owner, pages+` WHERE patient_id = $1`, res.HeavyPatientIDs[0]); all < 5 || heavy < all*8/10 {
		t.Errorf("heavy patient's reports on %d of the table's %d pages, want nearly all", heavy, all)
	}

	// The constraints held, or COPY would have failed; the dates the schema
	// does not check are checked here.
	for _, q := range []string{
		`SELECT count(*) FROM medical_reports r JOIN patients p ON p.id = r.patient_id WHERE r.report_date < p.dob`,
		`SELECT count(*) FROM medical_reports WHERE report_date > current_date`,
		`SELECT count(*) FROM prescriptions r JOIN patients p ON p.id = r.patient_id WHERE r.start_date < p.dob`,
		`SELECT count(*) FROM prescriptions WHERE end_date < start_date OR start_date > current_date`,
		`SELECT count(*) FROM prescriptions WHERE status = 'ACTIVE' AND end_date < current_date`,
		`SELECT count(*) FROM prescriptions WHERE status <> 'ACTIVE' AND (end_date IS NULL AND status = 'COMPLETED' OR end_date > current_date)`,
		`SELECT count(*) FROM patients WHERE dob NOT BETWEEN '1930-01-01' AND '2024-12-31' OR created_at > now() OR created_at::date < dob`,
		`SELECT count(*) FROM patients WHERE email IS NULL OR email NOT LIKE '%@demo.medrec.invalid' OR length(phone) > 20`,
		`SELECT count(*) FROM medical_reports WHERE storage_url NOT LIKE 'demo://reports/' || id OR (summary IS NULL) <> (status = 'PROCESSING')`,
		`SELECT count(*) FROM doctors d LEFT JOIN users u ON u.id = d.user_id WHERE u.role IS DISTINCT FROM 'CLINICIAN' OR u.email <> d.email`,
		`SELECT count(*) FROM users WHERE email NOT LIKE '%@demo.medrec.invalid'`,
		`SELECT count(*) FROM patients p WHERE NOT EXISTS (SELECT 1 FROM care_team c WHERE c.patient_id = p.id)`,
		`SELECT count(*) FROM patients p WHERE status = 'DECEASED' AND EXISTS (SELECT 1 FROM prescriptions r WHERE r.patient_id = p.id AND r.status = 'ACTIVE')`,
	} {
		if n := count(t, owner, q); n != 0 {
			t.Errorf("%d rows: %s", n, q)
		}
	}
	// Variety, and answers for the queries the service asks.
	for _, q := range []string{
		`SELECT count(DISTINCT gender) FROM patients`,
		`SELECT count(DISTINCT status) FROM patients`,
		`SELECT count(DISTINCT report_type) FROM medical_reports`,
		`SELECT count(DISTINCT status) FROM medical_reports`,
		`SELECT count(DISTINCT status) FROM prescriptions`,
		`SELECT count(DISTINCT specialty) FROM doctors`,
		`SELECT count(*) FROM prescriptions WHERE status = 'ACTIVE' AND end_date BETWEEN current_date AND current_date + 7`,
		`SELECT count(*) FROM prescriptions WHERE status = 'ACTIVE' AND end_date IS NULL`,
	} {
		if n := count(t, owner, q); n < 2 {
			t.Errorf("only %d: %s", n, q)
		}
	}
	// Reports and prescriptions are mostly by the patient's care team.
	inCare := count(t, owner, `
		SELECT count(*) FROM medical_reports r JOIN doctors d ON d.id = r.doctor_id
		WHERE EXISTS (SELECT 1 FROM care_team c WHERE c.patient_id = r.patient_id AND c.user_id = d.user_id)`)
	if float64(inCare) < 0.75*float64(res.Reports) {
		t.Errorf("%d of %d reports by the care team, want most", inCare, res.Reports)
	}

	// Indexes, triggers and row-level security are as they were.
	sameCatalog(t, before, catalog(t, owner))

	// One audit row for the load, none per row.
	if n := count(t, owner, `SELECT count(*) FROM audit_log`); n != 1 {
		t.Errorf("%d audit rows, want just the DEMO_LOAD one", n)
	}
	var table, action, record string
	var patients int64
	if err := owner.QueryRow(ctx, `SELECT table_name, action, record_id::text, (new_values->>'patients')::bigint FROM audit_log`).
		Scan(&table, &action, &record, &patients); err != nil {
		t.Fatal(err)
	}
	if table != "demo" || action != "DEMO_LOAD" || record != res.AuditID || patients != 200 {
		t.Errorf("audit row: %s %s %s patients=%d", table, action, record, patients)
	}

	// Nobody can sign in as a demo user: the hash is a valid bcrypt hash (the
	// service accepts the row) of a password that was thrown away.
	rows, err := owner.Query(ctx, `SELECT DISTINCT password_hash FROM users`)
	if err != nil {
		t.Fatal(err)
	}
	hashes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(hashes) != 1 || !bcryptHash.MatchString(hashes[0]) {
		t.Errorf("password hashes %q, want one valid bcrypt hash", hashes)
	}

	// The foreign keys that were dropped for the COPY check again.
	_, err = owner.Exec(ctx, `INSERT INTO medical_reports (patient_id, doctor_id, title, report_type, storage_url, report_date)
		SELECT gen_random_uuid(), id, 't', 'LAB', 'demo://x', current_date FROM doctors LIMIT 1`)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23503" || pgErr.ConstraintName != "fk_report_patient" {
		t.Errorf("report for no patient: %v, want a fk_report_patient violation", err)
	}

	// The triggers work again: a change made after the load is audited.
	if _, err := owner.Exec(ctx, `UPDATE patients SET status = 'INACTIVE' WHERE id = $1`, res.OrdinaryPatientID); err != nil {
		t.Fatal(err)
	}
	if n := count(t, owner, `SELECT count(*) FROM audit_log WHERE table_name = 'patients' AND record_id = $1`, res.OrdinaryPatientID); n != 1 {
		t.Errorf("update after the load: %d audit rows, want 1", n)
	}

	// Through the service role and row-level security, a demo clinician
	// sees the patients in their care, and only those.
	app := pgtest.Conn(t, db.AppURL)
	var user string
	var inCarePatients int64
	if err := owner.QueryRow(ctx, `
		SELECT c.user_id::text, count(*) FROM care_team c JOIN doctors d ON d.user_id = c.user_id
		WHERE d.status = 'ACTIVE' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1`).Scan(&user, &inCarePatients); err != nil {
		t.Fatal(err)
	}
	tx, err := app.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT set_config('app.user_id', $1, true), set_config('app.role', 'CLINICIAN', true)`, user); err != nil {
		t.Fatal(err)
	}
	var seen int64
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM patients`).Scan(&seen); err != nil {
		t.Fatal(err)
	}
	if seen < inCarePatients || seen >= res.Patients {
		t.Errorf("clinician sees %d patients; %d in care, %d in all", seen, inCarePatients, res.Patients)
	}
}

// fingerprint is an md5 over the generated content of the tables, in id
// order (created_at is left out: it is capped at the moment of the load).
func fingerprint(t *testing.T, url string) string {
	t.Helper()
	conn := pgtest.Conn(t, url)
	var fp string
	err := conn.QueryRow(context.Background(), `
		SELECT md5(
		  (SELECT string_agg(concat_ws('|', id, first_name, last_name, dob, gender, email, phone, status), ',' ORDER BY id) FROM patients) ||
		  (SELECT string_agg(concat_ws('|', id, first_name, last_name, email, specialty, status, user_id), ',' ORDER BY id) FROM doctors) ||
		  (SELECT string_agg(concat_ws('|', id, patient_id, doctor_id, title, report_type, summary, report_date, status), ',' ORDER BY id) FROM medical_reports) ||
		  (SELECT string_agg(concat_ws('|', id, patient_id, doctor_id, drug_name, dosage, frequency, route, start_date, end_date, status), ',' ORDER BY id) FROM prescriptions) ||
		  (SELECT string_agg(concat_ws('|', id, patient_id, user_id), ',' ORDER BY id) FROM care_team))`).Scan(&fp)
	if err != nil {
		t.Fatal(err)
	}
	return fp
}

func TestSameSeedSameData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	today := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	load := func(seed int64) string {
		db := pgtest.New(t)
		if _, err := demo.Load(ctx, db.OwnerURL, demo.Options{Patients: 150, Seed: seed, Today: today}); err != nil {
			t.Fatal(err)
		}
		return fingerprint(t, db.OwnerURL)
	}
	a, b, c := load(7), load(7), load(8)
	if a != b {
		t.Errorf("seed 7 loaded twice: %s and %s", a, b)
	}
	if a == c {
		t.Errorf("seeds 7 and 8 gave the same data")
	}
}

func TestRefusesRealPatients(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, email := range []string{"'ada@example.org'", "NULL"} {
		t.Run(email, func(t *testing.T) {
			t.Parallel()
			db := pgtest.New(t)
			owner := pgtest.Conn(t, db.OwnerURL)
			if _, err := owner.Exec(ctx, `INSERT INTO patients (first_name, last_name, dob, gender, email) VALUES ('Ada', 'Lovelace', '1815-12-10', 'FEMALE', `+email+`)`); err != nil {
				t.Fatal(err)
			}
			before := catalog(t, owner)
			_, err := demo.Load(ctx, db.OwnerURL, demo.Options{Patients: 20})
			if !errors.Is(err, demo.ErrRealPatients) || !strings.Contains(err.Error(), "--force") {
				t.Fatalf("load next to a real patient: %v, want ErrRealPatients naming --force", err)
			}
			if n := count(t, owner, `SELECT count(*) FROM patients`); n != 1 {
				t.Errorf("%d patients after the refused load, want the 1 real one", n)
			}
			sameCatalog(t, before, catalog(t, owner))

			res, err := demo.Load(ctx, db.OwnerURL, demo.Options{Patients: 20, Force: true})
			if err != nil {
				t.Fatalf("forced load: %v", err)
			}
			if n := count(t, owner, `SELECT count(*) FROM patients`); n != 1+res.Patients {
				t.Errorf("%d patients after the forced load, want %d", n, 1+res.Patients)
			}
		})
	}
}

func TestSecondLoadOnDemoData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	owner := pgtest.Conn(t, db.OwnerURL)
	// Catalog state a load must carry through its drop and rebuild: comments
	// on a dropped index and foreign key, and a trigger someone disabled.
	for _, s := range []string{
		`COMMENT ON INDEX idx_reports_status IS 'kept by the demo load'`,
		`COMMENT ON CONSTRAINT fk_report_patient ON medical_reports IS 'kept too'`,
		`ALTER TABLE doctors DISABLE TRIGGER set_updated_at`,
	} {
		if _, err := owner.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	before := catalog(t, owner)
	opts := demo.Options{Patients: 60, Seed: 3, Logger: testLogger(t)}
	first, err := demo.Load(ctx, db.OwnerURL, opts)
	if err != nil {
		t.Fatal(err)
	}
	// The same seed again: the load number keeps the rows apart.
	second, err := demo.Load(ctx, db.OwnerURL, opts)
	if err != nil {
		t.Fatalf("second load onto demo data: %v", err)
	}
	if first.Load != 1 || second.Load != 2 || first.HeavyPatientIDs[0] == second.HeavyPatientIDs[0] {
		t.Errorf("loads %d and %d, heavy patients %v and %v", first.Load, second.Load, first.HeavyPatientIDs, second.HeavyPatientIDs)
	}
	if n := count(t, owner, `SELECT count(*) FROM patients`); n != 120 {
		t.Errorf("%d patients, want 120", n)
	}
	if n := count(t, owner, `SELECT count(*) FROM users WHERE email LIKE 'dr.1.l2@%'`); n != 1 {
		t.Errorf("second load's first clinician: %d rows", n)
	}
	sameCatalog(t, before, catalog(t, owner))
	// A small load into a bigger table keeps its indexes instead of
	// rebuilding them; the outcome is the same.
	third, err := demo.Load(ctx, db.OwnerURL, demo.Options{Patients: 10, Seed: 3, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("third load: %v", err)
	}
	if third.Load != 3 {
		t.Errorf("third load numbered %d", third.Load)
	}
	if n := count(t, owner, `SELECT count(*) FROM audit_log WHERE action = 'DEMO_LOAD'`); n != 3 {
		t.Errorf("%d DEMO_LOAD rows, want 3", n)
	}
	if n := count(t, owner, `SELECT count(*) FROM audit_log`); n != 3 {
		t.Errorf("%d audit rows, want only the 3 DEMO_LOAD ones", n)
	}
	sameCatalog(t, before, catalog(t, owner))
}

// TestLoadAsNonSuperuserOwner runs the load as an owner that is not a
// superuser, as in production: row-level security is FORCEd on that owner,
// and COPY FROM is refused under RLS unless the load lifts it.
func TestLoadAsNonSuperuserOwner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	admin := pgtest.Conn(t, db.OwnerURL)
	var super bool
	if err := admin.QueryRow(ctx, `SELECT rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&super); err != nil {
		t.Fatal(err)
	}
	if !super {
		t.Skip("the test server's owner is no superuser, so the other tests already cover this")
	}
	var suffix [4]byte
	rand.Read(suffix[:])
	role := "medrec_demo_owner_" + hex.EncodeToString(suffix[:])
	ident := pgx.Identifier{role}.Sanitize()
	const password = "demo-owner-test-only"
	if _, err := admin.Exec(ctx, `CREATE ROLE `+ident+` LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '`+password+`'`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		for _, s := range []string{`REASSIGN OWNED BY ` + ident + ` TO CURRENT_USER`, `DROP OWNED BY ` + ident, `DROP ROLE ` + ident} {
			if _, err := admin.Exec(ctx, s); err != nil {
				t.Errorf("%s: %v", s, err)
			}
		}
	})
	// What a production owner has: it created the schema's objects.
	if _, err := admin.Exec(ctx, `GRANT USAGE, CREATE ON SCHEMA public TO `+ident); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, `
		DO $$
		DECLARE r record;
		BEGIN
		  FOR r IN SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p') LOOP
		    EXECUTE format('ALTER TABLE public.%I OWNER TO %I', r.relname, `+quoteLiteral(role)+`);
		  END LOOP;
		END $$`); err != nil {
		t.Fatal(err)
	}
	before := catalog(t, admin)
	url, err := postgres.ConnString(db.OwnerURL, role, password, "")
	if err != nil {
		t.Fatal(err)
	}
	res, err := demo.Load(ctx, url, demo.Options{Patients: 50, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("load as a non-superuser owner: %v", err)
	}
	if n := count(t, admin, `SELECT count(*) FROM medical_reports`); n != res.Reports {
		t.Errorf("%d reports, Result says %d", n, res.Reports)
	}
	sameCatalog(t, before, catalog(t, admin))
	if n := count(t, admin, `SELECT count(*) FROM audit_log`); n != 1 {
		t.Errorf("%d audit rows, want just the DEMO_LOAD one", n)
	}
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// BenchmarkLoad loads MEDREC_DEMO_PATIENTS patients (default 10,000) with
// the default shape into a fresh database per iteration and reports rows
// per second and the test process's peak resident memory. For the lead's
// measurement:
//
//	MEDREC_DEMO_PATIENTS=100000 go test -run '^$' -bench BenchmarkLoad -benchtime 1x ./internal/demo
func BenchmarkLoad(b *testing.B) {
	patients := 10_000
	if s := os.Getenv("MEDREC_DEMO_PATIENTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatalf("MEDREC_DEMO_PATIENTS=%q: %v", s, err)
		}
		patients = n
	}
	ctx := context.Background()
	var rows int64
	var spent time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db := pgtest.New(b)
		b.StartTimer()
		// Progress to stderr as it happens: b.Log would hold it to the end.
		logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		res, err := demo.Load(ctx, db.OwnerURL, demo.Options{Patients: patients, Seed: int64(i), Logger: logger})
		if err != nil {
			b.Fatal(err)
		}
		rows += res.Patients + res.Doctors + res.Users + res.Reports + res.Prescriptions + res.CareTeam
		spent += res.Duration
	}
	b.ReportMetric(float64(rows)/spent.Seconds(), "rows/s")
	b.ReportMetric(float64(rows)/float64(b.N), "rows/op")
	if hwm := peakRSS(); hwm > 0 {
		b.ReportMetric(float64(hwm)/(1<<20), "peak-RSS-MB")
	}
}

// peakRSS is the process's high-water resident set (Linux), or 0.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb)
			return kb << 10
		}
	}
	return 0
}
