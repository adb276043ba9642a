package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"medrec/internal/pgtest"
)

// TestAuditCommands drives `medrec audit` the way the binary does: verify
// passes after a demo load, export writes every row of the range as JSON
// Lines, and verify fails naming the row a superuser edited.
func TestAuditCommands(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	env := dbEnv(t, db)
	getenv := func(k string) string { return env[k] }
	medrec := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(ctx, args, getenv, strings.NewReader(""), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	if code, _, errOut := medrec("demo", "-patients", "20", "-seed", "3"); code != 0 {
		t.Fatalf("demo exit %d: %s", code, errOut)
	}
	owner := pgtest.Conn(t, db.OwnerURL)
	if _, err := owner.Exec(ctx, `UPDATE patients SET phone = '555-0199' WHERE id = (SELECT id FROM patients LIMIT 1)`); err != nil {
		t.Fatal(err)
	}
	heads := filepath.Join(t.TempDir(), "heads.json")
	code, out, errOut := medrec("audit", "verify", "-heads", heads)
	if code != 0 || !strings.Contains(out, "audit chain OK") {
		t.Fatalf("verify after a demo load: exit %d\n%s%s", code, out, errOut)
	}
	if b, err := os.ReadFile(heads); err != nil || !bytes.Contains(b, []byte(`"hash"`)) {
		t.Fatalf("heads file: %s %v", b, err)
	}

	file := filepath.Join(t.TempDir(), "audit.jsonl")
	if code, _, errOut := medrec("audit", "export", "-from", "2000-01-01", "-out", file); code != 0 {
		t.Fatalf("export exit %d: %s", code, errOut)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines int
	var demoLoad bool
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var row struct {
			Action  string `json:"action"`
			RowHash string `json:"row_hash"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil || len(row.RowHash) != 64 {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		demoLoad = demoLoad || row.Action == "DEMO_LOAD"
		lines++
	}
	var n int
	if err := owner.QueryRow(ctx, `SELECT count(*) FROM audit_log`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if lines != n || !demoLoad {
		t.Fatalf("export wrote %d lines (DEMO_LOAD row: %v), the log has %d rows", lines, demoLoad, n)
	}

	var id string
	tx, err := owner.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow(ctx, `UPDATE audit_log SET action = 'READ' WHERE action = 'UPDATE' RETURNING id::text`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = medrec("audit", "verify", "-anchor", heads)
	if code != 1 || !strings.Contains(out, "first bad row") || !strings.Contains(out, id) || !strings.Contains(errOut, id) {
		t.Fatalf("verify after an edit: exit %d, want 1 naming row %s\n%s%s", code, id, out, errOut)
	}

	if code, _, _ := medrec("audit", "archive", "-before", "last month"); code != 2 {
		t.Fatalf("archive with a bad month: exit %d, want 2", code)
	}
	if code, out, errOut := medrec("audit", "archive", "-before", "2001-01"); code != 0 || !strings.Contains(out, "nothing to archive") {
		t.Fatalf("archive before 2001: exit %d %s%s", code, out, errOut)
	}
}
