package postgres_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"medrec/internal/pgtest"
)

// specDeviations are the spec's objects that later migrations change on
// purpose. Each must also be named in docs/schema.md with its reason.
var specDeviations = map[string]bool{
	"function audit_trigger_func()":     true, // records who acted, drops secrets
	"index users.idx_users_email":       true, // unique on lower(email)
	"index doctors.idx_doctors_email":   true, // unique on lower(email)
	"index patients.idx_patients_email": true, // unique on lower(email)
	// audit_log partitioned by month (00017): the primary key must hold
	// the partition key.
	"constraint audit_log.audit_log_pkey": true,
	"index audit_log.audit_log_pkey":      true,
	// Row-level security enabled and forced (00008).
	"table patients":         true,
	"table medical_reports":  true,
	"table prescriptions":    true,
	"table emergency_access": true,
	"table audit_log":        true,
	"table ai_request_logs":  true,
}

// TestSpecSchema applies the spec's own DDL (testdata/spec_schema.sql, copied
// verbatim from the spec) to an empty database and compares it, table by
// table, with the migrated schema: every column (type, nullability, default),
// constraint (CHECK, UNIQUE, foreign key with its delete rule), index,
// trigger and function the spec makes must exist under its name with the
// same definition, unless it is a listed deviation; and every deviation and
// every addition must be documented in docs/schema.md.
func TestSpecSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	specDB := pgtest.NewEmpty(t)
	specSQL, err := os.ReadFile("testdata/spec_schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	specConn := pgtest.Conn(t, specDB.OwnerURL)
	if _, err := specConn.Exec(ctx, string(specSQL)); err != nil {
		t.Fatalf("apply the spec's DDL: %v", err)
	}
	spec := readCatalog(t, specConn)
	migrated := readCatalog(t, pgtest.Conn(t, pgtest.New(t).OwnerURL))

	doc, err := os.ReadFile("../../docs/schema.md")
	if err != nil {
		t.Fatalf("docs/schema.md must list every deviation from the spec: %v", err)
	}

	// The fixture must really hold the spec: all seven tables and audit_log.
	for _, table := range []string{"patients", "doctors", "medical_reports", "prescriptions",
		"emergency_access", "users", "ai_request_logs", "audit_log"} {
		if _, ok := spec["table "+table]; !ok {
			t.Errorf("spec fixture has no table %s", table)
		}
	}
	if len(spec) < 100 {
		t.Fatalf("spec catalog has only %d objects; the fixture looks truncated", len(spec))
	}

	for key, want := range spec {
		got, ok := migrated[key]
		switch {
		case !ok:
			t.Errorf("the spec's %s is missing from the migrated schema", key)
		case got != want && !specDeviations[key]:
			t.Errorf("the spec's %s differs and is not a listed deviation:\n spec:     %s\n migrated: %s", key, want, got)
		case got == want && specDeviations[key]:
			t.Errorf("%s is listed as a deviation but matches the spec; drop it from the list", key)
		}
	}
	for key := range specDeviations {
		if _, ok := spec[key]; !ok {
			t.Errorf("deviation %s names nothing in the spec", key)
		}
		if name := docName(key); !strings.Contains(string(doc), name) {
			t.Errorf("docs/schema.md does not mention the deviation %s", name)
		}
	}
	for key := range migrated {
		if _, inSpec := spec[key]; inSpec || strings.HasSuffix(key, "_pkey") {
			continue // a table's primary key is documented with the table
		}
		if name := docName(key); !strings.Contains(string(doc), name) {
			t.Errorf("docs/schema.md does not mention %s, which the migrations add", key)
		}
	}
}

// docName is how docs/schema.md refers to a catalog key: table.column for
// columns, the bare name for every other object.
func docName(key string) string {
	kind, name, _ := strings.Cut(key, " ")
	if kind == "column" {
		return name
	}
	if kind == "table" {
		return name
	}
	if _, obj, ok := strings.Cut(name, "."); ok {
		name = obj
	}
	name, _, _ = strings.Cut(name, "(")
	return name
}
