-- An append-only, tamper-evident audit log, partitioned by month (issue 5,
-- items 5 and 6; issue 4's erasure redaction). docs/schema.md lists every
-- object and docs/security.md the tamper-evidence model and its limits.
--
-- * audit_log becomes PARTITION BY RANGE (changed_at), one partition per
--   UTC month plus a DEFAULT partition, so an old month is detached (and
--   archived) without rewriting the table. The primary key must include the
--   partition key: audit_log_pkey is (id, changed_at) under its old name.
-- * Every row is chained: the BEFORE INSERT trigger medrec_audit_chain
--   gives it a stripe and the next sequence number of that stripe, and
--   row_hash = sha256(previous row_hash of the stripe || canonical bytes of
--   the row). The chain covers payload_digest (a sha256 of old_values and
--   new_values), not the payload itself, so an erasure can remove clinical
--   content from old rows and the chain still verifies.
-- * Striping: 32 independent chains, one head row each in audit_chain_head.
--   A transaction takes the first stripe nobody holds (a transaction-level
--   advisory lock, starting at its backend pid), keeps it for all its audit
--   rows and releases it at commit or rollback, so concurrent writers only
--   queue when more than 32 transactions write audit rows at once.
-- * UPDATE, DELETE and TRUNCATE of audit rows are refused by triggers except
--   through the maintenance functions (medrec_audit_redact_patient), which
--   set a transaction-local flag that counts only for the owner.
-- * medrec_audit_archive(before) detaches whole months, first recording in
--   audit_chain_anchor the hashes the verifier needs to start after them.

-- +goose Up

-- The head of each stripe: the last sequence number and hash. Only the
-- owner (through the SECURITY DEFINER chain trigger) reads or writes it.
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
CREATE TABLE audit_chain_anchor (
    stripe      smallint NOT NULL,
    seq         bigint NOT NULL,
    row_hash    bytea NOT NULL,
    archived_at timestamptz NOT NULL DEFAULT now(),
    partition   text NOT NULL,
    CONSTRAINT audit_chain_anchor_pkey PRIMARY KEY (stripe, seq)
);

-- The digest of an audit row's payload, which the chain covers in place of
-- the payload. jsonb's text form is canonical for a jsonb value (keys
-- sorted, whitespace fixed), so the same stored value always gives the
-- same bytes.
-- +goose StatementBegin
CREATE FUNCTION medrec_audit_payload_digest(old_values jsonb, new_values jsonb) RETURNS bytea
LANGUAGE sql STABLE
AS $$ SELECT pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.jsonb_build_array(old_values, new_values)::text, 'UTF8')) $$;
-- +goose StatementEnd

-- The canonical bytes of an audit row that its hash covers: a JSON array of
-- every column except the payload (represented by its digest), the hash
-- itself and redacted_at. changed_at is UTC with microseconds. The chain
-- trigger and `medrec audit verify` both use this one definition.
-- These two helpers have no SET search_path (every name is
-- pg_catalog-qualified) so that PostgreSQL can inline them into the
-- trigger's statements: a function with a SET clause is never inlined and
-- pays a configuration switch on each call, on every audited write.
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

ALTER TABLE audit_log RENAME TO audit_log_unchained;
ALTER TABLE audit_log_unchained RENAME CONSTRAINT audit_log_pkey TO audit_log_unchained_pkey;
ALTER INDEX idx_audit_log_patient_changed_at RENAME TO idx_audit_log_unchained_patient;
ALTER INDEX idx_audit_log_emergency_access RENAME TO idx_audit_log_unchained_emergency;

CREATE TABLE audit_log (
    id                  uuid NOT NULL DEFAULT gen_random_uuid(),
    table_name          varchar(50) NOT NULL,
    record_id           uuid NOT NULL,
    action              varchar(20) NOT NULL,
    user_id             uuid,
    changed_at          timestamptz NOT NULL DEFAULT now(),
    old_values          jsonb,
    new_values          jsonb,
    patient_id          uuid,
    emergency_access_id uuid,
    chain_stripe        smallint NOT NULL,
    chain_seq           bigint NOT NULL,
    payload_digest      bytea NOT NULL,
    row_hash            bytea NOT NULL,
    redacted_at         timestamptz,
    CONSTRAINT audit_log_pkey PRIMARY KEY (id, changed_at)
) PARTITION BY RANGE (changed_at);
CREATE INDEX idx_audit_log_patient_changed_at ON audit_log (patient_id, changed_at);
CREATE INDEX idx_audit_log_emergency_access ON audit_log (emergency_access_id, changed_at)
    WHERE emergency_access_id IS NOT NULL;
CREATE INDEX idx_audit_log_chain ON audit_log (chain_stripe, chain_seq);
CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT;

-- Chains a new audit row (see the top of this file). SECURITY DEFINER
-- because the stripe heads must be out of every caller's reach (a caller
-- who could write them could fork the chain); it touches only
-- audit_chain_head and the new row, and sets a fixed search_path so a
-- caller's objects cannot stand in for the ones it uses. Whatever chain
-- columns the caller wrote are overwritten.
-- +goose StatementBegin
CREATE FUNCTION medrec_audit_chain() RETURNS trigger
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

-- Refuses UPDATE, DELETE and TRUNCATE of audit rows unless the transaction
-- is in a maintenance function (medrec.audit_maintenance = 'on', set
-- transaction-locally by the SECURITY DEFINER maintenance functions) and
-- runs as the table's owner. The owner could set the flag by hand, or
-- disable the trigger: this guards against mistakes and every other role;
-- the hash chain is what detects a deliberate owner or superuser.
-- +goose StatementBegin
CREATE FUNCTION medrec_audit_append_only() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF current_setting('medrec.audit_maintenance', true) = 'on'
       AND current_user = (SELECT pg_get_userbyid(c.relowner) FROM pg_class c
                           WHERE c.oid = 'public.audit_log'::regclass) THEN
        IF TG_LEVEL = 'STATEMENT' THEN
            RETURN NULL;
        ELSIF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION medrec_audit_chain();
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION medrec_audit_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION medrec_audit_append_only();
-- Statement triggers are not inherited: each partition gets its own.
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log_default
    FOR EACH STATEMENT EXECUTE FUNCTION medrec_audit_append_only();

-- Creates the partition of one UTC month (named audit_log_yYYYYmMM) unless
-- it exists, with the TRUNCATE guard (statement triggers are not inherited
-- by partitions). If rows of that month already sit in the DEFAULT
-- partition the month cannot be split off without moving them; it is left
-- in DEFAULT with a notice and returns false. SECURITY DEFINER so that
-- medrec_audit_ensure_partitions, which takes no argument, can be called
-- by the service from its daily loop.
-- +goose StatementBegin
CREATE FUNCTION medrec_audit_create_partition(month date) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    first date := date_trunc('month', month)::date;
    name text := format('audit_log_y%sm%s', to_char(first, 'YYYY'), to_char(first, 'MM'));
BEGIN
    IF to_regclass('public.' || name) IS NOT NULL THEN
        RETURN true;
    END IF;
    BEGIN
        EXECUTE format('CREATE TABLE public.%I PARTITION OF public.audit_log FOR VALUES FROM (%L) TO (%L)',
            name, (first::timestamp AT TIME ZONE 'UTC'),
            ((first + interval '1 month')::timestamp AT TIME ZONE 'UTC'));
    EXCEPTION
        WHEN check_violation THEN
            RAISE NOTICE 'audit_log: rows of % are in audit_log_default; partition % not created', first, name;
            RETURN false;
        WHEN duplicate_table THEN
            RETURN true; -- another process made it meanwhile
    END;
    EXECUTE format('CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON public.%I
        FOR EACH STATEMENT EXECUTE FUNCTION public.medrec_audit_append_only()', name);
    RETURN true;
END;
$$;
-- +goose StatementEnd

-- Any month: the owner's (and medrec_audit_ensure_partitions') only.
REVOKE EXECUTE ON FUNCTION medrec_audit_create_partition(date) FROM PUBLIC;

-- The partitions of this month and the next (UTC). migrate and the
-- service's daily loop call it; the DEFAULT partition catches anything else.
-- +goose StatementBegin
CREATE FUNCTION medrec_audit_ensure_partitions() RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT public.medrec_audit_create_partition((now() AT TIME ZONE 'UTC')::date);
    SELECT public.medrec_audit_create_partition(((now() AT TIME ZONE 'UTC') + interval '1 month')::date);
$$;
-- +goose StatementEnd

-- Existing rows: one partition per month they fall in, then copied in
-- their order of writing (changed_at, id) through the chain trigger, which
-- chains them on this migration's stripe.
-- +goose StatementBegin
DO $$
DECLARE m date;
BEGIN
    FOR m IN SELECT DISTINCT date_trunc('month', changed_at AT TIME ZONE 'UTC')::date
             FROM audit_log_unchained LOOP
        PERFORM medrec_audit_create_partition(m);
    END LOOP;
END;
$$;
-- +goose StatementEnd
SELECT medrec_audit_ensure_partitions();
INSERT INTO audit_log (id, table_name, record_id, action, user_id, changed_at, old_values,
                       new_values, patient_id, emergency_access_id)
SELECT id, table_name, record_id, action, user_id, changed_at, old_values,
       new_values, patient_id, emergency_access_id
FROM audit_log_unchained ORDER BY changed_at, id;
DROP TABLE audit_log_unchained;

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_all ON audit_log TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY audit_log_select ON audit_log FOR SELECT TO PUBLIC
    USING ((SELECT medrec_role()) = 'ADMIN'
           OR ((SELECT medrec_role()) = 'CLINICIAN'
               AND patient_id IS NOT NULL
               AND patient_id IN (SELECT medrec_patients_in_care())));
-- A caller adds only what the service writes directly: READ rows, and
-- ERASE rows by an ADMIN; in their own name and at the transaction's time.
-- INSERT, UPDATE and DELETE rows come from audit_trigger_func, which now
-- runs as the owner, so nobody can forge one.
CREATE POLICY audit_log_insert ON audit_log FOR INSERT TO PUBLIC
    WITH CHECK (user_id IS NOT DISTINCT FROM (SELECT medrec_user_id())
                AND changed_at = now()
                AND (action = 'READ'
                     OR (action = 'ERASE' AND (SELECT medrec_role()) = 'ADMIN')));

-- 00007's audit trigger, now SECURITY DEFINER: its rows are INSERT, UPDATE
-- and DELETE rows, which the insert policy no longer lets a caller write.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_trigger_func() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    secret_columns CONSTANT text[] := ARRAY['password_hash', 'totp_secret', 'totp_pending_secret'];
    old_row jsonb;
    new_row jsonb;
    row_id uuid;
    row_patient uuid;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_row := to_jsonb(OLD) - secret_columns;
        row_id := OLD.id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_row := to_jsonb(NEW) - secret_columns;
        row_id := NEW.id;
    END IF;
    -- The patient the row is about: the row itself for patients; its
    -- patient_id for the tables that have one (medical_reports,
    -- prescriptions, emergency_access, care_team); none otherwise.
    IF TG_TABLE_NAME = 'patients' THEN
        row_patient := row_id;
    ELSE
        row_patient := (coalesce(new_row, old_row) ->> 'patient_id')::uuid;
    END IF;
    INSERT INTO public.audit_log (table_name, record_id, action, user_id, patient_id, old_values, new_values)
    VALUES (
        TG_TABLE_NAME,
        row_id,
        TG_OP,
        NULLIF(current_setting('app.user_id', true), '')::uuid,
        row_patient,
        old_row,
        new_row
    );
    RETURN NULL; -- AFTER trigger: the return value is ignored
END;
$$;
-- +goose StatementEnd

-- Erasure (issue 4): removes the payload of every trigger-written audit row
-- about an erased patient and marks it redacted, keeping who, what table,
-- which record, when and the payload digest, so the chain still verifies.
-- Only an ADMIN, only for a patient that no longer exists and whose ERASE
-- row is in the log; the service calls it in the erasure's transaction.
-- READ and ERASE rows carry no clinical content and are kept as they are.
-- +goose StatementBegin
CREATE FUNCTION medrec_audit_redact_patient(patient uuid) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE n bigint;
BEGIN
    IF (SELECT medrec_role()) IS DISTINCT FROM 'ADMIN' THEN
        RAISE EXCEPTION 'only an administrator redacts audit rows' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF EXISTS (SELECT 1 FROM public.patients p WHERE p.id = patient) THEN
        RAISE EXCEPTION 'patient % is not erased', patient USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM public.audit_log a WHERE a.patient_id = patient AND a.action = 'ERASE') THEN
        RAISE EXCEPTION 'patient % has no ERASE audit row', patient USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    PERFORM set_config('medrec.audit_maintenance', 'on', true);
    UPDATE public.audit_log a SET old_values = NULL, new_values = NULL, redacted_at = now()
    WHERE a.patient_id = patient AND a.action IN ('INSERT', 'UPDATE', 'DELETE')
      AND a.redacted_at IS NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM set_config('medrec.audit_maintenance', '', true);
    RETURN n;
END;
$$;
-- +goose StatementEnd

-- Detaches every monthly partition that ends on or before `before` (the
-- first of a month, at most the current month's), after recording in
-- audit_chain_anchor what the verifier needs to start after them. Returns
-- the names of the detached tables, which stay in the database until the
-- operator has exported (`medrec audit export`) and dropped them. Owner
-- only: no EXECUTE for anyone else.
-- +goose StatementBegin
CREATE FUNCTION medrec_audit_archive(before date) RETURNS SETOF text
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
REVOKE EXECUTE ON FUNCTION medrec_audit_archive(date) FROM PUBLIC;

-- +goose Down
REVOKE EXECUTE ON FUNCTION medrec_audit_archive(date) FROM PUBLIC;
DROP FUNCTION medrec_audit_archive(date);
DROP FUNCTION medrec_audit_redact_patient(uuid);

-- 00007's function, exactly as that migration wrote it.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_trigger_func() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE
    secret_columns CONSTANT text[] := ARRAY['password_hash', 'totp_secret', 'totp_pending_secret'];
    old_row jsonb;
    new_row jsonb;
    row_id uuid;
    row_patient uuid;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_row := to_jsonb(OLD) - secret_columns;
        row_id := OLD.id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_row := to_jsonb(NEW) - secret_columns;
        row_id := NEW.id;
    END IF;
    -- The patient the row is about: the row itself for patients; its
    -- patient_id for the tables that have one (medical_reports,
    -- prescriptions, emergency_access, care_team); none otherwise. Read
    -- through jsonb so that one function serves every table; after an
    -- UPDATE the row's new patient counts.
    IF TG_TABLE_NAME = 'patients' THEN
        row_patient := row_id;
    ELSE
        row_patient := (coalesce(new_row, old_row) ->> 'patient_id')::uuid;
    END IF;
    INSERT INTO public.audit_log (table_name, record_id, action, user_id, patient_id, old_values, new_values)
    VALUES (
        TG_TABLE_NAME,
        row_id,
        TG_OP,
        NULLIF(current_setting('app.user_id', true), '')::uuid,
        row_patient,
        old_row,
        new_row
    );
    RETURN NULL; -- AFTER trigger: the return value is ignored
END;
$$;
-- +goose StatementEnd

-- The plain table of 00001/00007/00014 with its rows (redacted rows keep
-- their NULL payload; the chain columns go). Rows of detached partitions
-- are not brought back.
ALTER TABLE audit_log RENAME TO audit_log_chained;
ALTER TABLE audit_log_chained RENAME CONSTRAINT audit_log_pkey TO audit_log_chained_pkey;
ALTER INDEX idx_audit_log_patient_changed_at RENAME TO idx_audit_log_chained_patient;
ALTER INDEX idx_audit_log_emergency_access RENAME TO idx_audit_log_chained_emergency;
CREATE TABLE audit_log (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    table_name          VARCHAR(50) NOT NULL,
    record_id           UUID NOT NULL,
    action              VARCHAR(20) NOT NULL,
    user_id             UUID,
    changed_at          TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    old_values          JSONB,
    new_values          JSONB
);
ALTER TABLE audit_log ADD COLUMN patient_id uuid NULL;
ALTER TABLE audit_log ADD COLUMN emergency_access_id uuid NULL;
INSERT INTO audit_log (id, table_name, record_id, action, user_id, changed_at, old_values,
                       new_values, patient_id, emergency_access_id)
SELECT id, table_name, record_id, action, user_id, changed_at, old_values,
       new_values, patient_id, emergency_access_id
FROM audit_log_chained ORDER BY chain_stripe, chain_seq;
CREATE INDEX idx_audit_log_patient_changed_at ON audit_log (patient_id, changed_at);
CREATE INDEX idx_audit_log_emergency_access ON audit_log (emergency_access_id, changed_at)
    WHERE emergency_access_id IS NOT NULL;
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_all ON audit_log TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY audit_log_select ON audit_log FOR SELECT TO PUBLIC
    USING ((SELECT medrec_role()) = 'ADMIN'
           OR ((SELECT medrec_role()) = 'CLINICIAN'
               AND patient_id IS NOT NULL
               AND patient_id IN (SELECT medrec_patients_in_care())));
CREATE POLICY audit_log_insert ON audit_log FOR INSERT TO PUBLIC
    WITH CHECK (user_id IS NOT DISTINCT FROM (SELECT medrec_user_id()));

-- DROP TABLE fires no row or TRUNCATE trigger; the partitions go with it.
DROP TABLE audit_log_chained;
DROP FUNCTION medrec_audit_ensure_partitions();
DROP FUNCTION medrec_audit_create_partition(date);
DROP FUNCTION medrec_audit_append_only();
DROP FUNCTION medrec_audit_chain();
DROP FUNCTION medrec_audit_row_bytes(uuid, smallint, bigint, varchar, uuid, varchar, uuid, timestamptz, uuid, uuid, bytea);
DROP FUNCTION medrec_audit_payload_digest(jsonb, jsonb);
DROP TABLE audit_chain_anchor;
DROP TABLE audit_chain_head;
