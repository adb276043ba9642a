-- Row-level security: the second lock of access-model.md. Every table that
-- holds patient data (patients, medical_reports, prescriptions,
-- emergency_access, care_team, audit_log, ai_request_logs) has RLS ENABLED
-- and FORCED, and the policies below are the only way to its rows: deny by
-- default, so a command or a role no policy names sees and changes nothing.
--
-- The caller reaches PostgreSQL as two transaction-local settings that the
-- service sets at the start of each transaction:
--   set_config('app.user_id', <uuid>, true), set_config('app.role', <role>, true)
-- A transaction with neither (or with a role but no user) is no one: every
-- policy refuses it, so a pooled connection that forgot to set them shows
-- no patient data.
--
-- Policies are written TO PUBLIC because the service role's name is
-- configurable (MEDREC_DB_APP_ROLE). They also apply to the owner, which is
-- harmless: the owner has its own owner_all policy on each table (see
-- medrec_patients_in_care for why).
--
-- Helpers are called as (SELECT f()) or IN (SELECT f()) in the policies, so
-- PostgreSQL evaluates them once per query (an InitPlan, a hashed SubPlan)
-- rather than once per row.

-- +goose Up

-- The caller's user id, or NULL for no one. A value that is not a uuid is
-- an error, never a match.
CREATE FUNCTION medrec_user_id() RETURNS uuid
LANGUAGE sql STABLE
SET search_path = pg_catalog, public
AS $$ SELECT NULLIF(current_setting('app.user_id', true), '')::uuid $$;

-- The caller's role (ADMIN, CLINICIAN, NURSE, RECEPTIONIST), or NULL. A role
-- without a user id counts as no role: there is no anonymous ADMIN.
CREATE FUNCTION medrec_role() RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, public
AS $$
    SELECT CASE WHEN NULLIF(current_setting('app.user_id', true), '') IS NOT NULL
                THEN NULLIF(current_setting('app.role', true), '') END
$$;

-- The doctor record the caller may author reports and prescriptions as: the
-- calling CLINICIAN's own doctors row while it is ACTIVE (access-model.md:
-- a doctor who is not ACTIVE cannot author), NULL for everyone else.
CREATE FUNCTION medrec_doctor_id() RETURNS uuid
LANGUAGE sql STABLE
SET search_path = pg_catalog, public
AS $$
    SELECT d.id FROM public.doctors d
    WHERE d.user_id = public.medrec_user_id()
      AND public.medrec_role() = 'CLINICIAN'
      AND d.status = 'ACTIVE'
$$;

-- The patients whose clinical record the caller may read now
-- (access-model.md, "The care relationship"): for a CLINICIAN or NURSE,
--   1. the patients whose care team they are on now (since <= now() < until),
--   2. for a CLINICIAN, the patients their doctor record authored a report or
--      a prescription for (the spec's "treated" rule), and
--   3. the patients they hold an APPROVED emergency grant for that has not
--      expired by the database clock (expiry is part of the check itself; no
--      job has to run first);
-- nobody for any other caller.
-- It returns a set so that a policy can say `patient_id IN (SELECT
-- medrec_patients_in_care())`: PostgreSQL then computes the caller's
-- patients once per query (a hashed SubPlan) instead of running a check for
-- every row it scans, which on 100,000 patients is the difference between
-- milliseconds and seconds.
-- Why SECURITY DEFINER: the rules read care_team, medical_reports,
-- prescriptions and emergency_access, which are under RLS themselves and
-- whose policies use this function; read as the caller they would recurse
-- and would hide exactly the rows that grant access. It runs as the
-- migrating role, which every RLS table lets through with its owner_all
-- policy, so the reads neither recurse nor depend on the owner being a
-- superuser. It is safe to leave to PUBLIC because it answers only about
-- the caller: it reads app.user_id and app.role itself and takes no user as
-- an argument. Every table is schema-qualified and pg_temp comes last in
-- search_path, so the caller's temporary tables cannot stand in.
CREATE FUNCTION medrec_patients_in_care() RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
ROWS 100
AS $$
    -- The role tests have no column in them, so each is a one-time filter;
    -- the user id is compared with indexed columns, so each arm is an
    -- index scan on the caller's own rows.
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
    UNION
    SELECT ea.patient_id
    FROM public.emergency_access ea
    WHERE public.medrec_role() IN ('CLINICIAN', 'NURSE')
      AND ea.requested_by_user_id = public.medrec_user_id()
      AND ea.status = 'APPROVED'
      AND ea.expires_at > now()
$$;

-- Whether the caller may read this one patient's clinical record: the same
-- rule, for the service to ask about a single patient (a 404 rather than a
-- 403 for a patient out of care). Not SECURITY DEFINER itself: it only asks
-- medrec_patients_in_care.
CREATE FUNCTION medrec_in_care(patient uuid) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, public, pg_temp
AS $$ SELECT EXISTS (SELECT 1 FROM public.medrec_patients_in_care() AS c(id) WHERE c.id = patient) $$;

ALTER TABLE patients ENABLE ROW LEVEL SECURITY;
ALTER TABLE patients FORCE ROW LEVEL SECURITY;
ALTER TABLE medical_reports ENABLE ROW LEVEL SECURITY;
ALTER TABLE medical_reports FORCE ROW LEVEL SECURITY;
ALTER TABLE prescriptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE prescriptions FORCE ROW LEVEL SECURITY;
ALTER TABLE emergency_access ENABLE ROW LEVEL SECURITY;
ALTER TABLE emergency_access FORCE ROW LEVEL SECURITY;
ALTER TABLE care_team ENABLE ROW LEVEL SECURITY;
ALTER TABLE care_team FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
ALTER TABLE ai_request_logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE ai_request_logs FORCE ROW LEVEL SECURITY;

-- The owner's way through FORCEd RLS: medrec_patients_in_care (SECURITY DEFINER) and
-- later migrations run as this role. CURRENT_USER is resolved when the
-- policy is created, so each names the migrating role, never the service.
CREATE POLICY owner_all ON patients TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY owner_all ON medical_reports TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY owner_all ON prescriptions TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY owner_all ON emergency_access TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY owner_all ON care_team TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY owner_all ON audit_log TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY owner_all ON ai_request_logs TO CURRENT_USER USING (true) WITH CHECK (true);

-- patients: registration and demographics are the front desk's and the
-- administrators'; a CLINICIAN in care may edit demographics; clinicians
-- and nurses see the patients in their care; only an ADMIN erases.
CREATE POLICY patients_select ON patients FOR SELECT TO PUBLIC
    USING ((SELECT medrec_role()) IN ('ADMIN', 'RECEPTIONIST') OR id IN (SELECT medrec_patients_in_care()));
CREATE POLICY patients_insert ON patients FOR INSERT TO PUBLIC
    WITH CHECK ((SELECT medrec_role()) IN ('ADMIN', 'RECEPTIONIST'));
CREATE POLICY patients_update ON patients FOR UPDATE TO PUBLIC
    USING ((SELECT medrec_role()) IN ('ADMIN', 'RECEPTIONIST')
           OR ((SELECT medrec_role()) = 'CLINICIAN' AND id IN (SELECT medrec_patients_in_care())))
    WITH CHECK ((SELECT medrec_role()) IN ('ADMIN', 'RECEPTIONIST')
                OR ((SELECT medrec_role()) = 'CLINICIAN' AND id IN (SELECT medrec_patients_in_care())));
CREATE POLICY patients_delete ON patients FOR DELETE TO PUBLIC
    USING ((SELECT medrec_role()) = 'ADMIN');

-- medical_reports and prescriptions: read in care; written by a CLINICIAN in
-- care, as their own ACTIVE doctor record, for their own rows only. A
-- clinician's first report for a care-team patient passes on the care-team
-- rule; afterwards the treated rule keeps the access. The new row is
-- checked before it is stored, so it never vouches for itself. Nobody
-- deletes one directly: erasure deletes the patient and the foreign keys
-- cascade, which runs as the owner and needs no policy.
CREATE POLICY medical_reports_select ON medical_reports FOR SELECT TO PUBLIC
    USING (patient_id IN (SELECT medrec_patients_in_care()));
CREATE POLICY medical_reports_insert ON medical_reports FOR INSERT TO PUBLIC
    WITH CHECK ((SELECT medrec_role()) = 'CLINICIAN'
                AND doctor_id = (SELECT medrec_doctor_id())
                AND patient_id IN (SELECT medrec_patients_in_care()));
CREATE POLICY medical_reports_update ON medical_reports FOR UPDATE TO PUBLIC
    USING ((SELECT medrec_role()) = 'CLINICIAN'
           AND doctor_id = (SELECT medrec_doctor_id())
           AND patient_id IN (SELECT medrec_patients_in_care()))
    WITH CHECK ((SELECT medrec_role()) = 'CLINICIAN'
                AND doctor_id = (SELECT medrec_doctor_id())
                AND patient_id IN (SELECT medrec_patients_in_care()));

CREATE POLICY prescriptions_select ON prescriptions FOR SELECT TO PUBLIC
    USING (patient_id IN (SELECT medrec_patients_in_care()));
CREATE POLICY prescriptions_insert ON prescriptions FOR INSERT TO PUBLIC
    WITH CHECK ((SELECT medrec_role()) = 'CLINICIAN'
                AND doctor_id = (SELECT medrec_doctor_id())
                AND patient_id IN (SELECT medrec_patients_in_care()));
CREATE POLICY prescriptions_update ON prescriptions FOR UPDATE TO PUBLIC
    USING ((SELECT medrec_role()) = 'CLINICIAN'
           AND doctor_id = (SELECT medrec_doctor_id())
           AND patient_id IN (SELECT medrec_patients_in_care()))
    WITH CHECK ((SELECT medrec_role()) = 'CLINICIAN'
                AND doctor_id = (SELECT medrec_doctor_id())
                AND patient_id IN (SELECT medrec_patients_in_care()));

-- emergency_access: a CLINICIAN or NURSE files a PENDING request in their
-- own name; any CLINICIAN sees the queue and approves, denies or revokes,
-- but never a request of their own; the requester sees their own requests;
-- ADMIN sees all for the audit report. No one deletes a request.
CREATE POLICY emergency_access_select ON emergency_access FOR SELECT TO PUBLIC
    USING ((SELECT medrec_role()) IN ('ADMIN', 'CLINICIAN')
           OR requested_by_user_id = (SELECT medrec_user_id()));
CREATE POLICY emergency_access_insert ON emergency_access FOR INSERT TO PUBLIC
    WITH CHECK ((SELECT medrec_role()) IN ('CLINICIAN', 'NURSE')
                AND requested_by_user_id = (SELECT medrec_user_id())
                AND status = 'PENDING');
CREATE POLICY emergency_access_update ON emergency_access FOR UPDATE TO PUBLIC
    USING ((SELECT medrec_role()) = 'CLINICIAN'
           AND requested_by_user_id IS DISTINCT FROM (SELECT medrec_user_id()))
    WITH CHECK ((SELECT medrec_role()) = 'CLINICIAN'
                AND requested_by_user_id IS DISTINCT FROM (SELECT medrec_user_id()));

-- care_team: managed by the front desk and administrators; a member sees
-- their own memberships.
CREATE POLICY care_team_select ON care_team FOR SELECT TO PUBLIC
    USING ((SELECT medrec_role()) IN ('ADMIN', 'RECEPTIONIST')
           OR user_id = (SELECT medrec_user_id()));
CREATE POLICY care_team_insert ON care_team FOR INSERT TO PUBLIC
    WITH CHECK ((SELECT medrec_role()) IN ('ADMIN', 'RECEPTIONIST'));
CREATE POLICY care_team_update ON care_team FOR UPDATE TO PUBLIC
    USING ((SELECT medrec_role()) IN ('ADMIN', 'RECEPTIONIST'))
    WITH CHECK ((SELECT medrec_role()) IN ('ADMIN', 'RECEPTIONIST'));
CREATE POLICY care_team_delete ON care_team FOR DELETE TO PUBLIC
    USING ((SELECT medrec_role()) IN ('ADMIN', 'RECEPTIONIST'));

-- audit_log: ADMIN reads it all; a CLINICIAN reads the rows about patients
-- in their care. Everyone may add a row, but only in their own name: the
-- audit trigger runs as the acting role and writes exactly app.user_id
-- (NULL, the system, when no one is set). There is no UPDATE or DELETE
-- policy, and the service holds no such grant either.
CREATE POLICY audit_log_select ON audit_log FOR SELECT TO PUBLIC
    USING ((SELECT medrec_role()) = 'ADMIN'
           OR ((SELECT medrec_role()) = 'CLINICIAN'
               AND patient_id IS NOT NULL
               AND patient_id IN (SELECT medrec_patients_in_care())));
CREATE POLICY audit_log_insert ON audit_log FOR INSERT TO PUBLIC
    WITH CHECK (user_id IS NOT DISTINCT FROM (SELECT medrec_user_id()));

-- ai_request_logs: read by ADMIN only; written on behalf of a signed-in
-- user; never changed or removed by the service.
CREATE POLICY ai_request_logs_select ON ai_request_logs FOR SELECT TO PUBLIC
    USING ((SELECT medrec_role()) = 'ADMIN');
CREATE POLICY ai_request_logs_insert ON ai_request_logs FOR INSERT TO PUBLIC
    WITH CHECK ((SELECT medrec_user_id()) IS NOT NULL);

-- +goose Down
DROP POLICY ai_request_logs_insert ON ai_request_logs;
DROP POLICY ai_request_logs_select ON ai_request_logs;
DROP POLICY audit_log_insert ON audit_log;
DROP POLICY audit_log_select ON audit_log;
DROP POLICY care_team_delete ON care_team;
DROP POLICY care_team_update ON care_team;
DROP POLICY care_team_insert ON care_team;
DROP POLICY care_team_select ON care_team;
DROP POLICY emergency_access_update ON emergency_access;
DROP POLICY emergency_access_insert ON emergency_access;
DROP POLICY emergency_access_select ON emergency_access;
DROP POLICY prescriptions_update ON prescriptions;
DROP POLICY prescriptions_insert ON prescriptions;
DROP POLICY prescriptions_select ON prescriptions;
DROP POLICY medical_reports_update ON medical_reports;
DROP POLICY medical_reports_insert ON medical_reports;
DROP POLICY medical_reports_select ON medical_reports;
DROP POLICY patients_delete ON patients;
DROP POLICY patients_update ON patients;
DROP POLICY patients_insert ON patients;
DROP POLICY patients_select ON patients;

DROP POLICY owner_all ON ai_request_logs;
DROP POLICY owner_all ON audit_log;
DROP POLICY owner_all ON care_team;
DROP POLICY owner_all ON emergency_access;
DROP POLICY owner_all ON prescriptions;
DROP POLICY owner_all ON medical_reports;
DROP POLICY owner_all ON patients;

ALTER TABLE ai_request_logs NO FORCE ROW LEVEL SECURITY;
ALTER TABLE ai_request_logs DISABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log NO FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_log DISABLE ROW LEVEL SECURITY;
ALTER TABLE care_team NO FORCE ROW LEVEL SECURITY;
ALTER TABLE care_team DISABLE ROW LEVEL SECURITY;
ALTER TABLE emergency_access NO FORCE ROW LEVEL SECURITY;
ALTER TABLE emergency_access DISABLE ROW LEVEL SECURITY;
ALTER TABLE prescriptions NO FORCE ROW LEVEL SECURITY;
ALTER TABLE prescriptions DISABLE ROW LEVEL SECURITY;
ALTER TABLE medical_reports NO FORCE ROW LEVEL SECURITY;
ALTER TABLE medical_reports DISABLE ROW LEVEL SECURITY;
ALTER TABLE patients NO FORCE ROW LEVEL SECURITY;
ALTER TABLE patients DISABLE ROW LEVEL SECURITY;

DROP FUNCTION medrec_in_care(uuid);
DROP FUNCTION medrec_patients_in_care();
DROP FUNCTION medrec_doctor_id();
DROP FUNCTION medrec_role();
DROP FUNCTION medrec_user_id();
