package main

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"

	"medrec/internal/pgtest"
)

// TestBenchCommand runs `medrec bench` at toy scale so that the command
// keeps working: every scenario and variant must appear in the table with
// operations done (the command itself fails on a variant with errors or
// none done). It asserts nothing about timings.
func TestBenchCommand(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := dbEnv(t, db)
	env["MEDREC_BCRYPT_COST"] = "10"
	getenv := func(k string) string { return env[k] }
	var out, errOut bytes.Buffer
	ctx := context.Background()
	if code := run(ctx, []string{"demo", "-patients", "200", "-seed", "3"}, getenv, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("demo exit %d: %s", code, errOut.String())
	}
	out.Reset()
	errOut.Reset()
	args := []string{"bench", "-duration", "1s", "-rounds", "1", "-warmup", "0", "-concurrency", "2"}
	if code := run(ctx, args, getenv, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("bench exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	rows := map[string]float64{}
	for _, line := range strings.Split(out.String(), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 8 || strings.TrimSpace(cells[1]) == "scenario" || strings.HasPrefix(strings.TrimSpace(cells[1]), "---") {
			continue
		}
		ops, err := strconv.ParseFloat(strings.TrimSpace(cells[3]), 64)
		if err != nil {
			t.Fatalf("ops/s of %q: %v", line, err)
		}
		rows[strings.TrimSpace(cells[1])+" / "+strings.TrimSpace(cells[2])] = ops
	}
	for _, want := range []string{
		"GET patient / API (HTTP)", "GET patient / raw SQL, same work",
		"GET history, ordinary (5+5) / API (HTTP)", "GET history, ordinary (5+5) / raw SQL, same work",
		"GET history, ordinary (5+5) / spec's history query",
		"GET history, heavy (200+200) / API (HTTP)", "GET history, heavy (200+200) / raw SQL, same work",
		"GET history, heavy (200+200) / spec's history query",
		"GET expiring (days=7) / API (HTTP)", "GET expiring (days=7) / raw SQL, same work",
		"POST prescription / API (HTTP)", "POST prescription / raw SQL, same work",
	} {
		if ops, ok := rows[want]; !ok || ops <= 0 {
			t.Errorf("%s: %v ops/s (present %v)\n%s", want, ops, ok, out.String())
		}
	}
	if len(rows) != 12 {
		t.Errorf("%d rows in the table, want 12:\n%s", len(rows), out.String())
	}
	for _, want := range []string{"Machine:", "Data: 200 patients", "| scenario |"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
