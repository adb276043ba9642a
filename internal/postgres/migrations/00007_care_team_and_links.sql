-- What row-level security (00008) needs to know about people and patients,
-- which the spec has no column for:
--   * doctors.user_id links a CLINICIAN user to their doctor record, so the
--     database can tell which reports and prescriptions the caller authored
--     (the spec's "doctors see patients they treated");
--   * emergency_access.requested_by_user_id names the requesting user (the
--     spec keeps only requester_name, free text), so an approved grant can
--     open the record to that user and nobody else;
--   * audit_log.patient_id files every audit row under the patient it is
--     about, so a clinician can be shown the access log of a patient in
--     their care without reading other patients' rows. It has no foreign key
--     on purpose: the audit trail outlives an erased patient;
--   * care_team holds the time-bounded care relationships that registration
--     and assignment create (access-model.md, "The care relationship").
--     Leaving a care team sets until; joining again resets since and until.
-- audit_trigger_func() keeps its name and what 00003 made it do (who acted,
-- secrets stripped) and now also fills audit_log.patient_id. Its secret list
-- covers the users table's second-factor secrets as well, so a later column
-- of that name is never copied into the log.

-- +goose Up
ALTER TABLE doctors
    ADD COLUMN user_id uuid NULL,
    ADD CONSTRAINT doctors_user_id_key UNIQUE (user_id),
    ADD CONSTRAINT fk_doctor_user FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE SET NULL;

ALTER TABLE emergency_access
    ADD COLUMN requested_by_user_id uuid NULL,
    ADD CONSTRAINT fk_emergency_requester FOREIGN KEY (requested_by_user_id)
        REFERENCES users(id) ON DELETE SET NULL;
CREATE INDEX idx_emergency_requester_patient ON emergency_access (requested_by_user_id, patient_id);

ALTER TABLE audit_log ADD COLUMN patient_id uuid NULL;
CREATE INDEX idx_audit_log_patient_changed_at ON audit_log (patient_id, changed_at);

CREATE TABLE care_team (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id  uuid NOT NULL,
    user_id     uuid NOT NULL,
    added_by    uuid NULL,
    since       timestamptz NOT NULL DEFAULT now(),
    until       timestamptz NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT fk_care_team_patient FOREIGN KEY (patient_id) REFERENCES patients(id) ON DELETE CASCADE,
    CONSTRAINT fk_care_team_user FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE,
    CONSTRAINT fk_care_team_added_by FOREIGN KEY (added_by) REFERENCES users(id) ON DELETE SET NULL,
    CONSTRAINT care_team_patient_user_key UNIQUE (patient_id, user_id),
    CONSTRAINT chk_care_team_period CHECK (until IS NULL OR until > since)
);
CREATE INDEX idx_care_team_user_patient ON care_team (user_id, patient_id);

CREATE TRIGGER set_updated_at BEFORE UPDATE ON care_team
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER audit_care_team
    AFTER INSERT OR UPDATE OR DELETE ON care_team
    FOR EACH ROW EXECUTE FUNCTION audit_trigger_func();

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

-- +goose Down
-- 00003's function, exactly as that migration wrote it.
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

DROP TABLE care_team;
DROP INDEX idx_audit_log_patient_changed_at;
ALTER TABLE audit_log DROP COLUMN patient_id;
DROP INDEX idx_emergency_requester_patient;
ALTER TABLE emergency_access
    DROP CONSTRAINT fk_emergency_requester,
    DROP COLUMN requested_by_user_id;
ALTER TABLE doctors
    DROP CONSTRAINT fk_doctor_user,
    DROP CONSTRAINT doctors_user_id_key,
    DROP COLUMN user_id;
