-- The stripe heads come from the insert-only audit_log itself instead of
-- a row updated by every audited transaction (docs/security.md "The audit
-- log", docs/benchmarks.md "Audit chain cost").
--
-- Under 00017 each audited transaction updated one of audit_chain_head's 32
-- rows. That UPDATE was the largest part of the chain's cost, and it made
-- those rows the hottest in the database: while any snapshot is held open
-- (a pg_dump, a long report) none of their dead versions can be pruned, the
-- table grew to tens of MB and every UPDATE walked ever longer version
-- chains, slowing every audited write in the system for as long as the
-- backup ran.
--
-- * medrec_audit_chain now reads the stripe's last row: its newest row in
--   audit_log (idx_audit_log_chain, a backward index scan per partition
--   under a Merge Append), or its newest archive anchor if that is later
--   (a straggler archived from an earlier month), or genesis. This is safe
--   because the stripe's advisory lock is released only after its previous
--   holder's commit is visible, and in READ COMMITTED each statement of the
--   trigger takes a fresh snapshot after the lock is taken. Under REPEATABLE
--   READ or SERIALIZABLE the snapshot may predate the previous holder's
--   commit and the chain would fork: audit rows are refused there (0A000).
-- * audit_chain_head stays, as checkpoints: medrec_audit_checkpoint(), which
--   the service calls from its periodic sweep, moves each stripe's row
--   forward to the stripe's current last (seq, hash). The verifier checks
--   that each stripe still passes through its checkpoint with that hash, so
--   deleting a stripe's newest rows is caught once a checkpoint has covered
--   them. The rows are written a few times an hour, not per transaction.
-- * Existing rows, the row bytes and the hash are unchanged: a log chained
--   under 00017 verifies as it is. At this migration every head equals its
--   stripe's last row, so the heads are valid first checkpoints.

-- +goose Up

-- Chains a new audit row (00017; see the top of this file for what
-- changed). SECURITY DEFINER: it reads audit_log and audit_chain_anchor as
-- their owner, whatever the caller may see, and sets a fixed search_path
-- so a caller's objects cannot stand in for the ones it uses. Whatever
-- chain columns the caller wrote are overwritten.
--
-- The transaction-local setting medrec.audit_stripe holds only the stripe
-- this transaction took; every row, not just the first, reads the stripe's
-- last row from the table. Keeping the last seq and hash in the setting
-- instead would save that read on a transaction's later rows, but any
-- caller can set the setting (SET LOCAL medrec.audit_stripe = ...) and so
-- could make the trigger chain a row onto a position of its choosing,
-- forking the chain; the old head row could not be forged that way. A
-- forged stripe number is harmless: the stripe is (re)locked before use.
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

-- +goose Down
DROP FUNCTION medrec_audit_checkpoint();

-- 00017's trigger function, exactly as that migration wrote it.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION medrec_audit_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    stripes CONSTANT integer := 32;
    held text := current_setting('medrec.audit_stripe', true);
    head tid;
    st integer;
    i integer;
BEGIN
    NEW.redacted_at := NULL;
    NEW.payload_digest := public.medrec_audit_payload_digest(NEW.old_values, NEW.new_values);
    IF held ~ '^[0-9]{1,2} \([0-9]+,[0-9]+\)$' THEN
        -- A later row of this transaction: the stripe is ours, and the
        -- head row's current version is where our last UPDATE left it.
        -- Reaching it by ctid keeps a transaction of many audit rows
        -- linear: by key, each UPDATE would walk every version this
        -- transaction made of the row.
        st := split_part(held, ' ', 1)::integer;
        head := split_part(held, ' ', 2)::tid;
    ELSE
        -- The first audit row of this transaction: take this backend's
        -- stripe if no one holds it, else the next free one. A stripe is
        -- held with a transaction-level advisory lock (key 1836213603,
        -- "mrec", and the stripe), which costs no heap write; the head row
        -- itself is then locked by the UPDATE below.
        FOR i IN 0 .. stripes - 1 LOOP
            st := (pg_backend_pid() + i) % stripes;
            IF pg_try_advisory_xact_lock(1836213603, st) THEN
                EXIT;
            END IF;
            st := NULL;
        END LOOP;
        IF st IS NULL THEN
            st := pg_backend_pid() % stripes; -- all busy: queue on our own
            PERFORM pg_advisory_xact_lock(1836213603, st);
        END IF;
    END IF;
    -- One statement advances the head and computes the row's hash from
    -- it (two spellings: a TID scan needs a plain ctid condition).
    IF head IS NOT NULL THEN
        UPDATE public.audit_chain_head h
        SET last_seq = h.last_seq + 1,
            last_hash = sha256(h.last_hash || public.medrec_audit_row_bytes(
                NEW.id, h.stripe, h.last_seq + 1, NEW.table_name, NEW.record_id, NEW.action,
                NEW.user_id, NEW.changed_at, NEW.patient_id, NEW.emergency_access_id, NEW.payload_digest))
        WHERE h.ctid = head AND h.stripe = st
        RETURNING h.stripe, h.last_seq, h.last_hash, h.ctid
        INTO NEW.chain_stripe, NEW.chain_seq, NEW.row_hash, head;
    ELSE
        UPDATE public.audit_chain_head h
        SET last_seq = h.last_seq + 1,
            last_hash = sha256(h.last_hash || public.medrec_audit_row_bytes(
                NEW.id, h.stripe, h.last_seq + 1, NEW.table_name, NEW.record_id, NEW.action,
                NEW.user_id, NEW.changed_at, NEW.patient_id, NEW.emergency_access_id, NEW.payload_digest))
        WHERE h.stripe = st
        RETURNING h.stripe, h.last_seq, h.last_hash, h.ctid
        INTO NEW.chain_stripe, NEW.chain_seq, NEW.row_hash, head;
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'audit chain: stripe % head not found', st;
    END IF;
    PERFORM set_config('medrec.audit_stripe', st || ' ' || head::text, true);
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

-- 00017's trigger advances the heads: set each to its stripe's last row
-- (or, with none left, its last anchor, or genesis), so it continues the
-- chains written meanwhile.
UPDATE audit_chain_head h SET last_seq = l.seq, last_hash = l.hash
FROM generate_series(0, 31) AS s(stripe),
     LATERAL (SELECT x.seq, x.hash
              FROM ((SELECT a.chain_seq AS seq, a.row_hash AS hash FROM audit_log a
                     WHERE a.chain_stripe = s.stripe ORDER BY a.chain_seq DESC LIMIT 1)
                    UNION ALL
                    (SELECT c.seq, c.row_hash FROM audit_chain_anchor c
                     WHERE c.stripe = s.stripe ORDER BY c.seq DESC LIMIT 1)
                    UNION ALL
                    SELECT 0, decode(repeat('00', 32), 'hex')) x
              ORDER BY x.seq DESC LIMIT 1) l
WHERE h.stripe = s.stripe;
