package postgres_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"medrec"
	"medrec/internal/pgtest"
	"medrec/internal/postgres"
)

// specHistoryQuery is the spec's "Get Patient's Complete Medical History",
// verbatim (shared/spec/medical-system-schema.md, "Sample Queries").
const specHistoryQuery = `SELECT 
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
WHERE p.id = '550e8400-e29b-41d4-a716-446655440000'
GROUP BY p.id;`

const specExampleID = "550e8400-e29b-41d4-a716-446655440000"

// The history fixture: a CLINICIAN (doctor 1) on the care team of three
// patients; doctors 1-3 share the records between them.
const (
	histUser    = "a1a1a1a1-0000-4000-8000-000000000001"
	histDoctor1 = "d1d1d1d1-0000-4000-8000-000000000001"
	histDoctor2 = "d2d2d2d2-0000-4000-8000-000000000002"
	histDoctor3 = "d3d3d3d3-0000-4000-8000-000000000003"
	histFull    = "e1e1e1e1-0000-4000-8000-000000000001" // 5 reports, 4 prescriptions
	histNoRep   = "e2e2e2e2-0000-4000-8000-000000000002" // no reports, 2 prescriptions
	histNoRx    = "e3e3e3e3-0000-4000-8000-000000000003" // 3 reports, no prescriptions
	histStrange = "e4e4e4e4-0000-4000-8000-000000000004" // records by doctor 3 only, nobody's care
)

const histFixtureSQL = `
INSERT INTO users (id, email, password_hash, role) VALUES
    ('a1a1a1a1-0000-4000-8000-000000000001', 'hist.clin@example.org', 'x', 'CLINICIAN');
INSERT INTO doctors (id, first_name, last_name, email, user_id) VALUES
    ('d1d1d1d1-0000-4000-8000-000000000001', 'Gregory', 'House', 'house@example.org', 'a1a1a1a1-0000-4000-8000-000000000001'),
    ('d2d2d2d2-0000-4000-8000-000000000002', 'Jane', 'Foster', 'foster@example.org', NULL),
    ('d3d3d3d3-0000-4000-8000-000000000003', 'John', 'Watson', 'watson@example.org', NULL);
INSERT INTO patients (id, first_name, last_name, dob, gender) VALUES
    ('e1e1e1e1-0000-4000-8000-000000000001', 'Ada', 'Lovelace', '1970-01-02', 'FEMALE'),
    ('e2e2e2e2-0000-4000-8000-000000000002', 'Alan', 'Turing', '1971-02-03', 'MALE'),
    ('e3e3e3e3-0000-4000-8000-000000000003', 'Grace', 'Hopper', '1972-03-04', 'FEMALE'),
    ('e4e4e4e4-0000-4000-8000-000000000004', 'Some', 'Stranger', '1973-04-05', 'OTHER');
INSERT INTO care_team (patient_id, user_id, since)
SELECT p, 'a1a1a1a1-0000-4000-8000-000000000001', now() - interval '1 hour'
FROM unnest(ARRAY['e1e1e1e1-0000-4000-8000-000000000001', 'e2e2e2e2-0000-4000-8000-000000000002',
                  'e3e3e3e3-0000-4000-8000-000000000003']::uuid[]) AS p;
INSERT INTO medical_reports (patient_id, doctor_id, title, report_type, storage_url, report_date) VALUES
    ('e1e1e1e1-0000-4000-8000-000000000001', 'd1d1d1d1-0000-4000-8000-000000000001', 'Blood panel', 'LAB', 'local://1', '2026-01-05'),
    ('e1e1e1e1-0000-4000-8000-000000000001', 'd2d2d2d2-0000-4000-8000-000000000002', 'Chest X-ray', 'IMAGING', 'local://2', '2026-02-06'),
    ('e1e1e1e1-0000-4000-8000-000000000001', 'd1d1d1d1-0000-4000-8000-000000000001', 'Biopsy', 'PATHOLOGY', 'local://3', '2026-03-07'),
    ('e1e1e1e1-0000-4000-8000-000000000001', 'd3d3d3d3-0000-4000-8000-000000000003', 'Second opinion', 'CONSULTATION', 'local://4', '2026-03-07'),
    ('e1e1e1e1-0000-4000-8000-000000000001', 'd1d1d1d1-0000-4000-8000-000000000001', 'Blood panel', 'LAB', 'local://5', '2026-01-05'),
    ('e3e3e3e3-0000-4000-8000-000000000003', 'd2d2d2d2-0000-4000-8000-000000000002', 'MRI', 'IMAGING', 'local://6', '2025-12-01'),
    ('e3e3e3e3-0000-4000-8000-000000000003', 'd2d2d2d2-0000-4000-8000-000000000002', 'Lipids', 'LAB', 'local://7', '2025-12-02'),
    ('e3e3e3e3-0000-4000-8000-000000000003', 'd1d1d1d1-0000-4000-8000-000000000001', 'Follow-up', 'CONSULTATION', 'local://8', '2025-12-03'),
    ('e4e4e4e4-0000-4000-8000-000000000004', 'd3d3d3d3-0000-4000-8000-000000000003', 'Not yours', 'LAB', 'local://9', '2025-12-03');
INSERT INTO prescriptions (patient_id, doctor_id, drug_name, dosage, frequency, start_date, end_date, status) VALUES
    ('e1e1e1e1-0000-4000-8000-000000000001', 'd1d1d1d1-0000-4000-8000-000000000001', 'Amoxicillin', '500 mg', 'tid', '2026-01-05', NULL, 'ACTIVE'),
    ('e1e1e1e1-0000-4000-8000-000000000001', 'd2d2d2d2-0000-4000-8000-000000000002', 'Ibuprofen', '200 mg', 'prn', '2026-02-06', '2026-02-20', 'COMPLETED'),
    ('e1e1e1e1-0000-4000-8000-000000000001', 'd2d2d2d2-0000-4000-8000-000000000002', 'Metformin', '850 mg', 'bid', '2026-03-07', NULL, 'CANCELLED'),
    ('e1e1e1e1-0000-4000-8000-000000000001', 'd1d1d1d1-0000-4000-8000-000000000001', 'Amoxicillin', '500 mg', 'tid', '2026-01-05', NULL, 'ACTIVE'),
    ('e2e2e2e2-0000-4000-8000-000000000002', 'd3d3d3d3-0000-4000-8000-000000000003', 'Atorvastatin', '20 mg', 'daily', '2025-11-01', NULL, 'ACTIVE'),
    ('e2e2e2e2-0000-4000-8000-000000000002', 'd1d1d1d1-0000-4000-8000-000000000001', 'Lisinopril', '10 mg', 'daily', '2025-11-02', NULL, 'ACTIVE'),
    ('e4e4e4e4-0000-4000-8000-000000000004', 'd3d3d3d3-0000-4000-8000-000000000003', 'Not yours', '1 mg', 'daily', '2025-11-02', NULL, 'ACTIVE');
`

// specHistory runs the spec's query for one patient as the owner and
// returns its reports and prescriptions as sorted "field|field|..." keys.
func specHistory(t *testing.T, conn *pgx.Conn, patientID string) (reports, prescriptions []string) {
	t.Helper()
	var id, name string
	var dob time.Time
	var rawReports, rawRx []byte
	query := strings.Replace(specHistoryQuery, specExampleID, patientID, 1)
	if err := conn.QueryRow(context.Background(), query).Scan(&id, &name, &dob, &rawReports, &rawRx); err != nil {
		t.Fatalf("spec query for %s: %v", patientID, err)
	}
	var reps []map[string]*string
	var rx []map[string]*string
	if err := json.Unmarshal(rawReports, &reps); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(rawRx, &rx); err != nil {
		t.Fatal(err)
	}
	s := func(p *string) string {
		if p == nil {
			return "<null>"
		}
		return *p
	}
	for _, r := range reps {
		reports = append(reports, strings.Join([]string{s(r["report_id"]), s(r["title"]), s(r["type"]), s(r["date"]), s(r["doctor"])}, "|"))
	}
	for _, p := range rx {
		prescriptions = append(prescriptions, strings.Join([]string{s(p["prescription_id"]), s(p["drug"]), s(p["dosage"]), s(p["doctor"])}, "|"))
	}
	slices.Sort(reports)
	slices.Sort(prescriptions)
	return reports, prescriptions
}

// historyKeys is what the service returned, in the same shape: its lists
// decoded from the JSON it passes on, strictly, into the types of the
// reports and prescriptions routes (an unknown field, or a date or time in
// another format, fails the test).
func historyKeys(t *testing.T, h *medrec.History) (reports, prescriptions []string) {
	t.Helper()
	var reps []medrec.Report
	var rx []medrec.Prescription
	decodeStrict(t, h.Reports, &reps)
	decodeStrict(t, h.Prescriptions, &rx)
	for _, r := range reps {
		reports = append(reports, strings.Join([]string{r.ID, r.Title, r.ReportType, r.ReportDate.Format(time.DateOnly), r.DoctorName}, "|"))
	}
	for _, p := range rx {
		prescriptions = append(prescriptions, strings.Join([]string{p.ID, p.DrugName, p.Dosage, p.DoctorName}, "|"))
	}
	slices.Sort(reports)
	slices.Sort(prescriptions)
	return reports, prescriptions
}

func decodeStrict(t *testing.T, raw []byte, dst any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
}

// TestHistoryMatchesTheSpecQueryWithoutItsRowMultiplication checks that
// the history the service returns holds exactly what the spec's query
// returns (ids, titles, types, dates and doctor names of the reports; ids,
// drugs, dosages and doctor names of the prescriptions), and that it reads
// N + M rows where the spec's joins produce N × M.
//
// Where we differ, on purpose: for a patient with no reports (or no
// prescriptions) the spec's LEFT JOINs and json_agg yield one element whose
// fields are all null; the service answers an empty list.
func TestHistoryMatchesTheSpecQueryWithoutItsRowMultiplication(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	owner := pgtest.Conn(t, db.OwnerURL)
	if _, err := owner.Exec(ctx, histFixtureSQL); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	svc := postgres.NewHistoryService(openApp(t, db))
	caller := medrec.NewContextWithCaller(ctx, &medrec.Caller{UserID: histUser, Role: medrec.RoleClinician, DoctorID: histDoctor1})

	nullReport := []string{"<null>|<null>|<null>|<null>|<null>"}
	nullRx := []string{"<null>|<null>|<null>|<null>"}
	for _, c := range []struct {
		name    string
		patient string
		n, m    int
	}{
		{"ReportsAndPrescriptions", histFull, 5, 4},
		{"NoReports", histNoRep, 0, 2},
		{"NoPrescriptions", histNoRx, 3, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, err := svc.FindHistory(caller, c.patient)
			if err != nil {
				t.Fatal(err)
			}
			if h.Patient.ID != c.patient || h.Reports == nil || h.Prescriptions == nil {
				t.Fatalf("history %+v", h)
			}
			// None is an empty list, not null.
			if c.n == 0 && string(h.Reports) != "[]" || c.m == 0 && string(h.Prescriptions) != "[]" {
				t.Errorf("empty lists: reports %s, prescriptions %s; want []", h.Reports, h.Prescriptions)
			}
			gotReps, gotRx := historyKeys(t, h)
			specReps, specRx := specHistory(t, owner, c.patient)
			// The spec's null element stands for "none": the one place we differ.
			if c.n == 0 {
				if !slices.Equal(specReps, nullReport) {
					t.Fatalf("spec reports for a patient without any = %v", specReps)
				}
				specReps = nil
			}
			if c.m == 0 {
				if !slices.Equal(specRx, nullRx) {
					t.Fatalf("spec prescriptions for a patient without any = %v", specRx)
				}
				specRx = nil
			}
			if !slices.Equal(gotReps, specReps) || len(gotReps) != c.n {
				t.Errorf("reports differ from the spec query:\n ours: %v\n spec: %v", gotReps, specReps)
			}
			if !slices.Equal(gotRx, specRx) || len(gotRx) != c.m {
				t.Errorf("prescriptions differ from the spec query:\n ours: %v\n spec: %v", gotRx, specRx)
			}

			// The spec joins reports and prescriptions side by side: N × M
			// rows (at least one) before json_agg(DISTINCT ...) folds them.
			from := specHistoryQuery[strings.Index(specHistoryQuery, "FROM patients p"):strings.Index(specHistoryQuery, "GROUP BY")]
			var joined int
			if err := owner.QueryRow(ctx, "SELECT count(*) "+strings.Replace(from, specExampleID, c.patient, 1)).Scan(&joined); err != nil {
				t.Fatal(err)
			}
			if want := max(c.n, 1) * max(c.m, 1); joined != want {
				t.Errorf("spec joins %d rows, want %d", joined, want)
			}
			// Ours reads each list on its own: N report rows and M
			// prescription rows, and no plan node produces more than that.
			reps, rx, widest := historyPlanRows(t, owner, c.patient)
			if reps != c.n || rx != c.m || widest > max(c.n, c.m, 1) {
				t.Errorf("our query read %d report rows and %d prescription rows (widest node %d); want %d, %d (≤ %d); the spec's joins make %d",
					reps, rx, widest, c.n, c.m, max(c.n, c.m, 1), joined)
			}
		})
	}

	t.Run("OutOfCareIsNotFound", func(t *testing.T) {
		for _, id := range []string{histStrange, "00000000-0000-4000-8000-000000000000", "not-a-uuid"} {
			if _, err := svc.FindHistory(caller, id); medrec.ErrorCode(err) != medrec.ENOTFOUND {
				t.Errorf("history of %s: %v, want ENOTFOUND", id, err)
			}
		}
	})
	t.Run("Audited", func(t *testing.T) {
		var n int
		if err := owner.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'READ' AND user_id = $1
			AND new_values->>'what' = 'history'`, histUser).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 3 {
			t.Errorf("%d history READ rows, want 3 (one per successful read)", n)
		}
	})
}

// historyPlanRows runs the body of our history query (the function
// medrec_patient_history, migration 00020) under EXPLAIN ANALYZE as the
// owner, without its access check (the owner has no identity), and returns
// the rows its scans of medical_reports and prescriptions produced, and the
// most rows any node produced.
func historyPlanRows(t *testing.T, conn *pgx.Conn, patientID string) (reports, prescriptions, widest int) {
	t.Helper()
	var body string
	if err := conn.QueryRow(context.Background(),
		`SELECT prosrc FROM pg_proc WHERE proname = 'medrec_patient_history'`).Scan(&body); err != nil {
		t.Fatalf("read medrec_patient_history: %v", err)
	}
	// The body is PL/pgSQL: BEGIN RETURN QUERY <select>; END.
	_, query, _ := strings.Cut(body, "RETURN QUERY")
	query, _, _ = strings.Cut(query, ";")
	query = strings.Replace(query, " AND public.medrec_patient_in_care(patient)", "", 1)
	query = strings.Replace(query, "p.id = patient", "p.id = $1", 1)
	if strings.Contains(query, "patient)") || !strings.Contains(query, "$1") {
		t.Fatalf("medrec_patient_history changed shape; adapt this test:\n%s", body)
	}
	var plan []struct {
		Plan map[string]any `json:"Plan"`
	}
	var out []byte
	if err := conn.QueryRow(context.Background(), "EXPLAIN (ANALYZE, FORMAT JSON) "+query, patientID).Scan(&out); err != nil {
		t.Fatalf("explain: %v", err)
	}
	if err := json.Unmarshal(out, &plan); err != nil || len(plan) != 1 {
		t.Fatalf("plan %s: %v", out, err)
	}
	var walk func(n map[string]any)
	walk = func(n map[string]any) {
		rows := int(n["Actual Rows"].(float64) * n["Actual Loops"].(float64))
		widest = max(widest, rows)
		switch n["Relation Name"] {
		case "medical_reports":
			reports += rows
		case "prescriptions":
			prescriptions += rows
		}
		if kids, ok := n["Plans"].([]any); ok {
			for _, k := range kids {
				walk(k.(map[string]any))
			}
		}
	}
	walk(plan[0].Plan)
	return reports, prescriptions, widest
}

// TestExpiringPrescriptionsUseThePartialIndex checks the plan of the
// expiring list as the service runs it (service role, a CLINICIAN's
// identity, row-level security on) on a table where most prescriptions are
// no longer active: it must read idx_prescriptions_active_end_date_id or
// idx_prescriptions_active_patient_end rather than every prescription. (With few rows in the range the planner
// may sort them after a bitmap scan of the index: the days bound caps that.)
func TestExpiringPrescriptionsUseThePartialIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	owner := pgtest.Conn(t, db.OwnerURL)
	if _, err := owner.Exec(ctx, histFixtureSQL); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	if _, err := owner.Exec(ctx, `
		INSERT INTO prescriptions (patient_id, doctor_id, drug_name, dosage, frequency, start_date, end_date, status)
		SELECT (ARRAY['e1e1e1e1-0000-4000-8000-000000000001', 'e4e4e4e4-0000-4000-8000-000000000004']::uuid[])[1 + i % 2],
		       'd2d2d2d2-0000-4000-8000-000000000002', 'Drug ' || i, '1 mg', 'daily', current_date - 400,
		       current_date - 300 + (i % 700), CASE WHEN i % 20 = 0 THEN 'ACTIVE' ELSE 'COMPLETED' END
		FROM generate_series(1, 20000) AS i;
		ANALYZE prescriptions; ANALYZE patients; ANALYZE doctors;`); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("queries/prescriptions.sql")
	if err != nil {
		t.Fatal(err)
	}
	block := string(raw)[strings.Index(string(raw), "-- name: PrescriptionExpiring"):]
	block = block[:strings.Index(block, "-- name: PrescriptionSweep")]
	query := strings.NewReplacer("@days", "$1", "sqlc.narg(after_end)", "$2", "sqlc.narg(after_id)", "$3", "@max_rows", "$4").Replace(block)

	app := pgtest.Conn(t, db.AppURL)
	tx, err := app.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT set_config('app.user_id', $1, true), set_config('app.role', 'CLINICIAN', true)`, histUser); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]any{
		{7, nil, nil, 51},
		{30, time.Now(), "ffffffff-0000-4000-8000-000000000000", 51},
	} {
		var lines []string
		rows, err := tx.Query(ctx, "EXPLAIN "+query, args...)
		if err != nil {
			t.Fatalf("explain: %v", err)
		}
		for rows.Next() {
			var l string
			if err := rows.Scan(&l); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, l)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		plan := strings.Join(lines, "\n")
		// Either partial index of ACTIVE prescriptions: by end date, or
		// (migration 00020) by the caller's patients and end date.
		if !strings.Contains(plan, "idx_prescriptions_active_end_date_id") && !strings.Contains(plan, "idx_prescriptions_active_patient_end") ||
			strings.Contains(plan, "Seq Scan on prescriptions") {
			t.Errorf("expiring plan (args %v) does not use the partial index:\n%s", args, plan)
		}
	}
}
