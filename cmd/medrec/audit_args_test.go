package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestAuditArguments checks that a bad `medrec audit` command line exits 2
// with a message naming what is wrong, before any database is opened (the
// environment names none, so reaching one would fail differently).
func TestAuditArguments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string // on stderr
	}{
		{[]string{"audit"}, "usage:"},
		{[]string{"audit", "-from", "2026-01-01"}, "usage:"},
		{[]string{"audit", "frobnicate"}, `unknown subcommand "frobnicate"`},
		{[]string{"audit", "export"}, "-from: required"},
		{[]string{"audit", "export", "-from", "garbage"}, `-from: "garbage" is neither RFC 3339 nor YYYY-MM-DD`},
		{[]string{"audit", "export", "-from", "2026-01-01", "-to", "yesterday"}, `-to: "yesterday" is neither`},
		{[]string{"audit", "export", "-from", "2026-02-01", "-to", "2026-01-01"}, "-to: must be after -from"},
		{[]string{"audit", "archive"}, "-before: required"},
		{[]string{"audit", "archive", "-before", "2026-13"}, `-before: "2026-13" is not a month: want YYYY-MM`},
		{[]string{"audit", "archive", "-before", "last month"}, `-before: "last month" is not a month`},
		{[]string{"audit", "verify", "-nope"}, "flag provided but not defined: -nope"},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		getenv := func(k string) string {
			if k == "MEDREC_DATA_DIR" {
				return t.TempDir()
			}
			return ""
		}
		code := run(context.Background(), tt.args, getenv, strings.NewReader(""), &out, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("medrec %s: exit %d, stderr %q; want exit 2 and %q", strings.Join(tt.args, " "), code, errOut.String(), tt.want)
		}
		if strings.Contains(errOut.String(), "panic") {
			t.Errorf("medrec %s panicked: %s", strings.Join(tt.args, " "), errOut.String())
		}
	}
}
