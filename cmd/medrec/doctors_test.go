package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// createDoctor inserts a doctor directly as the owner, optionally linked
// to a user, and returns its id.
func (e *apiEnv) createDoctor(email string, userID *string) string {
	e.t.Helper()
	var id string
	if err := e.ownerConn().QueryRow(context.Background(),
		`INSERT INTO doctors (first_name, last_name, email, user_id) VALUES ('Dana', 'Doctor', $1, $2) RETURNING id`,
		email, userID).Scan(&id); err != nil {
		e.t.Fatalf("create doctor %s: %v", email, err)
	}
	return id
}

type doctorJSON struct {
	ID        string  `json:"id"`
	FirstName string  `json:"first_name"`
	Email     string  `json:"email"`
	Phone     *string `json:"phone"`
	Specialty *string `json:"specialty"`
	Status    string  `json:"status"`
	UserID    *string `json:"user_id"`
}

func TestDoctors(t *testing.T) {
	t.Parallel()
	e := bootAPI(t, nil)
	_, admin := e.userToken("admin2@example.org", "ADMIN")
	clinID, clin := e.userToken("clin@example.org", "CLINICIAN")
	nurseID, nurse := e.userToken("nurse@example.org", "NURSE")

	valid := map[string]any{"first_name": "Gregory", "last_name": "House", "email": "house@example.org",
		"specialty": "Nephrology", "phone": "+1 609 555 0100", "user_id": clinID}
	r := e.call("POST", "/api/v1/doctors", admin, valid)
	if r.status != http.StatusCreated || r.header.Get("ETag") == "" {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var d doctorJSON
	r.json(t, &d)
	if r.header.Get("Location") != "/api/v1/doctors/"+d.ID || d.Status != "ACTIVE" || d.UserID == nil || *d.UserID != clinID {
		t.Errorf("created %+v at %s", d, r.header.Get("Location"))
	}
	// The clinician's /me now names the doctor record.
	var me struct {
		DoctorID string `json:"doctor_id"`
	}
	e.call("GET", "/api/v1/me", clin, nil).json(t, &me)
	if me.DoctorID != d.ID {
		t.Errorf("/me doctor_id %q, want %q", me.DoctorID, d.ID)
	}

	for name, c := range map[string]struct {
		body   map[string]any
		status int
		field  string
	}{
		"email taken ignoring case": {with(valid, "email", "HOUSE@example.org", "user_id", nil), 409, "email"},
		"user already linked":       {with(valid, "email", "other@example.org"), 409, "user_id"},
		"user not a clinician":      {with(valid, "email", "n@example.org", "user_id", nurseID), 400, "user_id"},
		"user missing":              {with(valid, "email", "m@example.org", "user_id", missingID), 400, "user_id"},
		"user malformed":            {with(valid, "email", "m@example.org", "user_id", "nope"), 400, "user_id"},
		"email NOT NULL":            {with(valid, "email", nil, "user_id", nil), 400, "email"},
		"first_name NOT NULL":       {with(valid, "first_name", nil, "email", "f@example.org", "user_id", nil), 400, "first_name"},
		"status CHECK":              {with(valid, "status", "FIRED", "email", "s@example.org", "user_id", nil), 400, "status"},
		"specialty over 100":        {with(valid, "specialty", strings.Repeat("s", 101), "email", "s@example.org", "user_id", nil), 400, "specialty"},
		"phone over 20":             {with(valid, "phone", strings.Repeat("1", 21), "email", "s@example.org", "user_id", nil), 400, "phone"},
		"email over 255":            {with(valid, "email", strings.Repeat("a", 250)+"@example.org", "user_id", nil), 400, "email"},
	} {
		r := e.call("POST", "/api/v1/doctors", admin, c.body)
		if r.status != c.status || c.status == 400 && !slices.Contains(problemFields(t, r), c.field) {
			t.Errorf("%s: %d %s, want %d naming %s", name, r.status, r.body, c.status, c.field)
		}
	}
	r = e.call("POST", "/api/v1/doctors", admin, map[string]any{"first_name": "", "email": "x", "status": "NO", "phone": "abc"})
	if got := problemFields(t, r); r.status != 400 || !slices.Equal(got, []string{"email", "first_name", "last_name", "phone", "status"}) {
		t.Errorf("all errors at once: %d %v", r.status, got)
	}

	// Reads for every role that may read the directory.
	e.call("POST", "/api/v1/doctors", admin, map[string]any{"first_name": "Lisa", "last_name": "Cuddy", "email": "cuddy@example.org", "specialty": "endocrinology", "status": "ON_LEAVE"})
	var l struct {
		Items []doctorJSON `json:"items"`
	}
	r = e.call("GET", "/api/v1/doctors?specialty=Endocrinology", nurse, nil)
	r.json(t, &l)
	if r.status != 200 || len(l.Items) != 1 || l.Items[0].FirstName != "Lisa" {
		t.Errorf("filter specialty: %d %s", r.status, r.body)
	}
	r = e.call("GET", "/api/v1/doctors?status=ACTIVE", nurse, nil)
	l.Items = nil
	r.json(t, &l)
	if len(l.Items) != 1 || l.Items[0].ID != d.ID {
		t.Errorf("filter status: %s", r.body)
	}
	if r := e.call("GET", "/api/v1/doctors?status=FIRED", nurse, nil); r.status != 400 {
		t.Errorf("bad status filter: %d", r.status)
	}
	if r := e.call("GET", "/api/v1/doctors/"+d.ID, nurse, nil); r.status != 200 || r.header.Get("ETag") == "" {
		t.Errorf("GET doctor: %d", r.status)
	}
	if r := e.call("GET", "/api/v1/doctors/nope", nurse, nil); r.status != 404 {
		t.Errorf("GET malformed id: %d", r.status)
	}

	// The clinician edits the contact fields of their own record only.
	path := "/api/v1/doctors/" + d.ID
	if r := e.call("PATCH", path, clin, map[string]any{"phone": "+1 609 555 0199", "email": "g.house@example.org"}); r.status != 200 {
		t.Errorf("CLINICIAN own contact fields: %d %s", r.status, r.body)
	}
	if r := e.call("PATCH", path, clin, map[string]any{"specialty": "Diagnostics"}); r.status != 403 {
		t.Errorf("CLINICIAN own specialty: %d, want 403", r.status)
	}
	if r := e.call("PATCH", path, clin, map[string]any{"status": "RETIRED"}); r.status != 403 {
		t.Errorf("CLINICIAN own status: %d, want 403", r.status)
	}
	other := e.createDoctor("wilson@example.org", nil)
	if r := e.call("PATCH", "/api/v1/doctors/"+other, clin, map[string]any{"phone": "1"}); r.status != 403 {
		t.Errorf("CLINICIAN other's record: %d, want 403", r.status)
	}
	if r := e.call("PATCH", path, nurse, map[string]any{"phone": "1"}); r.status != 403 {
		t.Errorf("NURSE PATCH: %d, want 403", r.status)
	}

	// ADMIN: any field, conditional on If-Match, nulls clear.
	etag := e.call("GET", path, admin, nil).header.Get("ETag")
	r = e.callWith("PATCH", path, admin, map[string]any{"status": "ON_LEAVE", "specialty": nil, "user_id": nil}, map[string]string{"If-Match": etag})
	if r.status != 200 {
		t.Fatalf("ADMIN PATCH: %d %s", r.status, r.body)
	}
	var got doctorJSON
	r.json(t, &got)
	if got.Status != "ON_LEAVE" || got.Specialty != nil || got.UserID != nil || got.Email != "g.house@example.org" {
		t.Errorf("after PATCH: %+v", got)
	}
	if r := e.callWith("PATCH", path, admin, map[string]any{"status": "ACTIVE"}, map[string]string{"If-Match": etag}); r.status != 412 {
		t.Errorf("stale If-Match: %d, want 412", r.status)
	}
	if r := e.call("PATCH", path, admin, map[string]any{"email": "CUDDY@example.org"}); r.status != 409 {
		t.Errorf("email taken: %d, want 409", r.status)
	}
	for name, body := range map[string]map[string]any{
		"unknown field": {"id": missingID},
		"null email":    {"email": nil},
		"empty":         {},
		"bad status":    {"status": "FIRED"},
		"nurse user":    {"user_id": nurseID},
	} {
		if r := e.call("PATCH", path, admin, body); r.status != 400 {
			t.Errorf("%s: %d %s, want 400", name, r.status, r.body)
		}
	}
	if r := e.call("PATCH", "/api/v1/doctors/"+missingID, admin, map[string]any{"phone": "1"}); r.status != 404 {
		t.Errorf("PATCH missing: %d, want 404", r.status)
	}
}
