-- An emergency grant is read access to one patient (access model), but
-- 00008 let the same in-care set decide writes, so a clinician under a grant
-- could prescribe, and that prescription then made them a "treating"
-- clinician for good, outliving the grant. Writes now need a care
-- relationship that is not an emergency grant: the care team, or having
-- treated the patient before. Reads keep all three.

-- +goose Up
-- +goose StatementBegin
-- medrec_patients_in_care without the emergency arm, for write policies.
-- SECURITY DEFINER for the same reason as medrec_patients_in_care (it reads
-- tables under RLS whose policies use it); it answers only about the caller.
CREATE FUNCTION medrec_patients_in_care_to_write() RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
ROWS 100
AS $$
    SELECT ct.patient_id
    FROM public.care_team ct
    WHERE public.medrec_role() IN ('CLINICIAN', 'NURSE')
      AND ct.user_id = public.medrec_user_id()
      AND ct.since <= now()
      AND (ct.until IS NULL OR ct.until > now())
    UNION
    SELECT r.patient_id
    FROM public.medical_reports r
    WHERE public.medrec_role() = 'CLINICIAN'
      AND r.doctor_id = (SELECT d.id FROM public.doctors d WHERE d.user_id = public.medrec_user_id())
    UNION
    SELECT p.patient_id
    FROM public.prescriptions p
    WHERE public.medrec_role() = 'CLINICIAN'
      AND p.doctor_id = (SELECT d.id FROM public.doctors d WHERE d.user_id = public.medrec_user_id())
$$;
-- +goose StatementEnd

DROP POLICY patients_update ON patients;
CREATE POLICY patients_update ON patients FOR UPDATE TO PUBLIC
    USING ((SELECT medrec_role()) IN ('ADMIN', 'RECEPTIONIST')
           OR ((SELECT medrec_role()) = 'CLINICIAN' AND id IN (SELECT medrec_patients_in_care_to_write())))
    WITH CHECK ((SELECT medrec_role()) IN ('ADMIN', 'RECEPTIONIST')
                OR ((SELECT medrec_role()) = 'CLINICIAN' AND id IN (SELECT medrec_patients_in_care_to_write())));
DROP POLICY medical_reports_insert ON medical_reports;
CREATE POLICY medical_reports_insert ON medical_reports FOR INSERT TO PUBLIC
    WITH CHECK ((SELECT medrec_role()) = 'CLINICIAN'
                AND doctor_id = (SELECT medrec_doctor_id())
                AND patient_id IN (SELECT medrec_patients_in_care_to_write()));
DROP POLICY medical_reports_update ON medical_reports;
CREATE POLICY medical_reports_update ON medical_reports FOR UPDATE TO PUBLIC
    USING ((SELECT medrec_role()) = 'CLINICIAN'
           AND doctor_id = (SELECT medrec_doctor_id())
           AND patient_id IN (SELECT medrec_patients_in_care_to_write()))
    WITH CHECK ((SELECT medrec_role()) = 'CLINICIAN'
                AND doctor_id = (SELECT medrec_doctor_id())
                AND patient_id IN (SELECT medrec_patients_in_care_to_write()));
DROP POLICY prescriptions_insert ON prescriptions;
CREATE POLICY prescriptions_insert ON prescriptions FOR INSERT TO PUBLIC
    WITH CHECK ((SELECT medrec_role()) = 'CLINICIAN'
                AND doctor_id = (SELECT medrec_doctor_id())
                AND patient_id IN (SELECT medrec_patients_in_care_to_write()));
DROP POLICY prescriptions_update ON prescriptions;
CREATE POLICY prescriptions_update ON prescriptions FOR UPDATE TO PUBLIC
    USING ((SELECT medrec_role()) = 'CLINICIAN'
           AND doctor_id = (SELECT medrec_doctor_id())
           AND patient_id IN (SELECT medrec_patients_in_care_to_write()))
    WITH CHECK ((SELECT medrec_role()) = 'CLINICIAN'
                AND doctor_id = (SELECT medrec_doctor_id())
                AND patient_id IN (SELECT medrec_patients_in_care_to_write()));

-- +goose Down
DROP POLICY patients_update ON patients;
CREATE POLICY patients_update ON patients FOR UPDATE TO PUBLIC
    USING ((SELECT medrec_role()) IN ('ADMIN', 'RECEPTIONIST')
           OR ((SELECT medrec_role()) = 'CLINICIAN' AND id IN (SELECT medrec_patients_in_care())))
    WITH CHECK ((SELECT medrec_role()) IN ('ADMIN', 'RECEPTIONIST')
                OR ((SELECT medrec_role()) = 'CLINICIAN' AND id IN (SELECT medrec_patients_in_care())));
DROP POLICY medical_reports_insert ON medical_reports;
CREATE POLICY medical_reports_insert ON medical_reports FOR INSERT TO PUBLIC
    WITH CHECK ((SELECT medrec_role()) = 'CLINICIAN'
                AND doctor_id = (SELECT medrec_doctor_id())
                AND patient_id IN (SELECT medrec_patients_in_care()));
DROP POLICY medical_reports_update ON medical_reports;
CREATE POLICY medical_reports_update ON medical_reports FOR UPDATE TO PUBLIC
    USING ((SELECT medrec_role()) = 'CLINICIAN'
           AND doctor_id = (SELECT medrec_doctor_id())
           AND patient_id IN (SELECT medrec_patients_in_care()))
    WITH CHECK ((SELECT medrec_role()) = 'CLINICIAN'
                AND doctor_id = (SELECT medrec_doctor_id())
                AND patient_id IN (SELECT medrec_patients_in_care()));
DROP POLICY prescriptions_insert ON prescriptions;
CREATE POLICY prescriptions_insert ON prescriptions FOR INSERT TO PUBLIC
    WITH CHECK ((SELECT medrec_role()) = 'CLINICIAN'
                AND doctor_id = (SELECT medrec_doctor_id())
                AND patient_id IN (SELECT medrec_patients_in_care()));
DROP POLICY prescriptions_update ON prescriptions;
CREATE POLICY prescriptions_update ON prescriptions FOR UPDATE TO PUBLIC
    USING ((SELECT medrec_role()) = 'CLINICIAN'
           AND doctor_id = (SELECT medrec_doctor_id())
           AND patient_id IN (SELECT medrec_patients_in_care()))
    WITH CHECK ((SELECT medrec_role()) = 'CLINICIAN'
                AND doctor_id = (SELECT medrec_doctor_id())
                AND patient_id IN (SELECT medrec_patients_in_care()));
DROP FUNCTION medrec_patients_in_care_to_write();
