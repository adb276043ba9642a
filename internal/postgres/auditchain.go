package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
)

// The audit log's hash chain (migration 00023, docs/security.md "The
// audit log"). Audit rows are written as they are; medrec_audit_seal()
// appends an entry to audit_chain for each row whose transaction has ended,
// with row_hash = sha256(previous row_hash || medrec_audit_entry_bytes(row)),
// starting from 32 zero bytes. The canonical bytes come from the database
// function, so the verifier cannot drift from the sealer; the chaining
// itself is recomputed here.

// auditGenesis is the hash before the chain's first entry.
var auditGenesis = make([]byte, sha256.Size)

// ChainBreak is a place where the audit chain does not hold.
type ChainBreak struct {
	Seq       int64     // the chain position; 0 for a row that is not in the chain
	ID        string    // the audit row's id; empty when the break is missing entries
	ChangedAt time.Time // zero when ID is empty
	Problem   string
}

func (b ChainBreak) String() string {
	switch {
	case b.ID == "":
		return fmt.Sprintf("seq %d: %s", b.Seq, b.Problem)
	case b.Seq == 0:
		return fmt.Sprintf("row %s (changed_at %s): %s", b.ID, b.ChangedAt.UTC().Format(time.RFC3339Nano), b.Problem)
	}
	return fmt.Sprintf("seq %d, row %s (changed_at %s): %s",
		b.Seq, b.ID, b.ChangedAt.UTC().Format(time.RFC3339Nano), b.Problem)
}

// AuditVerifyReport is what VerifyAuditChain found.
type AuditVerifyReport struct {
	Rows     int64 // chain entries checked against their rows
	Redacted int64 // of those, rows whose payload an erasure removed, accepted
	Archived int64 // entries whose rows were archived, accepted from their anchors
	Pending  int64 // rows not sealed yet: their transactions were running at the last seal
	// OldestPending is the changed_at of the oldest pending row: sealing
	// waits for every transaction of the database older than a row, so an
	// old one here means a long transaction is holding it back.
	OldestPending time.Time
	// Breaks holds the first break in the chain, if any, and every row
	// that should be in the chain and is not, earliest changed_at first;
	// Breaks[0] is the first bad row. Empty: the chain holds.
	Breaks []ChainBreak
	// Head is the chain's end as verified (when broken, the last position
	// verified before the break): keep it (`verify -heads`) to detect a
	// later consistent rewrite or the removal of the newest entries
	// (`verify -anchor`).
	Head AuditHead
}

// OK reports whether the whole chain verified.
func (r *AuditVerifyReport) OK() bool { return len(r.Breaks) == 0 }

// AuditHead is a chain position and its hash: what `medrec audit verify`
// writes and what it may be given back later as a trusted anchor.
type AuditHead struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"` // hex
}

// auditSealBacklog is how many rows one call of medrec_audit_seal must
// chain for SealAuditChain to call it again at once: it chains at most
// 50,000 (whole transactions; migration 00023), so a call that chained
// this many has likely cut a backlog short. Fewer: the rest waits for the
// next call, a second later in the service.
const auditSealBacklog = 10000

// SealAuditChain seals every audit row whose transaction has ended
// (medrec_audit_seal, batch after batch) and returns how many it chained;
// 0 also when another process is sealing. conn is the service's pool or the
// owner's connection. The statement timeout is lifted for the seal: a
// transaction of a million audit rows is sealed in one statement, and a
// timeout would leave it unsealed for good.
func SealAuditChain(ctx context.Context, conn interface {
	Begin(context.Context) (pgx.Tx, error)
}) (int, error) {
	total := 0
	for {
		n, err := sealAuditBatch(ctx, conn)
		total += n
		if err != nil || n < auditSealBacklog {
			return total, err
		}
	}
}

func sealAuditBatch(ctx context.Context, conn interface {
	Begin(context.Context) (pgx.Tx, error)
}) (int, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("seal audit chain: %w", translate(err))
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var n int
	if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
		return 0, fmt.Errorf("seal audit chain: %w", translate(err))
	}
	if err := tx.QueryRow(ctx, `SELECT medrec_audit_seal()`).Scan(&n); err != nil {
		return 0, fmt.Errorf("seal audit chain: %w", translate(err))
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("seal audit chain: %w", translate(err))
	}
	return n, nil
}

// SealAuditChain seals the audit rows of ended transactions; the service
// calls it every second.
func (db *DB) SealAuditChain(ctx context.Context) (int, error) {
	return SealAuditChain(ctx, db.pool)
}

// AuditUnsealedSince returns when the oldest committed audit row that is
// not sealed yet was written, or nil if every committed row is sealed.
// Sealing waits for every older transaction of the database, so a time
// minutes back means a long transaction is leaving the rows behind it
// unprotected (medrec_audit_unsealed_since).
func (db *DB) AuditUnsealedSince(ctx context.Context) (*time.Time, error) {
	var since *time.Time
	if err := db.pool.QueryRow(ctx, `SELECT medrec_audit_unsealed_since()`).Scan(&since); err != nil {
		return nil, fmt.Errorf("audit unsealed since: %w", translate(err))
	}
	return since, nil
}

// VerifyAuditChain checks the audit chain in one snapshot: every entry of
// audit_chain, in order and without gaps, against its row (the hash from
// its predecessor and the row's content; the payload against the digest,
// which may differ only on a row an erasure redacted, with an ERASE row for
// its patient in the log), and every audit row against the chain: a row
// whose transaction ended before the last seal must be in it. After
// archiving, the chain starts from its anchor in audit_chain_anchor, and
// entries whose rows were archived are accepted if they are anchors.
//
// conn must be the schema owner's (or a superuser's): the chain is out of
// the service role's reach. trusted, when given, is a head from an earlier
// run (`verify -anchor`): the chain must still pass through that position
// with that hash, which catches a consistent rewrite of the chain, or the
// removal of its newest entries, made after it was taken. Rows not yet
// sealed are only counted: seal first (SealAuditChain) to check them.
func VerifyAuditChain(ctx context.Context, conn *pgx.Conn, trusted *AuditHead) (*AuditVerifyReport, error) {
	var trustedHash []byte
	if trusted != nil {
		b, err := hex.DecodeString(trusted.Hash)
		if err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("verify audit chain: trusted head: bad hash %q", trusted.Hash)
		}
		trustedHash = b
	}
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("verify audit chain: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))

	// each runs sql and calls fn for each row, scanned into dest.
	each := func(what, sql string, dest []any, fn func()) error {
		rows, err := tx.Query(ctx, sql)
		if err == nil {
			_, err = pgx.ForEachRow(rows, dest, func() error { fn(); return nil })
		}
		if err != nil {
			return fmt.Errorf("verify audit chain: read %s: %w", what, err)
		}
		return nil
	}
	var seq int64
	var hash []byte
	anchors := map[int64][]byte{}
	if err := each("anchors", `SELECT seq, row_hash FROM audit_chain_anchor`,
		[]any{&seq, &hash}, func() { anchors[seq] = hash }); err != nil {
		return nil, err
	}
	var name string
	erased := map[string]bool{}
	if err := each("erasures", `SELECT DISTINCT patient_id::text FROM audit_log WHERE action = 'ERASE' AND patient_id IS NOT NULL`,
		[]any{&name}, func() { erased[name] = true }); err != nil {
		return nil, err
	}
	// The monthly partitions still attached: a row of one of them cannot
	// have been archived, whatever audit_chain_anchor says.
	attached := map[string]bool{}
	if err := each("partitions", `
		SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'audit_log'::regclass`,
		[]any{&name}, func() { attached[name] = true }); err != nil {
		return nil, err
	}
	// The horizon of the last seal, below which every row of a transaction
	// must be in the chain, and the first transaction id not issued yet,
	// which no genuine row has.
	var sealedBelow, issued int64
	if err := tx.QueryRow(ctx, `
		SELECT sealed_below, pg_snapshot_xmax(pg_current_snapshot())::text::bigint
		FROM medrec_audit_chain_end()`).Scan(&sealedBelow, &issued); err != nil {
		return nil, fmt.Errorf("verify audit chain: read the horizon: %w", err)
	}

	rep := &AuditVerifyReport{}
	w := chainWalk{rep: rep, anchors: anchors, erased: erased, attached: attached, trustedHash: trustedHash}
	if trusted != nil {
		w.trustedSeq = trusted.Seq
	}
	var e chainEntry
	if err := each("the chain", `
		SELECT c.seq, c.audit_id::text, c.changed_at, c.row_hash, a.id IS NOT NULL,
		       medrec_audit_entry_bytes(c.seq, a.id, a.table_name, a.record_id, a.action, a.user_id,
		                                a.changed_at, a.patient_id, a.emergency_access_id, a.txid,
		                                c.payload_digest),
		       coalesce(c.payload_digest = medrec_audit_seal_digest(a.old_values, a.new_values), false),
		       coalesce(a.redacted_at IS NOT NULL AND a.old_values IS NULL AND a.new_values IS NULL, false),
		       a.patient_id::text
		FROM audit_chain c
		LEFT JOIN audit_log a ON a.id = c.audit_id AND a.changed_at = c.changed_at
		ORDER BY c.seq`,
		[]any{&e.seq, &e.id, &e.changedAt, &e.rowHash, &e.present, &e.rowBytes, &e.payloadOK, &e.redacted, &e.patientID},
		func() { w.step(e) }); err != nil {
		return nil, err
	}
	w.finish()

	// Rows the chain does not have, oldest first: pending if their
	// transaction was still running at the last seal, else put there after
	// it (or under an id no transaction has had). After a restore into a
	// cluster with lower transaction ids, seal first: until then the rows
	// the old cluster had not sealed look like that.
	var b ChainBreak
	var txid int64
	if err := each("unsealed rows", `
		SELECT a.id::text, a.changed_at, a.txid FROM audit_log a
		WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.audit_id = a.id AND c.changed_at = a.changed_at)
		ORDER BY a.changed_at, a.id`,
		[]any{&b.ID, &b.ChangedAt, &txid}, func() {
			switch {
			case txid >= issued:
				b.Problem = "its transaction id has not been issued yet: inserted"
				rep.Breaks = append(rep.Breaks, b)
			case txid >= sealedBelow:
				if rep.Pending == 0 {
					rep.OldestPending = b.ChangedAt
				}
				rep.Pending++
			default:
				b.Problem = "not in the chain, though its transaction ended before the last seal: inserted"
				rep.Breaks = append(rep.Breaks, b)
			}
		}); err != nil {
		return nil, err
	}
	sort.SliceStable(rep.Breaks, func(i, j int) bool {
		a, b := rep.Breaks[i], rep.Breaks[j]
		if a.ID == "" || b.ID == "" {
			return a.ID != "" && b.ID == ""
		}
		return a.ChangedAt.Before(b.ChangedAt)
	})
	return rep, nil
}

// chainEntry is one entry of audit_chain with what its row says now.
type chainEntry struct {
	seq       int64
	id        string
	changedAt time.Time
	rowHash   []byte
	present   bool   // the row is in audit_log
	rowBytes  []byte // medrec_audit_entry_bytes of the row as it is now
	payloadOK bool
	redacted  bool
	patientID *string
}

// chainWalk checks the entries of audit_chain in order; it stops at the
// first break, after which nothing further can be trusted.
type chainWalk struct {
	rep         *AuditVerifyReport
	anchors     map[int64][]byte
	erased      map[string]bool
	attached    map[string]bool // partitions of audit_log
	trustedSeq  int64
	trustedHash []byte // nil: no trusted head
	started     bool
	next        int64  // the position expected next
	prev        []byte // the hash before it
	broken      bool
}

func (w *chainWalk) fail(b ChainBreak) {
	w.broken = true
	w.rep.Breaks = append(w.rep.Breaks, b)
}

// start begins the walk before position first: from genesis, or after
// archiving from the anchor just before it.
func (w *chainWalk) start(first int64) {
	w.started = true
	w.next, w.prev = 1, auditGenesis
	if first <= 1 {
		return
	}
	hash, ok := w.anchors[first-1]
	if !ok {
		w.fail(ChainBreak{Seq: 1, Problem: fmt.Sprintf(
			"entries 1 to %d are missing from the chain and no archive anchor covers them: deleted", first-1)})
		return
	}
	w.rep.Archived++
	w.next, w.prev = first, hash
	w.checkTrusted(first-1, hash, "", time.Time{})
}

func (w *chainWalk) checkTrusted(seq int64, hash []byte, id string, changedAt time.Time) {
	if w.trustedHash != nil && seq == w.trustedSeq && !bytes.Equal(hash, w.trustedHash) {
		w.fail(ChainBreak{Seq: seq, ID: id, ChangedAt: changedAt,
			Problem: "the chain here differs from the trusted head: the chain was rewritten"})
	}
}

func (w *chainWalk) step(e chainEntry) {
	if !w.started {
		w.start(e.seq)
	}
	if w.broken {
		return
	}
	bad := func(problem string) {
		w.fail(ChainBreak{Seq: e.seq, ID: e.id, ChangedAt: e.changedAt, Problem: problem})
	}
	switch {
	case e.seq != w.next:
		bad(fmt.Sprintf("the entries before it (seq %d to %d) are missing from the chain: deleted", w.next, e.seq-1))
		return
	case !e.present:
		// Archived only if an anchor says so and its month's partition
		// is no longer attached (an anchor is easy to add; a detach shows).
		month := "audit_log_y" + e.changedAt.UTC().Format("2006") + "m" + e.changedAt.UTC().Format("01")
		if hash, ok := w.anchors[e.seq]; !ok || !bytes.Equal(hash, e.rowHash) || w.attached[month] {
			bad("the row is missing: deleted")
			return
		}
		w.rep.Archived++
	default:
		sum := sha256.Sum256(append(slices.Clone(w.prev), e.rowBytes...))
		if !bytes.Equal(sum[:], e.rowHash) {
			bad("its content does not match its hash: edited, moved or reordered")
			return
		}
		if !e.payloadOK {
			if !e.redacted || e.patientID == nil || !w.erased[*e.patientID] {
				bad("old_values/new_values do not match the payload digest: edited")
				return
			}
			w.rep.Redacted++
		}
		w.rep.Rows++
	}
	w.checkTrusted(e.seq, e.rowHash, e.id, e.changedAt)
	if w.broken {
		return
	}
	w.prev = e.rowHash
	w.next++
}

// finish ends the walk: the head, and a trusted head beyond the end.
func (w *chainWalk) finish() {
	if !w.started {
		// An empty chain: everything archived (the newest anchor) or
		// nothing sealed yet (genesis).
		w.started, w.next, w.prev = true, 1, auditGenesis
		var top int64
		for seq := range w.anchors {
			top = max(top, seq)
		}
		if top > 0 {
			w.rep.Archived++
			w.next, w.prev = top+1, w.anchors[top]
			w.checkTrusted(top, w.prev, "", time.Time{})
		}
	}
	w.rep.Head = AuditHead{Seq: w.next - 1, Hash: hex.EncodeToString(w.prev)}
	if !w.broken && w.trustedHash != nil && w.trustedSeq > w.next-1 {
		w.fail(ChainBreak{Seq: w.next, Problem: fmt.Sprintf(
			"the chain ends at seq %d, before the trusted head at %d: its newest entries were deleted", w.next-1, w.trustedSeq)})
	}
}

// auditExportRow is one line of `medrec audit export`: every column, and
// the row's chain entry (null while the row is not sealed yet), so an
// archive can be verified offline.
type auditExportRow struct {
	ID                string          `json:"id"`
	TableName         string          `json:"table_name"`
	RecordID          string          `json:"record_id"`
	Action            string          `json:"action"`
	UserID            *string         `json:"user_id"`
	ChangedAt         string          `json:"changed_at"` // UTC, microseconds, as hashed
	PatientID         *string         `json:"patient_id"`
	EmergencyAccessID *string         `json:"emergency_access_id"`
	OldValues         json.RawMessage `json:"old_values"`
	NewValues         json.RawMessage `json:"new_values"`
	Txid              int64           `json:"txid"`
	RedactedAt        *time.Time      `json:"redacted_at"`
	ChainSeq          *int64          `json:"chain_seq"`
	PayloadDigest     *string         `json:"payload_digest"`
	RowHash           *string         `json:"row_hash"`
}

// ExportAuditLog writes the audit rows with from <= changed_at < to as JSON
// Lines, in (changed_at, chain seq) order, and returns how many. conn is
// the owner's. Rows of detached partitions are not included.
func ExportAuditLog(ctx context.Context, conn *pgx.Conn, from, to time.Time, w io.Writer) (int64, error) {
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return 0, fmt.Errorf("export audit log: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	rows, err := tx.Query(ctx, `
		SELECT a.id::text, a.table_name, a.record_id::text, a.action, a.user_id::text,
		       to_char(a.changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		       a.patient_id::text, a.emergency_access_id::text, a.old_values::text, a.new_values::text,
		       a.txid, a.redacted_at, c.seq, encode(c.payload_digest, 'hex'), encode(c.row_hash, 'hex')
		FROM audit_log a
		LEFT JOIN audit_chain c ON c.audit_id = a.id AND c.changed_at = a.changed_at
		WHERE a.changed_at >= $1 AND a.changed_at < $2
		ORDER BY a.changed_at, c.seq, a.id`, from, to)
	if err != nil {
		return 0, fmt.Errorf("export audit log: %w", err)
	}
	defer rows.Close()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	var n int64
	for rows.Next() {
		var r auditExportRow
		var oldV, newV *string
		if err := rows.Scan(&r.ID, &r.TableName, &r.RecordID, &r.Action, &r.UserID, &r.ChangedAt,
			&r.PatientID, &r.EmergencyAccessID, &oldV, &newV, &r.Txid, &r.RedactedAt,
			&r.ChainSeq, &r.PayloadDigest, &r.RowHash); err != nil {
			return n, fmt.Errorf("export audit log: %w", err)
		}
		if oldV != nil {
			r.OldValues = json.RawMessage(*oldV)
		}
		if newV != nil {
			r.NewValues = json.RawMessage(*newV)
		}
		if err := enc.Encode(r); err != nil {
			return n, fmt.Errorf("export audit log: %w", err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("export audit log: %w", err)
	}
	return n, nil
}

// ArchiveAuditLog detaches every monthly partition of audit_log that ends
// on or before before (the first of a month, UTC), after sealing their rows
// and replacing their chain entries by the anchors the verifier starts
// from, and returns the detached tables' names. Export those months first;
// the tables stay until dropped.
func ArchiveAuditLog(ctx context.Context, conn *pgx.Conn, before time.Time) ([]string, error) {
	rows, err := conn.Query(ctx, `SELECT medrec_audit_archive($1::date)`, before.UTC().Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("archive audit log: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("archive audit log: %w", err)
	}
	return names, nil
}

// EnsureAuditPartitions creates this month's and next month's audit_log
// partitions if they are missing. The service calls it with its periodic
// sweeps (every few minutes; a no-op when they exist).
func (db *DB) EnsureAuditPartitions(ctx context.Context) error {
	if _, err := db.pool.Exec(ctx, `SELECT medrec_audit_ensure_partitions()`); err != nil {
		return fmt.Errorf("audit partitions: %w", translate(err))
	}
	return nil
}
