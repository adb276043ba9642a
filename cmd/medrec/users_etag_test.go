package main

import (
	"net/http"
	"testing"
)

// api.md: updates carry an ETag and If-Match makes them conditional. For
// users, as for patients and doctors: GET, POST and PATCH send the ETag; a
// PATCH whose If-Match names an older version is 412 and changes nothing.
func TestUserUpdateIsConditional(t *testing.T) {
	t.Parallel()
	e := bootAPI(t, nil)
	_, admin := e.userToken("admin2@example.org", "ADMIN")
	id := e.createUser("target@example.org", "NURSE")
	path := "/api/v1/users/" + id

	get := e.call("GET", path, admin, nil)
	etag := get.header.Get("ETag")
	if get.status != http.StatusOK || etag == "" {
		t.Fatalf("GET: %d ETag %q %s", get.status, etag, get.body)
	}

	// If-Match the current version: the update happens and answers the
	// new version, which GET then shows.
	r := e.callWith("PATCH", path, admin, map[string]string{"status": "SUSPENDED"}, map[string]string{"If-Match": etag})
	if r.status != http.StatusOK {
		t.Fatalf("PATCH with the current ETag: %d %s", r.status, r.body)
	}
	newTag := r.header.Get("ETag")
	if newTag == "" || newTag == etag {
		t.Errorf("PATCH answered ETag %q, want a new one (was %q)", newTag, etag)
	}
	if g := e.call("GET", path, admin, nil); g.header.Get("ETag") != newTag {
		t.Errorf("GET after PATCH: ETag %q, want %q", g.header.Get("ETag"), newTag)
	}

	// A stale or foreign If-Match: 412, nothing changed.
	for name, tag := range map[string]string{"stale": etag, "not ours": `"abc"`, "weak stale": "W/" + etag} {
		r := e.callWith("PATCH", path, admin, map[string]string{"role": "RECEPTIONIST"}, map[string]string{"If-Match": tag})
		if r.status != http.StatusPreconditionFailed {
			t.Errorf("%s If-Match: %d %s, want 412", name, r.status, r.body)
		}
	}
	var u struct {
		Role, Status string
	}
	e.call("GET", path, admin, nil).json(t, &u)
	if u.Role != "NURSE" || u.Status != "SUSPENDED" {
		t.Errorf("after the refused updates the user is %s %s, want NURSE SUSPENDED", u.Role, u.Status)
	}

	// "*" and no If-Match at all are unconditional.
	if r := e.callWith("PATCH", path, admin, map[string]string{"status": "ACTIVE"}, map[string]string{"If-Match": "*"}); r.status != http.StatusOK {
		t.Errorf("If-Match *: %d %s, want 200", r.status, r.body)
	}
	if r := e.call("PATCH", path, admin, map[string]string{"status": "LOCKED"}); r.status != http.StatusOK || r.header.Get("ETag") == "" {
		t.Errorf("unconditional PATCH: %d ETag %q, want 200 with an ETag", r.status, r.header.Get("ETag"))
	}

	// A user that does not exist stays 404 with If-Match.
	missing := "/api/v1/users/00000000-0000-4000-8000-000000000000"
	if r := e.callWith("PATCH", missing, admin, map[string]string{"status": "ACTIVE"}, map[string]string{"If-Match": newTag}); r.status != http.StatusNotFound {
		t.Errorf("missing user with If-Match: %d %s, want 404", r.status, r.body)
	}
}
