-- Idempotency-Key (api.md: "A POST with an Idempotency-Key header is
-- performed at most once").
--
-- One row per user and key. The HTTP middleware puts a claim in the
-- request's context and the service's transaction inserts it as its first
-- statement (internal/postgres/tx.go), so the claim commits with the work
-- or not at all: a concurrent duplicate blocks on the primary key until the
-- first transaction ends, then either finds the key taken (and replays) or,
-- if the first rolled back, takes it itself. After the handler has
-- answered, the middleware stores the outcome (status, Location) in a
-- second statement; a row without an outcome means the work committed but
-- the answer was lost (a crash), and the key then answers 409 rather than
-- run the work again.
--
-- No clinical content at rest: the row holds the SHA-256 of the method,
-- path and body (fingerprint), the status and the Location, never a body. A
-- replay serves the resource by reading Location again as the caller, under
-- row-level security and the READ audit.
--
-- Row-level security: a user sees and writes only their own keys. The
-- service role gets SELECT, INSERT, UPDATE, no DELETE: rows expire after 24
-- hours and medrec_sweep_idempotency_keys() (SECURITY DEFINER, the system
-- only, like medrec_sweep_prescriptions) deletes them; a claim of a failed
-- request is rolled back with its transaction and never needs deleting.
-- An expired row still present before the sweep is taken over by a new
-- claim (the claim's INSERT ... ON CONFLICT DO UPDATE WHERE expired).

-- +goose Up
CREATE TABLE idempotency_keys (
    user_id         uuid         NOT NULL,
    idempotency_key varchar(255) NOT NULL,
    fingerprint     bytea        NOT NULL,
    status          smallint     NULL,
    location        text         NULL,
    created_at      timestamptz  NOT NULL DEFAULT now(),
    completed_at    timestamptz  NULL,
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (user_id, idempotency_key),
    CONSTRAINT fk_idempotency_keys_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT chk_idempotency_keys_fingerprint CHECK (octet_length(fingerprint) = 32),
    CONSTRAINT chk_idempotency_keys_outcome CHECK (
        (status IS NULL AND location IS NULL AND completed_at IS NULL)
        OR (status BETWEEN 200 AND 599 AND completed_at IS NOT NULL))
);
CREATE INDEX idx_idempotency_keys_created_at ON idempotency_keys (created_at);

ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_all ON idempotency_keys TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY idempotency_keys_select ON idempotency_keys FOR SELECT TO PUBLIC
    USING (user_id = (SELECT medrec_user_id()));
CREATE POLICY idempotency_keys_insert ON idempotency_keys FOR INSERT TO PUBLIC
    WITH CHECK (user_id = (SELECT medrec_user_id()));
CREATE POLICY idempotency_keys_update ON idempotency_keys FOR UPDATE TO PUBLIC
    USING (user_id = (SELECT medrec_user_id()))
    WITH CHECK (user_id = (SELECT medrec_user_id()));

-- +goose StatementBegin
CREATE FUNCTION medrec_sweep_idempotency_keys() RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    swept bigint;
BEGIN
    IF NULLIF(current_setting('app.user_id', true), '') IS NOT NULL THEN
        RAISE EXCEPTION 'medrec_sweep_idempotency_keys runs as the system, without a user identity'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    DELETE FROM public.idempotency_keys WHERE created_at < now() - interval '24 hours';
    GET DIAGNOSTICS swept = ROW_COUNT;
    RETURN swept;
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION medrec_sweep_idempotency_keys();
DROP TABLE idempotency_keys;
