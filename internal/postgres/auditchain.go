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

// The audit log's hash chain (migrations 00017 and 00022, docs/security.md
// "The audit log"). Rows are on 32 stripes; on each, row_hash =
// sha256(previous row_hash || medrec_audit_row_bytes(row)), starting from
// 32 zero bytes. The canonical bytes come from the database function, so
// the verifier cannot drift from the trigger; the chaining itself is
// recomputed here.

// auditChainStripes is the number of stripes; audit_chain_head has one
// checkpoint row per stripe.
const auditChainStripes = 32

// auditGenesis is the hash before a stripe's first row.
var auditGenesis = make([]byte, sha256.Size)

// ChainBreak is the first row of one stripe where the chain does not hold.
type ChainBreak struct {
	Stripe    int
	Seq       int64     // the position in the stripe
	ID        string    // the row's id; empty when the break is a missing row with nothing after it
	ChangedAt time.Time // zero when ID is empty
	Problem   string
}

func (b ChainBreak) String() string {
	if b.ID == "" {
		return fmt.Sprintf("stripe %d seq %d: %s", b.Stripe, b.Seq, b.Problem)
	}
	return fmt.Sprintf("stripe %d seq %d, row %s (changed_at %s): %s",
		b.Stripe, b.Seq, b.ID, b.ChangedAt.UTC().Format(time.RFC3339Nano), b.Problem)
}

// AuditVerifyReport is what VerifyAuditChain found.
type AuditVerifyReport struct {
	Rows     int64 // rows checked
	Redacted int64 // rows whose payload an erasure removed, accepted
	Anchored int   // stripes that start from an archive anchor
	// Breaks holds the first break of each broken stripe, earliest
	// changed_at first; Breaks[0] is the first bad row. Empty: the chain holds.
	Breaks []ChainBreak
	// Heads are the stripes' ends as verified (for a broken stripe, the
	// last position verified before the break), one per stripe: keep them
	// (`verify -heads`) to detect a later consistent rewrite or the removal
	// of rows written after the last checkpoint (`verify -anchor`).
	Heads []AuditHead
}

// OK reports whether the whole chain verified.
func (r *AuditVerifyReport) OK() bool { return len(r.Breaks) == 0 }

// AuditHead is a stripe's last sequence number and hash: what `medrec audit
// verify` prints and what it may be given back later as a trusted anchor.
type AuditHead struct {
	Stripe int    `json:"stripe"`
	Seq    int64  `json:"seq"`
	Hash   string `json:"hash"` // hex
}

type chainRow struct {
	stripe    int
	seq       int64
	id        string
	changedAt time.Time
	rowHash   []byte
	rowBytes  []byte
	payloadOK bool
	redacted  bool
	patientID *string
}

// VerifyAuditChain checks every stripe of the audit chain in one snapshot:
// each row's hash against its content and its predecessor, sequence numbers
// without gaps or duplicates, each stripe reaching at least its checkpoint
// in audit_chain_head with the same hash at that position (rows written
// since the last checkpoint are covered only by trusted heads), payload
// digests (a payload may differ only on a row an erasure redacted, with an
// ERASE row for its patient in the log). After archiving, a stripe starts
// from its anchor in audit_chain_anchor.
//
// conn must be the schema owner's (or a superuser's): the heads and anchors
// are out of the service role's reach. trusted, when given, are heads from
// an earlier run (`verify -anchor`): each stripe must still pass through
// that position with that hash, which catches a consistent rewrite of the
// whole chain made after it was taken.
func VerifyAuditChain(ctx context.Context, conn *pgx.Conn, trusted []AuditHead) (*AuditVerifyReport, error) {
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("verify audit chain: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))

	// The checkpoints medrec_audit_checkpoint() recorded (00022; before it,
	// the heads the chain trigger kept, which are checkpoints too).
	heads := map[int]AuditHead{}
	rows, err := tx.Query(ctx, `SELECT stripe, last_seq, last_hash FROM audit_chain_head ORDER BY stripe`)
	if err != nil {
		return nil, fmt.Errorf("verify audit chain: read checkpoints: %w", err)
	}
	for rows.Next() {
		var h AuditHead
		var hash []byte
		if err := rows.Scan(&h.Stripe, &h.Seq, &hash); err != nil {
			return nil, fmt.Errorf("verify audit chain: read checkpoints: %w", err)
		}
		h.Hash = hex.EncodeToString(hash)
		heads[h.Stripe] = h
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("verify audit chain: read checkpoints: %w", err)
	}

	type anchor struct {
		seq  int64
		hash []byte
	}
	anchors := map[int][]anchor{}
	rows, err = tx.Query(ctx, `SELECT stripe, seq, row_hash FROM audit_chain_anchor ORDER BY stripe, seq`)
	if err != nil {
		return nil, fmt.Errorf("verify audit chain: read anchors: %w", err)
	}
	for rows.Next() {
		var s int
		var a anchor
		if err := rows.Scan(&s, &a.seq, &a.hash); err != nil {
			return nil, fmt.Errorf("verify audit chain: read anchors: %w", err)
		}
		anchors[s] = append(anchors[s], a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("verify audit chain: read anchors: %w", err)
	}

	erased := map[string]bool{}
	rows, err = tx.Query(ctx, `SELECT DISTINCT patient_id::text FROM audit_log WHERE action = 'ERASE' AND patient_id IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("verify audit chain: read erasures: %w", err)
	}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("verify audit chain: read erasures: %w", err)
		}
		erased[p] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("verify audit chain: read erasures: %w", err)
	}

	trustedBy := map[int]map[int64][]byte{}
	for _, h := range trusted {
		b, err := hex.DecodeString(h.Hash)
		if err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("verify audit chain: trusted head of stripe %d: bad hash %q", h.Stripe, h.Hash)
		}
		if trustedBy[h.Stripe] == nil {
			trustedBy[h.Stripe] = map[int64][]byte{}
		}
		trustedBy[h.Stripe][h.Seq] = b
	}

	rep := &AuditVerifyReport{}
	ends := map[int]AuditHead{}
	// walker checks one stripe.
	type walker struct {
		stripe int
		next   int64  // the sequence number expected next
		prev   []byte // the hash before it
		bridge map[int64][]byte
		broken bool
	}
	var w *walker
	fail := func(b ChainBreak) {
		if !w.broken {
			w.broken = true
			rep.Breaks = append(rep.Breaks, b)
		}
	}
	// checkpoint checks the stripe's position seq, whose hash is hash,
	// against the stripe's checkpoint.
	checkpoint := func(seq int64, hash []byte, id string, changedAt time.Time) {
		if head, ok := heads[w.stripe]; ok && head.Seq == seq && head.Hash != hex.EncodeToString(hash) {
			fail(ChainBreak{Stripe: w.stripe, Seq: seq, ID: id, ChangedAt: changedAt,
				Problem: "the stripe's hash here differs from its checkpoint in audit_chain_head: rewritten"})
		}
	}
	// start begins stripe s whose first remaining row has sequence first
	// (0: no rows at all).
	start := func(s int, first int64) {
		w = &walker{stripe: s, next: 1, prev: auditGenesis, bridge: map[int64][]byte{}}
		as := anchors[s]
		base := -1
		for i, a := range as {
			if first == 0 || a.seq < first {
				base = i
			}
		}
		if base >= 0 {
			rep.Anchored++
			w.next, w.prev = as[base].seq+1, as[base].hash
		}
		// Archived rows sequenced after the first live one (stragglers
		// from an earlier month), also when no archived row precedes it.
		for _, a := range as[base+1:] {
			w.bridge[a.seq] = a.hash
		}
		// A checkpoint before the stripe's start is among archived rows
		// that are not anchors: there is nothing left to check it against.
		checkpoint(w.next-1, w.prev, "", time.Time{})
	}
	// bridge steps over archived rows (anchors) up to, not including, seq
	// (all of them when seq is 0).
	bridge := func(seq int64) {
		for seq == 0 || w.next < seq {
			h, ok := w.bridge[w.next]
			if !ok {
				return
			}
			if t, ok := trustedBy[w.stripe][w.next]; ok && !bytes.Equal(t, h) {
				fail(ChainBreak{Stripe: w.stripe, Seq: w.next, Problem: "the archive anchor differs from the trusted anchor: the chain was rewritten"})
			}
			checkpoint(w.next, h, "", time.Time{})
			w.prev = h
			w.next++
		}
	}
	finish := func() {
		if w == nil {
			return
		}
		// The position verified last: the stripe's end when it holds.
		defer func() {
			ends[w.stripe] = AuditHead{Stripe: w.stripe, Seq: w.next - 1, Hash: hex.EncodeToString(w.prev)}
		}()
		if w.broken {
			return
		}
		bridge(0)
		if w.broken {
			return
		}
		last := w.next - 1
		head, ok := heads[w.stripe]
		switch {
		case !ok:
			fail(ChainBreak{Stripe: w.stripe, Seq: last, Problem: "stripe has no checkpoint in audit_chain_head"})
		case head.Seq > last:
			fail(ChainBreak{Stripe: w.stripe, Seq: last + 1, Problem: fmt.Sprintf(
				"rows %d to %d are missing at the end of the stripe (its checkpoint is at %d): deleted", last+1, head.Seq, head.Seq)})
		}
		for seq := range trustedBy[w.stripe] {
			if seq > last {
				fail(ChainBreak{Stripe: w.stripe, Seq: seq, Problem: "the trusted anchor is beyond the end of the stripe: rows deleted"})
			}
		}
	}

	// check processes all rows of one (stripe, seq): normally exactly one.
	check := func(group []chainRow) {
		r0 := group[0]
		if w == nil || w.stripe != r0.stripe {
			finish()
			start(r0.stripe, r0.seq)
		}
		rep.Rows += int64(len(group))
		if w.broken {
			return
		}
		bridge(r0.seq)
		if w.broken {
			return
		}
		if r0.seq > w.next {
			fail(ChainBreak{Stripe: r0.stripe, Seq: r0.seq, ID: r0.id, ChangedAt: r0.changedAt, Problem: fmt.Sprintf(
				"the rows before it (seq %d to %d) are missing: deleted", w.next, r0.seq-1)})
			return
		}
		if r0.seq < w.next { // an archived position that also has a live row
			fail(ChainBreak{Stripe: r0.stripe, Seq: r0.seq, ID: r0.id, ChangedAt: r0.changedAt,
				Problem: "a row sits at a position that was archived: inserted"})
			return
		}
		// The genuine row is the one whose hash follows from its predecessor.
		var good *chainRow
		var bad []chainRow
		for i := range group {
			r := &group[i]
			sum := sha256.Sum256(append(slices.Clone(w.prev), r.rowBytes...))
			if good == nil && bytes.Equal(sum[:], r.rowHash) {
				good = r
			} else {
				bad = append(bad, *r)
			}
		}
		switch {
		case good == nil && len(group) > 1:
			fail(ChainBreak{Stripe: r0.stripe, Seq: r0.seq, ID: r0.id, ChangedAt: r0.changedAt,
				Problem: fmt.Sprintf("%d rows share this position and none matches its hash: inserted or edited", len(group))})
			return
		case good == nil:
			fail(ChainBreak{Stripe: r0.stripe, Seq: r0.seq, ID: r0.id, ChangedAt: r0.changedAt,
				Problem: "its content does not match its hash: edited, moved or reordered"})
			return
		case len(bad) > 0:
			b := bad[0]
			fail(ChainBreak{Stripe: b.stripe, Seq: b.seq, ID: b.id, ChangedAt: b.changedAt,
				Problem: fmt.Sprintf("a second row at this position (the genuine one is %s): inserted", good.id)})
			return
		}
		checkpoint(good.seq, good.rowHash, good.id, good.changedAt)
		if w.broken {
			return
		}
		if !good.payloadOK {
			if !good.redacted || good.patientID == nil || !erased[*good.patientID] {
				fail(ChainBreak{Stripe: good.stripe, Seq: good.seq, ID: good.id, ChangedAt: good.changedAt,
					Problem: "old_values/new_values do not match the payload digest: edited"})
				return
			}
			rep.Redacted++
		}
		w.prev = good.rowHash
		if t, ok := trustedBy[w.stripe][good.seq]; ok && !bytes.Equal(t, good.rowHash) {
			fail(ChainBreak{Stripe: good.stripe, Seq: good.seq, ID: good.id, ChangedAt: good.changedAt,
				Problem: "the row differs from the trusted anchor: the chain was rewritten"})
			return
		}
		w.next++
	}

	rows, err = tx.Query(ctx, `
		SELECT chain_stripe, chain_seq, id::text, changed_at, row_hash,
		       medrec_audit_row_bytes(id, chain_stripe, chain_seq, table_name, record_id, action,
		                              user_id, changed_at, patient_id, emergency_access_id, payload_digest),
		       payload_digest = medrec_audit_payload_digest(old_values, new_values),
		       redacted_at IS NOT NULL AND old_values IS NULL AND new_values IS NULL,
		       patient_id::text
		FROM audit_log
		ORDER BY chain_stripe, chain_seq, id`)
	if err != nil {
		return nil, fmt.Errorf("verify audit chain: read rows: %w", err)
	}
	var group []chainRow
	withRows := map[int]bool{} // the stripes with at least one row in audit_log
	for rows.Next() {
		var r chainRow
		var stripe int16
		if err := rows.Scan(&stripe, &r.seq, &r.id, &r.changedAt, &r.rowHash, &r.rowBytes,
			&r.payloadOK, &r.redacted, &r.patientID); err != nil {
			return nil, fmt.Errorf("verify audit chain: read rows: %w", err)
		}
		r.stripe = int(stripe)
		withRows[r.stripe] = true
		if len(group) > 0 && (group[0].stripe != r.stripe || group[0].seq != r.seq) {
			check(group)
			group = nil
		}
		group = append(group, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("verify audit chain: read rows: %w", err)
	}
	if len(group) > 0 {
		check(group)
	}
	finish()

	// Stripes without a single remaining row must still end at their head.
	seen := map[int]bool{}
	for _, b := range rep.Breaks {
		seen[b.Stripe] = true
	}
	for s := 0; s < auditChainStripes; s++ {
		if withRows[s] || seen[s] {
			continue
		}
		start(s, 0)
		finish()
	}
	for s := range heads {
		if s < 0 || s >= auditChainStripes {
			rep.Breaks = append(rep.Breaks, ChainBreak{Stripe: s, Problem: "unexpected stripe checkpoint"})
		}
	}
	for s := 0; s < auditChainStripes; s++ {
		if h, ok := ends[s]; ok {
			rep.Heads = append(rep.Heads, h)
		}
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

// auditExportRow is one line of `medrec audit export`: every column,
// including the chain's, so an archive can be verified offline.
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
	ChainStripe       int16           `json:"chain_stripe"`
	ChainSeq          int64           `json:"chain_seq"`
	PayloadDigest     string          `json:"payload_digest"`
	RowHash           string          `json:"row_hash"`
	RedactedAt        *time.Time      `json:"redacted_at"`
}

// ExportAuditLog writes the audit rows with from <= changed_at < to as JSON
// Lines, in (changed_at, chain_stripe, chain_seq) order, and returns how
// many. conn is the owner's. Rows of detached partitions are not included.
func ExportAuditLog(ctx context.Context, conn *pgx.Conn, from, to time.Time, w io.Writer) (int64, error) {
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return 0, fmt.Errorf("export audit log: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	rows, err := tx.Query(ctx, `
		SELECT id::text, table_name, record_id::text, action, user_id::text,
		       to_char(changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		       patient_id::text, emergency_access_id::text, old_values::text, new_values::text,
		       chain_stripe, chain_seq, encode(payload_digest, 'hex'), encode(row_hash, 'hex'), redacted_at
		FROM audit_log
		WHERE changed_at >= $1 AND changed_at < $2
		ORDER BY changed_at, chain_stripe, chain_seq`, from, to)
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
			&r.PatientID, &r.EmergencyAccessID, &oldV, &newV, &r.ChainStripe, &r.ChainSeq,
			&r.PayloadDigest, &r.RowHash, &r.RedactedAt); err != nil {
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
// on or before before (the first of a month, UTC), after recording the
// anchors the verifier starts from, and returns the detached tables'
// names. Export those months first; the tables stay until dropped.
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

// CheckpointAuditChain records each stripe's current last row in
// audit_chain_head (medrec_audit_checkpoint), so that `medrec audit
// verify` catches the removal of any row written before now. It returns
// how many stripes moved; 0 also when another process is checkpointing.
// The service calls it with its periodic sweeps.
func (db *DB) CheckpointAuditChain(ctx context.Context) (int, error) {
	var moved int
	if err := db.pool.QueryRow(ctx, `SELECT medrec_audit_checkpoint()`).Scan(&moved); err != nil {
		return 0, fmt.Errorf("audit checkpoint: %w", translate(err))
	}
	return moved, nil
}
