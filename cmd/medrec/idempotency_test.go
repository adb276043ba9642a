package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"medrec/internal/pgtest"
)

// postKey POSTs body as JSON with an Idempotency-Key.
func (e *apiEnv) postKey(path, token, key string, body any) response {
	e.t.Helper()
	return e.callWith("POST", path, token, body, map[string]string{"Idempotency-Key": key})
}

// keyRows counts the rows of idempotency_keys (as the owner, past RLS).
func (e *apiEnv) keyRows(where string, args ...any) int {
	e.t.Helper()
	return e.ownerInt(`SELECT count(*) FROM idempotency_keys WHERE `+where, args...)
}

// problemType returns a problem+json answer's type, failing on any other body.
func problemType(t *testing.T, r response) string {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%d answer has Content-Type %q, want application/problem+json: %s", r.status, ct, r.body)
	}
	var p struct {
		Type string `json:"type"`
	}
	r.json(t, &p)
	return p.Type
}

// The acceptance: 20 concurrent POSTs with one key create one row,
// and every one of them answers the same 201 and Location.
func TestIdempotencyConcurrentCreates(t *testing.T) {
	t.Parallel()
	e := bootAPI(t, nil)
	_, recep := e.userToken("recep@example.org", "RECEPTIONIST")

	const n = 20
	results := make([]response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.postKey("/api/v1/patients", recep, "create-ada-1", validPatient())
		}()
	}
	wg.Wait()

	location := results[0].header.Get("Location")
	replayed := 0
	for i, r := range results {
		if r.status != http.StatusCreated {
			t.Errorf("request %d: %d %s, want 201", i, r.status, r.body)
			continue
		}
		if got := r.header.Get("Location"); got != location || got == "" {
			t.Errorf("request %d: Location %q, want %q", i, got, location)
		}
		var p patientJSON
		r.json(t, &p)
		if "/api/v1/patients/"+p.ID != location || p.FirstName != "Ada" {
			t.Errorf("request %d: body %s does not show the created patient %s", i, r.body, location)
		}
		if r.header.Get("Idempotent-Replayed") == "true" {
			replayed++
		}
	}
	if replayed != n-1 {
		t.Errorf("%d answers marked Idempotent-Replayed, want %d", replayed, n-1)
	}
	if got := e.ownerInt(`SELECT count(*) FROM patients`); got != 1 {
		t.Errorf("%d patients, want 1", got)
	}
	if got := e.ownerInt(`SELECT count(*) FROM audit_log WHERE table_name = 'patients' AND action = 'INSERT'`); got != 1 {
		t.Errorf("%d INSERT audit rows, want 1", got)
	}
	if got := e.keyRows(`idempotency_key = 'create-ada-1' AND status = 201 AND location = $1`, location); got != 1 {
		t.Errorf("%d recorded keys, want 1 with status 201 and the Location", got)
	}
}

func TestIdempotencyReplayAndReuse(t *testing.T) {
	t.Parallel()
	e := bootAPI(t, nil)
	recepID, recep := e.userToken("recep@example.org", "RECEPTIONIST")
	_, other := e.userToken("recep2@example.org", "RECEPTIONIST")

	first := e.postKey("/api/v1/patients", recep, "k1", validPatient())
	if first.status != http.StatusCreated || first.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first POST: %d %v %s", first.status, first.header, first.body)
	}
	location := first.header.Get("Location")
	var created patientJSON
	first.json(t, &created)

	// A retry is answered from the record: same status and Location, the
	// resource read again as the caller (so the read is audited), and
	// nothing created.
	readsBefore := e.readAudits(recepID, created.ID, "demographics")
	again := e.postKey("/api/v1/patients", recep, "k1", validPatient())
	if again.status != http.StatusCreated || again.header.Get("Location") != location ||
		again.header.Get("Idempotent-Replayed") != "true" || again.header.Get("ETag") == "" {
		t.Errorf("retry: %d %v %s", again.status, again.header, again.body)
	}
	var replayed patientJSON
	again.json(t, &replayed)
	if replayed.ID != created.ID {
		t.Errorf("retry body is patient %s, want %s", replayed.ID, created.ID)
	}
	if got := e.readAudits(recepID, created.ID, "demographics"); got != readsBefore+1 {
		t.Errorf("the replay left %d READ rows, want %d", got, readsBefore+1)
	}

	// The same key with another request is refused, whatever differs.
	for name, r := range map[string]response{
		"other body": e.postKey("/api/v1/patients", recep, "k1", with(validPatient(), "first_name", "Grace")),
		"other path": e.postKey("/api/v1/patients/"+created.ID+"/care-team", recep, "k1", map[string]any{"user_id": recepID}),
	} {
		if r.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d %s, want 422", name, r.status, r.body)
			continue
		}
		if typ := problemType(t, r); typ != "urn:medrec:problem:unprocessable" {
			t.Errorf("%s: problem type %q", name, typ)
		}
	}

	// Keys belong to their user: another user's k1 is a new request.
	theirs := e.postKey("/api/v1/patients", other, "k1", validPatient())
	if theirs.status != http.StatusCreated || theirs.header.Get("Location") == location || theirs.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("another user's k1: %d %v", theirs.status, theirs.header)
	}
	if got := e.ownerInt(`SELECT count(*) FROM patients`); got != 2 {
		t.Errorf("%d patients, want 2 (one per user)", got)
	}

	// A request that fails performs nothing and leaves its key free.
	bad := e.postKey("/api/v1/patients", recep, "k2", with(validPatient(), "dob", "not a date"))
	if bad.status != http.StatusBadRequest {
		t.Fatalf("invalid POST: %d %s", bad.status, bad.body)
	}
	if got := e.keyRows(`idempotency_key = 'k2'`); got != 0 {
		t.Errorf("a failed request left %d key rows", got)
	}
	if r := e.postKey("/api/v1/patients", recep, "k2", with(validPatient(), "first_name", "Grace")); r.status != http.StatusCreated {
		t.Errorf("the key of a failed request, reused: %d %s, want 201", r.status, r.body)
	}

	// Row-level security: the service role sees its caller's keys only.
	app := pgtest.Conn(t, e.db.AppURL)
	ctx := context.Background()
	tx, err := app.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var visible, all int
	if err := tx.QueryRow(ctx, `SELECT set_config('app.user_id', $1, true), set_config('app.role', 'RECEPTIONIST', true)`, recepID).Scan(new(string), new(string)); err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE user_id = $1), count(*) FROM idempotency_keys`, recepID).Scan(&visible, &all); err != nil {
		t.Fatal(err)
	}
	if visible != 2 || all != 2 {
		t.Errorf("as the receptionist the service role sees %d keys (%d own), want only the 2 own", all, visible)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM idempotency_keys`); err == nil {
		t.Error("the service role may DELETE idempotency keys; only the sweep should")
	}
}

func TestIdempotencyKeyHeaderChecked(t *testing.T) {
	t.Parallel()
	e := bootAPI(t, nil)
	_, recep := e.userToken("recep@example.org", "RECEPTIONIST")
	for name, key := range map[string]string{
		"empty":         "",
		"too long":      strings.Repeat("k", 256),
		"not printable": "clé",
	} {
		r := e.postKey("/api/v1/patients", recep, key, validPatient())
		if r.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", name, r.status, r.body)
			continue
		}
		if fields := problemFields(t, r); len(fields) != 1 || fields[0] != "Idempotency-Key" {
			t.Errorf("%s: fields %v, want [Idempotency-Key]", name, fields)
		}
	}
	if got := e.ownerInt(`SELECT count(*) FROM patients`); got != 0 {
		t.Errorf("refused keys created %d patients", got)
	}
	if r := e.postKey("/api/v1/patients", recep, strings.Repeat("k", 255), validPatient()); r.status != http.StatusCreated {
		t.Errorf("a 255-character key: %d %s", r.status, r.body)
	}
}

// A key whose work committed but whose answer was never recorded (the
// process died in between) is never run again: 409.
func TestIdempotencyLostOutcomeIsAConflict(t *testing.T) {
	t.Parallel()
	e := bootAPI(t, nil)
	recepID, recep := e.userToken("recep@example.org", "RECEPTIONIST")
	body, err := json.Marshal(validPatient())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(append([]byte("POST\n/api/v1/patients\n"), body...))
	e.ownerExec(`INSERT INTO idempotency_keys (user_id, idempotency_key, fingerprint) VALUES ($1, 'lost', $2)`, recepID, sum[:])

	r := e.postKey("/api/v1/patients", recep, "lost", validPatient())
	if r.status != http.StatusConflict {
		t.Errorf("key without an outcome: %d %s, want 409", r.status, r.body)
	}
	if got := e.ownerInt(`SELECT count(*) FROM patients`); got != 0 {
		t.Errorf("%d patients created under a lost key, want 0", got)
	}
	// The fingerprint decides first: a different request is still a 422.
	if r := e.postKey("/api/v1/patients", recep, "lost", with(validPatient(), "first_name", "Grace")); r.status != http.StatusUnprocessableEntity {
		t.Errorf("other request on a lost key: %d, want 422", r.status)
	}
}

// Expired keys are ignored, taken over, and swept.
func TestIdempotencyKeysExpire(t *testing.T) {
	t.Parallel()
	e := bootAPI(t, nil)
	recepID, recep := e.userToken("recep@example.org", "RECEPTIONIST")
	e.ownerExec(`INSERT INTO idempotency_keys (user_id, idempotency_key, fingerprint, status, location, created_at, completed_at)
		VALUES ($1, 'old', $2, 201, '/api/v1/patients/00000000-0000-0000-0000-000000000000', now() - interval '25 hours', now() - interval '25 hours'),
		       ($1, 'older', $2, 201, NULL, now() - interval '30 hours', now() - interval '30 hours')`,
		recepID, bytes.Repeat([]byte{1}, 32))

	r := e.postKey("/api/v1/patients", recep, "old", validPatient())
	if r.status != http.StatusCreated || r.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("reusing an expired key: %d %v %s", r.status, r.header, r.body)
	}
	if got := e.keyRows(`idempotency_key = 'old' AND location = $1 AND created_at > now() - interval '1 hour'`, r.header.Get("Location")); got != 1 {
		t.Errorf("the expired key was not taken over (%d rows)", got)
	}

	n, err := e.m.idempotency.SweepIdempotencyKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || e.keyRows(`idempotency_key = 'older'`) != 0 || e.keyRows(`idempotency_key = 'old'`) != 1 {
		t.Errorf("sweep deleted %d; left older=%d old=%d, want only the expired one gone", n,
			e.keyRows(`idempotency_key = 'older'`), e.keyRows(`idempotency_key = 'old'`))
	}
}

// Uploads: the fingerprint covers the whole multipart body, concurrent
// duplicates leave one report and one file, and another file is a 422.
func TestIdempotencyReportUpload(t *testing.T) {
	t.Parallel()
	e := newReportEnv(t)
	path := "/api/v1/patients/" + e.patient + "/reports"
	body, ct := reportForm(t, "scan.pdf", "application/pdf", reportSamples[0].body)
	key := map[string]string{"Idempotency-Key": "upload-1"}

	const n = 5
	results := make([]response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.send("POST", path, e.tokens["clinician"], ct, bytes.NewReader(body), key)
		}()
	}
	wg.Wait()
	location := results[0].header.Get("Location")
	for i, r := range results {
		if r.status != http.StatusCreated || r.header.Get("Location") != location {
			t.Errorf("upload %d: %d Location %q %s, want 201 at %q", i, r.status, r.header.Get("Location"), r.body, location)
		}
	}
	if got := e.reportCount(); got != 1 {
		t.Errorf("%d reports, want 1", got)
	}
	if files := e.blobFiles(); len(files) != 1 {
		t.Errorf("files stored: %v, want 1", files)
	}

	other, ct2 := reportForm(t, "scan.pdf", "application/pdf", append(bytes.Clone(reportSamples[0].body), "%changed\n"...))
	if r := e.send("POST", path, e.tokens["clinician"], ct2, bytes.NewReader(other), key); r.status != http.StatusUnprocessableEntity {
		t.Errorf("another file under the same key: %d %s, want 422", r.status, r.body)
	}
	if got := e.reportCount(); got != 1 {
		t.Errorf("%d reports after the refused upload, want 1", got)
	}
}

// An action without a Location replays its status: a retried erasure is
// 204, not the 404 a second erasure would be.
func TestIdempotencyErase(t *testing.T) {
	t.Parallel()
	e := bootAPI(t, nil)
	_, admin := e.userToken("admin2@example.org", "ADMIN")
	id := e.createPatient("Ada", "Erased", "1970-01-01")
	path := "/api/v1/patients/" + id + "/erase"
	for i := range 2 {
		r := e.postKey(path, admin, "erase-1", map[string]any{"reason": "patient request"})
		if r.status != http.StatusNoContent || (i == 1) != (r.header.Get("Idempotent-Replayed") == "true") {
			t.Errorf("erase %d: %d %v %s, want 204", i, r.status, r.header, r.body)
		}
	}
	if got := e.ownerInt(`SELECT count(*) FROM audit_log WHERE action = 'ERASE' AND record_id = $1`, id); got != 1 {
		t.Errorf("%d ERASE audit rows, want 1", got)
	}
	if r := e.call("POST", path, admin, map[string]any{"reason": "again"}); r.status != http.StatusNotFound {
		t.Errorf("erasing again without the key: %d, want 404", r.status)
	}
}

// Racing requests with one key but two bodies: whichever commits first
// wins, its twins replay it, and every request of the other body is a 422.
func TestIdempotencyConcurrentDifferentBodies(t *testing.T) {
	t.Parallel()
	e := bootAPI(t, nil)
	_, recep := e.userToken("recep@example.org", "RECEPTIONIST")
	bodies := []map[string]any{validPatient(), with(validPatient(), "first_name", "Grace")}

	const n = 10
	results := make([]response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.postKey("/api/v1/patients", recep, "race", bodies[i%2])
		}()
	}
	wg.Wait()
	if got := e.ownerInt(`SELECT count(*) FROM patients`); got != 1 {
		t.Fatalf("%d patients, want 1", got)
	}
	var winner string
	if err := e.ownerConn().QueryRow(context.Background(), `SELECT first_name FROM patients`).Scan(&winner); err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		want := http.StatusUnprocessableEntity
		if bodies[i%2]["first_name"] == winner {
			want = http.StatusCreated
		}
		if r.status != want {
			t.Errorf("request %d (%s): %d %s, want %d", i, bodies[i%2]["first_name"], r.status, r.body, want)
		}
	}
}
