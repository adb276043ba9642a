-- The spec gives every table an updated_at column but nothing ever changes it
-- after the insert. A BEFORE UPDATE trigger keeps it true on every table that
-- has one, whatever path the update takes. The database clock decides.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER set_updated_at BEFORE UPDATE ON patients
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER set_updated_at BEFORE UPDATE ON doctors
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER set_updated_at BEFORE UPDATE ON medical_reports
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER set_updated_at BEFORE UPDATE ON prescriptions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER set_updated_at BEFORE UPDATE ON emergency_access
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER set_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER set_updated_at BEFORE UPDATE ON ai_request_logs
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- +goose Down
DROP TRIGGER set_updated_at ON ai_request_logs;
DROP TRIGGER set_updated_at ON users;
DROP TRIGGER set_updated_at ON emergency_access;
DROP TRIGGER set_updated_at ON prescriptions;
DROP TRIGGER set_updated_at ON medical_reports;
DROP TRIGGER set_updated_at ON doctors;
DROP TRIGGER set_updated_at ON patients;
DROP FUNCTION set_updated_at();
