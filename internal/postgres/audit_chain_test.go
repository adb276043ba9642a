package postgres_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"medrec/internal/pgtest"
	"medrec/internal/postgres"
)

// chainFixture is a test database whose audit log holds rows on several
// stripes: each of three connections keeps a transaction open while the
// others write, so each takes its own stripe.
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
		for _, tx := range txs {
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	var stripes int
	if err := f.owner.QueryRow(ctx, `SELECT count(DISTINCT chain_stripe) FROM audit_log`).Scan(&stripes); err != nil {
		t.Fatal(err)
	}
	if stripes != 3 {
		t.Fatalf("fixture: audit rows on %d stripes, want 3", stripes)
	}
	return f
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

// row returns the id of the audit row at (stripe, seq).
func (f chainFixture) row(t *testing.T, stripe int, seq int64) string {
	t.Helper()
	var id string
	if err := f.owner.QueryRow(context.Background(),
		`SELECT id::text FROM audit_log WHERE chain_stripe = $1 AND chain_seq = $2`, stripe, seq).Scan(&id); err != nil {
		t.Fatalf("row at stripe %d seq %d: %v", stripe, seq, err)
	}
	return id
}

// middle returns a stripe holding at least four rows, and its length.
func (f chainFixture) middle(t *testing.T) (int, int64) {
	t.Helper()
	var stripe int
	var n int64
	if err := f.owner.QueryRow(context.Background(), `
		SELECT chain_stripe, max(chain_seq) FROM audit_log GROUP BY chain_stripe
		HAVING max(chain_seq) >= 4 ORDER BY chain_stripe LIMIT 1`).Scan(&stripe, &n); err != nil {
		t.Fatal(err)
	}
	return stripe, n
}

// checkpoint records every stripe's last row in audit_chain_head, as the
// service's sweep does, and returns how many stripes moved.
func (f chainFixture) checkpoint(t *testing.T) int {
	t.Helper()
	var moved int
	if err := f.owner.QueryRow(context.Background(), `SELECT medrec_audit_checkpoint()`).Scan(&moved); err != nil {
		t.Fatal(err)
	}
	return moved
}

func (f chainFixture) verify(t *testing.T) *postgres.AuditVerifyReport {
	t.Helper()
	rep, err := postgres.VerifyAuditChain(context.Background(), f.owner, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// wantBreak checks that verification fails and names id (or, with id
// empty, the stripe and seq) as the first bad row, with a problem saying
// what.
func wantBreak(t *testing.T, rep *postgres.AuditVerifyReport, stripe int, seq int64, id, problem string) {
	t.Helper()
	if rep.OK() {
		t.Fatalf("verify passed on a tampered log (%d rows)", rep.Rows)
	}
	b := rep.Breaks[0]
	if b.Stripe != stripe || b.Seq != seq || b.ID != id || !strings.Contains(b.Problem, problem) {
		t.Fatalf("first break = %s\nwant stripe %d seq %d row %q with %q (all: %v)", b, stripe, seq, id, problem, rep.Breaks)
	}
}

func TestAuditChainVerifiesAnUntouchedLog(t *testing.T) {
	t.Parallel()
	f := newChainFixture(t)
	rep := f.verify(t)
	if !rep.OK() {
		t.Fatalf("untouched log: %v", rep.Breaks)
	}
	var n int64
	if err := f.owner.QueryRow(context.Background(), `SELECT count(*) FROM audit_log`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if rep.Rows != n || n < 18 {
		t.Fatalf("verified %d rows of %d", rep.Rows, n)
	}
	if len(rep.Heads) != 32 {
		t.Fatalf("%d heads, want 32", len(rep.Heads))
	}
	// The heads just printed are a trusted anchor for the next run.
	again, err := postgres.VerifyAuditChain(context.Background(), f.owner, rep.Heads)
	if err != nil || !again.OK() {
		t.Fatalf("verify against its own heads: %v %v", err, again.Breaks)
	}
}

func TestAuditChainCatchesSuperuserTampering(t *testing.T) {
	t.Parallel()
	t.Run("FieldEdited", func(t *testing.T) {
		t.Parallel()
		f := newChainFixture(t)
		s, _ := f.middle(t)
		id := f.row(t, s, 2)
		f.superuser(t, `UPDATE audit_log SET user_id = gen_random_uuid() WHERE id = $1`, id)
		wantBreak(t, f.verify(t), s, 2, id, "does not match its hash")
	})
	t.Run("PayloadEdited", func(t *testing.T) {
		t.Parallel()
		f := newChainFixture(t)
		s, _ := f.middle(t)
		id := f.row(t, s, 3)
		f.superuser(t, `UPDATE audit_log SET new_values = jsonb_set(new_values, '{last_name}', '"Forged"') WHERE id = $1`, id)
		wantBreak(t, f.verify(t), s, 3, id, "payload digest")
	})
	t.Run("RowDeleted", func(t *testing.T) {
		t.Parallel()
		f := newChainFixture(t)
		s, _ := f.middle(t)
		next := f.row(t, s, 3)
		f.superuser(t, `DELETE FROM audit_log WHERE id = $1`, f.row(t, s, 2))
		wantBreak(t, f.verify(t), s, 3, next, "missing: deleted")
	})
	t.Run("NewestRowDeleted", func(t *testing.T) {
		t.Parallel()
		f := newChainFixture(t)
		s, n := f.middle(t)
		// Only a row a checkpoint has covered (the service takes one every
		// minute) is caught this way; a newer one needs verify -anchor
		// (TestAuditChainConsistentRewriteNeedsAnAnchor).
		f.checkpoint(t)
		f.superuser(t, `DELETE FROM audit_log WHERE id = $1`, f.row(t, s, n))
		wantBreak(t, f.verify(t), s, n, "", "missing at the end")
	})
	t.Run("NewestRowRewritten", func(t *testing.T) {
		t.Parallel()
		f := newChainFixture(t)
		s, n := f.middle(t)
		f.checkpoint(t)
		// The newest row replaced by a forged one, consistently chained
		// from its predecessor: only the checkpoint's hash tells.
		id := f.row(t, s, n)
		f.superuser(t, `
			UPDATE audit_log a SET user_id = gen_random_uuid() WHERE a.id = $1`, id)
		f.superuser(t, `
			UPDATE audit_log a SET row_hash = sha256(p.row_hash || medrec_audit_row_bytes(a.id, a.chain_stripe,
			       a.chain_seq, a.table_name, a.record_id, a.action, a.user_id, a.changed_at, a.patient_id,
			       a.emergency_access_id, a.payload_digest))
			FROM audit_log p WHERE a.id = $1 AND p.chain_stripe = a.chain_stripe AND p.chain_seq = a.chain_seq - 1`, id)
		wantBreak(t, f.verify(t), s, n, id, "differs from its checkpoint")
	})
	t.Run("RowInserted", func(t *testing.T) {
		t.Parallel()
		f := newChainFixture(t)
		s, _ := f.middle(t)
		// A forged row at an existing position, copying its neighbour's
		// chain columns so it looks in place.
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
			INSERT INTO audit_log (table_name, record_id, action, user_id, changed_at, new_values,
			                       chain_stripe, chain_seq, payload_digest, row_hash)
			SELECT 'patients', record_id, 'UPDATE', user_id, changed_at, '{"status":"DECEASED"}',
			       chain_stripe, chain_seq, payload_digest, row_hash
			FROM audit_log WHERE chain_stripe = $1 AND chain_seq = 2
			RETURNING id::text`, s).Scan(&forged); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(context.Background()); err != nil {
			t.Fatal(err)
		}
		wantBreak(t, f.verify(t), s, 2, forged, "inserted")
	})
	t.Run("RowsSwapped", func(t *testing.T) {
		t.Parallel()
		f := newChainFixture(t)
		s, _ := f.middle(t)
		second, third := f.row(t, s, 2), f.row(t, s, 3)
		f.superuser(t, `UPDATE audit_log SET chain_seq = CASE WHEN id = $1 THEN 3 ELSE 2 END WHERE id IN ($1, $2)`, second, third)
		wantBreak(t, f.verify(t), s, 2, third, "does not match its hash")
	})
	t.Run("ContentsSwapped", func(t *testing.T) {
		t.Parallel()
		f := newChainFixture(t)
		s, _ := f.middle(t)
		second, third := f.row(t, s, 2), f.row(t, s, 3)
		// Exchange what the rows say, hashes included, keeping ids and
		// positions: the chain order of the two writes is reversed.
		f.superuser(t, `
			UPDATE audit_log a SET record_id = b.record_id, new_values = b.new_values,
			       payload_digest = b.payload_digest, row_hash = b.row_hash
			FROM (SELECT id, record_id, new_values, payload_digest, row_hash, chain_seq FROM audit_log
			      WHERE id IN ($1, $2)) b
			WHERE a.id IN ($1, $2) AND b.id <> a.id`, second, third)
		wantBreak(t, f.verify(t), s, 2, second, "does not match its hash")
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
	} {
		if _, err := f.owner.Exec(ctx, sql); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("owner: %s = %v, want refused as append-only", sql, err)
		}
	}
	// The owner's own maintenance flag counts only inside the owner's role.
	app := pgtest.Conn(t, f.db.AppURL)
	for _, sql := range []string{
		`SELECT count(*) FROM audit_chain_head`,
		`UPDATE audit_chain_head SET last_seq = 0`,
		`SELECT medrec_audit_archive('2000-01-01')`,
		`SELECT medrec_audit_create_partition('2999-01-01')`,
		`UPDATE audit_log SET action = 'X'`,
	} {
		if _, err := app.Exec(ctx, sql); sqlState(err) != "42501" {
			t.Errorf("service role: %s = %v, want 42501", sql, err)
		}
	}
	// What the service's daily loop calls.
	if err := openApp(t, f.db).EnsureAuditPartitions(ctx); err != nil {
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
	// Forged trigger rows, backdated rows and ERASE rows by a non-ADMIN are refused.
	for _, c := range []struct{ role, sql string }{
		{"ADMIN", `INSERT INTO audit_log (table_name, record_id, action, user_id) VALUES ('patients', gen_random_uuid(), 'UPDATE', '` + user + `')`},
		{"ADMIN", `INSERT INTO audit_log (table_name, record_id, action, user_id, changed_at) VALUES ('patients', gen_random_uuid(), 'READ', '` + user + `', now() - interval '1 day')`},
		{"NURSE", `INSERT INTO audit_log (table_name, record_id, action, user_id) VALUES ('patients', gen_random_uuid(), 'ERASE', '` + user + `')`},
		{"ADMIN", `INSERT INTO audit_log (table_name, record_id, action, user_id) VALUES ('patients', gen_random_uuid(), 'READ', gen_random_uuid())`},
	} {
		if err := try(c.role, c.sql); sqlState(err) != "42501" {
			t.Errorf("%s: %s = %v, want 42501", c.role, c.sql, err)
		}
	}
	// A READ row with forged chain columns is chained all the same.
	if err := try("NURSE", `INSERT INTO audit_log (table_name, record_id, action, user_id, chain_stripe, chain_seq, payload_digest, row_hash)
		VALUES ('patients', gen_random_uuid(), 'READ', '`+user+`', 31, 999, '\x00', '\x00')`); err != nil {
		t.Fatal(err)
	}
	if rep := f.verify(t); !rep.OK() {
		t.Fatalf("a READ row with forged chain columns broke the chain: %v", rep.Breaks)
	}
	var seq int64
	if err := f.owner.QueryRow(ctx, `SELECT chain_seq FROM audit_log WHERE user_id = $1`, user).Scan(&seq); err != nil || seq == 999 {
		t.Fatalf("forged chain_seq kept: %d %v", seq, err)
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
	if rep := f.verify(t); !rep.OK() {
		t.Fatalf("after a rollback: %v", rep.Breaks)
	}
}

// TestAuditArchiveKeepsTheChainVerifiable detaches old months, including a
// row written after a month boundary by a transaction that began before
// it, and checks that the chain still verifies and still catches a
// deletion among the remaining rows.
func TestAuditArchiveKeepsTheChainVerifiable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newChainFixture(t)
	for _, m := range []string{"2025-01-01", "2025-02-01", "2025-03-01"} {
		if _, err := f.owner.Exec(ctx, `SELECT medrec_audit_create_partition($1)`, m); err != nil {
			t.Fatal(err)
		}
	}
	// One transaction, so one stripe, in this order: January, February,
	// January (the straggler), February, March.
	tx, err := f.owner.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	for i, at := range []string{"2025-01-20", "2025-02-03", "2025-01-31 23:59:59", "2025-02-10", "2025-03-05"} {
		if _, err := tx.Exec(ctx, `
			INSERT INTO audit_log (table_name, record_id, action, changed_at, new_values)
			VALUES ('demo', gen_random_uuid(), 'READ', $1::timestamptz, jsonb_build_object('i', $2::int))`, at+"Z", i); err != nil {
			t.Fatal(err)
		}
	}
	var stripe int
	if err := tx.QueryRow(ctx, `SELECT split_part(current_setting('medrec.audit_stripe'), ' ', 1)::int`).Scan(&stripe); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
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
		for _, k := range []string{"id", "changed_at", "chain_stripe", "chain_seq", "row_hash", "payload_digest", "new_values"} {
			if _, ok := line[k]; !ok {
				t.Errorf("export line lacks %s: %s", k, sc.Text())
			}
		}
	}

	names, err := postgres.ArchiveAuditLog(ctx, f.owner, time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC))
	if err != nil || len(names) != 1 || names[0] != "audit_log_y2025m01" {
		t.Fatalf("archive before February = %v, %v", names, err)
	}
	if rep := f.verify(t); !rep.OK() || rep.Anchored == 0 {
		t.Fatalf("after detaching January: anchored %d, %v", rep.Anchored, rep.Breaks)
	}
	// Detaching February too leaves March; then only the anchors carry the
	// stripe up to it.
	if names, err := postgres.ArchiveAuditLog(ctx, f.owner, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)); err != nil || len(names) != 1 {
		t.Fatalf("archive before March = %v, %v", names, err)
	}
	if rep := f.verify(t); !rep.OK() {
		t.Fatalf("after detaching February: %v", rep.Breaks)
	}
	// A deletion among what is left is still caught (the March row is its
	// stripe's newest: caught once a checkpoint covers it).
	f.checkpoint(t)
	var march string
	if err := f.owner.QueryRow(ctx, `SELECT id::text FROM audit_log WHERE table_name = 'demo'`).Scan(&march); err != nil {
		t.Fatal(err)
	}
	f.superuser(t, `DELETE FROM audit_log WHERE id = $1`, march)
	rep := f.verify(t)
	if rep.OK() || rep.Breaks[0].Stripe != stripe {
		t.Fatalf("deleting the March row after archiving: %v", rep.Breaks)
	}
	// Detached, a month stays a plain table until the operator drops it.
	if _, err := f.owner.Exec(ctx, `SELECT 1 FROM audit_log_y2025m01`); err != nil {
		t.Fatal(err)
	}
}

// TestAuditChainUnderConcurrentWriters: many service-role clients writing
// audit rows at once (one and several rows per transaction, some rolled
// back) leave a chain that verifies, spread over several stripes.
func TestAuditChainUnderConcurrentWriters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	cfg, err := pgxpool.ParseConfig(db.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 12
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	const user = "f0000000-0000-4000-8000-00000000000f"
	var wg sync.WaitGroup
	errs := make(chan error, 12)
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
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	owner := pgtest.Conn(t, db.OwnerURL)
	rep, err := postgres.VerifyAuditChain(ctx, owner, nil)
	if err != nil {
		t.Fatal(err)
	}
	var stripes int
	if err := owner.QueryRow(ctx, `SELECT count(DISTINCT chain_stripe) FROM audit_log`).Scan(&stripes); err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Rows < 200 || stripes < 2 {
		t.Fatalf("after concurrent writes: %d rows on %d stripes, breaks %v", rep.Rows, stripes, rep.Breaks)
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
	if rep, err := postgres.VerifyAuditChain(ctx, owner, nil); err != nil || !rep.OK() {
		t.Fatalf("verify: %v %v", err, rep)
	}
}

// TestAuditChainMigrationKeepsRows: rolling 00017 back keeps every audit
// row (redacted ones with their payload gone) in the plain table, and
// applying it again chains them into a log that verifies.
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

// TestAuditChainConsistentRewriteNeedsAnAnchor shows the limit of a chain
// kept in the database alone: a superuser who removes a stripe's newest row
// and moves its head back leaves a chain that verifies by itself; heads
// kept from an earlier verify catch it.
func TestAuditChainConsistentRewriteNeedsAnAnchor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newChainFixture(t)
	kept := f.verify(t).Heads
	s, n := f.middle(t)
	f.superuser(t, `DELETE FROM audit_log WHERE chain_stripe = $1 AND chain_seq = $2`, s, n)
	f.superuser(t, `
		UPDATE audit_chain_head h SET last_seq = a.chain_seq, last_hash = a.row_hash
		FROM audit_log a WHERE a.chain_stripe = h.stripe AND h.stripe = $1 AND a.chain_seq = $2`, s, n-1)
	if rep := f.verify(t); !rep.OK() {
		t.Fatalf("a consistent rewrite is expected to pass without an anchor; got %v", rep.Breaks)
	}
	rep, err := postgres.VerifyAuditChain(ctx, f.owner, kept)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || rep.Breaks[0].Stripe != s || rep.Breaks[0].Seq != n {
		t.Fatalf("with the earlier heads as anchor: %v, want stripe %d seq %d named", rep.Breaks, s, n)
	}
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

// TestAuditCheckpoint: the service role may take a checkpoint but not
// touch audit_chain_head otherwise; a checkpoint moves only stripes with
// new rows, never back, and the chain verifies against it.
func TestAuditCheckpoint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newChainFixture(t)
	app := openApp(t, f.db)
	moved, err := app.CheckpointAuditChain(ctx)
	if err != nil || moved != 3 {
		t.Fatalf("service role: first checkpoint moved %d stripes, %v; want 3", moved, err)
	}
	if moved, err := app.CheckpointAuditChain(ctx); err != nil || moved != 0 {
		t.Fatalf("second checkpoint moved %d stripes, %v; want 0", moved, err)
	}
	var heads, rows int
	if err := f.owner.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM audit_chain_head h WHERE h.last_seq > 0
		          AND EXISTS (SELECT 1 FROM audit_log a WHERE a.chain_stripe = h.stripe
		                      AND a.chain_seq = h.last_seq AND a.row_hash = h.last_hash)
		          AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.chain_stripe = h.stripe AND a.chain_seq > h.last_seq)),
		       (SELECT count(DISTINCT chain_stripe) FROM audit_log)`).Scan(&heads, &rows); err != nil {
		t.Fatal(err)
	}
	if heads != rows {
		t.Fatalf("%d checkpoints at their stripe's last row, want %d", heads, rows)
	}
	if rep := f.verify(t); !rep.OK() {
		t.Fatalf("after a checkpoint: %v", rep.Breaks)
	}
	// Deleting a stripe's newest row and checkpointing again does not move
	// the checkpoint back over the hole.
	s, n := f.middle(t)
	f.superuser(t, `DELETE FROM audit_log WHERE chain_stripe = $1 AND chain_seq = $2`, s, n)
	if moved := f.checkpoint(t); moved != 0 {
		t.Fatalf("checkpoint after a deletion moved %d stripes", moved)
	}
	wantBreak(t, f.verify(t), s, n, "", "missing at the end")
}

// TestAuditChainRefusesSnapshotIsolation: the trigger reads a stripe's last
// row, which a snapshot older than the stripe's lock may not show; audit
// rows are refused outside READ COMMITTED.
func TestAuditChainRefusesSnapshotIsolation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newChainFixture(t)
	for _, iso := range []pgx.TxIsoLevel{pgx.RepeatableRead, pgx.Serializable} {
		tx, err := f.owner.BeginTx(ctx, pgx.TxOptions{IsoLevel: iso})
		if err != nil {
			t.Fatal(err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO patients (first_name, last_name, dob, gender) VALUES ('Snap', 'Shot', '1990-01-01', 'OTHER')`)
		tx.Rollback(ctx)
		if sqlState(err) != "0A000" || !strings.Contains(err.Error(), "READ COMMITTED") {
			t.Errorf("%s: audited insert = %v, want 0A000", iso, err)
		}
	}
	if rep := f.verify(t); !rep.OK() {
		t.Fatal(rep.Breaks)
	}
}

// TestAuditChainIgnoresAForgedStripeSetting: medrec.audit_stripe is a
// setting any caller can write. Pointing it at a stripe another
// transaction holds, or at garbage, must neither block nor fork the chain.
func TestAuditChainIgnoresAForgedStripeSetting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newChainFixture(t)
	other := pgtest.Conn(t, f.db.OwnerURL)
	holder, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback(ctx)
	if _, err := holder.Exec(ctx, `INSERT INTO audit_log (table_name, record_id, action) VALUES ('demo', gen_random_uuid(), 'READ')`); err != nil {
		t.Fatal(err)
	}
	var held string
	if err := holder.QueryRow(ctx, `SELECT current_setting('medrec.audit_stripe')`).Scan(&held); err != nil {
		t.Fatal(err)
	}
	for _, forged := range []string{held, held + " 1 " + strings.Repeat("00", 32), "99", "x", "3 (0,1)"} {
		tx, err := f.owner.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `SELECT set_config('medrec.audit_stripe', $1, true)`, forged); err != nil {
			t.Fatal(err)
		}
		var stripe string
		if err := tx.QueryRow(ctx, `
			INSERT INTO audit_log (table_name, record_id, action) VALUES ('demo', gen_random_uuid(), 'READ')
			RETURNING chain_stripe::text`).Scan(&stripe); err != nil {
			t.Fatalf("forged %q: %v", forged, err)
		}
		if stripe == held {
			t.Errorf("forged %q: wrote on stripe %s, which another transaction holds", forged, held)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := holder.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if rep := f.verify(t); !rep.OK() {
		t.Fatalf("after forged settings: %v", rep.Breaks)
	}
}

// TestAuditChainContinuesAfterAnArchivedStraggler: a stripe whose newest
// row (by sequence) was archived with an earlier month while an older one
// stays live continues after the archived row, not after the live one.
func TestAuditChainContinuesAfterAnArchivedStraggler(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newChainFixture(t)
	for _, m := range []string{"2025-01-01", "2025-02-01"} {
		if _, err := f.owner.Exec(ctx, `SELECT medrec_audit_create_partition($1)`, m); err != nil {
			t.Fatal(err)
		}
	}
	insert := func(tx pgx.Tx, at string) (stripe int, seq int64) {
		t.Helper()
		if err := tx.QueryRow(ctx, `
			INSERT INTO audit_log (table_name, record_id, action, changed_at)
			VALUES ('demo', gen_random_uuid(), 'READ', $1::timestamptz)
			RETURNING chain_stripe, chain_seq`, at).Scan(&stripe, &seq); err != nil {
			t.Fatal(err)
		}
		return stripe, seq
	}
	tx, err := f.owner.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	stripe, _ := insert(tx, "2025-02-03T00:00:00Z")
	_, last := insert(tx, "2025-01-31T23:59:59Z") // the straggler
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	f.checkpoint(t)
	if _, err := postgres.ArchiveAuditLog(ctx, f.owner, time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	tx, err = f.owner.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	s, seq := insert(tx, "2025-02-04T00:00:00Z")
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if s == stripe && seq != last+1 {
		t.Fatalf("after the archived straggler at seq %d, the stripe went on at %d", last, seq)
	}
	if s != stripe {
		t.Logf("the new row took stripe %d, not %d: the straggler case was not exercised", s, stripe)
	}
	if rep := f.verify(t); !rep.OK() {
		t.Fatalf("after archiving a straggler: %v", rep.Breaks)
	}
}

// TestAuditChainHeadsFromLogMigration: rolling 00022 back resyncs the
// heads from the log, so 00017's trigger continues the chains written under
// 00022, and applying 00022 again continues the chains 00017's trigger
// wrote.
func TestAuditChainHeadsFromLogMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newChainFixture(t) // written by 00022's trigger
	m, err := postgres.NewMigrator(f.db.OwnerURL, postgres.AppRole{Name: pgtest.AppRoleName}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	write := func() {
		t.Helper()
		for i := 0; i < 3; i++ {
			if _, err := f.owner.Exec(ctx, `INSERT INTO patients (first_name, last_name, dob, gender) VALUES ('Mig', 'Ration', '1990-01-01', 'OTHER')`); err != nil {
				t.Fatal(err)
			}
		}
	}
	rollBackTo(ctx, t, m, 21)
	var behind int
	if err := f.owner.QueryRow(ctx, `
		SELECT count(*) FROM audit_chain_head h
		WHERE EXISTS (SELECT 1 FROM audit_log a WHERE a.chain_stripe = h.stripe)
		  AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.chain_stripe = h.stripe
		                  AND a.chain_seq = h.last_seq AND a.row_hash = h.last_hash
		                  AND a.chain_seq = (SELECT max(b.chain_seq) FROM audit_log b WHERE b.chain_stripe = h.stripe))`).Scan(&behind); err != nil {
		t.Fatal(err)
	}
	if behind != 0 {
		t.Fatalf("after rolling 00022 back, %d heads are not at their stripe's last row", behind)
	}
	write()
	if rep := f.verify(t); !rep.OK() {
		t.Fatalf("00017's trigger after rolling 00022 back: %v", rep.Breaks)
	}
	if err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	write()
	if rep := f.verify(t); !rep.OK() {
		t.Fatalf("00022's trigger after applying it again: %v", rep.Breaks)
	}
}
