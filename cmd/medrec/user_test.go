package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"medrec/internal/pgtest"
)

func TestUserCreateCommand(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := dbEnv(t, db)
	env["MEDREC_BCRYPT_COST"] = "10"
	getenv := func(k string) string { return env[k] }
	userCreate := func(stdin string, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), append([]string{"user", "create"}, args...), getenv, strings.NewReader(stdin), &out, &errOut)
		return code, out.String(), errOut.String()
	}

	t.Run("OK", func(t *testing.T) {
		code, out, errOut := userCreate("a sturdy passphrase\n", "-email", "Ward.Nurse@example.org", "-role", "nurse")
		if code != 0 || !strings.Contains(out, "created user") {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		var role, hash string
		if err := pgtest.Conn(t, db.OwnerURL).QueryRow(context.Background(),
			`SELECT role, password_hash FROM users WHERE email = 'Ward.Nurse@example.org'`).Scan(&role, &hash); err != nil {
			t.Fatal(err)
		}
		if role != "NURSE" || !strings.HasPrefix(hash, "$2a$10$") {
			t.Fatalf("stored role %q hash prefix %q", role, hash[:7])
		}
		if strings.Contains(out+errOut, "a sturdy passphrase") {
			t.Fatal("the password was echoed")
		}
	})
	t.Run("ErrTakenIgnoringCase", func(t *testing.T) {
		code, _, errOut := userCreate("another sturdy passphrase\n", "-email", "ward.nurse@EXAMPLE.org", "-role", "NURSE")
		if code != 1 || !strings.Contains(errOut, "email") {
			t.Fatalf("exit %d, stderr %q; want 1 naming email", code, errOut)
		}
	})
	for name, tc := range map[string]struct{ stdin, field string }{
		"ErrShortPassword":  {"short\n", "password"},
		"ErrCommonPassword": {"password1234\n", "password"},
		"ErrNoPassword":     {"", "stdin"},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, errOut := userCreate(tc.stdin, "-email", "other@example.org", "-role", "ADMIN")
			if code != 1 || !strings.Contains(errOut, tc.field) {
				t.Fatalf("exit %d, stderr %q; want 1 mentioning %s", code, errOut, tc.field)
			}
		})
	}
	t.Run("ErrUsage", func(t *testing.T) {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), []string{"user", "delete"}, getenv, strings.NewReader(""), &out, &errOut); code != 2 {
			t.Fatalf("exit %d, want 2 for a usage error", code)
		}
	})
}
