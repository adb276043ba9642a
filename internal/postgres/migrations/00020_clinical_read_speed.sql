-- Clinical reads at a million patients (issue 4's benchmark, docs/benchmarks.md).
--
-- Every read of a row-level-security table builds the caller's in-care set
-- (medrec_patients_in_care, once per table per query). For a clinician
-- that set comes from their care_team rows and from every report and
-- prescription they authored; with only (doctor_id) indexes each of those
-- thousands of rows was a heap fetch from a random page (6,000 buffers,
-- 14 ms per build). Covering indexes make each arm an index-only scan
-- (about 1,500 buffers, 3 ms).
--
-- A patient's history read three tables, so it built the set three times
-- to decide one question: is this one patient in the caller's care.
-- medrec_patient_history answers it once, with index probes on that
-- patient alone, and reads the three tables without building any set.
--
-- The expiring list walked every patient's prescriptions ending this week
-- (200,000 at a million patients) to keep a clinician's few hundred; it now
-- starts from the caller's patients, on idx_prescriptions_active_patient_end.

-- +goose Up
CREATE INDEX idx_reports_doctor_patient ON medical_reports (doctor_id, patient_id);
-- The expiring list of one clinician: their patients' ACTIVE prescriptions
-- by end date (queries/prescriptions.sql, PrescriptionExpiring).
CREATE INDEX idx_prescriptions_active_patient_end ON prescriptions (patient_id, end_date) WHERE status = 'ACTIVE';
CREATE INDEX idx_prescriptions_doctor_patient ON prescriptions (doctor_id, patient_id);
DROP INDEX idx_care_team_user_patient;
CREATE INDEX idx_care_team_user_patient ON care_team (user_id, patient_id) INCLUDE (since, until);

-- +goose StatementBegin
-- Whether the caller may read this one patient's clinical record: exactly
-- the arms of medrec_patients_in_care, asked about one patient, each an
-- index probe (care_team_patient_user_key, idx_reports_doctor_patient,
-- idx_prescriptions_doctor_patient, idx_emergency_requester_patient).
-- SECURITY DEFINER, and safe for PUBLIC, for the same reasons as
-- medrec_patients_in_care: it reads tables under RLS and answers only
-- about the caller, whose identity it reads itself.
CREATE FUNCTION medrec_patient_in_care(patient uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT public.medrec_role() IN ('CLINICIAN', 'NURSE') AND (
        EXISTS (SELECT 1 FROM public.care_team ct
                WHERE ct.patient_id = patient AND ct.user_id = public.medrec_user_id()
                  AND ct.since <= now() AND (ct.until IS NULL OR ct.until > now()))
        OR (public.medrec_role() = 'CLINICIAN' AND EXISTS (
                SELECT 1 FROM public.medical_reports r
                WHERE r.doctor_id = (SELECT d.id FROM public.doctors d WHERE d.user_id = public.medrec_user_id())
                  AND r.patient_id = patient))
        OR (public.medrec_role() = 'CLINICIAN' AND EXISTS (
                SELECT 1 FROM public.prescriptions p
                WHERE p.doctor_id = (SELECT d.id FROM public.doctors d WHERE d.user_id = public.medrec_user_id())
                  AND p.patient_id = patient))
        OR EXISTS (SELECT 1 FROM public.emergency_access ea
                   WHERE ea.requested_by_user_id = public.medrec_user_id() AND ea.patient_id = patient
                     AND ea.status = 'APPROVED' AND ea.expires_at > public.medrec_now()))
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- A patient's complete history, for a CLINICIAN or NURSE who may read it
-- (medrec_patient_in_care), and no row for anyone else: what the history
-- query returned through row-level security, without building the in-care
-- set for each of the three tables. SECURITY DEFINER so that the reads
-- pass RLS as the owner once the one check has passed; the patient is the
-- only argument, and the check names the caller from the transaction's own
-- identity. The lists are the same as queries/history.sql had them.
-- PL/pgSQL so that each connection plans the query once, not per call (a
-- SECURITY DEFINER SQL function is never inlined and re-planned every
-- time); json rather than jsonb because the service only decodes it, and
-- building jsonb (binary, sorted keys) cost a quarter more for 400 rows.
CREATE FUNCTION medrec_patient_history(patient uuid)
RETURNS TABLE (id uuid, first_name varchar, last_name varchar, dob date, gender varchar,
               email varchar, phone varchar, status varchar,
               created_at timestamptz, updated_at timestamptz,
               reports json, prescriptions json)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT p.id, p.first_name, p.last_name, p.dob, p.gender, p.email, p.phone, p.status,
        p.created_at, p.updated_at,
        coalesce((
            SELECT json_agg(json_build_object(
                'id', r.id, 'patient_id', r.patient_id, 'doctor_id', r.doctor_id,
                'doctor_name', d.first_name || ' ' || d.last_name,
                'title', r.title, 'report_type', r.report_type, 'storage_url', r.storage_url,
                'summary', r.summary, 'report_date', r.report_date, 'status', r.status,
                'created_at', r.created_at, 'updated_at', r.updated_at)
                ORDER BY r.report_date DESC, r.created_at DESC, r.id)
            FROM public.medical_reports r JOIN public.doctors d ON d.id = r.doctor_id
            WHERE r.patient_id = p.id), '[]'::json),
        coalesce((
            SELECT json_agg(json_build_object(
                'id', pr.id, 'patient_id', pr.patient_id, 'doctor_id', pr.doctor_id,
                'doctor_name', d.first_name || ' ' || d.last_name,
                'drug_name', pr.drug_name, 'dosage', pr.dosage, 'frequency', pr.frequency,
                'route', pr.route, 'start_date', pr.start_date, 'end_date', pr.end_date,
                'status', CASE WHEN pr.status = 'ACTIVE' AND pr.end_date < current_date THEN 'COMPLETED' ELSE pr.status END,
                'created_at', pr.created_at, 'updated_at', pr.updated_at)
                ORDER BY pr.start_date DESC, pr.created_at DESC, pr.id)
            FROM public.prescriptions pr JOIN public.doctors d ON d.id = pr.doctor_id
            WHERE pr.patient_id = p.id), '[]'::json)
    FROM public.patients p
    WHERE p.id = patient AND public.medrec_patient_in_care(patient);
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION medrec_patient_history(uuid);
DROP FUNCTION medrec_patient_in_care(uuid);
DROP INDEX idx_care_team_user_patient;
CREATE INDEX idx_care_team_user_patient ON care_team (user_id, patient_id);
DROP INDEX idx_prescriptions_doctor_patient;
DROP INDEX idx_prescriptions_active_patient_end;
DROP INDEX idx_reports_doctor_patient;
