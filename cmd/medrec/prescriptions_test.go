package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"medrec"
)

// rxEnv is a booted medrec with the people and patients the prescription
// and history tests need, written as the owner (no dependency on the
// patients and doctors routes).
type rxEnv struct {
	*apiEnv
	patient string // in the care of clin, nurse, onLeave and unlinked
	other   string // in nobody's care
	doctor  string // clin's doctor record
	ids     map[string]string
	// Tokens: clin (CLINICIAN, ACTIVE doctor, in care), nurse (in care),
	// outsider (CLINICIAN with an ACTIVE doctor, not in care), onLeave
	// (CLINICIAN in care, doctor ON_LEAVE), unlinked (CLINICIAN in care, no
	// doctor record), admin.
	clin, nurse, outsider, onLeave, unlinked, admin string
}

// ownerID runs an INSERT ... RETURNING id as the owner.
func (e *apiEnv) ownerID(sql string, args ...any) string {
	e.t.Helper()
	var id string
	if err := e.ownerConn().QueryRow(context.Background(), sql, args...).Scan(&id); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
	return id
}

// ownerExec runs a statement as the owner.
func (e *apiEnv) ownerExec(sql string, args ...any) {
	e.t.Helper()
	if _, err := e.ownerConn().Exec(context.Background(), sql, args...); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
}

// ownerInt runs a query of one integer as the owner.
func (e *apiEnv) ownerInt(sql string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.ownerConn().QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func (e *apiEnv) addPatient(first, last string) string {
	e.t.Helper()
	return e.ownerID(`INSERT INTO patients (first_name, last_name, dob, gender) VALUES ($1, $2, '1970-05-06', 'OTHER') RETURNING id`, first, last)
}

// addDoctor makes a doctor record, linked to userID unless it is "".
func (e *apiEnv) addDoctor(first, last, status, userID string) string {
	e.t.Helper()
	var user *string
	if userID != "" {
		user = &userID
	}
	return e.ownerID(`INSERT INTO doctors (first_name, last_name, email, status, user_id) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		first, last, strings.ToLower(first+"."+last)+"@hospital.example.org", status, user)
}

// addToCareTeam puts a user on a patient's care team since a minute ago.
func (e *apiEnv) addToCareTeam(patientID, userID string) {
	e.t.Helper()
	e.ownerExec(`INSERT INTO care_team (patient_id, user_id, since) VALUES ($1, $2, now() - interval '1 minute')`, patientID, userID)
}

// addPrescription writes a prescription as the owner; end is SQL (e.g.
// "current_date + 3" or "NULL").
func (e *apiEnv) addPrescription(patientID, doctorID, drug, status, end string) string {
	e.t.Helper()
	return e.ownerID(fmt.Sprintf(`INSERT INTO prescriptions (patient_id, doctor_id, drug_name, dosage, frequency, start_date, end_date, status)
		VALUES ($1, $2, $3, '10 mg', 'daily', current_date - 30, %s, $4) RETURNING id`, end), patientID, doctorID, drug, status)
}

func newRxEnv(t *testing.T) *rxEnv {
	t.Helper()
	env := bootAPI(t, nil)
	e := &rxEnv{apiEnv: env, ids: map[string]string{}}
	e.patient = env.addPatient("Ada", "Lovelace")
	e.other = env.addPatient("Charles", "Babbage")
	for _, u := range []struct{ name, role string }{
		{"clin", "CLINICIAN"}, {"nurse", "NURSE"}, {"outsider", "CLINICIAN"},
		{"onleave", "CLINICIAN"}, {"unlinked", "CLINICIAN"}, {"rxadmin", "ADMIN"},
	} {
		e.ids[u.name] = env.createUser(u.name+"@example.org", u.role)
	}
	e.doctor = env.addDoctor("Gregory", "House", "ACTIVE", e.ids["clin"])
	env.addDoctor("Out", "Sider", "ACTIVE", e.ids["outsider"])
	env.addDoctor("On", "Leave", "ON_LEAVE", e.ids["onleave"])
	for _, u := range []string{"clin", "nurse", "onleave", "unlinked"} {
		env.addToCareTeam(e.patient, e.ids[u])
	}
	e.clin = env.login("clin@example.org", fixturePassword).Access
	e.nurse = env.login("nurse@example.org", fixturePassword).Access
	e.outsider = env.login("outsider@example.org", fixturePassword).Access
	e.onLeave = env.login("onleave@example.org", fixturePassword).Access
	e.unlinked = env.login("unlinked@example.org", fixturePassword).Access
	e.admin = env.login("rxadmin@example.org", fixturePassword).Access
	return e
}

func validPrescription() map[string]any {
	return map[string]any{"drug_name": "Amoxicillin", "dosage": "500 mg", "frequency": "three times daily",
		"route": "Oral", "start_date": time.Now().Format(time.DateOnly)}
}

// create prescribes as token and fails the test unless it answers 201.
func (e *rxEnv) create(token, patientID string, body map[string]any) (medrec.Prescription, response) {
	e.t.Helper()
	r := e.call("POST", "/api/v1/patients/"+patientID+"/prescriptions", token, body)
	if r.status != http.StatusCreated {
		e.t.Fatalf("create prescription: %d %s", r.status, r.body)
	}
	var p medrec.Prescription
	r.json(e.t, &p)
	return p, r
}

// callIfMatch is call with an If-Match header; safe from any goroutine.
func (e *apiEnv) callIfMatch(method, path, token, etag string, body any) (int, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequest(method, e.base+path, bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	if etag != "" {
		req.Header.Set("If-Match", etag)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// fieldsOf returns the field names of a 400's errors.
func fieldsOf(t *testing.T, r response) []string {
	t.Helper()
	if r.status != http.StatusBadRequest {
		t.Fatalf("status %d (%s), want 400", r.status, r.body)
	}
	var p struct {
		Errors []medrec.FieldError `json:"errors"`
	}
	r.json(t, &p)
	var names []string
	for _, f := range p.Errors {
		names = append(names, f.Field)
	}
	slices.Sort(names)
	return names
}

func TestPrescriptionCreateAndRead(t *testing.T) {
	t.Parallel()
	e := newRxEnv(t)
	end := time.Now().AddDate(0, 0, 10).Format(time.DateOnly)
	body := validPrescription()
	body["end_date"] = end
	p, r := e.create(e.clin, e.patient, body)
	if r.header.Get("Location") != "/api/v1/prescriptions/"+p.ID || r.header.Get("ETag") == "" {
		t.Fatalf("Location %q, ETag %q", r.header.Get("Location"), r.header.Get("ETag"))
	}
	if p.DoctorID != e.doctor || p.PatientID != e.patient || p.Status != "ACTIVE" || p.DrugName != "Amoxicillin" ||
		p.Route == nil || *p.Route != "Oral" || p.EndDate == nil || p.EndDate.Format(time.DateOnly) != end {
		t.Fatalf("created %+v", p)
	}

	t.Run("ReadByClinicianAndNurse", func(t *testing.T) {
		for _, tok := range []string{e.clin, e.nurse} {
			g := e.call("GET", "/api/v1/prescriptions/"+p.ID, tok, nil)
			if g.status != 200 || g.header.Get("ETag") != r.header.Get("ETag") {
				t.Fatalf("get: %d, ETag %q want %q", g.status, g.header.Get("ETag"), r.header.Get("ETag"))
			}
			l := e.call("GET", "/api/v1/patients/"+e.patient+"/prescriptions", tok, nil)
			var list struct {
				Items      []medrec.Prescription `json:"items"`
				NextCursor *string               `json:"next_cursor"`
			}
			l.json(t, &list)
			if l.status != 200 || len(list.Items) != 1 || list.Items[0].ID != p.ID || list.NextCursor != nil {
				t.Fatalf("list: %d %s", l.status, l.body)
			}
		}
	})
	t.Run("ReadsAreAudited", func(t *testing.T) {
		for who, what := range map[string]string{"clin": "prescription", "nurse": "prescriptions"} {
			if n := e.ownerInt(`SELECT count(*) FROM audit_log WHERE action = 'READ' AND user_id = $1 AND patient_id = $2
				AND new_values->>'what' = $3`, e.ids[who], e.patient, what); n < 1 {
				t.Errorf("%s: %d READ rows of %q", who, n, what)
			}
		}
	})
	t.Run("NurseCannotPrescribe", func(t *testing.T) {
		if r := e.call("POST", "/api/v1/patients/"+e.patient+"/prescriptions", e.nurse, validPrescription()); r.status != 403 {
			t.Fatalf("nurse create: %d", r.status)
		}
		if r := e.call("PATCH", "/api/v1/prescriptions/"+p.ID, e.nurse, map[string]any{"status": "CANCELLED"}); r.status != 403 {
			t.Fatalf("nurse patch: %d", r.status)
		}
	})
	t.Run("NotInCareIsNotFound", func(t *testing.T) {
		const clinical = `SELECT count(*) FROM audit_log WHERE patient_id = $1 OR table_name = 'prescriptions'`
		before := e.ownerInt(clinical, e.patient)
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"POST", "/api/v1/patients/" + e.patient + "/prescriptions", validPrescription()},
			{"GET", "/api/v1/patients/" + e.patient + "/prescriptions", nil},
			{"GET", "/api/v1/prescriptions/" + p.ID, nil},
			{"PATCH", "/api/v1/prescriptions/" + p.ID, map[string]any{"status": "CANCELLED"}},
			{"GET", "/api/v1/patients/" + e.patient + "/history", nil},
			{"GET", "/api/v1/prescriptions/" + missingID, nil},
			{"POST", "/api/v1/patients/" + missingID + "/prescriptions", validPrescription()},
			{"GET", "/api/v1/prescriptions/not-a-uuid", nil},
		} {
			if r := e.call(c.method, c.path, e.outsider, c.body); r.status != 404 {
				t.Errorf("outsider %s %s: %d %s", c.method, c.path, r.status, r.body)
			}
		}
		if after := e.ownerInt(clinical, e.patient); after != before {
			t.Errorf("refused calls wrote %d audit rows", after-before)
		}
	})
	t.Run("OnlyThePrescriberChangesIt", func(t *testing.T) {
		// A second clinician in care reads it but may not change it.
		other := e.createUser("colleague@example.org", "CLINICIAN")
		e.addDoctor("Col", "League", "ACTIVE", other)
		e.addToCareTeam(e.patient, other)
		tok := e.login("colleague@example.org", fixturePassword).Access
		if r := e.call("GET", "/api/v1/prescriptions/"+p.ID, tok, nil); r.status != 200 {
			t.Fatalf("colleague get: %d", r.status)
		}
		if r := e.call("PATCH", "/api/v1/prescriptions/"+p.ID, tok, map[string]any{"status": "CANCELLED"}); r.status != 403 {
			t.Fatalf("colleague patch: %d %s", r.status, r.body)
		}
	})
}

func TestPrescriptionValidation(t *testing.T) {
	t.Parallel()
	e := newRxEnv(t)
	post := func(body map[string]any) response {
		return e.call("POST", "/api/v1/patients/"+e.patient+"/prescriptions", e.clin, body)
	}
	with := func(k string, v any) map[string]any {
		b := validPrescription()
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
		return b
	}
	cases := []struct {
		name string
		body map[string]any
		want []string
	}{
		{"RequiredFields", map[string]any{}, []string{"dosage", "drug_name", "frequency", "start_date"}},
		{"BlankDrug", with("drug_name", "   "), []string{"drug_name"}},
		{"EndBeforeStart", with("end_date", time.Now().AddDate(0, 0, -1).Format(time.DateOnly)), []string{"end_date"}},
		{"DrugTooLong", with("drug_name", strings.Repeat("é", 256)), []string{"drug_name"}},
		{"DosageTooLong", with("dosage", strings.Repeat("x", 101)), []string{"dosage"}},
		{"FrequencyTooLong", with("frequency", strings.Repeat("x", 101)), []string{"frequency"}},
		{"RouteTooLong", with("route", strings.Repeat("x", 51)), []string{"route"}},
		{"BadDate", with("start_date", "27/11/2026"), []string{"start_date"}},
		{"NULInText", with("dosage", "5\x00mg"), []string{"dosage"}},
		{"EveryErrorAtOnce", map[string]any{"drug_name": strings.Repeat("x", 256), "dosage": "", "frequency": "daily",
			"start_date": "2026-02-30", "end_date": "2020-01-01"}, []string{"dosage", "drug_name", "start_date"}},
	}
	for _, c := range cases {
		if got := fieldsOf(t, post(c.body)); !slices.Equal(got, c.want) {
			t.Errorf("%s: fields %v, want %v", c.name, got, c.want)
		}
	}
	// At the limits it is accepted (lengths count characters, not bytes).
	ok := with("drug_name", strings.Repeat("é", 255))
	ok["end_date"] = ok["start_date"]
	e.create(e.clin, e.patient, ok)
	if r := e.call("POST", "/api/v1/patients/"+e.patient+"/prescriptions", e.clin, map[string]any{"drug_name": "x", "doctor_id": e.doctor}); r.status != 400 {
		t.Errorf("unknown field doctor_id: %d", r.status)
	}

	p, _ := e.create(e.clin, e.patient, validPrescription())
	patch := func(body any) response { return e.call("PATCH", "/api/v1/prescriptions/"+p.ID, e.clin, body) }
	for name, c := range map[string]struct {
		body any
		want []string
	}{
		"StatusNotInTheSpec": {map[string]any{"status": "PAUSED"}, []string{"status"}},
		"EndBeforeStart":     {map[string]any{"end_date": time.Now().AddDate(0, 0, -2).Format(time.DateOnly)}, []string{"end_date"}},
		"BadEndDate":         {map[string]any{"end_date": 20261127}, []string{"end_date"}},
		"NothingToChange":    {map[string]any{}, []string{"status"}},
		"UnknownField":       {map[string]any{"drug_name": "Other"}, []string{"drug_name"}},
	} {
		if got := fieldsOf(t, patch(c.body)); !slices.Equal(got, c.want) {
			t.Errorf("patch %s: fields %v, want %v", name, got, c.want)
		}
	}
	if n := e.ownerInt(`SELECT count(*) FROM prescriptions WHERE id = $1 AND status = 'ACTIVE' AND end_date IS NULL`, p.ID); n != 1 {
		t.Fatal("a refused PATCH changed the prescription")
	}
	for _, days := range []string{"0", "366", "-1", "seven", "1.5"} {
		if got := fieldsOf(t, e.call("GET", "/api/v1/prescriptions/expiring?days="+days, e.clin, nil)); !slices.Equal(got, []string{"days"}) {
			t.Errorf("days=%s: fields %v", days, got)
		}
	}
	if got := fieldsOf(t, e.call("GET", "/api/v1/patients/"+e.patient+"/prescriptions?status=PAUSED", e.clin, nil)); !slices.Equal(got, []string{"status"}) {
		t.Errorf("list status=PAUSED: fields %v", got)
	}
}

func TestPrescriberMustBeAnActiveDoctor(t *testing.T) {
	t.Parallel()
	e := newRxEnv(t)
	for name, tok := range map[string]string{"OnLeave": e.onLeave, "NoDoctorRecord": e.unlinked} {
		r := e.call("POST", "/api/v1/patients/"+e.patient+"/prescriptions", tok, validPrescription())
		var p map[string]any
		r.json(t, &p)
		detail, _ := p["detail"].(string)
		if r.status != 403 || !strings.Contains(detail, "doctor record") {
			t.Errorf("%s: %d %q, want 403 naming the doctor record", name, r.status, detail)
		}
	}
	// A prescriber who goes on leave can no longer change their prescriptions.
	p, _ := e.create(e.clin, e.patient, validPrescription())
	e.ownerExec(`UPDATE doctors SET status = 'ON_LEAVE' WHERE id = $1`, e.doctor)
	if r := e.call("PATCH", "/api/v1/prescriptions/"+p.ID, e.clin, map[string]any{"status": "CANCELLED"}); r.status != 403 {
		t.Errorf("on-leave prescriber patch: %d %s", r.status, r.body)
	}
	if n := e.ownerInt(`SELECT count(*) FROM prescriptions WHERE doctor_id <> $1`, e.doctor); n != 0 {
		t.Errorf("%d prescriptions by other doctors were written", n)
	}
}

func TestPrescriptionTransitions(t *testing.T) {
	t.Parallel()
	e := newRxEnv(t)
	patch := func(id, etag string, body any) response {
		return e.callWithHeader("PATCH", "/api/v1/prescriptions/"+id, e.clin, "If-Match", etag, body)
	}
	t.Run("CompletedStaysCompleted", func(t *testing.T) {
		p, r := e.create(e.clin, e.patient, validPrescription())
		done := patch(p.ID, r.header.Get("ETag"), map[string]any{"status": "COMPLETED"})
		if done.status != 200 || done.header.Get("ETag") == r.header.Get("ETag") {
			t.Fatalf("ACTIVE → COMPLETED: %d, ETag %q", done.status, done.header.Get("ETag"))
		}
		for _, s := range []string{"ACTIVE", "CANCELLED", "COMPLETED"} {
			if got := patch(p.ID, "", map[string]any{"status": s}); got.status != 409 {
				t.Errorf("COMPLETED → %s: %d", s, got.status)
			}
		}
		if got := patch(p.ID, "", map[string]any{"end_date": time.Now().AddDate(0, 1, 0).Format(time.DateOnly)}); got.status != 409 {
			t.Errorf("end_date of a COMPLETED prescription: %d", got.status)
		}
	})
	t.Run("CancelledStaysCancelled", func(t *testing.T) {
		p, _ := e.create(e.clin, e.patient, validPrescription())
		if got := patch(p.ID, "", map[string]any{"status": "CANCELLED"}); got.status != 200 {
			t.Fatalf("ACTIVE → CANCELLED: %d", got.status)
		}
		for _, s := range []string{"COMPLETED", "ACTIVE"} {
			if got := patch(p.ID, "", map[string]any{"status": s}); got.status != 409 {
				t.Errorf("CANCELLED → %s: %d", s, got.status)
			}
		}
		if n := e.ownerInt(`SELECT count(*) FROM prescriptions WHERE id = $1 AND status = 'CANCELLED'`, p.ID); n != 1 {
			t.Error("stored status is not CANCELLED")
		}
	})
	t.Run("IfMatch", func(t *testing.T) {
		p, r := e.create(e.clin, e.patient, validPrescription())
		etag := r.header.Get("ETag")
		end := time.Now().AddDate(0, 0, 5).Format(time.DateOnly)
		ok := patch(p.ID, etag, map[string]any{"end_date": end})
		if ok.status != 200 {
			t.Fatalf("matching If-Match: %d %s", ok.status, ok.body)
		}
		var got medrec.Prescription
		ok.json(t, &got)
		if got.EndDate == nil || got.EndDate.Format(time.DateOnly) != end || got.Status != "ACTIVE" {
			t.Fatalf("after end_date change: %+v", got)
		}
		for _, stale := range []string{etag, `"12345"`, "garbage"} {
			if r := patch(p.ID, stale, map[string]any{"status": "CANCELLED"}); r.status != 412 {
				t.Errorf("If-Match %s: %d", stale, r.status)
			}
		}
		// end_date: null makes it open-ended again.
		if r := patch(p.ID, ok.header.Get("ETag"), map[string]any{"end_date": nil}); r.status != 200 {
			t.Fatalf("clear end_date: %d %s", r.status, r.body)
		}
		if n := e.ownerInt(`SELECT count(*) FROM prescriptions WHERE id = $1 AND end_date IS NULL AND status = 'ACTIVE'`, p.ID); n != 1 {
			t.Error("end_date not cleared")
		}
	})
}

// callWithHeader is call with one extra request header (skipped when "").
func (e *apiEnv) callWithHeader(method, path, token, name, value string, body any) response {
	e.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		e.t.Fatal(err)
	}
	req, err := http.NewRequest(method, e.base+path, bytes.NewReader(b))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	if value != "" {
		req.Header.Set(name, value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: buf.Bytes()}
}

func TestPrescriptionConcurrentIfMatchOneWins(t *testing.T) {
	t.Parallel()
	e := newRxEnv(t)
	p, r := e.create(e.clin, e.patient, validPrescription())
	etag := r.header.Get("ETag")
	const n = 50
	statuses := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			end := time.Now().AddDate(0, 0, 10+i).Format(time.DateOnly)
			statuses[i], errs[i] = e.callIfMatch("PATCH", "/api/v1/prescriptions/"+p.ID, e.clin, etag, map[string]any{"end_date": end})
		}()
	}
	close(start)
	wg.Wait()
	count := map[int]int{}
	for i, s := range statuses {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		count[s]++
	}
	if count[200] != 1 || count[412] != n-1 {
		t.Fatalf("statuses %v, want one 200 and %d × 412", count, n-1)
	}
	if got := e.ownerInt(`SELECT count(*) FROM audit_log WHERE table_name = 'prescriptions' AND record_id = $1 AND action = 'UPDATE'`, p.ID); got != 1 {
		t.Fatalf("%d UPDATE audit rows, want 1", got)
	}
}

func TestExpiredPrescriptionShowsCompletedAndTheSweepStoresIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newRxEnv(t)
	// The start-up sweep ran before the server listened; the next is ten
	// minutes away, so the calls below are the only ones.
	expired := e.addPrescription(e.patient, e.doctor, "Expired", "ACTIVE", "current_date - 1")
	current := e.addPrescription(e.patient, e.doctor, "Current", "ACTIVE", "current_date")

	var got medrec.Prescription
	g := e.call("GET", "/api/v1/prescriptions/"+expired, e.clin, nil)
	g.json(t, &got)
	if g.status != 200 || got.Status != "COMPLETED" {
		t.Fatalf("expired prescription shows %d %q, want COMPLETED", g.status, got.Status)
	}
	statusList := func(status string) []string {
		var list struct {
			Items []medrec.Prescription `json:"items"`
		}
		e.call("GET", "/api/v1/patients/"+e.patient+"/prescriptions?status="+status, e.nurse, nil).json(t, &list)
		var ids []string
		for _, p := range list.Items {
			ids = append(ids, p.ID)
		}
		return ids
	}
	if c, a := statusList("COMPLETED"), statusList("ACTIVE"); !slices.Equal(c, []string{expired}) || !slices.Equal(a, []string{current}) {
		t.Fatalf("COMPLETED %v, ACTIVE %v; want [%s] and [%s]", c, a, expired, current)
	}
	if r := e.call("PATCH", "/api/v1/prescriptions/"+expired, e.clin, map[string]any{"status": "CANCELLED"}); r.status != 409 {
		t.Fatalf("cancel an expired prescription: %d, want 409 (it is COMPLETED)", r.status)
	}
	if n := e.ownerInt(`SELECT count(*) FROM prescriptions WHERE id = $1 AND status = 'ACTIVE'`, expired); n != 1 {
		t.Fatal("stored status changed before the sweep")
	}

	n, err := e.m.prescriptions.SweepExpiredPrescriptions(ctx)
	if err != nil || n != 1 {
		t.Fatalf("sweep = %d, %v; want 1", n, err)
	}
	if c := e.ownerInt(`SELECT count(*) FROM prescriptions WHERE id = $1 AND status = 'COMPLETED'`, expired); c != 1 {
		t.Fatal("the sweep did not store COMPLETED")
	}
	if c := e.ownerInt(`SELECT count(*) FROM prescriptions WHERE id = $1 AND status = 'ACTIVE'`, current); c != 1 {
		t.Fatal("the sweep completed a prescription ending today")
	}
	if c := e.ownerInt(`SELECT count(*) FROM audit_log WHERE record_id = $1 AND action = 'UPDATE' AND user_id IS NULL
		AND old_values->>'status' = 'ACTIVE' AND new_values->>'status' = 'COMPLETED'`, expired); c != 1 {
		t.Fatalf("%d system UPDATE audit rows for the sweep, want 1", c)
	}
	if n, err := e.m.prescriptions.SweepExpiredPrescriptions(ctx); err != nil || n != 0 {
		t.Fatalf("second sweep = %d, %v; want 0", n, err)
	}
	// Whatever identity the context carries, the sweep acts as the system.
	callerCtx := medrec.NewContextWithCaller(ctx, &medrec.Caller{UserID: e.ids["clin"], Role: medrec.RoleClinician})
	if n, err := e.m.prescriptions.SweepExpiredPrescriptions(callerCtx); err != nil || n != 0 {
		t.Fatalf("sweep with a caller in ctx = %d, %v", n, err)
	}
	// The database function refuses a transaction that carries a user.
	tx, err := e.ownerConn().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT set_config('app.user_id', $1, true)`, e.ids["clin"]); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT medrec_sweep_prescriptions()`); err == nil || !strings.Contains(err.Error(), "without a user identity") {
		t.Fatalf("sweep with a user identity: %v, want refused", err)
	}
}

func TestExpiringPrescriptions(t *testing.T) {
	t.Parallel()
	e := newRxEnv(t)
	second := e.addPatient("Grace", "Hopper") // also in clin's care, not the nurse's
	e.addToCareTeam(second, e.ids["clin"])
	colleague := e.addDoctor("Jane", "Foster", "ACTIVE", "")
	today := e.addPrescription(e.patient, e.doctor, "Today", "ACTIVE", "current_date")
	in3 := e.addPrescription(e.patient, colleague, "In3", "ACTIVE", "current_date + 3")
	in3b := e.addPrescription(second, e.doctor, "In3b", "ACTIVE", "current_date + 3")
	in7 := e.addPrescription(e.patient, e.doctor, "In7", "ACTIVE", "current_date + 7")
	e.addPrescription(e.patient, e.doctor, "In8", "ACTIVE", "current_date + 8")
	e.addPrescription(e.patient, e.doctor, "Yesterday", "ACTIVE", "current_date - 1")
	e.addPrescription(e.patient, e.doctor, "Cancelled", "CANCELLED", "current_date + 2")
	e.addPrescription(e.patient, e.doctor, "Completed", "COMPLETED", "current_date + 2")
	e.addPrescription(e.patient, e.doctor, "OpenEnded", "ACTIVE", "NULL")
	e.addPrescription(e.other, colleague, "NotInCare", "ACTIVE", "current_date + 2") // by e.doctor it would be "treated"

	type item struct {
		ID                string `json:"id"`
		PatientID         string `json:"patient_id"`
		PatientName       string `json:"patient_name"`
		DrugName          string `json:"drug_name"`
		EndDate           string `json:"end_date"`
		PrescribingDoctor string `json:"prescribing_doctor"`
	}
	type page struct {
		Items      []item  `json:"items"`
		NextCursor *string `json:"next_cursor"`
	}
	fetch := func(token, query string) page {
		t.Helper()
		r := e.call("GET", "/api/v1/prescriptions/expiring"+query, token, nil)
		if r.status != 200 {
			t.Fatalf("expiring%s: %d %s", query, r.status, r.body)
		}
		var p page
		r.json(t, &p)
		return p
	}
	ids := func(items []item) []string {
		var out []string
		for _, it := range items {
			out = append(out, it.ID)
		}
		return out
	}
	sameDay := []string{in3, in3b}
	slices.Sort(sameDay) // ties on end_date are ordered by id
	want := append(append([]string{today}, sameDay...), in7)

	all := fetch(e.clin, "?days=7")
	if got := ids(all.Items); !slices.Equal(got, want) || all.NextCursor != nil {
		t.Fatalf("clinician days=7: %v (next %v), want %v", got, all.NextCursor, want)
	}
	for _, it := range all.Items {
		if it.ID == in3 && (it.PatientName != "Ada Lovelace" || it.PrescribingDoctor != "Jane Foster" || it.DrugName != "In3" || it.PatientID != e.patient) {
			t.Errorf("row %+v", it)
		}
	}
	if got := ids(fetch(e.clin, "").Items); !slices.Equal(got, want) {
		t.Errorf("default days: %v", got)
	}
	if got := ids(fetch(e.clin, "?days=2").Items); !slices.Equal(got, []string{today}) {
		t.Errorf("days=2: %v", got)
	}
	// The nurse is in the care of the first patient only.
	if got := ids(fetch(e.nurse, "?days=7").Items); !slices.Equal(got, []string{today, in3, in7}) {
		t.Errorf("nurse: %v", got)
	}
	if got := ids(fetch(e.outsider, "?days=365").Items); len(got) != 0 {
		t.Errorf("outsider sees %v", got)
	}

	// Keyset pages of 2, then 2; the boundary falls inside one day.
	before := e.ownerInt(`SELECT count(*) FROM audit_log WHERE action = 'READ' AND user_id = $1 AND new_values->>'what' = 'expiring'`, e.ids["clin"])
	p1 := fetch(e.clin, "?days=7&limit=2")
	if p1.NextCursor == nil {
		t.Fatal("first page has no next_cursor")
	}
	p2 := fetch(e.clin, "?days=7&limit=2&cursor="+*p1.NextCursor)
	if got := append(ids(p1.Items), ids(p2.Items)...); !slices.Equal(got, want) || p2.NextCursor != nil {
		t.Fatalf("pages %v + %v (next %v), want %v", ids(p1.Items), ids(p2.Items), p2.NextCursor, want)
	}
	// One READ row per patient on each page.
	perPage := func(items []item) int {
		m := map[string]bool{}
		for _, it := range items {
			m[it.PatientID] = true
		}
		return len(m)
	}
	after := e.ownerInt(`SELECT count(*) FROM audit_log WHERE action = 'READ' AND user_id = $1 AND new_values->>'what' = 'expiring'`, e.ids["clin"])
	if after-before != perPage(p1.Items)+perPage(p2.Items) {
		t.Fatalf("%d READ rows for two pages, want %d", after-before, perPage(p1.Items)+perPage(p2.Items))
	}
	if r := e.call("GET", "/api/v1/prescriptions/expiring?cursor=bogus", e.clin, nil); r.status != 400 {
		t.Errorf("bogus cursor: %d", r.status)
	}
	if r := e.call("GET", "/api/v1/prescriptions/expiring", e.admin, nil); r.status != 403 {
		t.Errorf("admin: %d", r.status)
	}
}

// rxInCare makes, for the authorization table, a patient in role's care
// with one ACTIVE prescription, and returns the token to call with: a fresh
// CLINICIAN (with an ACTIVE doctor record, the prescription's author) or
// NURSE on the care team; the fixture's own token for other roles.
func (f *authzFixture) rxInCare(role string) (token, patient, prescription string) {
	e := f.env
	f.seq++
	patient = e.addPatient("Rx", fmt.Sprintf("InCare%d", f.seq))
	author := e.addDoctor("Rx", fmt.Sprintf("Author%d", f.seq), "ACTIVE", "")
	token = f.tokens[role]
	switch role {
	case "CLINICIAN":
		var id string
		id, token = f.freshUser(role)
		author = e.addDoctor("Rx", fmt.Sprintf("Prescriber%d", f.seq), "ACTIVE", id)
		e.addToCareTeam(patient, id)
	case "NURSE":
		var id string
		id, token = f.freshUser(role)
		e.addToCareTeam(patient, id)
	}
	prescription = e.addPrescription(patient, author, "Rx", "ACTIVE", "current_date + 3")
	return token, patient, prescription
}

// rxOutOfCare makes a patient in nobody's care with one prescription.
func (f *authzFixture) rxOutOfCare() (patient, prescription string) {
	e := f.env
	f.seq++
	patient = e.addPatient("Rx", fmt.Sprintf("OutOfCare%d", f.seq))
	author := e.addDoctor("Rx", fmt.Sprintf("Other%d", f.seq), "ACTIVE", "")
	return patient, e.addPrescription(patient, author, "Rx", "ACTIVE", "current_date + 3")
}
