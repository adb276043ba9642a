package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// authzFixture is one signed-in user per role plus the records the routes act on.
type authzFixture struct {
	env     *apiEnv
	ids     map[string]string // role → user id
	tokens  map[string]string // role → access token ("" for anonymous)
	patient string            // a patient every manager may see
	nurse   string            // a NURSE that care-team routes add and remove
	seq     int
}

const anonymous = "ANONYMOUS"

var authzRoles = []string{anonymous, "ADMIN", "CLINICIAN", "NURSE", "RECEPTIONIST"}

func newAuthzFixture(t *testing.T) *authzFixture {
	env := bootAPI(t, nil)
	f := &authzFixture{env: env, ids: map[string]string{}, tokens: map[string]string{anonymous: ""}}
	for _, role := range authzRoles[1:] {
		email := strings.ToLower(role) + ".user@example.org"
		f.ids[role] = env.createUser(email, role)
		f.tokens[role] = env.login(email, fixturePassword).Access
	}
	f.nurse = env.createUser("care.nurse@example.org", "NURSE")
	if err := env.ownerConn().QueryRow(context.Background(),
		`INSERT INTO patients (first_name, last_name, dob, gender) VALUES ('Pat', 'Ient', '1980-02-03', 'FEMALE') RETURNING id`).Scan(&f.patient); err != nil {
		t.Fatal(err)
	}
	return f
}

// freshUser makes a throwaway user of role and signs it in, for routes that
// end the caller's own session (logout, password change).
func (f *authzFixture) freshUser(role string) (id, token string) {
	if role == anonymous {
		return "", ""
	}
	f.seq++
	email := fmt.Sprintf("fresh%d.%s@example.org", f.seq, strings.ToLower(role))
	id = f.env.createUser(email, role)
	return id, f.env.login(email, fixturePassword).Access
}

// state is a fingerprint of everything a denied request must leave alone.
func (f *authzFixture) state(t *testing.T) string {
	t.Helper()
	var s string
	err := f.env.ownerConn().QueryRow(context.Background(), `
		SELECT md5(coalesce((SELECT string_agg(u::text, '|' ORDER BY id) FROM users u), '')
		        || coalesce((SELECT string_agg(c::text, '|' ORDER BY id) FROM care_team c), '')
		        || coalesce((SELECT string_agg(p::text, '|' ORDER BY id) FROM patients p), '')
		        || coalesce((SELECT string_agg(a::text, '|' ORDER BY id) FROM audit_log a), ''))`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// request is one call to make: prepared (fixtures made) before the
// database fingerprint is taken, sent after.
type request struct {
	method, path, token string
	body                any
}

// authzCase is one route called by one role.
type authzCase struct {
	route  string // "METHOD pattern", as in the route table
	target string // what the call acts on: "own", "other", "missing" or ""
	// prepare makes what the call needs and returns the request to send as role.
	prepare func(f *authzFixture, role string) request
	// want is the status per role; roles not listed get wantElse.
	want     map[string]int
	wantElse int
}

// as is the request sent with role's token.
func (f *authzFixture) as(role, method, path string, body any) request {
	return request{method: method, path: path, token: f.tokens[role], body: body}
}

// own is role's own user id; nobody's (an ADMIN's) for anonymous.
func (f *authzFixture) own(role string) string {
	if role == anonymous {
		return f.ids["ADMIN"]
	}
	return f.ids[role]
}

const missingID = "00000000-0000-4000-8000-000000000000"

var authzCases = []authzCase{
	{route: "GET /api/v1/openapi.json", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/openapi.json", nil)
	}, wantElse: 200},
	{route: "POST /api/v1/auth/login", prepare: func(f *authzFixture, role string) request {
		return request{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"email": "admin.user@example.org", "password": fixturePassword}}
	}, wantElse: 200},
	{route: "POST /api/v1/auth/refresh", prepare: func(f *authzFixture, role string) request {
		r := f.env.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "nurse.user@example.org", "password": fixturePassword})
		var tok tokens
		r.json(f.env.t, &tok)
		return request{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": tok.Refresh}}
	}, wantElse: 200},
	{route: "POST /api/v1/auth/logout", prepare: func(f *authzFixture, role string) request {
		_, tok := f.freshUser(role)
		return request{method: "POST", path: "/api/v1/auth/logout", token: tok}
	}, want: map[string]int{anonymous: 401}, wantElse: 204},
	{route: "GET /api/v1/me", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/me", nil)
	}, want: map[string]int{anonymous: 401}, wantElse: 200},
	{route: "PUT /api/v1/me/password", prepare: func(f *authzFixture, role string) request {
		_, tok := f.freshUser(role)
		return request{method: "PUT", path: "/api/v1/me/password", token: tok, body: map[string]string{
			"current_password": fixturePassword, "new_password": "another fine passphrase"}}
	}, want: map[string]int{anonymous: 401}, wantElse: 204},
	{route: "POST /api/v1/me/mfa/totp", prepare: func(f *authzFixture, role string) request {
		_, tok := f.freshUser(role)
		return request{method: "POST", path: "/api/v1/me/mfa/totp", token: tok}
	}, want: map[string]int{anonymous: 401}, wantElse: 200},
	{route: "POST /api/v1/me/mfa/totp/confirm", prepare: func(f *authzFixture, role string) request {
		// Nothing is being enrolled, so a permitted caller gets 400.
		return f.as(role, "POST", "/api/v1/me/mfa/totp/confirm", map[string]string{"totp_code": "123456"})
	}, want: map[string]int{anonymous: 401}, wantElse: 400},

	{route: "POST /api/v1/users", prepare: func(f *authzFixture, role string) request {
		f.seq++
		return f.as(role, "POST", "/api/v1/users", map[string]string{
			"email": fmt.Sprintf("new%d@example.org", f.seq), "password": "a new user's passphrase", "role": "NURSE"})
	}, want: map[string]int{anonymous: 401, "ADMIN": 201}, wantElse: 403},
	{route: "GET /api/v1/users", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/users?role=NURSE", nil)
	}, want: map[string]int{anonymous: 401, "ADMIN": 200}, wantElse: 403},
	{route: "GET /api/v1/users/{id}", target: "own", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/users/"+f.own(role), nil)
	}, want: map[string]int{anonymous: 401, "ADMIN": 200}, wantElse: 403},
	{route: "GET /api/v1/users/{id}", target: "other", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/users/"+f.nurse, nil)
	}, want: map[string]int{anonymous: 401, "ADMIN": 200}, wantElse: 403},
	{route: "GET /api/v1/users/{id}", target: "missing", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/users/"+missingID, nil)
	}, want: map[string]int{anonymous: 401, "ADMIN": 404}, wantElse: 403},
	{route: "PATCH /api/v1/users/{id}", target: "own", prepare: func(f *authzFixture, role string) request {
		// Nobody changes their own role, not even an ADMIN.
		return f.as(role, "PATCH", "/api/v1/users/"+f.own(role), map[string]string{"role": "ADMIN"})
	}, want: map[string]int{anonymous: 401}, wantElse: 403},
	{route: "PATCH /api/v1/users/{id}", target: "other", prepare: func(f *authzFixture, role string) request {
		f.seq++
		id := f.env.createUser(fmt.Sprintf("target%d@example.org", f.seq), "NURSE")
		return f.as(role, "PATCH", "/api/v1/users/"+id, map[string]string{"status": "SUSPENDED"})
	}, want: map[string]int{anonymous: 401, "ADMIN": 200}, wantElse: 403},

	// patients
	{route: "POST /api/v1/patients", prepare: func(f *authzFixture, role string) request {
		f.seq++
		return f.as(role, "POST", "/api/v1/patients", map[string]string{
			"first_name": fmt.Sprintf("New%d", f.seq), "last_name": "Patient", "dob": "1990-01-02", "gender": "OTHER"})
	}, want: map[string]int{anonymous: 401, "ADMIN": 201, "RECEPTIONIST": 201}, wantElse: 403},
	{route: "GET /api/v1/patients", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/patients?q=pat", nil)
	}, want: map[string]int{anonymous: 401}, wantElse: 200},
	{route: "GET /api/v1/patients/{id}", target: "other", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/patients/"+f.patient, nil)
	}, want: map[string]int{anonymous: 401, "ADMIN": 200, "RECEPTIONIST": 200}, wantElse: 404},
	{route: "GET /api/v1/patients/{id}", target: "missing", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/patients/"+missingID, nil)
	}, want: map[string]int{anonymous: 401}, wantElse: 404},
	{route: "PATCH /api/v1/patients/{id}", target: "other", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "PATCH", "/api/v1/patients/"+f.patient, map[string]string{"phone": "+1 555 0100"})
	}, want: map[string]int{anonymous: 401, "ADMIN": 200, "RECEPTIONIST": 200, "CLINICIAN": 404}, wantElse: 403},
	{route: "PATCH /api/v1/patients/{id}", target: "missing", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "PATCH", "/api/v1/patients/"+missingID, map[string]string{"phone": "+1 555 0100"})
	}, want: map[string]int{anonymous: 401, "NURSE": 403}, wantElse: 404},
	{route: "POST /api/v1/patients/lookup", target: "other", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "POST", "/api/v1/patients/lookup", map[string]string{"first_name": "pat", "last_name": "ient", "dob": "1980-02-03"})
	}, want: map[string]int{anonymous: 401}, wantElse: 200},
	{route: "POST /api/v1/patients/{id}/erase", target: "other", prepare: func(f *authzFixture, role string) request {
		// A patient of its own for each call, so a permitted erase has one to delete.
		id := f.env.createPatient("Erase", "Me", "1970-01-01")
		return f.as(role, "POST", "/api/v1/patients/"+id+"/erase", map[string]string{"reason": "right to erasure request"})
	}, want: map[string]int{anonymous: 401, "ADMIN": 204}, wantElse: 403},
	{route: "POST /api/v1/patients/{id}/erase", target: "missing", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "POST", "/api/v1/patients/"+missingID+"/erase", map[string]string{"reason": "right to erasure request"})
	}, want: map[string]int{anonymous: 401, "ADMIN": 404}, wantElse: 403},

	// doctors
	{route: "POST /api/v1/doctors", prepare: func(f *authzFixture, role string) request {
		f.seq++
		return f.as(role, "POST", "/api/v1/doctors", map[string]string{
			"first_name": "Doc", "last_name": fmt.Sprintf("Tor%d", f.seq), "email": fmt.Sprintf("doc%d@example.org", f.seq)})
	}, want: map[string]int{anonymous: 401, "ADMIN": 201}, wantElse: 403},
	{route: "GET /api/v1/doctors", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/doctors?status=ACTIVE", nil)
	}, want: map[string]int{anonymous: 401}, wantElse: 200},
	{route: "GET /api/v1/doctors/{id}", target: "other", prepare: func(f *authzFixture, role string) request {
		f.seq++
		id := f.env.createDoctor(fmt.Sprintf("getdoc%d@example.org", f.seq), nil)
		return f.as(role, "GET", "/api/v1/doctors/"+id, nil)
	}, want: map[string]int{anonymous: 401}, wantElse: 200},
	{route: "GET /api/v1/doctors/{id}", target: "missing", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/doctors/"+missingID, nil)
	}, want: map[string]int{anonymous: 401}, wantElse: 404},
	{route: "PATCH /api/v1/doctors/{id}", target: "own", prepare: func(f *authzFixture, role string) request {
		// A fresh user with a doctor record linked to it when it is a CLINICIAN.
		userID, tok := f.freshUser(role)
		var link *string
		if role == "CLINICIAN" {
			link = &userID
		}
		f.seq++
		id := f.env.createDoctor(fmt.Sprintf("owndoc%d@example.org", f.seq), link)
		return request{method: "PATCH", path: "/api/v1/doctors/" + id, token: tok, body: map[string]string{"phone": "+1 555 0199"}}
	}, want: map[string]int{anonymous: 401, "ADMIN": 200, "CLINICIAN": 200}, wantElse: 403},
	{route: "PATCH /api/v1/doctors/{id}", target: "other", prepare: func(f *authzFixture, role string) request {
		f.seq++
		id := f.env.createDoctor(fmt.Sprintf("otherdoc%d@example.org", f.seq), nil)
		return f.as(role, "PATCH", "/api/v1/doctors/"+id, map[string]string{"phone": "+1 555 0199"})
	}, want: map[string]int{anonymous: 401, "ADMIN": 200}, wantElse: 403},
	{route: "PATCH /api/v1/doctors/{id}", target: "missing", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "PATCH", "/api/v1/doctors/"+missingID, map[string]string{"phone": "+1 555 0199"})
	}, want: map[string]int{anonymous: 401, "ADMIN": 404, "CLINICIAN": 404}, wantElse: 403},

	// reports: "own" is a patient in the care of the fixture's CLINICIAN and
	// NURSE, "other" one outside it; both reports are by another doctor.
	{route: "POST /api/v1/patients/{id}/reports", target: "own", prepare: func(f *authzFixture, role string) request {
		// The table sends JSON: a CLINICIAN gets past the permission check
		// and is refused for the body (415), before any doctor-record check,
		// so the row holds whether or not the fixture links a doctor.
		// Multipart uploads are covered in reports_test.go.
		return f.as(role, "POST", "/api/v1/patients/"+f.reports().inCare+"/reports", map[string]string{"title": "x"})
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 415}, wantElse: 403},
	{route: "GET /api/v1/patients/{id}/reports", target: "own", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/patients/"+f.reports().inCare+"/reports?report_type=LAB", nil)
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 200, "NURSE": 200}, wantElse: 403},
	{route: "GET /api/v1/patients/{id}/reports", target: "other", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/patients/"+f.reports().outOfCare+"/reports", nil)
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 404, "NURSE": 404}, wantElse: 403},
	{route: "GET /api/v1/patients/{id}/reports", target: "missing", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/patients/"+missingID+"/reports", nil)
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 404, "NURSE": 404}, wantElse: 403},
	{route: "GET /api/v1/reports/{id}", target: "own", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/reports/"+f.reports().inCareReport, nil)
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 200, "NURSE": 200}, wantElse: 403},
	{route: "GET /api/v1/reports/{id}", target: "other", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/reports/"+f.reports().outOfCareReport, nil)
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 404, "NURSE": 404}, wantElse: 403},
	{route: "GET /api/v1/reports/{id}", target: "missing", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/reports/"+missingID, nil)
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 404, "NURSE": 404}, wantElse: 403},
	{route: "PATCH /api/v1/reports/{id}", target: "own", prepare: func(f *authzFixture, role string) request {
		// In care but not the author: only the author may change a report.
		return f.as(role, "PATCH", "/api/v1/reports/"+f.reports().inCareReport, map[string]string{"status": "COMPLETED"})
	}, want: map[string]int{anonymous: 401}, wantElse: 403},
	{route: "PATCH /api/v1/reports/{id}", target: "other", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "PATCH", "/api/v1/reports/"+f.reports().outOfCareReport, map[string]string{"status": "COMPLETED"})
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 404}, wantElse: 403},
	{route: "PATCH /api/v1/reports/{id}", target: "missing", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "PATCH", "/api/v1/reports/"+missingID, map[string]string{"status": "COMPLETED"})
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 404}, wantElse: 403},
	{route: "GET /api/v1/reports/{id}/file", target: "own", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/reports/"+f.reports().inCareReport+"/file", nil)
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 200, "NURSE": 200}, wantElse: 403},
	{route: "GET /api/v1/reports/{id}/file", target: "other", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/reports/"+f.reports().outOfCareReport+"/file", nil)
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 404, "NURSE": 404}, wantElse: 403},
	{route: "GET /api/v1/reports/{id}/file", target: "missing", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/reports/"+missingID+"/file", nil)
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 404, "NURSE": 404}, wantElse: 403},

	// prescriptions and history
	{route: "POST /api/v1/patients/{id}/prescriptions", target: "own", prepare: func(f *authzFixture, role string) request {
		tok, patient, _ := f.rxInCare(role)
		return request{method: "POST", path: "/api/v1/patients/" + patient + "/prescriptions", token: tok, body: validPrescription()}
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 201}, wantElse: 403},
	{route: "POST /api/v1/patients/{id}/prescriptions", target: "other", prepare: func(f *authzFixture, role string) request {
		patient, _ := f.rxOutOfCare()
		return f.as(role, "POST", "/api/v1/patients/"+patient+"/prescriptions", validPrescription())
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 404}, wantElse: 403},
	{route: "POST /api/v1/patients/{id}/prescriptions", target: "missing", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "POST", "/api/v1/patients/"+missingID+"/prescriptions", validPrescription())
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 404}, wantElse: 403},
	{route: "GET /api/v1/patients/{id}/prescriptions", target: "own", prepare: func(f *authzFixture, role string) request {
		tok, patient, _ := f.rxInCare(role)
		return request{method: "GET", path: "/api/v1/patients/" + patient + "/prescriptions?status=ACTIVE", token: tok}
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 200, "NURSE": 200}, wantElse: 403},
	{route: "GET /api/v1/patients/{id}/prescriptions", target: "other", prepare: func(f *authzFixture, role string) request {
		patient, _ := f.rxOutOfCare()
		return f.as(role, "GET", "/api/v1/patients/"+patient+"/prescriptions", nil)
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 404, "NURSE": 404}, wantElse: 403},
	{route: "GET /api/v1/patients/{id}/prescriptions", target: "missing", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/patients/"+missingID+"/prescriptions", nil)
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 404, "NURSE": 404}, wantElse: 403},
	{route: "GET /api/v1/prescriptions/expiring", target: "own", prepare: func(f *authzFixture, role string) request {
		tok, _, _ := f.rxInCare(role)
		return request{method: "GET", path: "/api/v1/prescriptions/expiring?days=7", token: tok}
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 200, "NURSE": 200}, wantElse: 403},
	{route: "GET /api/v1/prescriptions/{id}", target: "own", prepare: func(f *authzFixture, role string) request {
		tok, _, rx := f.rxInCare(role)
		return request{method: "GET", path: "/api/v1/prescriptions/" + rx, token: tok}
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 200, "NURSE": 200}, wantElse: 403},
	{route: "GET /api/v1/prescriptions/{id}", target: "other", prepare: func(f *authzFixture, role string) request {
		_, rx := f.rxOutOfCare()
		return f.as(role, "GET", "/api/v1/prescriptions/"+rx, nil)
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 404, "NURSE": 404}, wantElse: 403},
	{route: "GET /api/v1/prescriptions/{id}", target: "missing", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/prescriptions/"+missingID, nil)
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 404, "NURSE": 404}, wantElse: 403},
	{route: "PATCH /api/v1/prescriptions/{id}", target: "own", prepare: func(f *authzFixture, role string) request {
		tok, _, rx := f.rxInCare(role)
		return request{method: "PATCH", path: "/api/v1/prescriptions/" + rx, token: tok, body: map[string]string{"status": "CANCELLED"}}
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 200}, wantElse: 403},
	{route: "PATCH /api/v1/prescriptions/{id}", target: "other", prepare: func(f *authzFixture, role string) request {
		_, rx := f.rxOutOfCare()
		return f.as(role, "PATCH", "/api/v1/prescriptions/"+rx, map[string]string{"status": "CANCELLED"})
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 404}, wantElse: 403},
	{route: "PATCH /api/v1/prescriptions/{id}", target: "missing", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "PATCH", "/api/v1/prescriptions/"+missingID, map[string]string{"status": "CANCELLED"})
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 404}, wantElse: 403},
	{route: "GET /api/v1/patients/{id}/history", target: "own", prepare: func(f *authzFixture, role string) request {
		tok, patient, _ := f.rxInCare(role)
		return request{method: "GET", path: "/api/v1/patients/" + patient + "/history", token: tok}
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 200, "NURSE": 200}, wantElse: 403},
	{route: "GET /api/v1/patients/{id}/history", target: "other", prepare: func(f *authzFixture, role string) request {
		patient, _ := f.rxOutOfCare()
		return f.as(role, "GET", "/api/v1/patients/"+patient+"/history", nil)
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 404, "NURSE": 404}, wantElse: 403},
	{route: "GET /api/v1/patients/{id}/history", target: "missing", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/patients/"+missingID+"/history", nil)
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 404, "NURSE": 404}, wantElse: 403},

	{route: "GET /api/v1/audit", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/audit?record_id="+f.patient, nil)
	}, want: map[string]int{anonymous: 401, "ADMIN": 200}, wantElse: 403},

	{route: "GET /api/v1/patients/{id}/care-team", target: "other", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/patients/"+f.patient+"/care-team", nil)
	}, want: map[string]int{anonymous: 401, "ADMIN": 200, "RECEPTIONIST": 200}, wantElse: 403},
	{route: "GET /api/v1/patients/{id}/care-team", target: "missing", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/patients/"+missingID+"/care-team", nil)
	}, want: map[string]int{anonymous: 401, "ADMIN": 404, "RECEPTIONIST": 404}, wantElse: 403},
	{route: "POST /api/v1/patients/{id}/care-team", target: "other", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "POST", "/api/v1/patients/"+f.patient+"/care-team", map[string]string{"user_id": f.nurse})
	}, want: map[string]int{anonymous: 401, "ADMIN": 201, "RECEPTIONIST": 201}, wantElse: 403},
	{route: "DELETE /api/v1/patients/{id}/care-team/{user_id}", target: "other", prepare: func(f *authzFixture, role string) request {
		// Added first as the owner, so each permitted role has one to remove.
		if _, err := f.env.ownerConn().Exec(context.Background(), `
			INSERT INTO care_team (patient_id, user_id) VALUES ($1, $2)
			ON CONFLICT (patient_id, user_id) DO UPDATE SET until = NULL, since = now() - interval '1 minute'`, f.patient, f.nurse); err != nil {
			f.env.t.Fatal(err)
		}
		return f.as(role, "DELETE", "/api/v1/patients/"+f.patient+"/care-team/"+f.nurse, nil)
	}, want: map[string]int{anonymous: 401, "ADMIN": 204, "RECEPTIONIST": 204}, wantElse: 403},

	// emergency access (helpers in emergency_test.go)
	{route: "POST /api/v1/emergency-access", target: "other", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "POST", "/api/v1/emergency-access", map[string]any{"patient_id": f.patient, "reason": "arrest", "duration_minutes": 30})
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 201, "NURSE": 201}, wantElse: 403},
	{route: "POST /api/v1/emergency-access", target: "missing", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "POST", "/api/v1/emergency-access", map[string]any{"patient_id": missingID, "reason": "arrest", "duration_minutes": 30})
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 404, "NURSE": 404}, wantElse: 403},
	{route: "GET /api/v1/emergency-access", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/emergency-access?status=PENDING", nil)
	}, want: map[string]int{anonymous: 401, "RECEPTIONIST": 403}, wantElse: 200},
	{route: "GET /api/v1/emergency-access/audit", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/emergency-access/audit?days=30", nil)
	}, want: map[string]int{anonymous: 401, "ADMIN": 200}, wantElse: 403},
	{route: "GET /api/v1/emergency-access/{id}", target: "own", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/emergency-access/"+f.emRequest(f.own(role), "PENDING"), nil)
	}, want: map[string]int{anonymous: 401, "RECEPTIONIST": 403}, wantElse: 200},
	{route: "GET /api/v1/emergency-access/{id}", target: "other", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/emergency-access/"+f.emRequest(f.emRequester(), "PENDING"), nil)
	}, want: map[string]int{anonymous: 401, "ADMIN": 200, "CLINICIAN": 200, "NURSE": 404}, wantElse: 403},
	{route: "GET /api/v1/emergency-access/{id}", target: "missing", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/emergency-access/"+missingID, nil)
	}, want: map[string]int{anonymous: 401, "RECEPTIONIST": 403}, wantElse: 404},
	{route: "POST /api/v1/emergency-access/{id}/approve", target: "own", prepare: func(f *authzFixture, role string) request {
		// The decider's own request: self-approval is 403 even for a CLINICIAN.
		own, tok := f.emDecider(role)
		return request{method: "POST", path: "/api/v1/emergency-access/" + f.emRequest(own, "PENDING") + "/approve", token: tok, body: map[string]string{}}
	}, want: map[string]int{anonymous: 401}, wantElse: 403},
	{route: "POST /api/v1/emergency-access/{id}/approve", target: "other", prepare: func(f *authzFixture, role string) request {
		return request{method: "POST", path: "/api/v1/emergency-access/" + f.emRequest(f.emRequester(), "PENDING") + "/approve", token: f.emDeciderToken(role)}
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 200}, wantElse: 403},
	{route: "POST /api/v1/emergency-access/{id}/approve", target: "missing", prepare: func(f *authzFixture, role string) request {
		return request{method: "POST", path: "/api/v1/emergency-access/" + missingID + "/approve", token: f.emDeciderToken(role)}
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 404}, wantElse: 403},
	{route: "POST /api/v1/emergency-access/{id}/deny", target: "other", prepare: func(f *authzFixture, role string) request {
		return request{method: "POST", path: "/api/v1/emergency-access/" + f.emRequest(f.emRequester(), "PENDING") + "/deny", token: f.emDeciderToken(role), body: map[string]string{"notes": "no"}}
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 200}, wantElse: 403},
	{route: "POST /api/v1/emergency-access/{id}/deny", target: "missing", prepare: func(f *authzFixture, role string) request {
		return request{method: "POST", path: "/api/v1/emergency-access/" + missingID + "/deny", token: f.emDeciderToken(role)}
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 404}, wantElse: 403},
	{route: "POST /api/v1/emergency-access/{id}/revoke", target: "other", prepare: func(f *authzFixture, role string) request {
		return request{method: "POST", path: "/api/v1/emergency-access/" + f.emRequest(f.emRequester(), "APPROVED") + "/revoke", token: f.emDeciderToken(role)}
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 200}, wantElse: 403},
	{route: "POST /api/v1/emergency-access/{id}/revoke", target: "missing", prepare: func(f *authzFixture, role string) request {
		return request{method: "POST", path: "/api/v1/emergency-access/" + missingID + "/revoke", token: f.emDeciderToken(role)}
	}, want: map[string]int{anonymous: 401, "CLINICIAN": 404}, wantElse: 403},
	{route: "GET /api/v1/patients/{id}/access-log", target: "own", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/patients/"+f.emPatientInCare(role)+"/access-log", nil)
	}, want: map[string]int{anonymous: 401, "ADMIN": 200, "CLINICIAN": 200}, wantElse: 403},
	{route: "GET /api/v1/patients/{id}/access-log", target: "other", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/patients/"+f.patient+"/access-log", nil)
	}, want: map[string]int{anonymous: 401, "ADMIN": 200, "CLINICIAN": 404}, wantElse: 403},
	{route: "GET /api/v1/patients/{id}/access-log", target: "missing", prepare: func(f *authzFixture, role string) request {
		return f.as(role, "GET", "/api/v1/patients/"+missingID+"/access-log", nil)
	}, want: map[string]int{anonymous: 401, "ADMIN": 404, "CLINICIAN": 404}, wantElse: 403},
}

// TestAuthorizationTable calls every route of the route table as every role
// (and as nobody), on the caller's own record and on others', checks the
// status, and checks that every refused call left the database unchanged.
// A route missing from authzCases fails the test.
func TestAuthorizationTable(t *testing.T) {
	t.Parallel()
	f := newAuthzFixture(t)

	covered := map[string]bool{}
	for _, c := range authzCases {
		covered[c.route] = true
	}
	for _, rt := range f.env.m.api.Routes() {
		key := rt.Method + " " + rt.Pattern
		if rt.Permission == "public" && !strings.HasPrefix(rt.Pattern, "/api/") {
			continue // probes and metrics: no record, no role
		}
		if !covered[key] {
			t.Errorf("route %s has no row in the authorization table", key)
		}
	}

	for _, c := range authzCases {
		for _, role := range authzRoles {
			name := fmt.Sprintf("%s/%s/%s", c.route, c.target, role)
			want, ok := c.want[role]
			if !ok {
				want = c.wantElse
			}
			req := c.prepare(f, role)
			before := f.state(t)
			got := f.env.call(req.method, req.path, req.token, req.body).status
			if got != want {
				t.Errorf("%s: status %d, want %d", name, got, want)
			}
			if got >= 400 {
				if after := f.state(t); after != before {
					t.Errorf("%s: refused with %d but the database changed", name, got)
				}
			}
		}
	}
	// The check above must be able to see a change: a permitted write moves it.
	before := f.state(t)
	if got := f.env.call("PATCH", "/api/v1/users/"+f.nurse, f.tokens["ADMIN"], map[string]string{"status": "SUSPENDED"}).status; got != http.StatusOK {
		t.Fatalf("control write: %d", got)
	}
	if f.state(t) == before {
		t.Fatal("the database fingerprint did not change after a permitted write")
	}
}
