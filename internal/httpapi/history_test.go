package httpapi

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"medrec"
)

// TestEncodeHistory checks that the history written with its lists copied
// is the document encoding/json would write, and that something other
// than a JSON array is refused rather than passed on.
func TestEncodeHistory(t *testing.T) {
	email := "ada@example.org"
	h := &medrec.History{
		Patient: &medrec.Patient{ID: "p1", FirstName: "Ada", LastName: "Lovelace",
			DOB: medrec.Date{Time: time.Date(1970, 5, 6, 0, 0, 0, 0, time.UTC)}, Gender: "FEMALE",
			Email: &email, Status: "ACTIVE", CreatedAt: time.Unix(1e9, 0).UTC(), UpdatedAt: time.Unix(1e9, 0).UTC()},
		// As json_agg(json_build_object(...)) writes them.
		Reports:       json.RawMessage(`[{"id" : "r1", "title" : "<Blood & panel>", "summary" : null}, ` + "\n" + ` {"id" : "r2", "title" : "X", "summary" : "a\"b"}]`),
		Prescriptions: json.RawMessage(`[]`),
	}
	got, err := encodeHistory(h)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(got) || got[len(got)-1] != '\n' {
		t.Fatalf("not one JSON document and a newline: %s", got)
	}
	want, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("encodeHistory:\n %s\nencoding/json:\n %s", got, want)
	}

	for _, bad := range []json.RawMessage{nil, json.RawMessage(`null`), json.RawMessage(`{}`)} {
		h.Prescriptions = bad
		if body, err := encodeHistory(h); err == nil {
			t.Errorf("prescriptions %q: encoded %s, want an error", bad, body)
		}
	}
}
