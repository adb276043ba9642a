package postgres_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"medrec/internal/pgtest"
	"medrec/internal/postgres"
)

// chainFixture is a test database whose audit log holds sealed rows of
// several transactions, written interleaved: three connections each keep a
// transaction open while the others write, so the chain's order (by
// transaction id) is not the order of commit.
type chainFixture struct {
	db    *pgtest.DB
	owner *pgx.Conn
}

func newChainFixture(t *testing.T) chainFixture {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	f := chainFixture{db: db, owner: pgtest.Conn(t, db.OwnerURL)}
	conns := []*pgx.Conn{pgtest.Conn(t, db.OwnerURL), pgtest.Conn(t, db.OwnerURL), pgtest.Conn(t, db.OwnerURL)}
	for round := 0; round < 2; round++ {
		var txs []pgx.Tx
		for i, c := range conns {
			tx, err := c.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			txs = append(txs, tx)
			for j := 0; j < 3; j++ {
				if _, err := tx.Exec(ctx, `
					INSERT INTO patients (first_name, last_name, dob, gender)
					VALUES ($1, 'Chain', '1970-01-01', 'OTHER')`, fmt.Sprintf("P%d-%d-%d", round, i, j)); err != nil {
					t.Fatal(err)
				}
			}
		}
		for i := len(txs) - 1; i >= 0; i-- { // newest first
			if err := txs[i].Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}
		f.seal(t)
	}
	if n := f.count(t, `SELECT count(*) FROM audit_chain`); n != 18 {
		t.Fatalf("fixture: %d chain entries, want 18", n)
	}
	return f
}

// writeRead writes one audit row (a READ of nothing in particular) through
// q: a connection, or a transaction kept open.
func writeRead(t *testing.T, q interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}) {
	t.Helper()
	if _, err := q.Exec(context.Background(), `INSERT INTO audit_log (table_name, record_id, action) VALUES ('demo', gen_random_uuid(), 'READ')`); err != nil {
		t.Fatal(err)
	}
}

// superuser runs sql on the owner's connection (a superuser in tests) with
// every trigger off, the way an intruder with superuser rights would.
func (f chainFixture) superuser(t *testing.T, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	tx, err := f.owner.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

func (f chainFixture) count(t *testing.T, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := f.owner.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// row returns the id of the audit row at chain position seq.
func (f chainFixture) row(t *testing.T, seq int64) string {
	t.Helper()
	var id string
	if err := f.owner.QueryRow(context.Background(),
		`SELECT audit_id::text FROM audit_chain WHERE seq = $1`, seq).Scan(&id); err != nil {
		t.Fatalf("row at seq %d: %v", seq, err)
	}
	return id
}

// seal seals every row written so far, as the service's seal does within
// a second or two, and returns how many it chained.
func (f chainFixture) seal(t *testing.T) int {
	t.Helper()
	return sealAll(t, f.owner)
}

// sealOnce is one call of medrec_audit_seal.
func (f chainFixture) sealOnce(t *testing.T) int {
	t.Helper()
	n, err := postgres.SealAuditChain(context.Background(), f.owner)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// sealAll seals until every committed audit row is in the chain. One seal
// may leave rows out while another transaction of the database that could
// still write an earlier row is running, even a brief one such as
// autovacuum's ANALYZE; it fails the test after 30 s.
func sealAll(t *testing.T, conn *pgx.Conn) int {
	t.Helper()
	ctx := context.Background()
	total := 0
	for deadline := time.Now().Add(30 * time.Second); ; {
		n, err := postgres.SealAuditChain(ctx, conn)
		if err != nil {
			t.Fatal(err)
		}
		total += n
		var left int64
		if err := conn.QueryRow(ctx, `
			SELECT count(*) FROM audit_log a
			WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.audit_id = a.id AND c.changed_at = a.changed_at)`).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left == 0 {
			return total
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d audit rows still not sealed after 30 s", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f chainFixture) verify(t *testing.T) *postgres.AuditVerifyReport {
	t.Helper()
	rep, err := postgres.VerifyAuditChain(context.Background(), f.owner, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// wantBreak checks that verification fails and names seq and id (either
// may be empty/0) as the first bad row, with a problem saying what.
func wantBreak(t *testing.T, rep *postgres.AuditVerifyReport, seq int64, id, problem string) {
	t.Helper()
	if rep.OK() {
		t.Fatalf("verify passed on a tampered log (%d rows)", rep.Rows)
	}
	b := rep.Breaks[0]
	if b.Seq != seq || b.ID != id || !strings.Contains(b.Problem, problem) {
		t.Fatalf("first break = %s\nwant seq %d row %q with %q (all: %v)", b, seq, id, problem, rep.Breaks)
	}
}

func TestAuditChainVerifiesAnUntouchedLog(t *testing.T) {
	t.Parallel()
	f := newChainFixture(t)
	rep := f.verify(t)
	if !rep.OK() {
		t.Fatalf("untouched log: %v", rep.Breaks)
	}
	n := f.count(t, `SELECT count(*) FROM audit_log`)
	if rep.Rows != n || n != 18 || rep.Pending != 0 || rep.Head.Seq != n {
		t.Fatalf("verified %d rows of %d, %d pending, head at %d", rep.Rows, n, rep.Pending, rep.Head.Seq)
	}
	// The chain follows transaction ids, whatever the order of commit.
	if bad := f.count(t, `
		SELECT count(*) FROM audit_chain c JOIN audit_log a ON a.id = c.audit_id
		JOIN audit_chain d ON d.seq = c.seq + 1 JOIN audit_log b ON b.id = d.audit_id
		WHERE (a.txid, a.changed_at, a.id) > (b.txid, b.changed_at, b.id)`); bad != 0 {
		t.Fatalf("%d chain entries out of transaction order", bad)
	}
	// The head just printed is a trusted anchor for the next run.
	head := rep.Head
	again, err := postgres.VerifyAuditChain(context.Background(), f.owner, &head)
	if err != nil || !again.OK() {
		t.Fatalf("verify against its own head: %v %v", err, again.Breaks)
	}
}

func TestAuditChainCatchesSuperuserTampering(t *testing.T) {
	t.Parallel()
	t.Run("FieldEdited", func(t *testing.T) {
		t.Parallel()
		f := newChainFixture(t)
		id := f.row(t, 2)
		f.superuser(t, `UPDATE audit_log SET user_id = gen_random_uuid() WHERE id = $1`, id)
		wantBreak(t, f.verify(t), 2, id, "does not match its hash")
	})
	t.Run("PayloadEdited", func(t *testing.T) {
		t.Parallel()
		f := newChainFixture(t)
		id := f.row(t, 3)
		f.superuser(t, `UPDATE audit_log SET new_values = jsonb_set(new_values, '{last_name}', '"Forged"') WHERE id = $1`, id)
		wantBreak(t, f.verify(t), 3, id, "payload digest")
	})
	t.Run("RowDeleted", func(t *testing.T) {
		t.Parallel()
		f := newChainFixture(t)
		id := f.row(t, 2)
		f.superuser(t, `DELETE FROM audit_log WHERE id = $1`, id)
		wantBreak(t, f.verify(t), 2, id, "row is missing: deleted")
	})
	t.Run("NewestRowDeleted", func(t *testing.T) {
		t.Parallel()
		f := newChainFixture(t)
		// Its chain entry stays: no checkpoint or anchor is needed.
		id := f.row(t, 18)
		f.superuser(t, `DELETE FROM audit_log WHERE id = $1`, id)
		wantBreak(t, f.verify(t), 18, id, "row is missing: deleted")
	})
	t.Run("RowAndEntryDeleted", func(t *testing.T) {
		t.Parallel()
		f := newChainFixture(t)
		next := f.row(t, 3)
		f.superuser(t, `DELETE FROM audit_log WHERE id = $1`, f.row(t, 2))
		f.superuser(t, `DELETE FROM audit_chain WHERE seq = 2`)
		wantBreak(t, f.verify(t), 3, next, "(seq 2 to 2) are missing from the chain")
	})
	t.Run("RowInserted", func(t *testing.T) {
		t.Parallel()
		f := newChainFixture(t)
		// A forged row in the name of an old transaction, copying a sealed
		// row's time, so it looks as if it had always been there.
		var forged string
		tx, err := f.owner.Begin(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(context.Background())
		if _, err := tx.Exec(context.Background(), `SET LOCAL session_replication_role = replica`); err != nil {
			t.Fatal(err)
		}
		if err := tx.QueryRow(context.Background(), `
			INSERT INTO audit_log (table_name, record_id, action, user_id, changed_at, new_values, txid)
			SELECT 'patients', record_id, 'UPDATE', user_id, changed_at, '{"status":"DECEASED"}', txid
			FROM audit_log WHERE id = $1
			RETURNING id::text`, f.row(t, 2)).Scan(&forged); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(context.Background()); err != nil {
			t.Fatal(err)
		}
		f.sealOnce(t) // the sealer does not take it in either
		wantBreak(t, f.verify(t), 0, forged, "inserted")
	})
	t.Run("RowInsertedInTheFuture", func(t *testing.T) {
		t.Parallel()
		f := newChainFixture(t)
		// Under a transaction id not issued yet, so that the sealer
		// would never reach it.
		var forged string
		if err := f.owner.QueryRow(context.Background(), `
			INSERT INTO audit_log (table_name, record_id, action, txid)
			VALUES ('patients', gen_random_uuid(), 'READ', pg_current_xact_id()::text::bigint + 1000000)
			RETURNING id::text`).Scan(&forged); err != nil {
			t.Fatal(err)
		}
		f.sealOnce(t)
		wantBreak(t, f.verify(t), 0, forged, "not been issued yet: inserted")
	})
	t.Run("EntryInserted", func(t *testing.T) {
		t.Parallel()
		f := newChainFixture(t)
		// A forged row given a chain entry of its own at seq 5, hashed as
		// the sealer would from entry 4, the entries after it moved up one.
		// The chain holds up to the forgery and breaks at the row after
		// it: the hash of the genuine fifth row does not follow.
		const forged = "99999999-9999-4999-8999-999999999999"
		fifth := f.row(t, 5)
		f.superuser(t, `
			INSERT INTO audit_log (id, table_name, record_id, action, changed_at, new_values, txid)
			SELECT $1, 'patients', record_id, 'UPDATE', changed_at, '{"status":"DECEASED"}', txid
			FROM audit_log WHERE id = $2`, forged, f.row(t, 4))
		f.superuser(t, `UPDATE audit_chain SET seq = seq + 1000 WHERE seq >= 5`)
		f.superuser(t, `UPDATE audit_chain SET seq = seq - 999 WHERE seq >= 1005`)
		f.superuser(t, `
			INSERT INTO audit_chain (seq, audit_id, changed_at, payload_digest, row_hash, sealed_below)
			SELECT 5, a.id, a.changed_at, d.digest,
			       sha256(p.row_hash || medrec_audit_entry_bytes(5, a.id, a.table_name, a.record_id, a.action,
			           a.user_id, a.changed_at, a.patient_id, a.emergency_access_id, a.txid, d.digest)),
			       p.sealed_below
			FROM audit_log a, audit_chain p,
			     LATERAL (SELECT medrec_audit_payload_digest(a.old_values, a.new_values) AS digest) d
			WHERE a.id = $1 AND p.seq = 4`, forged)
		wantBreak(t, f.verify(t), 6, fifth, "does not match its hash")
	})
	t.Run("RowsSwapped", func(t *testing.T) {
		t.Parallel()
		f := newChainFixture(t)
		third := f.row(t, 3)
		f.superuser(t, `UPDATE audit_chain SET seq = -2 WHERE seq = 2`)
		f.superuser(t, `UPDATE audit_chain SET seq = 2 WHERE seq = 3`)
		f.superuser(t, `UPDATE audit_chain SET seq = 3 WHERE seq = -2`)
		wantBreak(t, f.verify(t), 2, third, "does not match its hash")
	})
	t.Run("ContentsSwapped", func(t *testing.T) {
		t.Parallel()
		f := newChainFixture(t)
		second, third := f.row(t, 2), f.row(t, 3)
		// Exchange what the rows say, keeping ids and positions: the order
		// of the two writes is reversed.
		f.superuser(t, `
			UPDATE audit_log a SET record_id = b.record_id, new_values = b.new_values
			FROM (SELECT id, record_id, new_values FROM audit_log WHERE id IN ($1, $2)) b
			WHERE a.id IN ($1, $2) AND b.id <> a.id`, second, third)
		wantBreak(t, f.verify(t), 2, second, "does not match its hash")
	})
	t.Run("EntryHashEdited", func(t *testing.T) {
		t.Parallel()
		f := newChainFixture(t)
		f.superuser(t, `UPDATE audit_chain SET row_hash = sha256(row_hash) WHERE seq = 4`)
		wantBreak(t, f.verify(t), 4, f.row(t, 4), "does not match its hash")
	})
}

func TestAuditLogIsAppendOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newChainFixture(t)
	for _, sql := range []string{
		`UPDATE audit_log SET action = 'X'`,
		`DELETE FROM audit_log`,
		`TRUNCATE audit_log`,
		`TRUNCATE audit_log_default`,
		`UPDATE audit_chain SET seq = seq + 1`,
		`DELETE FROM audit_chain`,
		`TRUNCATE audit_chain`,
	} {
		if _, err := f.owner.Exec(ctx, sql); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("owner: %s = %v, want refused as append-only", sql, err)
		}
	}
	// The owner's own maintenance flag counts only inside the owner's role.
	app := pgtest.Conn(t, f.db.AppURL)
	for _, sql := range []string{
		`SELECT count(*) FROM audit_chain`,
		`INSERT INTO audit_chain (seq, audit_id, changed_at, payload_digest, row_hash, sealed_below) VALUES (99, gen_random_uuid(), now(), '\x00', '\x00', 0)`,
		`SELECT count(*) FROM audit_chain_anchor`,
		`SELECT medrec_audit_archive('2000-01-01')`,
		`SELECT medrec_audit_create_partition('2999-01-01')`,
		`UPDATE audit_log SET action = 'X'`,
	} {
		if _, err := app.Exec(ctx, sql); sqlState(err) != "42501" {
			t.Errorf("service role: %s = %v, want 42501", sql, err)
		}
	}
	// What the service's loops call.
	svc := openApp(t, f.db)
	if err := svc.EnsureAuditPartitions(ctx); err != nil {
		t.Fatalf("service role: ensure partitions: %v", err)
	}
	const user = "dddddddd-dddd-4ddd-8ddd-dddddddddddd"
	try := func(role, sql string) error {
		tx, err := app.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, `SELECT set_config('app.user_id', $1, true), set_config('app.role', $2, true)`, user, role); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, sql); err != nil {
			return err
		}
		return tx.Commit(ctx)
	}
	// Forged trigger rows, backdated rows, rows in another transaction's
	// name and ERASE rows by a non-ADMIN are refused.
	for _, c := range []struct{ role, sql string }{
		{"ADMIN", `INSERT INTO audit_log (table_name, record_id, action, user_id) VALUES ('patients', gen_random_uuid(), 'UPDATE', '` + user + `')`},
		{"ADMIN", `INSERT INTO audit_log (table_name, record_id, action, user_id, changed_at) VALUES ('patients', gen_random_uuid(), 'READ', '` + user + `', now() - interval '1 day')`},
		{"ADMIN", `INSERT INTO audit_log (table_name, record_id, action, user_id, txid) VALUES ('patients', gen_random_uuid(), 'READ', '` + user + `', 3)`},
		{"NURSE", `INSERT INTO audit_log (table_name, record_id, action, user_id) VALUES ('patients', gen_random_uuid(), 'ERASE', '` + user + `')`},
		{"ADMIN", `INSERT INTO audit_log (table_name, record_id, action, user_id) VALUES ('patients', gen_random_uuid(), 'READ', gen_random_uuid())`},
	} {
		if err := try(c.role, c.sql); sqlState(err) != "42501" {
			t.Errorf("%s: %s = %v, want 42501", c.role, c.sql, err)
		}
	}
	if err := try("NURSE", `INSERT INTO audit_log (table_name, record_id, action, user_id) VALUES ('patients', gen_random_uuid(), 'READ', '`+user+`')`); err != nil {
		t.Fatal(err)
	}
	// The service role seals, as the service does every second.
	if n, err := svc.SealAuditChain(ctx); err != nil || n != 1 {
		t.Fatalf("service role: seal = %d, %v; want the one READ row", n, err)
	}
	if rep := f.verify(t); !rep.OK() || rep.Rows != 19 {
		t.Fatalf("after the service's seal: %d rows, %v", rep.Rows, rep.Breaks)
	}
}

func TestAuditChainSurvivesRollbacks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newChainFixture(t)
	tx, err := f.owner.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO patients (first_name, last_name, dob, gender) VALUES ('Roll', 'Back', '1990-01-01', 'OTHER')`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.owner.Exec(ctx, `INSERT INTO patients (first_name, last_name, dob, gender) VALUES ('After', 'Rollback', '1990-01-01', 'OTHER')`); err != nil {
		t.Fatal(err)
	}
	if n := f.seal(t); n != 1 {
		t.Fatalf("sealed %d rows after a rollback and one write, want 1", n)
	}
	if rep := f.verify(t); !rep.OK() || rep.Rows != 19 {
		t.Fatalf("after a rollback: %d rows, %v", rep.Rows, rep.Breaks)
	}
}

// TestAuditSealWaitsForRunningTransactions: a row is sealed only once every
// transaction that could still write a row before it in the chain has
// ended, so no row is ever sealed out of order or left behind.
func TestAuditSealWaitsForRunningTransactions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newChainFixture(t)
	older, err := pgtest.Conn(t, f.db.OwnerURL).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer older.Rollback(ctx)
	writeRead(t, older)
	writeRead(t, f.owner)
	if n := f.sealOnce(t); n != 0 {
		t.Fatalf("sealed %d rows while an older transaction that wrote one is open, want 0", n)
	}
	if rep := f.verify(t); !rep.OK() || rep.Pending != 1 {
		t.Fatalf("with a row waiting: %d pending, %v", rep.Pending, rep.Breaks)
	}
	// The service sees how long the committed row has waited.
	svc := openApp(t, f.db)
	if since, err := svc.AuditUnsealedSince(ctx); err != nil || since == nil {
		t.Fatalf("unsealed since, with a committed row waiting = %v, %v", since, err)
	}
	if err := older.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.seal(t); n != 2 {
		t.Fatalf("sealed %d rows once the older transaction ended, want 2", n)
	}
	if n := f.sealOnce(t); n != 0 {
		t.Fatalf("a second seal sealed %d rows, want 0", n)
	}
	rep := f.verify(t)
	if !rep.OK() || rep.Rows != 20 || rep.Pending != 0 {
		t.Fatalf("after sealing: %d rows, %d pending, %v", rep.Rows, rep.Pending, rep.Breaks)
	}
	if since, err := svc.AuditUnsealedSince(ctx); err != nil || since != nil {
		t.Fatalf("unsealed since, with everything sealed = %v, %v", since, err)
	}
}

// TestAuditArchiveKeepsTheChainVerifiable detaches old months, including a
// row of an earlier month sealed after a row of a later one, and checks
// that the chain still verifies, still continues where it ended, and still
// catches a deletion among the remaining rows.
func TestAuditArchiveKeepsTheChainVerifiable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	f := chainFixture{db: db, owner: pgtest.Conn(t, db.OwnerURL)}
	for _, m := range []string{"2025-01-01", "2025-02-01", "2025-03-01"} {
		if _, err := f.owner.Exec(ctx, `SELECT medrec_audit_create_partition($1)`, m); err != nil {
			t.Fatal(err)
		}
	}
	// One transaction each, so sealed in this order: January, February,
	// January (the straggler), February, March.
	for i, at := range []string{"2025-01-20", "2025-02-03", "2025-01-31 23:59:59", "2025-02-10", "2025-03-05"} {
		if _, err := f.owner.Exec(ctx, `
			INSERT INTO audit_log (table_name, record_id, action, changed_at, new_values)
			VALUES ('demo', gen_random_uuid(), 'READ', $1::timestamptz, jsonb_build_object('i', $2::int))`, at+"Z", i); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.seal(t); n != 5 {
		t.Fatalf("sealed %d rows, want 5", n)
	}
	var exported bytes.Buffer
	n, err := postgres.ExportAuditLog(ctx, f.owner, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC), &exported)
	if err != nil || n != 2 {
		t.Fatalf("export January: %d rows, %v", n, err)
	}
	sc := bufio.NewScanner(&exported)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		for _, k := range []string{"id", "changed_at", "txid", "chain_seq", "row_hash", "payload_digest", "new_values"} {
			if v, ok := line[k]; !ok || v == nil {
				t.Errorf("export line lacks %s: %s", k, sc.Text())
			}
		}
	}

	names, err := postgres.ArchiveAuditLog(ctx, f.owner, time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC))
	if err != nil || len(names) != 1 || names[0] != "audit_log_y2025m01" {
		t.Fatalf("archive before February = %v, %v", names, err)
	}
	// January's first row left the chain for an anchor; the straggler's
	// entry stays, anchored.
	if n := f.count(t, `SELECT count(*) FROM audit_chain`); n != 4 {
		t.Fatalf("%d chain entries after archiving January, want 4", n)
	}
	if rep := f.verify(t); !rep.OK() || rep.Archived != 2 || rep.Rows != 3 {
		t.Fatalf("after detaching January: %d rows, %d archived, %v", rep.Rows, rep.Archived, rep.Breaks)
	}
	// Detaching February too leaves March, after an anchor at seq 4.
	if names, err := postgres.ArchiveAuditLog(ctx, f.owner, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)); err != nil || len(names) != 1 {
		t.Fatalf("archive before March = %v, %v", names, err)
	}
	if rep := f.verify(t); !rep.OK() || rep.Rows != 1 || rep.Head.Seq != 5 {
		t.Fatalf("after detaching February: %d rows, head %d, %v", rep.Rows, rep.Head.Seq, rep.Breaks)
	}
	// The chain goes on from there.
	writeRead(t, f.owner)
	f.seal(t)
	if rep := f.verify(t); !rep.OK() || rep.Head.Seq != 6 {
		t.Fatalf("a row after archiving: head %d, %v", rep.Head.Seq, rep.Breaks)
	}
	// A deletion among what is left is still caught.
	var march string
	if err := f.owner.QueryRow(ctx, `SELECT id::text FROM audit_log WHERE changed_at < '2025-04-01'`).Scan(&march); err != nil {
		t.Fatal(err)
	}
	f.superuser(t, `DELETE FROM audit_log WHERE id = $1`, march)
	wantBreak(t, f.verify(t), 5, march, "row is missing")
	// Archiving refuses to drop the evidence of that deletion.
	if _, err := postgres.ArchiveAuditLog(ctx, f.owner, time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)); err == nil ||
		!strings.Contains(err.Error(), "rows are missing") {
		t.Fatalf("archive over a deleted row = %v, want refused", err)
	}
	// Detached, a month stays a plain table until the operator drops it.
	if _, err := f.owner.Exec(ctx, `SELECT 1 FROM audit_log_y2025m01`); err != nil {
		t.Fatal(err)
	}
}

// TestAuditArchiveWaitsForUnsealedRows: a month is not detached while one
// of its rows is not sealed yet.
func TestAuditArchiveWaitsForUnsealedRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	f := chainFixture{db: db, owner: pgtest.Conn(t, db.OwnerURL)}
	if _, err := f.owner.Exec(ctx, `SELECT medrec_audit_create_partition('2025-01-01')`); err != nil {
		t.Fatal(err)
	}
	// An open transaction below the horizon (it has an id, writes no
	// audit row) holds the January row out of the chain.
	open, err := pgtest.Conn(t, db.OwnerURL).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer open.Rollback(ctx)
	if _, err := open.Exec(ctx, `SELECT pg_current_xact_id()`); err != nil {
		t.Fatal(err)
	}
	if _, err := f.owner.Exec(ctx, `INSERT INTO audit_log (table_name, record_id, action, changed_at) VALUES ('demo', gen_random_uuid(), 'READ', '2025-01-10Z')`); err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.ArchiveAuditLog(ctx, f.owner, time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)); err == nil || !strings.Contains(err.Error(), "not sealed yet") {
		t.Fatalf("archive with an unsealed row = %v, want refused", err)
	}
	if err := open.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	f.seal(t)
	if names, err := postgres.ArchiveAuditLog(ctx, f.owner, time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)); err != nil || len(names) != 1 {
		t.Fatalf("archive once sealable = %v, %v", names, err)
	}
	if rep := f.verify(t); !rep.OK() || rep.Archived != 1 || rep.Head.Seq != 1 {
		t.Fatalf("after archiving everything sealed: %d archived, head %d, %v", rep.Archived, rep.Head.Seq, rep.Breaks)
	}
}

// TestAuditChainUnderConcurrentWriters: many service-role clients writing
// audit rows at once (one and several rows per transaction, some rolled
// back) while the service role seals all the time leave a chain that
// verifies and holds every committed row exactly once.
func TestAuditChainUnderConcurrentWriters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	cfg, err := pgxpool.ParseConfig(db.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 14
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	const user = "f0000000-0000-4000-8000-00000000000f"
	var wg sync.WaitGroup
	errs := make(chan error, 14)
	var stop atomic.Bool
	var sealed atomic.Int64
	sealers := sync.WaitGroup{}
	for s := 0; s < 2; s++ { // two, as two medrec processes would
		sealers.Add(1)
		go func() {
			defer sealers.Done()
			for !stop.Load() {
				n, err := postgres.SealAuditChain(ctx, pool)
				if err != nil {
					errs <- err
					return
				}
				sealed.Add(int64(n))
			}
		}()
	}
	for c := 0; c < 12; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 15; n++ {
				err := func() error {
					tx, err := pool.Begin(ctx)
					if err != nil {
						return err
					}
					defer tx.Rollback(ctx)
					if _, err := tx.Exec(ctx, `SELECT set_config('app.user_id', $1, true), set_config('app.role', 'NURSE', true)`, user); err != nil {
						return err
					}
					if _, err := tx.Exec(ctx, `
						INSERT INTO audit_log (table_name, record_id, action, user_id, new_values)
						SELECT 'patients', gen_random_uuid(), 'READ', $1, jsonb_build_object('n', i)
						FROM generate_series(1, $2::int) AS i`, user, 1+(c+n)%3); err != nil {
						return err
					}
					if n%5 == 4 {
						return tx.Rollback(ctx)
					}
					return tx.Commit(ctx)
				}()
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	stop.Store(true)
	sealers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	f := chainFixture{db: db, owner: pgtest.Conn(t, db.OwnerURL)}
	sealed.Add(int64(f.seal(t)))
	rep := f.verify(t)
	n := f.count(t, `SELECT count(*) FROM audit_log`)
	if !rep.OK() || rep.Rows != n || sealed.Load() != n || n < 200 || rep.Pending != 0 {
		t.Fatalf("after concurrent writes: %d rows verified, %d sealed, %d in the log, %d pending, breaks %v",
			rep.Rows, sealed.Load(), n, rep.Pending, rep.Breaks)
	}
}

// TestAuditPartitionsAndDefault: rows land in their month's partition, a
// month without one falls into DEFAULT, and that month's partition is then
// left alone rather than failing.
func TestAuditPartitionsAndDefault(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	owner := pgtest.Conn(t, db.OwnerURL)
	if _, err := owner.Exec(ctx, `
		INSERT INTO audit_log (table_name, record_id, action, changed_at) VALUES
		  ('demo', gen_random_uuid(), 'READ', now()),
		  ('demo', gen_random_uuid(), 'READ', '2019-06-15T00:00:00Z')`); err != nil {
		t.Fatal(err)
	}
	var current, want, old string
	if err := owner.QueryRow(ctx, `
		SELECT (SELECT tableoid::regclass::text FROM audit_log WHERE changed_at > '2020-01-01'),
		       (SELECT to_char(changed_at AT TIME ZONE 'UTC', '"audit_log_y"YYYY"m"MM') FROM audit_log WHERE changed_at > '2020-01-01'),
		       (SELECT tableoid::regclass::text FROM audit_log WHERE changed_at < '2020-01-01')`).Scan(&current, &want, &old); err != nil {
		t.Fatal(err)
	}
	if current != want || old != "audit_log_default" {
		t.Fatalf("rows in %s and %s, want %s and audit_log_default", current, old, want)
	}
	var made bool
	if err := owner.QueryRow(ctx, `SELECT medrec_audit_create_partition('2019-06-01')`).Scan(&made); err != nil || made {
		t.Fatalf("partition for a month already in DEFAULT: made=%v err=%v", made, err)
	}
	if err := owner.QueryRow(ctx, `SELECT medrec_audit_create_partition('2019-07-01')`).Scan(&made); err != nil || !made {
		t.Fatalf("partition for an empty month: made=%v err=%v", made, err)
	}
	if _, err := owner.Exec(ctx, `SELECT medrec_audit_ensure_partitions()`); err != nil {
		t.Fatal(err)
	}
	sealAll(t, owner)
	if rep, err := postgres.VerifyAuditChain(ctx, owner, nil); err != nil || !rep.OK() || rep.Rows != 2 {
		t.Fatalf("verify: %v %+v", err, rep)
	}
}

// TestAuditChainMigrationKeepsRows: rolling 00017 back keeps every audit
// row (redacted ones with their payload gone) in the plain table, and
// applying it and what follows again chains them into a log that
// verifies.
func TestAuditChainMigrationKeepsRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newChainFixture(t)
	var before int
	var sample string
	if err := f.owner.QueryRow(ctx, `SELECT count(*), min(new_values::text) FROM audit_log`).Scan(&before, &sample); err != nil {
		t.Fatal(err)
	}
	m, err := postgres.NewMigrator(f.db.OwnerURL, postgres.AppRole{Name: pgtest.AppRoleName}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	rollBackTo(ctx, t, m, 16) // 00017 and every migration after it
	var after int
	var partitioned bool
	var got string
	if err := f.owner.QueryRow(ctx, `
		SELECT count(*), min(new_values::text), (SELECT relkind = 'p' FROM pg_class WHERE oid = 'audit_log'::regclass)
		FROM audit_log`).Scan(&after, &got, &partitioned); err != nil {
		t.Fatal(err)
	}
	if after != before || got != sample || partitioned {
		t.Fatalf("after rolling 00017 back: %d rows (want %d), partitioned %v", after, before, partitioned)
	}
	if err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	rep := f.verify(t)
	if !rep.OK() || rep.Rows != int64(before) {
		t.Fatalf("after applying 00017 again: %d rows, %v", rep.Rows, rep.Breaks)
	}
}

// TestAuditChainSealedMigration: rolling 00023 back chains every row, the
// sealed ones in their chain order, on one stripe of 00022's chain, which
// 00022's trigger then continues; applying 00023 again seals them all.
func TestAuditChainSealedMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newChainFixture(t)
	writeRead(t, f.owner) // not sealed when the rollback comes
	m, err := postgres.NewMigrator(f.db.OwnerURL, postgres.AppRole{Name: pgtest.AppRoleName}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	rollBackTo(ctx, t, m, 22)
	if _, err := f.owner.Exec(ctx, `INSERT INTO patients (first_name, last_name, dob, gender) VALUES ('Mig', 'Ration', '1990-01-01', 'OTHER')`); err != nil {
		t.Fatal(err)
	}
	// 00022's chain, checked as its verifier did: each row's hash follows
	// from its predecessor on its stripe, sequence numbers without gaps.
	if bad := f.count(t, `
		SELECT count(*) FROM (
		    SELECT row_hash, chain_seq,
		           sha256(coalesce(lag(row_hash) OVER w, decode(repeat('00', 32), 'hex')) ||
		                  medrec_audit_row_bytes(id, chain_stripe, chain_seq, table_name, record_id, action,
		                      user_id, changed_at, patient_id, emergency_access_id, payload_digest)) AS want,
		           row_number() OVER w AS n
		    FROM audit_log WINDOW w AS (PARTITION BY chain_stripe ORDER BY chain_seq)) x
		WHERE row_hash <> want OR chain_seq <> n`); bad != 0 {
		t.Fatalf("after rolling 00023 back: %d rows off 00022's chain", bad)
	}
	if n := f.count(t, `SELECT count(*) FROM audit_log WHERE chain_stripe = 0`); n != 19 {
		t.Fatalf("%d rows on stripe 0 after rolling 00023 back, want the 19 written before", n)
	}
	if err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	f.seal(t)
	rep := f.verify(t)
	if !rep.OK() || rep.Rows != 20 {
		t.Fatalf("after applying 00023 again: %d rows, %v", rep.Rows, rep.Breaks)
	}
}

// TestAuditChainConsistentRewriteNeedsAnAnchor shows the limit of a chain
// kept in the database alone: a superuser who removes the newest rows with
// their chain entries, or rewrites the newest row and its hash, leaves a
// chain that verifies by itself; a head kept from an earlier verify
// catches it.
func TestAuditChainConsistentRewriteNeedsAnAnchor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("NewestDeleted", func(t *testing.T) {
		t.Parallel()
		f := newChainFixture(t)
		kept := f.verify(t).Head
		f.superuser(t, `DELETE FROM audit_log WHERE id = $1`, f.row(t, 18))
		f.superuser(t, `DELETE FROM audit_chain WHERE seq = 18`)
		if rep := f.verify(t); !rep.OK() {
			t.Fatalf("a consistent rewrite is expected to pass without an anchor; got %v", rep.Breaks)
		}
		rep, err := postgres.VerifyAuditChain(ctx, f.owner, &kept)
		if err != nil {
			t.Fatal(err)
		}
		wantBreak(t, rep, 18, "", "before the trusted head")
	})
	t.Run("NewestRewritten", func(t *testing.T) {
		t.Parallel()
		f := newChainFixture(t)
		kept := f.verify(t).Head
		id := f.row(t, 18)
		f.superuser(t, `UPDATE audit_log SET user_id = gen_random_uuid() WHERE id = $1`, id)
		f.superuser(t, `
			UPDATE audit_chain c SET row_hash = sha256(p.row_hash || medrec_audit_entry_bytes(c.seq, a.id,
			       a.table_name, a.record_id, a.action, a.user_id, a.changed_at, a.patient_id,
			       a.emergency_access_id, a.txid, c.payload_digest))
			FROM audit_chain p, audit_log a
			WHERE c.seq = 18 AND p.seq = 17 AND a.id = c.audit_id`)
		if rep := f.verify(t); !rep.OK() {
			t.Fatalf("a consistent rewrite is expected to pass without an anchor; got %v", rep.Breaks)
		}
		rep, err := postgres.VerifyAuditChain(ctx, f.owner, &kept)
		if err != nil {
			t.Fatal(err)
		}
		wantBreak(t, rep, 18, id, "differs from the trusted head")
	})
}

// rollBackTo rolls migrations back, newest first, until version is the
// newest applied one.
func rollBackTo(ctx context.Context, t *testing.T, m *postgres.Migrator, version int64) {
	t.Helper()
	for {
		states, err := m.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var newest int64
		for _, s := range states {
			if s.Applied {
				newest = max(newest, s.Version)
			}
		}
		if newest <= version {
			return
		}
		if err := m.Down(ctx, false); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAuditedWritesUnderSnapshotIsolation: with nothing to read on the
// write path, audited writes work at every isolation level and chain as
// any other.
func TestAuditedWritesUnderSnapshotIsolation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newChainFixture(t)
	for _, iso := range []pgx.TxIsoLevel{pgx.RepeatableRead, pgx.Serializable} {
		tx, err := f.owner.BeginTx(ctx, pgx.TxOptions{IsoLevel: iso})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO patients (first_name, last_name, dob, gender) VALUES ('Snap', 'Shot', '1990-01-01', 'OTHER')`); err != nil {
			t.Fatalf("%s: audited insert: %v", iso, err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.seal(t); n != 2 {
		t.Fatalf("sealed %d rows, want 2", n)
	}
	if rep := f.verify(t); !rep.OK() || rep.Rows != 20 {
		t.Fatalf("%d rows, %v", rep.Rows, rep.Breaks)
	}
}

// TestAuditSealCountsTheCallersOwnTransaction: a seal called inside a
// transaction that has written audit rows leaves them, and any it writes
// afterwards, for a seal after its commit.
func TestAuditSealCountsTheCallersOwnTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newChainFixture(t)
	tx, err := f.owner.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	writeRead(t, tx)
	// A later transaction commits, so the horizon could pass ours.
	other := pgtest.Conn(t, f.db.OwnerURL)
	writeRead(t, other)
	var n int
	if err := tx.QueryRow(ctx, `SELECT medrec_audit_seal()`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("seal inside an audited transaction = %d, %v; want 0", n, err)
	}
	writeRead(t, tx)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.seal(t); n != 3 {
		t.Fatalf("sealed %d rows after the commit, want 3", n)
	}
	if rep := f.verify(t); !rep.OK() || rep.Rows != 21 {
		t.Fatalf("%d rows, %v", rep.Rows, rep.Breaks)
	}
}

// TestAuditSealInBatches: a backlog is sealed in batches cut at
// transaction boundaries, one call of SealAuditChain after another.
func TestAuditSealInBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newChainFixture(t)
	for range 2 {
		if _, err := f.owner.Exec(ctx, `
			INSERT INTO audit_log (table_name, record_id, action, new_values)
			SELECT 'demo', gen_random_uuid(), 'READ', jsonb_build_object('i', i) FROM generate_series(1, 30000) AS i`); err != nil {
			t.Fatal(err)
		}
	}
	writeRead(t, f.owner)
	if n := f.seal(t); n != 60001 {
		t.Fatalf("sealed %d rows, want 60001", n)
	}
	// The first 50,000 would have split the second transaction: the first
	// batch stops before it.
	if n := f.count(t, `SELECT count(DISTINCT sealed_below) FROM audit_chain WHERE seq > 18`); n < 2 {
		t.Fatalf("the backlog was sealed in %d batch, want at least 2", n)
	}
	if rep := f.verify(t); !rep.OK() || rep.Rows != 60019 {
		t.Fatalf("%d rows, %v", rep.Rows, rep.Breaks)
	}
}

// TestAuditSealSurvivesAnOversizePayload: a row whose payload's text form
// is over 1 GB (six bytes in jsonb's text for each control character) is
// sealed with a marker instead of stopping every later seal.
func TestAuditSealSurvivesAnOversizePayload(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newChainFixture(t)
	if _, err := f.owner.Exec(ctx, `
		INSERT INTO audit_log (table_name, record_id, action, new_values)
		VALUES ('demo', gen_random_uuid(), 'READ', to_jsonb(repeat(chr(1), 180000000)))`); err != nil {
		t.Fatal(err)
	}
	writeRead(t, f.owner)
	if n := f.seal(t); n != 2 {
		t.Fatalf("sealed %d rows, want 2", n)
	}
	if rep := f.verify(t); !rep.OK() || rep.Rows != 20 {
		t.Fatalf("%d rows, %v", rep.Rows, rep.Breaks)
	}
}

// TestAuditAnchorCannotHideALiveRow: an anchor added by hand for a row of
// a month still attached does not make its deletion look archived.
func TestAuditAnchorCannotHideALiveRow(t *testing.T) {
	t.Parallel()
	f := newChainFixture(t)
	id := f.row(t, 3)
	f.superuser(t, `DELETE FROM audit_log WHERE id = $1`, id)
	f.superuser(t, `
		INSERT INTO audit_chain_anchor (seq, row_hash, sealed_below, partition)
		SELECT seq, row_hash, sealed_below, 'audit_log_default' FROM audit_chain WHERE seq = 3`)
	wantBreak(t, f.verify(t), 3, id, "row is missing: deleted")
}

// TestAuditSealAfterARestore: restored into a cluster whose transaction
// ids are lower than the chain's horizon, the sealer starts again from 0
// and also seals the rows the old cluster had left unsealed.
func TestAuditSealAfterARestore(t *testing.T) {
	t.Parallel()
	f := newChainFixture(t)
	// As dumped from a cluster 2^40 transactions further on: every horizon
	// up there, and one row of that cluster not sealed yet.
	const ahead = int64(1) << 40
	f.superuser(t, `UPDATE audit_chain SET sealed_below = sealed_below + $1`, ahead)
	f.superuser(t, `
		INSERT INTO audit_log (table_name, record_id, action, txid)
		VALUES ('demo', gen_random_uuid(), 'READ', (SELECT max(sealed_below) FROM audit_chain) + 5)`)
	writeRead(t, f.owner)
	if n := f.seal(t); n != 2 {
		t.Fatalf("sealed %d rows after the restore, want 2", n)
	}
	writeRead(t, f.owner)
	if n := f.seal(t); n != 1 {
		t.Fatalf("sealed %d rows next, want 1", n)
	}
	if rep := f.verify(t); !rep.OK() || rep.Rows != 21 || rep.Pending != 0 {
		t.Fatalf("%d rows, %d pending, %v", rep.Rows, rep.Pending, rep.Breaks)
	}
}

// TestAuditArchiveSealsABacklog: archiving seals the months' rows batch
// after batch, also when a batch ends short of 50,000 rows at a
// transaction boundary, before it detaches them.
func TestAuditArchiveSealsABacklog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newChainFixture(t)
	if _, err := f.owner.Exec(ctx, `SELECT medrec_audit_create_partition('2025-01-01')`); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the first batch stops before the second transaction
		if _, err := f.owner.Exec(ctx, `
			INSERT INTO audit_log (table_name, record_id, action, changed_at, new_values)
			SELECT 'demo', gen_random_uuid(), 'READ', '2025-01-10Z', jsonb_build_object('i', i)
			FROM generate_series(1, 30000) AS i`); err != nil {
			t.Fatal(err)
		}
	}
	names, err := postgres.ArchiveAuditLog(ctx, f.owner, time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC))
	if err != nil || len(names) != 1 {
		t.Fatalf("archive over a backlog of 60,000 rows = %v, %v", names, err)
	}
	if rep := f.verify(t); !rep.OK() || rep.Rows != 18 || rep.Archived != 60000 {
		t.Fatalf("%d rows, %d archived, %v", rep.Rows, rep.Archived, rep.Breaks)
	}
}
