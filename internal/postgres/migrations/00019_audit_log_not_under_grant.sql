-- An emergency grant opens one patient's record for reading, not the log of
-- who else read or changed it (access model: a CLINICIAN reads "the access
-- log of patients in their care"; the access-log route already refuses a
-- grant holder). audit_log_select (00008, recreated by 00017) used
-- medrec_patients_in_care(), whose third arm is the grant, so underneath
-- the route a grant holder could read every audit row of the patient. The
-- policy now uses medrec_patients_in_care_to_write() (00013): care team or
-- treatment, never a grant, so the database refuses what the route refuses.

-- +goose Up
DROP POLICY audit_log_select ON audit_log;
CREATE POLICY audit_log_select ON audit_log FOR SELECT TO PUBLIC
    USING ((SELECT medrec_role()) = 'ADMIN'
           OR ((SELECT medrec_role()) = 'CLINICIAN'
               AND patient_id IS NOT NULL
               AND patient_id IN (SELECT medrec_patients_in_care_to_write())));

-- +goose Down
DROP POLICY audit_log_select ON audit_log;
CREATE POLICY audit_log_select ON audit_log FOR SELECT TO PUBLIC
    USING ((SELECT medrec_role()) = 'ADMIN'
           OR ((SELECT medrec_role()) = 'CLINICIAN'
               AND patient_id IS NOT NULL
               AND patient_id IN (SELECT medrec_patients_in_care())));
