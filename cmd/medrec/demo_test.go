package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"medrec/internal/pgtest"
)

func TestDemoCommand(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := dbEnv(t, db)
	getenv := func(k string) string { return env[k] }
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"demo", "-patients", "40", "-seed", "7"}, getenv, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("demo exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "loaded 40 patients") {
		t.Fatalf("demo output %q", out.String())
	}
	var n int
	if err := pgtest.Conn(t, db.OwnerURL).QueryRow(context.Background(), `SELECT count(*) FROM patients WHERE email LIKE '%@demo.medrec.invalid'`).Scan(&n); err != nil || n != 40 {
		t.Fatalf("demo patients = %d (%v), want 40", n, err)
	}

	// A real patient makes it refuse unless forced.
	if _, err := pgtest.Conn(t, db.OwnerURL).Exec(context.Background(), `INSERT INTO patients (first_name, last_name, dob, gender) VALUES ('Real', 'Person', '1970-01-01', 'MALE')`); err != nil {
		t.Fatal(err)
	}
	errOut.Reset()
	if code := run(context.Background(), []string{"demo", "-patients", "5"}, getenv, strings.NewReader(""), &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "force") {
		t.Fatalf("demo over real patients: exit %d, %q; want 1 naming -force", code, errOut.String())
	}
}
