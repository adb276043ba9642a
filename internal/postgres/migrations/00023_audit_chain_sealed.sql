-- The audit chain is sealed in batches after commit instead of link by link
-- inside every audited transaction (issue 5's throughput target;
-- docs/security.md "The audit log", docs/benchmarks.md "Audit chain cost").
--
-- Under 00017/00022 every audited transaction took a stripe's advisory lock,
-- read the stripe's last row and hashed its own rows before it could
-- commit: about 0.15 ms of a one-row write, 20 to 30 % of the throughput of
-- the cheapest audited write. Now:
--
-- * An audit row is written as it is, with one more column: txid, the
--   writing transaction's id (pg_current_xact_id(), epoch-extended). No
--   trigger, lock or read on the insert path, and no restriction to READ
--   COMMITTED any more.
-- * medrec_audit_seal(), which the service calls every second, chains every
--   audit row whose transaction has ended: all rows with txid between the
--   last seal's horizon and the oldest transaction of this database still
--   running, in (txid, changed_at, id) order, each appended to
--   audit_chain with the next sequence number and
--   row_hash = sha256(previous row_hash || medrec_audit_entry_bytes(row)).
--   A transaction below the horizon can no longer add rows, so a row is
--   never sealed late or twice (audit_chain's keys refuse a second seal).
--   One chain, one writer at a time (an advisory lock): several medrec
--   processes may call it, and no audited write ever waits for it.
-- * The chain lives in audit_chain (insert-only, like audit_log), one entry
--   per audit row, with the payload digest. audit_log rows stay exactly as
--   written: nothing on them is updated to seal them.
-- * `medrec audit verify` walks audit_chain and checks every entry against
--   its row: an edited, deleted, inserted (a row not in the chain whose
--   transaction is below the horizon) or reordered row is named. Rows not
--   sealed yet (the last second's) are counted as pending; sealing first
--   is what verify does, so only rows of still-running transactions are.
-- * Archiving a month still detaches its partition; the chain entries of
--   the archived rows that come before the first live one are deleted and
--   replaced by an anchor (the last one's seq and hash), and those after it
--   (stragglers) keep their entries and are listed as anchors too.
--
-- Existing rows were chained on 32 stripes; they are sealed here, in
-- (changed_at, stripe, seq) order, keeping the payload digests their chain
-- recorded (an erasure may have removed the payload since), and the stripe
-- columns, heads and anchors are dropped. Run `medrec audit verify` before
-- migrating: this migration trusts the rows it seals.

-- +goose Up

DROP TRIGGER audit_log_chain ON audit_log;
DROP FUNCTION medrec_audit_chain();
DROP FUNCTION medrec_audit_checkpoint();

-- Existing rows read as 0 (a constant default adds the column without a
-- rewrite); new rows get their transaction's id.
ALTER TABLE audit_log ADD COLUMN txid bigint NOT NULL DEFAULT 0;
ALTER TABLE audit_log ALTER COLUMN txid SET DEFAULT (pg_catalog.pg_current_xact_id())::text::bigint;
-- The sealer reads the rows of a txid range: the newest entries of this
-- index, whatever the planner's statistics say (a btree lets it look up
-- the actual range).
CREATE INDEX idx_audit_log_txid ON audit_log (txid);

-- A caller's rows are in its own transaction's name too, so none can be
-- slipped below the sealing horizon.
ALTER POLICY audit_log_insert ON audit_log
    WITH CHECK (user_id IS NOT DISTINCT FROM (SELECT medrec_user_id())
                AND changed_at = now()
                AND txid = (pg_catalog.pg_current_xact_id())::text::bigint
                AND (action = 'READ'
                     OR (action = 'ERASE' AND (SELECT medrec_role()) = 'ADMIN')));

-- The chain: one entry per sealed audit row, in chain order. Only the owner
-- (through medrec_audit_seal and medrec_audit_archive) writes it, and only
-- by appending; the service role has no privilege on it.
CREATE TABLE audit_chain (
    seq            bigint PRIMARY KEY,
    audit_id       uuid NOT NULL,
    changed_at     timestamptz NOT NULL,
    payload_digest bytea NOT NULL,
    row_hash       bytea NOT NULL,
    sealed_below   bigint NOT NULL,
    sealed_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT audit_chain_audit_key UNIQUE (audit_id, changed_at)
);
CREATE TRIGGER audit_chain_append_only BEFORE UPDATE OR DELETE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION medrec_audit_append_only();
CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
    FOR EACH STATEMENT EXECUTE FUNCTION medrec_audit_append_only();

-- The canonical bytes of an audit row that its chain entry's hash covers:
-- a JSON array of its position, every column except the payload
-- (represented by its digest) and redacted_at. changed_at is UTC with
-- microseconds. The sealer and `medrec audit verify` both use this one
-- definition. No SET search_path (every name is pg_catalog-qualified), so
-- that it inlines into the sealer's statement.
-- +goose StatementBegin
CREATE FUNCTION medrec_audit_entry_bytes(
    seq bigint, id uuid, table_name varchar, record_id uuid, action varchar, user_id uuid,
    changed_at timestamptz, patient_id uuid, emergency_access_id uuid, txid bigint,
    payload_digest bytea) RETURNS bytea
LANGUAGE sql STABLE
AS $$
    SELECT pg_catalog.convert_to(pg_catalog.jsonb_build_array(
        'medrec-audit-v2', seq, id, table_name, record_id, action, user_id,
        pg_catalog.to_char(changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        patient_id, emergency_access_id, txid, pg_catalog.encode(payload_digest, 'hex'))::text, 'UTF8')
$$;
-- +goose StatementEnd

-- One link: sha256(previous hash || entry bytes), starting from start.
-- As a window aggregate over a batch in chain order it gives every entry's
-- row_hash in one pass.
-- +goose StatementBegin
CREATE FUNCTION medrec_audit_link(state bytea, start bytea, entry bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE
AS $$ SELECT pg_catalog.sha256(coalesce(state, start) OPERATOR(pg_catalog.||) entry) $$;
-- +goose StatementEnd
CREATE AGGREGATE medrec_audit_chain_hash(bytea, bytea) (SFUNC = medrec_audit_link, STYPE = bytea);

-- Existing rows, sealed as they were chained (see the top of this file).
INSERT INTO audit_chain (seq, audit_id, changed_at, payload_digest, row_hash, sealed_below)
SELECT r.n, r.id, r.changed_at, r.payload_digest,
       medrec_audit_chain_hash(decode(repeat('00', 32), 'hex'),
           medrec_audit_entry_bytes(r.n, r.id, r.table_name, r.record_id, r.action, r.user_id,
               r.changed_at, r.patient_id, r.emergency_access_id, r.txid, r.payload_digest))
           OVER (ORDER BY r.n),
       1
FROM (SELECT a.*, row_number() OVER (ORDER BY a.changed_at, a.chain_stripe, a.chain_seq) AS n
      FROM audit_log a) r;

DROP INDEX idx_audit_log_chain;
ALTER TABLE audit_log DROP COLUMN chain_stripe, DROP COLUMN chain_seq,
    DROP COLUMN payload_digest, DROP COLUMN row_hash;
DROP FUNCTION medrec_audit_row_bytes(uuid, smallint, bigint, varchar, uuid, varchar, uuid,
    timestamptz, uuid, uuid, bytea);
DROP TABLE audit_chain_head;
DROP TABLE audit_chain_anchor;

-- Where the chain resumes after archiving: the last entry deleted with the
-- months it covered (its seq, hash and horizon), and every archived entry
-- sequenced after the first live one. Owner only.
CREATE TABLE audit_chain_anchor (
    seq          bigint PRIMARY KEY,
    row_hash     bytea NOT NULL,
    sealed_below bigint NOT NULL,
    archived_at  timestamptz NOT NULL DEFAULT now(),
    partition    text NOT NULL
);
CREATE TRIGGER audit_chain_anchor_append_only BEFORE UPDATE OR DELETE ON audit_chain_anchor
    FOR EACH ROW EXECUTE FUNCTION medrec_audit_append_only();
CREATE TRIGGER audit_chain_anchor_no_truncate BEFORE TRUNCATE ON audit_chain_anchor
    FOR EACH STATEMENT EXECUTE FUNCTION medrec_audit_append_only();

-- Where the chain ends: its last entry, or, when every entry was archived,
-- the newest anchor, or genesis (seq 0, 32 zero bytes, horizon 0). The
-- sealer continues from it; the lag check and `medrec audit verify` read
-- its horizon. Not SECURITY DEFINER: it is called by the SECURITY DEFINER
-- functions below and by the owner.
-- +goose StatementBegin
CREATE FUNCTION medrec_audit_chain_end(OUT seq bigint, OUT row_hash bytea, OUT sealed_below bigint)
LANGUAGE sql STABLE
AS $$
    SELECT e.seq, e.row_hash, e.sealed_below
    FROM ((SELECT c.seq, c.row_hash, c.sealed_below FROM public.audit_chain c ORDER BY c.seq DESC LIMIT 1)
          UNION ALL
          (SELECT a.seq, a.row_hash, a.sealed_below FROM public.audit_chain_anchor a ORDER BY a.seq DESC LIMIT 1)
          UNION ALL
          SELECT 0, pg_catalog.decode(pg_catalog.repeat('00', 32), 'hex'), 0) e
    ORDER BY e.seq DESC LIMIT 1
$$;
-- +goose StatementEnd

-- The payload digest as the sealer takes it: medrec_audit_payload_digest,
-- or, for a payload whose text form is too large to build (more than 1 GB,
-- which a jsonb value a few hundred MB long can reach), a fixed marker. The
-- digest used to be taken at insert, where such a row was refused; taken
-- at sealing, one such row must not stop every later seal. Its payload is
-- then not covered by the chain (the rest of the row is). The EXCEPTION
-- block costs a subtransaction per row, on the sealer, not on the writer.
-- +goose StatementBegin
CREATE FUNCTION medrec_audit_seal_digest(old_values jsonb, new_values jsonb) RETURNS bytea
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN public.medrec_audit_payload_digest(old_values, new_values);
EXCEPTION WHEN program_limit_exceeded OR out_of_memory THEN
    RETURN sha256(convert_to('medrec-audit-payload-too-large', 'UTF8'));
END;
$$;
-- +goose StatementEnd

-- Seals audit rows whose transactions have ended and that are not sealed
-- yet (see the top of this file), at most about 50,000 a call (whole
-- transactions: a larger one is sealed in one go), and returns how many: a
-- caller that gets 50,000 or more calls again. 0 also when another process
-- is sealing right now. Idempotent, argument-less and SECURITY DEFINER: the
-- service calls it every second, and audit_chain is out of its reach.
-- READ COMMITTED only: the statement that reads the chain's end takes its
-- snapshot after the lock, so it sees the previous sealer's entries.
-- +goose StatementBegin
CREATE FUNCTION medrec_audit_seal() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    batch CONSTANT integer := 50000;
    last_seq bigint;
    last_hash bytea;
    below bigint;
    horizon bigint;
    restored_from bigint; -- see the restore case below
    cut bigint;
    snap pg_snapshot;
    n integer;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'the audit chain is sealed only in READ COMMITTED transactions, not %',
            upper(current_setting('transaction_isolation'))
            USING ERRCODE = 'feature_not_supported';
    END IF;
    IF NOT pg_try_advisory_xact_lock(1836213603, -1) THEN
        RETURN 0;
    END IF;
    SELECT e.seq, e.row_hash, e.sealed_below INTO last_seq, last_hash, below
    FROM public.medrec_audit_chain_end() e;
    -- The horizon: the oldest transaction that may still write a row here,
    -- or, if none, the first one not started yet. Every transaction below
    -- it has committed or rolled back, or runs in another database of the
    -- cluster (a backend never writes outside its own database), so this
    -- snapshot sees all the rows below it there will ever be. A
    -- transaction that cannot be placed (one that ended meanwhile, a
    -- prepared one, one whose backend_xid is hidden from this role)
    -- counts as possibly ours: that only delays sealing, to the next run.
    -- The caller's own transaction is not in its snapshot's list; if it
    -- has an id it counts too (its rows are not committed yet, and it
    -- may write more).
    snap := pg_current_snapshot();
    SELECT coalesce(min(x.id), pg_snapshot_xmax(snap)::text::bigint) INTO horizon
    FROM (SELECT xip::text::bigint AS id FROM pg_snapshot_xip(snap) AS xip) x
    WHERE NOT EXISTS (
        SELECT 1 FROM pg_stat_activity s
        WHERE s.datid IS NOT NULL AND s.datid <> (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
          AND s.backend_xid::text::bigint = x.id % 4294967296);
    horizon := least(horizon, pg_current_xact_id_if_assigned()::text::bigint);
    IF below > pg_snapshot_xmax(snap)::text::bigint THEN
        -- The chain's horizon is ahead of this cluster's transaction
        -- counter: the database was restored into another cluster, whose
        -- transaction ids start again from lower numbers. Look at every
        -- row not in the chain yet below the new horizon (the NOT EXISTS
        -- below keeps the sealed ones out), and at the rows the old
        -- cluster had not sealed (at or above its horizon: they were
        -- committed when dumped).
        RAISE NOTICE 'audit seal: the chain''s horizon % is ahead of this cluster''s transaction ids; sealing from 0', below;
        restored_from := below;
        below := 0;
    END IF;
    IF horizon <= below AND restored_from IS NULL THEN
        RETURN 0;
    END IF;
    -- At most a batch: cut at the first transaction past it (not after a
    -- restore, which is sealed in one go).
    IF restored_from IS NULL THEN
        SELECT CASE WHEN b.txid = b.first THEN b.txid + 1 -- one transaction larger than a batch: all of it
                    ELSE b.txid END INTO cut
        FROM (SELECT a.txid, first_value(a.txid) OVER (ORDER BY a.txid) AS first
              FROM public.audit_log a
              WHERE a.txid >= below AND a.txid < horizon
              ORDER BY a.txid OFFSET batch LIMIT 1) b;
        horizon := coalesce(cut, horizon);
    END IF;
    INSERT INTO public.audit_chain (seq, audit_id, changed_at, payload_digest, row_hash, sealed_below)
    SELECT last_seq + r.n, r.id, r.changed_at, r.digest,
           public.medrec_audit_chain_hash(last_hash,
               public.medrec_audit_entry_bytes(last_seq + r.n, r.id, r.table_name, r.record_id,
                   r.action, r.user_id, r.changed_at, r.patient_id, r.emergency_access_id,
                   r.txid, r.digest))
               OVER (ORDER BY r.n),
           horizon
    FROM (SELECT a.id, a.table_name, a.record_id, a.action, a.user_id, a.changed_at,
                 a.patient_id, a.emergency_access_id, a.txid,
                 public.medrec_audit_seal_digest(a.old_values, a.new_values) AS digest,
                 row_number() OVER (ORDER BY a.txid, a.changed_at, a.id) AS n
          FROM public.audit_log a
          WHERE ((a.txid >= below AND a.txid < horizon) OR a.txid >= restored_from)
            AND NOT EXISTS (SELECT 1 FROM public.audit_chain c
                            WHERE c.audit_id = a.id AND c.changed_at = a.changed_at)) r;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$$;
-- +goose StatementEnd

-- When the oldest committed audit row not sealed yet was written (its
-- transaction's start), or NULL if there is none. Sealing waits for every
-- older transaction of the database that has an id, so a long one leaves
-- the rows behind it unprotected: the service checks this every minute and
-- warns when it falls minutes behind. SECURITY DEFINER: the chain is out of
-- the service role's reach.
-- +goose StatementBegin
CREATE FUNCTION medrec_audit_unsealed_since() RETURNS timestamptz
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT min(a.changed_at) FROM public.audit_log a
    WHERE a.txid >= (SELECT e.sealed_below FROM public.medrec_audit_chain_end() e)
      AND NOT EXISTS (SELECT 1 FROM public.audit_chain c WHERE c.audit_id = a.id AND c.changed_at = a.changed_at)
$$;
-- +goose StatementEnd

-- Detaches every monthly partition that ends on or before `before` (the
-- first of a month, at most the current month's) and returns the detached
-- tables' names, which stay in the database until the operator has
-- exported (`medrec audit export`) and dropped them. First every row of
-- those months must be sealed (it refuses while a transaction that wrote
-- one is still below the horizon). Their chain entries before the first
-- live one are deleted, the last of them kept as an anchor; those after it
-- stay and are listed as anchors. Owner only.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION medrec_audit_archive(before date) RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    cutoff timestamptz := (before::timestamp AT TIME ZONE 'UTC');
    parts oid[];
    part record;
    unsealed bigint;
    first_kept bigint;
BEGIN
    IF before <> date_trunc('month', before)::date THEN
        RAISE EXCEPTION 'archive: % is not the first day of a month', before USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF cutoff > date_trunc('month', now() AT TIME ZONE 'UTC')::timestamp AT TIME ZONE 'UTC' THEN
        RAISE EXCEPTION 'archive: % is after the current month', before USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- No seal but ours (taken first: waiting for it must not hold up the
    -- writers), one archive at a time and no writer until the detach (it
    -- waits for the transactions writing audit rows now).
    PERFORM pg_advisory_xact_lock(1836213603, -1);
    LOCK TABLE public.audit_log IN SHARE ROW EXCLUSIVE MODE;
    SELECT coalesce(array_agg(c.oid), '{}') INTO parts
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'public.audit_log'::regclass
      AND c.relname ~ '^audit_log_y[0-9]{4}m[0-9]{2}$'
      AND (to_date(substr(c.relname, 12, 4) || substr(c.relname, 17, 2), 'YYYYMM')
           + interval '1 month')::timestamp AT TIME ZONE 'UTC' <= cutoff;
    IF cardinality(parts) = 0 THEN
        RETURN;
    END IF;
    -- The lock is ours, so it seals, batch after batch (a batch may end
    -- short of 50,000 at a transaction boundary); no writer adds rows
    -- meanwhile.
    LOOP
        EXIT WHEN public.medrec_audit_seal() = 0;
    END LOOP;
    SELECT count(*) INTO unsealed
    FROM public.audit_log a
    WHERE a.tableoid = ANY (parts)
      AND NOT EXISTS (SELECT 1 FROM public.audit_chain c WHERE c.audit_id = a.id AND c.changed_at = a.changed_at);
    IF unsealed > 0 THEN
        RAISE EXCEPTION 'archive: % audit rows of those months are not sealed yet', unsealed
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'A transaction older than them is still running; try again when it has ended.';
    END IF;
    SELECT min(c.seq) INTO first_kept
    FROM public.audit_chain c JOIN public.audit_log a ON a.id = c.audit_id AND a.changed_at = c.changed_at
    WHERE NOT (a.tableoid = ANY (parts));
    -- Entries about to be deleted must be of rows being archived now or
    -- anchored by an earlier archive: else a row is missing, and deleting
    -- its entry would remove the evidence.
    IF EXISTS (SELECT 1 FROM public.audit_chain c
               WHERE (first_kept IS NULL OR c.seq < first_kept)
                 AND NOT EXISTS (SELECT 1 FROM public.audit_log a
                                 WHERE a.id = c.audit_id AND a.changed_at = c.changed_at
                                   AND a.tableoid = ANY (parts))
                 AND NOT EXISTS (SELECT 1 FROM public.audit_chain_anchor x
                                 WHERE x.seq = c.seq AND x.row_hash = c.row_hash)) THEN
        RAISE EXCEPTION 'archive: the chain has entries whose rows are missing'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Run medrec audit verify.';
    END IF;
    -- The entry just before the first live one (if any were archived), and
    -- every archived entry after it.
    INSERT INTO public.audit_chain_anchor (seq, row_hash, sealed_below, partition)
    SELECT c.seq, c.row_hash, c.sealed_below, coalesce(a.tableoid::regclass::text, '')
    FROM public.audit_chain c
    LEFT JOIN public.audit_log a ON a.id = c.audit_id AND a.changed_at = c.changed_at
    WHERE (first_kept IS NULL AND c.seq = (SELECT max(x.seq) FROM public.audit_chain x))
       OR (c.seq = first_kept - 1)
       OR (c.seq > first_kept AND a.tableoid = ANY (parts))
    ON CONFLICT (seq) DO NOTHING;
    PERFORM set_config('medrec.audit_maintenance', 'on', true);
    DELETE FROM public.audit_chain c WHERE first_kept IS NULL OR c.seq < first_kept;
    PERFORM set_config('medrec.audit_maintenance', '', true);
    FOR part IN SELECT c.oid::regclass AS rel, c.relname::text AS name
                FROM pg_class c WHERE c.oid = ANY (parts) ORDER BY c.relname LOOP
        EXECUTE format('ALTER TABLE public.audit_log DETACH PARTITION %s', part.rel);
        RETURN NEXT part.name;
    END LOOP;
END;
$$;
-- +goose StatementEnd
REVOKE EXECUTE ON FUNCTION medrec_audit_archive(date) FROM PUBLIC;

-- +goose Down
-- Back to 00022: every row, sealed or not, is chained on stripe 0 in chain
-- order (the sealed ones first, as audit_chain has them, keeping their
-- payload digests), the stripe heads are that chain's checkpoints and the
-- chain trigger chains from there. Archive anchors cannot be carried over:
-- they are dropped.
DROP FUNCTION medrec_audit_unsealed_since();
DROP FUNCTION medrec_audit_seal();
DROP FUNCTION medrec_audit_chain_end();
DROP FUNCTION medrec_audit_seal_digest(jsonb, jsonb);
ALTER TABLE audit_log ADD COLUMN chain_stripe smallint, ADD COLUMN chain_seq bigint,
    ADD COLUMN payload_digest bytea, ADD COLUMN row_hash bytea;

-- +goose StatementBegin
CREATE FUNCTION medrec_audit_row_bytes(
    id uuid, chain_stripe smallint, chain_seq bigint, table_name varchar, record_id uuid,
    action varchar, user_id uuid, changed_at timestamptz, patient_id uuid,
    emergency_access_id uuid, payload_digest bytea) RETURNS bytea
LANGUAGE sql STABLE
AS $$
    SELECT pg_catalog.convert_to(pg_catalog.jsonb_build_array(
        'medrec-audit-v1', id, chain_stripe, chain_seq, table_name, record_id, action, user_id,
        pg_catalog.to_char(changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        patient_id, emergency_access_id, pg_catalog.encode(payload_digest, 'hex'))::text, 'UTF8')
$$;
-- +goose StatementEnd

CREATE TABLE audit_chain_head (
    stripe    smallint PRIMARY KEY,
    last_seq  bigint NOT NULL,
    last_hash bytea NOT NULL,
    CONSTRAINT chk_audit_chain_head_stripe CHECK (stripe >= 0 AND stripe < 32)
);
INSERT INTO audit_chain_head (stripe, last_seq, last_hash)
SELECT s, 0, decode(repeat('00', 32), 'hex') FROM generate_series(0, 31) AS s;

-- Trusted starting points of the stripes after old months were detached:
-- for each stripe, the last archived row before its first remaining row,
-- and every archived row sequenced after that (a transaction that started
-- before a month boundary and wrote after it).
DROP TABLE audit_chain_anchor;
CREATE TABLE audit_chain_anchor (
    stripe      smallint NOT NULL,
    seq         bigint NOT NULL,
    row_hash    bytea NOT NULL,
    archived_at timestamptz NOT NULL DEFAULT now(),
    partition   text NOT NULL,
    CONSTRAINT audit_chain_anchor_pkey PRIMARY KEY (stripe, seq)
);

SELECT set_config('medrec.audit_maintenance', 'on', true);
UPDATE audit_log a SET chain_stripe = 0, chain_seq = r.n, payload_digest = r.digest, row_hash = r.hash
FROM (SELECT x.id, x.changed_at, x.n, x.digest,
             medrec_audit_chain_hash(decode(repeat('00', 32), 'hex'),
                 medrec_audit_row_bytes(x.id, 0::smallint, x.n, x.table_name, x.record_id, x.action,
                     x.user_id, x.changed_at, x.patient_id, x.emergency_access_id, x.digest))
                 OVER (ORDER BY x.n) AS hash
      FROM (SELECT a.*, coalesce(c.payload_digest, medrec_audit_payload_digest(a.old_values, a.new_values)) AS digest,
                   row_number() OVER (ORDER BY c.seq NULLS LAST, a.txid, a.changed_at, a.id) AS n
            FROM audit_log a
            LEFT JOIN audit_chain c ON c.audit_id = a.id AND c.changed_at = a.changed_at) x) r
WHERE a.id = r.id AND a.changed_at = r.changed_at;
SELECT set_config('medrec.audit_maintenance', '', true);
UPDATE audit_chain_head h SET last_seq = l.chain_seq, last_hash = l.row_hash
FROM (SELECT chain_seq, row_hash FROM audit_log ORDER BY chain_seq DESC LIMIT 1) l
WHERE h.stripe = 0;
ALTER TABLE audit_log ALTER COLUMN chain_stripe SET NOT NULL, ALTER COLUMN chain_seq SET NOT NULL,
    ALTER COLUMN payload_digest SET NOT NULL, ALTER COLUMN row_hash SET NOT NULL;
CREATE INDEX idx_audit_log_chain ON audit_log (chain_stripe, chain_seq);

DROP TABLE audit_chain;
DROP AGGREGATE medrec_audit_chain_hash(bytea, bytea);
DROP FUNCTION medrec_audit_link(bytea, bytea, bytea);
DROP FUNCTION medrec_audit_entry_bytes(bigint, uuid, varchar, uuid, varchar, uuid, timestamptz,
    uuid, uuid, bigint, bytea);
ALTER POLICY audit_log_insert ON audit_log
    WITH CHECK (user_id IS NOT DISTINCT FROM (SELECT medrec_user_id())
                AND changed_at = now()
                AND (action = 'READ'
                     OR (action = 'ERASE' AND (SELECT medrec_role()) = 'ADMIN')));
DROP INDEX idx_audit_log_txid;
ALTER TABLE audit_log DROP COLUMN txid;

-- 00022's chain trigger and checkpoint, exactly as that migration wrote them.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION medrec_audit_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    stripes CONSTANT integer := 32;
    held text := current_setting('medrec.audit_stripe', true);
    st integer;
    prev_seq bigint;
    prev_hash bytea;
    i integer;
BEGIN
    -- Checked on every row: a caller could have set medrec.audit_stripe.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'audit rows are written only in READ COMMITTED transactions, not %',
            upper(current_setting('transaction_isolation'))
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'The audit chain reads each stripe''s last row with a fresh snapshot; an older one could fork it.';
    END IF;
    NEW.redacted_at := NULL;
    NEW.payload_digest := public.medrec_audit_payload_digest(NEW.old_values, NEW.new_values);
    IF held ~ '^[0-9]{1,2}$' AND held::integer < stripes THEN
        -- A later row of this transaction: the stripe is ours, and taking
        -- its lock again costs a lookup in this backend's lock table. If
        -- the setting was forged and another transaction holds the
        -- stripe, choose one as for a first row.
        st := held::integer;
        IF NOT pg_try_advisory_xact_lock(1836213603, st) THEN
            st := NULL;
        END IF;
    END IF;
    IF st IS NULL THEN
        -- The first audit row of this transaction: take this backend's
        -- stripe if no one holds it, else the next free one (key
        -- 1836213603, "mrec", and the stripe). If all are busy, queue on
        -- our own.
        FOR i IN 0 .. stripes - 1 LOOP
            st := (pg_backend_pid() + i) % stripes;
            IF pg_try_advisory_xact_lock(1836213603, st) THEN
                EXIT;
            END IF;
            st := NULL;
        END LOOP;
        IF st IS NULL THEN
            st := pg_backend_pid() % stripes;
            PERFORM pg_advisory_xact_lock(1836213603, st);
        END IF;
        PERFORM set_config('medrec.audit_stripe', st::text, true);
    END IF;
    -- The stripe's last row, read with a snapshot taken after the lock:
    -- the newest in audit_log (this transaction's own earlier rows
    -- included), or the newest archive anchor if later, or genesis.
    SELECT l.seq, l.hash INTO prev_seq, prev_hash
    FROM ((SELECT a.chain_seq AS seq, a.row_hash AS hash FROM public.audit_log a
           WHERE a.chain_stripe = st ORDER BY a.chain_seq DESC LIMIT 1)
          UNION ALL
          (SELECT c.seq, c.row_hash FROM public.audit_chain_anchor c
           WHERE c.stripe = st ORDER BY c.seq DESC LIMIT 1)
          UNION ALL
          SELECT 0, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea) l
    ORDER BY l.seq DESC LIMIT 1;
    NEW.chain_stripe := st;
    NEW.chain_seq := prev_seq + 1;
    NEW.row_hash := sha256(prev_hash || public.medrec_audit_row_bytes(
        NEW.id, NEW.chain_stripe, NEW.chain_seq, NEW.table_name, NEW.record_id, NEW.action,
        NEW.user_id, NEW.changed_at, NEW.patient_id, NEW.emergency_access_id, NEW.payload_digest));
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

-- Moves each stripe's checkpoint in audit_chain_head forward to the
-- stripe's current last row (as the chain trigger finds it); never back,
-- so a checkpoint cannot be used to make deleted rows look never written.
-- Returns how many stripes moved. Idempotent and argument-less: the
-- service calls it from its periodic sweep, under an advisory lock so that
-- several medrec processes can. SECURITY DEFINER: audit_chain_head is out
-- of the service role's reach.
-- +goose StatementBegin
CREATE FUNCTION medrec_audit_checkpoint() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE moved integer;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('medrec.audit_checkpoint')) THEN
        RETURN 0; -- another process is taking one right now
    END IF;
    UPDATE public.audit_chain_head h SET last_seq = l.seq, last_hash = l.hash
    FROM generate_series(0, 31) AS s(stripe),
         LATERAL (SELECT x.seq, x.hash
                  FROM ((SELECT a.chain_seq AS seq, a.row_hash AS hash FROM public.audit_log a
                         WHERE a.chain_stripe = s.stripe ORDER BY a.chain_seq DESC LIMIT 1)
                        UNION ALL
                        (SELECT c.seq, c.row_hash FROM public.audit_chain_anchor c
                         WHERE c.stripe = s.stripe ORDER BY c.seq DESC LIMIT 1)) x
                  ORDER BY x.seq DESC LIMIT 1) l
    WHERE h.stripe = s.stripe AND l.seq > h.last_seq;
    GET DIAGNOSTICS moved = ROW_COUNT;
    RETURN moved;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION medrec_audit_chain();

-- 00017's archive, exactly as that migration wrote it.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION medrec_audit_archive(before date) RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    cutoff timestamptz := (before::timestamp AT TIME ZONE 'UTC');
    parts oid[];
    part record;
BEGIN
    IF before <> date_trunc('month', before)::date THEN
        RAISE EXCEPTION 'archive: % is not the first day of a month', before USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF cutoff > date_trunc('month', now() AT TIME ZONE 'UTC')::timestamp AT TIME ZONE 'UTC' THEN
        RAISE EXCEPTION 'archive: % is after the current month', before USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- One archive at a time, and no writer between the anchors and the
    -- detach.
    LOCK TABLE public.audit_log IN SHARE ROW EXCLUSIVE MODE;
    SELECT coalesce(array_agg(c.oid), '{}') INTO parts
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'public.audit_log'::regclass
      AND c.relname ~ '^audit_log_y[0-9]{4}m[0-9]{2}$'
      AND (to_date(substr(c.relname, 12, 4) || substr(c.relname, 17, 2), 'YYYYMM')
           + interval '1 month')::timestamp AT TIME ZONE 'UTC' <= cutoff;
    IF cardinality(parts) = 0 THEN
        RETURN;
    END IF;
    -- For each stripe: its first remaining sequence number (NULL if none).
    -- Keep as anchors the last detached row before it and every detached row
    -- after it.
    INSERT INTO public.audit_chain_anchor (stripe, seq, row_hash, partition)
    WITH gone AS (
        SELECT a.chain_stripe, a.chain_seq, a.row_hash, a.tableoid::regclass::text AS part
        FROM public.audit_log a
        WHERE a.tableoid = ANY (parts)
    ), kept AS (
        SELECT a.chain_stripe, min(a.chain_seq) AS first_seq
        FROM public.audit_log a
        WHERE NOT (a.tableoid = ANY (parts))
        GROUP BY a.chain_stripe
    ), base AS (
        SELECT g.chain_stripe, max(g.chain_seq) AS seq
        FROM gone g LEFT JOIN kept k USING (chain_stripe)
        WHERE k.first_seq IS NULL OR g.chain_seq < k.first_seq
        GROUP BY g.chain_stripe
    )
    SELECT g.chain_stripe, g.chain_seq, g.row_hash, g.part
    FROM gone g
    LEFT JOIN kept k USING (chain_stripe)
    LEFT JOIN base b USING (chain_stripe)
    WHERE g.chain_seq = b.seq OR g.chain_seq > k.first_seq
    ON CONFLICT (stripe, seq) DO NOTHING;
    FOR part IN SELECT c.oid::regclass AS rel, c.relname::text AS name
                FROM pg_class c WHERE c.oid = ANY (parts) ORDER BY c.relname LOOP
        EXECUTE format('ALTER TABLE public.audit_log DETACH PARTITION %s', part.rel);
        RETURN NEXT part.name;
    END LOOP;
END;
$$;
-- +goose StatementEnd
