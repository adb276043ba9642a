package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"medrec/internal/pgtest"
)

// createPatient inserts a patient directly as the owner and returns its id.
func (e *apiEnv) createPatient(first, last, dob string) string {
	e.t.Helper()
	var id string
	if err := e.ownerConn().QueryRow(context.Background(),
		`INSERT INTO patients (first_name, last_name, dob, gender) VALUES ($1, $2, $3, 'OTHER') RETURNING id`,
		first, last, dob).Scan(&id); err != nil {
		e.t.Fatalf("create patient %s %s: %v", first, last, err)
	}
	return id
}

// userToken creates a user of role and signs it in.
func (e *apiEnv) userToken(email, role string) (id, token string) {
	e.t.Helper()
	id = e.createUser(email, role)
	return id, e.login(email, fixturePassword).Access
}

// readAudits counts the READ audit rows of user about patient with the given what.
func (e *apiEnv) readAudits(userID, patientID, what string) int {
	e.t.Helper()
	var n int
	if err := e.ownerConn().QueryRow(context.Background(), `
		SELECT count(*) FROM audit_log
		WHERE action = 'READ' AND table_name = 'patients' AND user_id = $1 AND patient_id = $2
		  AND record_id = $2 AND new_values->>'what' = $3`, userID, patientID, what).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// problemFields returns the field names of a 400's errors array.
func problemFields(t *testing.T, r response) []string {
	t.Helper()
	var p struct {
		Errors []struct {
			Field string `json:"field"`
		} `json:"errors"`
	}
	r.json(t, &p)
	var fields []string
	for _, e := range p.Errors {
		fields = append(fields, e.Field)
	}
	slices.Sort(fields)
	return fields
}

type patientJSON struct {
	ID        string  `json:"id"`
	FirstName string  `json:"first_name"`
	LastName  string  `json:"last_name"`
	DOB       string  `json:"dob"`
	Gender    string  `json:"gender"`
	Email     *string `json:"email"`
	Phone     *string `json:"phone"`
	Status    string  `json:"status"`
}

type patientList struct {
	Items      []patientJSON `json:"items"`
	NextCursor *string       `json:"next_cursor"`
}

func validPatient() map[string]any {
	return map[string]any{"first_name": "Ada", "last_name": "Lovelace", "dob": "1985-12-10", "gender": "FEMALE"}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func TestPatientCreateAndValidation(t *testing.T) {
	t.Parallel()
	e := bootAPI(t, nil)
	_, recep := e.userToken("recep@example.org", "RECEPTIONIST")
	_, nurse := e.userToken("nurse@example.org", "NURSE")
	_, clin := e.userToken("clin@example.org", "CLINICIAN")

	r := e.call("POST", "/api/v1/patients", recep, with(validPatient(), "email", "ada@example.org", "phone", "+44 (20) 7946-0018"))
	if r.status != http.StatusCreated {
		t.Fatalf("receptionist create: %d %s", r.status, r.body)
	}
	var p patientJSON
	r.json(t, &p)
	if r.header.Get("Location") != "/api/v1/patients/"+p.ID || r.header.Get("ETag") == "" {
		t.Errorf("Location %q, ETag %q", r.header.Get("Location"), r.header.Get("ETag"))
	}
	if p.Status != "ACTIVE" || p.DOB != "1985-12-10" || p.Email == nil || *p.Email != "ada@example.org" {
		t.Errorf("created %+v", p)
	}

	for name, tok := range map[string]string{"NURSE": nurse, "CLINICIAN": clin} {
		if r := e.call("POST", "/api/v1/patients", tok, validPatient()); r.status != http.StatusForbidden {
			t.Errorf("%s create: %d %s, want 403", name, r.status, r.body)
		}
	}

	// The same email in another case is taken.
	r = e.call("POST", "/api/v1/patients", recep, with(validPatient(), "email", "ADA@Example.ORG"))
	if r.status != http.StatusConflict || !strings.Contains(string(r.body), "email") {
		t.Errorf("duplicate email ignoring case: %d %s, want 409 about the email", r.status, r.body)
	}

	future := time.Now().AddDate(0, 0, 3).Format(time.DateOnly)
	cases := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"gender not in CHECK", with(validPatient(), "gender", "UNKNOWN"), "gender"},
		{"gender lower case", with(validPatient(), "gender", "female"), "gender"},
		{"status not in CHECK", with(validPatient(), "status", "DELETED"), "status"},
		{"first_name NOT NULL", with(validPatient(), "first_name", nil), "first_name"},
		{"last_name NOT NULL", with(validPatient(), "last_name", nil), "last_name"},
		{"dob NOT NULL", with(validPatient(), "dob", nil), "dob"},
		{"gender NOT NULL", with(validPatient(), "gender", nil), "gender"},
		{"blank first_name", with(validPatient(), "first_name", "   "), "first_name"},
		{"first_name over 100", with(validPatient(), "first_name", strings.Repeat("é", 101)), "first_name"},
		{"last_name over 100", with(validPatient(), "last_name", strings.Repeat("x", 101)), "last_name"},
		{"phone over 20", with(validPatient(), "phone", strings.Repeat("1", 21)), "phone"},
		{"phone letters", with(validPatient(), "phone", "call me"), "phone"},
		{"email invalid", with(validPatient(), "email", "not-an-email"), "email"},
		{"email over 255", with(validPatient(), "email", strings.Repeat("a", 250)+"@example.org"), "email"},
		{"future dob", with(validPatient(), "dob", future), "dob"},
		{"dob before 1900", with(validPatient(), "dob", "1899-12-31"), "dob"},
		{"dob malformed", with(validPatient(), "dob", "1985-13-40"), "dob"},
		{"unknown field", with(validPatient(), "id", "00000000-0000-4000-8000-000000000001"), "id"},
	}
	for _, c := range cases {
		r := e.call("POST", "/api/v1/patients", recep, c.body)
		if r.status != http.StatusBadRequest || !slices.Contains(problemFields(t, r), c.field) {
			t.Errorf("%s: %d %s, want 400 naming %s", c.name, r.status, r.body, c.field)
		}
	}
	// A name of exactly 100 characters (not bytes) fits.
	if r := e.call("POST", "/api/v1/patients", recep, with(validPatient(), "first_name", strings.Repeat("é", 100))); r.status != http.StatusCreated {
		t.Errorf("100-character name: %d %s", r.status, r.body)
	}

	// Every field error in one 400.
	r = e.call("POST", "/api/v1/patients", recep, map[string]any{
		"first_name": "", "last_name": strings.Repeat("x", 101), "dob": future, "gender": "X",
		"email": "bad", "phone": "abc", "status": "NOPE"})
	want := []string{"dob", "email", "first_name", "gender", "last_name", "phone", "status"}
	if got := problemFields(t, r); r.status != http.StatusBadRequest || !slices.Equal(got, want) {
		t.Errorf("all errors at once: %d fields %v, want 400 with %v", r.status, got, want)
	}

	// Nothing of the refused requests reached the table.
	var n int
	if err := e.ownerConn().QueryRow(context.Background(), `SELECT count(*) FROM patients`).Scan(&n); err != nil || n != 2 {
		t.Errorf("patients stored: %d (%v), want 2", n, err)
	}

	// The database's own constraints stand behind the validation.
	for name, stmt := range map[string]string{
		"gender CHECK":        `INSERT INTO patients (first_name, last_name, dob, gender) VALUES ('a', 'b', '2000-01-01', 'X')`,
		"status CHECK":        `INSERT INTO patients (first_name, last_name, dob, gender, status) VALUES ('a', 'b', '2000-01-01', 'MALE', 'GONE')`,
		"first_name NOT NULL": `INSERT INTO patients (last_name, dob, gender) VALUES ('b', '2000-01-01', 'MALE')`,
		"name length":         `INSERT INTO patients (first_name, last_name, dob, gender) VALUES (repeat('a', 101), 'b', '2000-01-01', 'MALE')`,
		"phone length":        `INSERT INTO patients (first_name, last_name, dob, gender, phone) VALUES ('a', 'b', '2000-01-01', 'MALE', repeat('1', 21))`,
		"email unique":        `INSERT INTO patients (first_name, last_name, dob, gender, email) VALUES ('a', 'b', '2000-01-01', 'MALE', 'Ada@EXAMPLE.org')`,
	} {
		if _, err := e.ownerConn().Exec(context.Background(), stmt); err == nil {
			t.Errorf("%s: the database accepted %s", name, stmt)
		}
	}
}

func TestPatientCareVisibilityAndReadAudit(t *testing.T) {
	t.Parallel()
	e := bootAPI(t, nil)
	recepID, recep := e.userToken("recep@example.org", "RECEPTIONIST")
	clinID, clin := e.userToken("clin@example.org", "CLINICIAN")
	_, nurse := e.userToken("nurse@example.org", "NURSE")

	r := e.call("POST", "/api/v1/patients", recep, with(validPatient(), "first_name", "Carey"))
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var p patientJSON
	r.json(t, &p)

	// Not in care: it does not exist for the clinician or the nurse.
	for name, tok := range map[string]string{"CLINICIAN": clin, "NURSE": nurse} {
		if r := e.call("GET", "/api/v1/patients/"+p.ID, tok, nil); r.status != http.StatusNotFound {
			t.Errorf("%s GET not in care: %d, want 404", name, r.status)
		}
		for _, query := range []string{"", "?q=carey", "?q=car&dob=1985-12-10"} {
			var l patientList
			r := e.call("GET", "/api/v1/patients"+query, tok, nil)
			r.json(t, &l)
			if r.status != http.StatusOK || len(l.Items) != 0 {
				t.Errorf("%s list%s not in care: %d %s, want 200 and no items", name, query, r.status, r.body)
			}
		}
	}
	if r := e.call("PATCH", "/api/v1/patients/"+p.ID, clin, map[string]any{"phone": "123"}); r.status != http.StatusNotFound {
		t.Errorf("CLINICIAN PATCH not in care: %d %s, want 404", r.status, r.body)
	}
	// Not even a conditional PATCH tells the clinician the record exists.
	r = e.call("GET", "/api/v1/patients/"+p.ID, recep, nil)
	etag := r.header.Get("ETag")
	if r := e.callWith("PATCH", "/api/v1/patients/"+p.ID, clin, map[string]any{"phone": "123"}, map[string]string{"If-Match": `"1"`}); r.status != http.StatusNotFound {
		t.Errorf("CLINICIAN conditional PATCH not in care: %d, want 404", r.status)
	}
	if n := e.readAudits(clinID, p.ID, "demographics"); n != 0 {
		t.Errorf("a refused read left %d READ rows", n)
	}
	if n := e.readAudits(recepID, p.ID, "demographics"); n != 1 {
		t.Errorf("receptionist's read left %d READ rows, want 1", n)
	}

	// Malformed ids are 404, never a 500.
	for _, path := range []string{"/api/v1/patients/not-a-uuid", "/api/v1/patients/" + strings.ToUpper(missingID) + "x"} {
		if r := e.call("GET", path, recep, nil); r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, r.status)
		}
		if r := e.call("PATCH", path, recep, map[string]any{"phone": "1"}); r.status != http.StatusNotFound {
			t.Errorf("PATCH %s: %d, want 404", path, r.status)
		}
	}

	// In care through the care-team route.
	if r := e.call("POST", "/api/v1/patients/"+p.ID+"/care-team", recep, map[string]string{"user_id": clinID}); r.status != http.StatusCreated {
		t.Fatalf("add to care team: %d %s", r.status, r.body)
	}
	r = e.call("GET", "/api/v1/patients/"+p.ID, clin, nil)
	if r.status != http.StatusOK || r.header.Get("ETag") != etag {
		t.Fatalf("CLINICIAN GET in care: %d %s (ETag %q want %q)", r.status, r.body, r.header.Get("ETag"), etag)
	}
	if n := e.readAudits(clinID, p.ID, "demographics"); n != 1 {
		t.Errorf("clinician's read left %d READ rows, want 1", n)
	}
	var l patientList
	e.call("GET", "/api/v1/patients", clin, nil).json(t, &l)
	if len(l.Items) != 1 || l.Items[0].ID != p.ID {
		t.Errorf("CLINICIAN list in care: %+v", l)
	}
	l.Items = nil
	e.call("GET", "/api/v1/patients?q=CAREY+LOVE", clin, nil).json(t, &l)
	if len(l.Items) != 1 || l.Items[0].ID != p.ID {
		t.Errorf("CLINICIAN search in care: %+v", l)
	}
	if n := e.readAudits(clinID, p.ID, "list"); n != 2 {
		t.Errorf("clinician's two lists left %d READ rows, want 2", n)
	}
	r = e.call("PATCH", "/api/v1/patients/"+p.ID, clin, map[string]any{"phone": "+1 555 0101"})
	if r.status != http.StatusOK || r.header.Get("ETag") == etag {
		t.Errorf("CLINICIAN PATCH in care: %d %s", r.status, r.body)
	}
	// The nurse is still outside.
	if r := e.call("GET", "/api/v1/patients/"+p.ID, nurse, nil); r.status != http.StatusNotFound {
		t.Errorf("NURSE GET not in care: %d, want 404", r.status)
	}
}

// callWith is call with extra request headers.
func (e *apiEnv) callWith(method, path, token string, body any, headers map[string]string) response {
	e.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		e.t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, e.base+path, bytes.NewReader(b))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Errorf("%s %s: %v", method, path, err)
		return response{}
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Error(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: rb}
}

func TestPatientUpdate(t *testing.T) {
	t.Parallel()
	e := bootAPI(t, nil)
	_, recep := e.userToken("recep@example.org", "RECEPTIONIST")
	r := e.call("POST", "/api/v1/patients", recep, with(validPatient(), "email", "u@example.org", "phone", "12345"))
	var p patientJSON
	r.json(t, &p)
	etag := r.header.Get("ETag")
	path := "/api/v1/patients/" + p.ID

	for name, body := range map[string]map[string]any{
		"unknown field":   {"created_at": "2020-01-01T00:00:00Z"},
		"null first_name": {"first_name": nil},
		"empty body":      {},
		"bad status":      {"status": "GONE"},
		"future dob":      {"dob": time.Now().AddDate(1, 0, 0).Format(time.DateOnly)},
		"bad gender":      {"gender": "M"},
		"long phone":      {"phone": strings.Repeat("1", 21)},
		"wrong type":      {"first_name": 5},
	} {
		if r := e.call("PATCH", path, recep, body); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", name, r.status, r.body)
		}
	}
	if r := e.callWith("PATCH", path, recep, map[string]any{"status": "INACTIVE"}, map[string]string{"If-Match": `"12345"`}); r.status != http.StatusPreconditionFailed {
		t.Errorf("stale If-Match: %d %s, want 412", r.status, r.body)
	}
	r = e.callWith("PATCH", path, recep, map[string]any{"status": "DECEASED", "email": nil}, map[string]string{"If-Match": etag})
	if r.status != http.StatusOK {
		t.Fatalf("matching If-Match: %d %s", r.status, r.body)
	}
	var got patientJSON
	r.json(t, &got)
	if got.Status != "DECEASED" || got.Email != nil || got.Phone == nil || *got.Phone != "12345" || got.FirstName != p.FirstName {
		t.Errorf("after PATCH: %+v", got)
	}
	if r.header.Get("ETag") == etag {
		t.Error("the ETag did not change")
	}
	if r := e.callWith("PATCH", path, recep, map[string]any{"status": "ACTIVE"}, map[string]string{"If-Match": etag}); r.status != http.StatusPreconditionFailed {
		t.Errorf("old ETag: %d, want 412", r.status)
	}

	// The acceptance: 50 concurrent PATCHes with the same If-Match,
	// exactly one wins.
	current := e.call("GET", path, recep, nil).header.Get("ETag")
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
	)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.callWith("PATCH", path, recep, map[string]any{"phone": fmt.Sprintf("555 %04d", i)}, map[string]string{"If-Match": current})
			mu.Lock()
			statuses[r.status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses[200] != 1 || statuses[412] != 49 {
		t.Errorf("50 concurrent conditional PATCHes: %v, want one 200 and 49 412", statuses)
	}
	var updates int
	if err := e.ownerConn().QueryRow(context.Background(),
		`SELECT count(*) FROM audit_log WHERE action = 'UPDATE' AND table_name = 'patients' AND record_id = $1`, p.ID).Scan(&updates); err != nil {
		t.Fatal(err)
	}
	if updates != 2 {
		t.Errorf("%d UPDATE audit rows, want 2 (one PATCH and one concurrent winner)", updates)
	}

	// Duplicate email on update is a 409.
	e.call("POST", "/api/v1/patients", recep, with(validPatient(), "email", "taken@example.org"))
	if r := e.call("PATCH", path, recep, map[string]any{"email": "TAKEN@example.org"}); r.status != http.StatusConflict {
		t.Errorf("update to a taken email: %d %s, want 409", r.status, r.body)
	}
}

func TestPatientSearchAndPagination(t *testing.T) {
	t.Parallel()
	e := bootAPI(t, nil)
	_, recep := e.userToken("recep@example.org", "RECEPTIONIST")
	ctx := context.Background()
	for _, row := range [][]string{
		{"José", "García", "1970-05-06"},
		{"JOSEPHINE", "Baker", "1906-06-03"},
		{"Maria", "Josefsson", "1990-01-01"},
		{"Zoë", "Ødegård", "2001-02-03"},
		{"Anna", "Smith", "1990-01-01"},
		{"Per%cent", "Under_score", "1980-01-01"},
	} {
		e.createPatient(row[0], row[1], row[2])
	}
	if _, err := e.ownerConn().Exec(ctx, `UPDATE patients SET email = 'Anna.Smith@Example.org', status = 'INACTIVE' WHERE first_name = 'Anna'`); err != nil {
		t.Fatal(err)
	}
	names := func(query string) []string {
		t.Helper()
		r := e.call("GET", "/api/v1/patients?"+query, recep, nil)
		if r.status != http.StatusOK {
			t.Fatalf("GET ?%s: %d %s", query, r.status, r.body)
		}
		var l patientList
		r.json(t, &l)
		var out []string
		for _, p := range l.Items {
			out = append(out, p.FirstName+" "+p.LastName)
		}
		slices.Sort(out)
		return out
	}
	for query, want := range map[string][]string{
		"q=jose":                       {"JOSEPHINE Baker", "José García", "Maria Josefsson"},
		"q=JOSÉ":                       {"JOSEPHINE Baker", "José García", "Maria Josefsson"},
		"q=jose+garc":                  {"José García"},
		"q=%20jose%20%20garc":          {"José García"},
		"q=garcia":                     {"José García"},
		"q=zoe":                        {"Zoë Ødegård"},
		"q=smi":                        {"Anna Smith"},
		"q=%25":                        nil,
		"q=per%25":                     {"Per%cent Under_score"},
		"q=under_":                     {"Per%cent Under_score"},
		"q=nobody":                     nil,
		"dob=1990-01-01":               {"Anna Smith", "Maria Josefsson"},
		"email=anna.smith@example.org": {"Anna Smith"},
		"status=INACTIVE":              {"Anna Smith"},
		"q=ma&dob=1990-01-01":          {"Maria Josefsson"},
	} {
		if got := names(query); !slices.Equal(got, want) {
			t.Errorf("?%s: %v, want %v", query, got, want)
		}
	}
	for query, field := range map[string]string{
		"dob=1990-02-30": "dob",
		"dob=yesterday":  "dob",
		"status=GONE":    "status",
		"limit=201":      "limit",
		"limit=ten":      "limit",
		"cursor=bogus!":  "cursor",
	} {
		r := e.call("GET", "/api/v1/patients?"+query, recep, nil)
		if r.status != http.StatusBadRequest || !slices.Contains(problemFields(t, r), field) {
			t.Errorf("?%s: %d %s, want 400 naming %s", query, r.status, r.body, field)
		}
	}

	// Keyset pagination: 25 more patients, 20 of them created in the same
	// statement (same created_at), read 4 at a time.
	if _, err := e.ownerConn().Exec(ctx, `
		INSERT INTO patients (first_name, last_name, dob, gender)
		SELECT 'Page', 'Same' || g, '2000-01-01', 'MALE' FROM generate_series(1, 20) g`); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		e.createPatient("Page", fmt.Sprintf("Later%d", i), "2000-01-01")
	}
	seen := map[string]bool{}
	var order []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
		q := "/api/v1/patients?q=page&limit=4"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		var l patientList
		r := e.call("GET", q, recep, nil)
		r.json(t, &l)
		if r.status != http.StatusOK {
			t.Fatalf("page %d: %d %s", pages, r.status, r.body)
		}
		for _, p := range l.Items {
			if seen[p.ID] {
				t.Errorf("patient %s on two pages", p.ID)
			}
			seen[p.ID] = true
			order = append(order, p.LastName)
		}
		if l.NextCursor == nil {
			break
		}
		cursor = *l.NextCursor
	}
	if len(seen) != 25 {
		t.Errorf("pages held %d patients, want 25", len(seen))
	}
	// Newest first: the five created one by one come first, latest first.
	if len(order) >= 5 && !slices.Equal(order[:5], []string{"Later4", "Later3", "Later2", "Later1", "Later0"}) {
		t.Errorf("order %v, want newest first", order[:5])
	}
}

// TestPatientSearchUsesIndexes checks that a prefix search over many
// patients is answered from the expression indexes, not a scan.
func TestPatientSearchUsesIndexes(t *testing.T) {
	t.Parallel()
	e := bootAPI(t, nil)
	ctx := context.Background()
	conn := e.ownerConn()
	if _, err := conn.Exec(ctx, `
		INSERT INTO patients (first_name, last_name, dob, gender)
		SELECT 'First' || g, 'Last' || g, '2000-01-01', 'OTHER' FROM generate_series(1, 20000) g;
		ANALYZE patients`); err != nil {
		t.Fatal(err)
	}
	var plan strings.Builder
	rows, err := conn.Query(ctx, `
		EXPLAIN SELECT id FROM patients
		WHERE (medrec_fold(last_name) ~>=~ medrec_fold($1) AND medrec_fold(last_name) ~<~ (medrec_fold($1) || U&'\+10FFFF'))
		   OR (medrec_fold(first_name) ~>=~ medrec_fold($1) AND medrec_fold(first_name) ~<~ (medrec_fold($1) || U&'\+10FFFF'))
		ORDER BY created_at DESC, id DESC LIMIT 51`, "last1234")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if !strings.Contains(plan.String(), "idx_patients_fold_last_name") || !strings.Contains(plan.String(), "idx_patients_fold_first_name") {
		t.Errorf("the prefix search does not use the fold indexes:\n%s", plan.String())
	}
	var folded string
	if err := conn.QueryRow(ctx, `SELECT medrec_fold('JOSÉ Ødegård')`).Scan(&folded); err != nil || folded != "jose odegard" {
		t.Errorf("medrec_fold: %q (%v), want accents and case folded", folded, err)
	}
}

func TestPatientLookup(t *testing.T) {
	t.Parallel()
	e := bootAPI(t, nil)
	nurseID, nurse := e.userToken("nurse@example.org", "NURSE")
	_, recep := e.userToken("recep@example.org", "RECEPTIONIST")
	id := e.createPatient("Hélène", "Durand", "1964-03-09")
	e.createPatient("Hélène", "Durand", "1964-03-10") // another dob
	if _, err := e.ownerConn().Exec(context.Background(), `UPDATE patients SET email = 'h@example.org', phone = '0123' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}

	r := e.call("POST", "/api/v1/patients/lookup", nurse, map[string]string{"first_name": "HÉLÈNE", "last_name": "durand", "dob": "1964-03-09"})
	if r.status != http.StatusOK {
		t.Fatalf("lookup: %d %s", r.status, r.body)
	}
	var l struct {
		Items []map[string]any `json:"items"`
	}
	r.json(t, &l)
	if len(l.Items) != 1 {
		t.Fatalf("lookup found %d, want 1: %s", len(l.Items), r.body)
	}
	got := l.Items[0]
	if keys := keys(got); !slices.Equal(keys, []string{"dob", "first_name", "id", "last_name"}) || got["id"] != id {
		t.Errorf("lookup returned %v, want identity fields only of %s", got, id)
	}
	if n := e.readAudits(nurseID, id, "lookup"); n != 1 {
		t.Errorf("lookup left %d READ rows, want 1", n)
	}
	// The lookup does not open the record itself.
	if r := e.call("GET", "/api/v1/patients/"+id, nurse, nil); r.status != http.StatusNotFound {
		t.Errorf("NURSE GET after lookup: %d, want 404", r.status)
	}
	// Exact matches only.
	for _, body := range []map[string]string{
		{"first_name": "Helene", "last_name": "Durand", "dob": "1964-03-09"},
		{"first_name": "Hél", "last_name": "Durand", "dob": "1964-03-09"},
		{"first_name": "Hélène", "last_name": "Durand", "dob": "1964-03-08"},
	} {
		var l struct {
			Items []map[string]any `json:"items"`
		}
		e.call("POST", "/api/v1/patients/lookup", recep, body).json(t, &l)
		if len(l.Items) != 0 {
			t.Errorf("lookup %v found %v", body, l.Items)
		}
	}
	r = e.call("POST", "/api/v1/patients/lookup", nurse, map[string]string{"dob": "09/03/1964"})
	if got := problemFields(t, r); r.status != http.StatusBadRequest || !slices.Equal(got, []string{"dob", "first_name", "last_name"}) {
		t.Errorf("bad lookup: %d %v", r.status, got)
	}
}

func TestPatientErase(t *testing.T) {
	t.Parallel()
	e := bootAPI(t, nil)
	adminID, admin := e.userToken("admin2@example.org", "ADMIN")
	_, recep := e.userToken("recep@example.org", "RECEPTIONIST")
	clinID, _ := e.userToken("clin@example.org", "CLINICIAN")
	ctx := context.Background()
	conn := e.ownerConn()
	id := e.createPatient("Erin", "Erase", "1975-07-07")
	keep := e.createPatient("Kim", "Keep", "1975-07-07")
	doctor := e.createDoctor("erase.doc@example.org", &clinID)
	for _, pid := range []string{id, keep} {
		for _, stmt := range []string{
			`INSERT INTO medical_reports (patient_id, doctor_id, title, report_type, storage_url, summary, report_date)
			 SELECT $1, $2, 'Blood panel', 'LAB', 'file://reports/' || gen_random_uuid() || '.pdf', 'clinical text', '2024-01-01'
			 WHERE $3::uuid IS NOT NULL`,
			`INSERT INTO prescriptions (patient_id, doctor_id, drug_name, dosage, frequency, start_date)
			 SELECT $1, $2, 'Drug', '5mg', 'daily', '2024-01-01' WHERE $3::uuid IS NOT NULL`,
			`INSERT INTO emergency_access (patient_id, requester_name, reason, expires_at, requested_by_user_id)
			 SELECT $1, 'Someone', 'emergency', now() + interval '1 hour', $3 WHERE $2::uuid IS NOT NULL`,
			`INSERT INTO care_team (patient_id, user_id) SELECT $1, $3 WHERE $2::uuid IS NOT NULL`,
		} {
			if _, err := conn.Exec(ctx, stmt, pid, doctor, clinID); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
	}
	// One report of the erased patient has a real file in the store.
	ref, err := e.m.blobs.Put(ctx, strings.NewReader("potassium 4.1 mmol/L\n"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `
		INSERT INTO medical_reports (patient_id, doctor_id, title, report_type, storage_url, report_date)
		VALUES ($1, $2, 'Potassium', 'LAB', $3, '2024-02-02')`, id, doctor, e.m.blobs.URL(ref.Key)); err != nil {
		t.Fatal(err)
	}

	// The erasure hook: the storage URLs of the patient's reports, for an
	// ADMIN only, read as the service role.
	app := pgtest.Conn(t, e.db.AppURL)
	asRole := func(userID, role, query string, args ...any) ([]string, error) {
		tx, err := app.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if userID != "" {
			if _, err := tx.Exec(ctx, `SELECT set_config('app.user_id', $1, true), set_config('app.role', $2, true)`, userID, role); err != nil {
				t.Fatal(err)
			}
		}
		rows, err := tx.Query(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		var out []string
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, rows.Err()
	}
	urls, err := asRole(adminID, "ADMIN", `SELECT u FROM medrec_report_storage_urls($1) AS u`, id)
	if err != nil || len(urls) != 2 || !slices.Contains(urls, e.m.blobs.URL(ref.Key)) {
		t.Errorf("storage URLs as ADMIN: %v %v", urls, err)
	}
	if _, err := asRole(clinID, "CLINICIAN", `SELECT u FROM medrec_report_storage_urls($1) AS u`, id); err == nil {
		t.Error("a CLINICIAN read storage URLs through the erasure function")
	}
	if _, err := asRole("", "", `SELECT id::text FROM medrec_lookup_patients('Erin', 'Erase', '1975-07-07')`); err == nil {
		t.Error("a transaction without identity used the lookup function")
	}
	if got, err := asRole(clinID, "CLINICIAN", `SELECT id::text FROM medrec_lookup_patients('erin', 'ERASE', '1975-07-07')`); err != nil || len(got) != 1 {
		t.Errorf("lookup function as CLINICIAN: %v %v", got, err)
	}

	path := "/api/v1/patients/" + id + "/erase"
	if r := e.call("POST", path, recep, map[string]string{"reason": "asked"}); r.status != http.StatusForbidden {
		t.Errorf("RECEPTIONIST erase: %d, want 403", r.status)
	}
	for _, body := range []any{map[string]string{}, map[string]string{"reason": "   "}, map[string]string{"reason": strings.Repeat("r", 1001)}} {
		if r := e.call("POST", path, admin, body); r.status != http.StatusBadRequest {
			t.Errorf("erase with %v: %d %s, want 400", body, r.status, r.body)
		}
	}
	if r := e.call("POST", path, admin, map[string]string{"reason": "GDPR art. 17 request #42"}); r.status != http.StatusNoContent {
		t.Fatalf("ADMIN erase: %d %s", r.status, r.body)
	}
	for _, table := range []string{"medical_reports", "prescriptions", "emergency_access", "care_team"} {
		var n, kept int
		if err := conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE patient_id = $1), count(*) FILTER (WHERE patient_id = $2) FROM `+table, id, keep).Scan(&n, &kept); err != nil {
			t.Fatal(err)
		}
		if n != 0 || kept != 1 {
			t.Errorf("%s: %d rows of the erased patient, %d of the other; want 0 and 1", table, n, kept)
		}
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM patients WHERE id = $1`, id).Scan(&n); err != nil || n != 0 {
		t.Errorf("patient row still there: %d %v", n, err)
	}
	var reason, erasedBy string
	if err := conn.QueryRow(ctx, `
		SELECT new_values->>'reason', user_id::text FROM audit_log
		WHERE action = 'ERASE' AND table_name = 'patients' AND record_id = $1 AND patient_id = $1`, id).Scan(&reason, &erasedBy); err != nil {
		t.Fatalf("no ERASE audit row: %v", err)
	}
	if reason != "GDPR art. 17 request #42" || erasedBy != adminID {
		t.Errorf("ERASE row: reason %q by %s", reason, erasedBy)
	}
	var deletes int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'DELETE' AND patient_id = $1 AND user_id = $2`, id, adminID).Scan(&deletes); err != nil || deletes < 5 {
		t.Errorf("DELETE audit rows of the erasure: %d (%v), want the patient's and its cascades'", deletes, err)
	}
	// The stored file went with the rows.
	if rc, err := e.m.blobs.Open(ctx, ref.Key); err == nil {
		rc.Close()
		t.Error("the erased patient's report file is still in the store")
	}
	if r := e.call("POST", path, admin, map[string]string{"reason": "again"}); r.status != http.StatusNotFound {
		t.Errorf("second erase: %d, want 404", r.status)
	}
	if r := e.call("POST", "/api/v1/patients/not-a-uuid/erase", admin, map[string]string{"reason": "x"}); r.status != http.StatusNotFound {
		t.Errorf("erase malformed id: %d, want 404", r.status)
	}
}
