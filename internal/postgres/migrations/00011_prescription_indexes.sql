-- Prescriptions: the expiring list and the expiry sweep.
--
-- GET /prescriptions/expiring pages through the spec's "active prescriptions
-- expiring soon" in (end_date, id) order with keyset cursors. 00005's
-- partial index on (end_date) serves the range but not the tie-break on id,
-- so a page boundary inside one day would sort every active prescription of
-- that day. idx_prescriptions_active_end_date_id on (end_date, id) over the
-- ACTIVE rows serves both and makes 00005's index redundant: it is dropped
-- rather than kept to slow every write.
--
-- A prescription whose end date has passed is shown as COMPLETED at once
-- (the service computes it by the database clock); the sweep later stores
-- it. The sweep is the system's own work with no user identity, and row-
-- level security (00008) shows a transaction without one no prescription at
-- all, so it runs through medrec_sweep_prescriptions().
--
-- Why SECURITY DEFINER: the UPDATE must see every ACTIVE prescription past
-- its end date whoever's care it is in, which no caller's policy allows. It
-- runs as the migrating role (owner_all lets it through), takes no
-- argument and does one fixed, idempotent thing: status ACTIVE -> COMPLETED
-- where end_date < current_date. It checks its caller itself: it refuses a
-- transaction that carries a user identity, so its UPDATEs are always
-- audited (by audit_prescriptions) with user_id NULL, the system. A
-- transaction-scoped advisory lock lets one sweep run at a time; a second
-- concurrent call returns 0 instead of contending for the same rows. The
-- audit and updated_at triggers fire as for any UPDATE, so ETags change.

-- +goose Up
CREATE INDEX idx_prescriptions_active_end_date_id ON prescriptions (end_date, id)
    WHERE status = 'ACTIVE';
DROP INDEX idx_prescriptions_active_end_date;

-- +goose StatementBegin
CREATE FUNCTION medrec_sweep_prescriptions() RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    swept bigint;
BEGIN
    IF NULLIF(current_setting('app.user_id', true), '') IS NOT NULL THEN
        RAISE EXCEPTION 'medrec_sweep_prescriptions runs as the system, without a user identity'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT pg_try_advisory_xact_lock(hashtext('medrec.sweep_prescriptions')) THEN
        RETURN 0; -- another process is sweeping right now
    END IF;
    UPDATE public.prescriptions
    SET status = 'COMPLETED'
    WHERE status = 'ACTIVE' AND end_date < current_date;
    GET DIAGNOSTICS swept = ROW_COUNT;
    RETURN swept;
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION medrec_sweep_prescriptions();
CREATE INDEX idx_prescriptions_active_end_date ON prescriptions (end_date)
    WHERE status = 'ACTIVE';
DROP INDEX idx_prescriptions_active_end_date_id;
