-- The spec's audit trigger never records who acted, copies whole rows (so a
-- users row would put its password hash into the log) and guards only the
-- patients table. This replaces the function, keeping its name:
--   * user_id is the caller's user id, which the service sets per transaction
--     with set_config('app.user_id', ..., true); NULL means the system itself
--     (migrations, the first-administrator bootstrap);
--   * secrets (users.password_hash) are removed from old_values and new_values;
--   * every table that holds people or clinical data gets the trigger.
-- ai_request_logs is left out on purpose: it is itself a log, and copying its
-- payloads would put possibly clinical text in a second place.

-- +goose Up
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_trigger_func() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE
    secret_columns CONSTANT text[] := ARRAY['password_hash'];
    old_row jsonb;
    new_row jsonb;
    row_id uuid;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_row := to_jsonb(OLD) - secret_columns;
        row_id := OLD.id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_row := to_jsonb(NEW) - secret_columns;
        row_id := NEW.id;
    END IF;
    INSERT INTO public.audit_log (table_name, record_id, action, user_id, old_values, new_values)
    VALUES (
        TG_TABLE_NAME,
        row_id,
        TG_OP,
        NULLIF(current_setting('app.user_id', true), '')::uuid,
        old_row,
        new_row
    );
    RETURN NULL; -- AFTER trigger: the return value is ignored
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_doctors
    AFTER INSERT OR UPDATE OR DELETE ON doctors
    FOR EACH ROW EXECUTE FUNCTION audit_trigger_func();
CREATE TRIGGER audit_medical_reports
    AFTER INSERT OR UPDATE OR DELETE ON medical_reports
    FOR EACH ROW EXECUTE FUNCTION audit_trigger_func();
CREATE TRIGGER audit_prescriptions
    AFTER INSERT OR UPDATE OR DELETE ON prescriptions
    FOR EACH ROW EXECUTE FUNCTION audit_trigger_func();
CREATE TRIGGER audit_emergency_access
    AFTER INSERT OR UPDATE OR DELETE ON emergency_access
    FOR EACH ROW EXECUTE FUNCTION audit_trigger_func();
CREATE TRIGGER audit_users
    AFTER INSERT OR UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION audit_trigger_func();

-- +goose Down
DROP TRIGGER audit_users ON users;
DROP TRIGGER audit_emergency_access ON emergency_access;
DROP TRIGGER audit_prescriptions ON prescriptions;
DROP TRIGGER audit_medical_reports ON medical_reports;
DROP TRIGGER audit_doctors ON doctors;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_trigger_func()
RETURNS TRIGGER AS $$
BEGIN
    INSERT INTO audit_log (table_name, record_id, action, old_values, new_values)
    VALUES (
        TG_TABLE_NAME,
        COALESCE(NEW.id, OLD.id),
        TG_OP,
        row_to_json(OLD),
        row_to_json(NEW)
    );
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
