-- Every read made under an emergency grant must be marked in the audit log
-- with the grant's id (access model, "Emergency access"), so that the
-- emergency access audit report can list what was read under each grant
-- and the patient's access log can say under which grant a read was made.
-- No foreign key: like patient_id, the audit trail outlives the grant (an
-- erased patient's grants cascade away; the record that they were used
-- must not). The partial index serves "what was read under this grant".

-- +goose Up
ALTER TABLE audit_log ADD COLUMN emergency_access_id uuid NULL;
CREATE INDEX idx_audit_log_emergency_access ON audit_log (emergency_access_id, changed_at)
    WHERE emergency_access_id IS NOT NULL;

-- +goose Down
DROP INDEX idx_audit_log_emergency_access;
ALTER TABLE audit_log DROP COLUMN emergency_access_id;
