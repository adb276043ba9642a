-- The break-glass workflow (access model, "Emergency access"): request,
-- approve, deny, revoke and expire, with every rule held by the database.
--
-- Under 00008 the service role wrote emergency_access directly, and the
-- UPDATE policy only stopped self-approval: a bug in the service (or a
-- stolen service connection) could reassign a request's requester or
-- patient, extend expires_at, approve a PENDING request that had already
-- expired, or approve as a doctor who is not ACTIVE; the INSERT policy let
-- a request be filed with any expires_at, created_at or approver. Here the
-- INSERT and UPDATE policies go: the service role can no longer write an
-- emergency_access row at all (no policy = denied), and every change is one
-- of the SECURITY DEFINER functions below, which check the caller and the
-- transition themselves. Reads keep emergency_access_select.
--
-- Expiry is decided by medrec_now() everywhere (the in-care check, the
-- approval checks, the sweep), so that a test can move the database clock
-- in its own database by replacing medrec_now() as the owner. In production
-- it is now(): an inlinable SQL function, no cost.

-- +goose Up

-- The database clock every emergency expiry decision reads. STABLE and
-- plain SQL (no SET clause), so PostgreSQL inlines it into its callers.
CREATE FUNCTION medrec_now() RETURNS timestamptz
LANGUAGE sql STABLE
AS $$ SELECT pg_catalog.now() $$;

-- 00008's function with its emergency arm on medrec_now(); the other arms
-- are unchanged. See 00008 for why it is SECURITY DEFINER.
CREATE OR REPLACE FUNCTION medrec_patients_in_care() RETURNS SETOF uuid
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
      AND ea.expires_at > public.medrec_now()
$$;

DROP POLICY emergency_access_insert ON emergency_access;
DROP POLICY emergency_access_update ON emergency_access;

-- +goose StatementBegin
-- Files a PENDING emergency request for the calling CLINICIAN or NURSE and
-- returns its id, or NULL when there is no ACTIVE patient with that id.
-- Why SECURITY DEFINER: the requester is by definition not in the
-- patient's care, so row-level security hides the patient, and only the
-- owner can tell whether the id names one; and the row's trusted columns
-- (requested_by_user_id, requester_name, status, created_at, expires_at,
-- approved_by_doctor_id) must come from the database, not from the service.
-- It checks the caller itself (a signed-in, ACTIVE CLINICIAN or NURSE whose
-- users row holds that role, from the transaction's identity, never an
-- argument), and the only thing it
-- discloses is whether an id the caller already holds names an ACTIVE
-- patient, and only by filing a request, which the audit trigger records.
-- The duration is bounded here too (over zero, at most 24 hours), whatever
-- the service's configured maximum.
CREATE FUNCTION medrec_request_emergency_access(p_patient uuid, p_reason text, p_notes text, p_duration interval)
RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    caller uuid := public.medrec_user_id();
    requester text;
    created uuid;
BEGIN
    IF caller IS NULL OR public.medrec_role() IS DISTINCT FROM 'CLINICIAN' AND public.medrec_role() IS DISTINCT FROM 'NURSE' THEN
        RAISE EXCEPTION 'only a CLINICIAN or NURSE requests emergency access'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT coalesce(d.first_name || ' ' || d.last_name, u.email) INTO requester
    FROM public.users u LEFT JOIN public.doctors d ON d.user_id = u.id
    WHERE u.id = caller AND u.status = 'ACTIVE' AND u.role = public.medrec_role();
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the caller is not an ACTIVE user'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_reason IS NULL OR btrim(p_reason) = '' THEN
        RAISE EXCEPTION 'an emergency request needs a reason'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_duration IS NULL OR p_duration <= interval '0' OR p_duration > interval '24 hours' THEN
        RAISE EXCEPTION 'an emergency grant lasts more than zero and at most 24 hours'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM 1 FROM public.patients p WHERE p.id = p_patient AND p.status = 'ACTIVE';
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    INSERT INTO public.emergency_access (patient_id, requested_by_user_id, requester_name, reason, notes, status, expires_at)
    VALUES (p_patient, caller, requester, p_reason, p_notes, 'PENDING', public.medrec_now() + p_duration)
    RETURNING id INTO created;
    RETURN created;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- Approves, denies or revokes an emergency request as the calling
-- CLINICIAN and returns its id, or NULL when there is no such request.
-- Why SECURITY DEFINER: with no UPDATE policy left, this is the only way
-- an emergency_access row changes, and it enforces what a policy could not
-- express: the caller is a CLINICIAN whose doctor record is ACTIVE and not
-- the requester (insufficient_privilege otherwise); APPROVE and DENY take
-- a PENDING request that has not expired by medrec_now(), REVOKE an
-- APPROVED grant that has not expired (object_not_in_prerequisite_state
-- otherwise); only status, approved_by_doctor_id, notes and (on revoke)
-- expires_at change, so nobody reassigns a request or extends a grant.
-- APPROVE and DENY record the decider as approved_by_doctor_id; REVOKE
-- keeps the approver, sets status EXPIRED and expires_at = medrec_now()
-- (api.md), and the audit trigger records who revoked. Notes are appended
-- to the request's, labelled with the decision. The row is locked first,
-- so two concurrent decisions cannot both pass the checks.
CREATE FUNCTION medrec_decide_emergency_access(p_request uuid, p_decision text, p_notes text)
RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    caller uuid := public.medrec_user_id();
    doctor uuid;
    req public.emergency_access%ROWTYPE;
    now_at timestamptz := public.medrec_now();
    label text;
BEGIN
    IF p_decision IS NULL OR p_decision NOT IN ('APPROVE', 'DENY', 'REVOKE') THEN
        RAISE EXCEPTION 'decision must be APPROVE, DENY or REVOKE'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF caller IS NULL OR public.medrec_role() IS DISTINCT FROM 'CLINICIAN' THEN
        RAISE EXCEPTION 'only a CLINICIAN decides emergency access'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT * INTO req FROM public.emergency_access ea WHERE ea.id = p_request FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF req.requested_by_user_id = caller THEN
        RAISE EXCEPTION 'nobody decides their own emergency request'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    doctor := public.medrec_doctor_id();
    IF doctor IS NULL THEN
        RAISE EXCEPTION 'only a CLINICIAN whose doctor record is ACTIVE decides emergency access'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_decision IN ('APPROVE', 'DENY') THEN
        IF req.status <> 'PENDING' THEN
            RAISE EXCEPTION 'the request is %, not PENDING', req.status
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        IF req.expires_at <= now_at THEN
            RAISE EXCEPTION 'the request expired at %', req.expires_at
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
    ELSE
        IF req.status <> 'APPROVED' OR req.expires_at <= now_at THEN
            RAISE EXCEPTION 'only an APPROVED grant that has not expired can be revoked'
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
    END IF;
    label := CASE p_decision WHEN 'APPROVE' THEN 'APPROVED' WHEN 'DENY' THEN 'DENIED' ELSE 'REVOKED' END;
    UPDATE public.emergency_access ea
    SET status = CASE p_decision WHEN 'APPROVE' THEN 'APPROVED' WHEN 'DENY' THEN 'DENIED' ELSE 'EXPIRED' END,
        approved_by_doctor_id = CASE WHEN p_decision = 'REVOKE' THEN ea.approved_by_doctor_id ELSE doctor END,
        expires_at = CASE WHEN p_decision = 'REVOKE' THEN now_at ELSE ea.expires_at END,
        notes = CASE WHEN p_notes IS NULL OR btrim(p_notes) = '' THEN ea.notes
                     ELSE concat_ws(E'\n', ea.notes, label || ': ' || p_notes) END
    WHERE ea.id = p_request;
    RETURN p_request;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- Stores EXPIRED on every PENDING or APPROVED request whose expires_at has
-- passed by medrec_now(), and returns how many it changed. Access never
-- waits for it (the in-care check compares expires_at itself); it keeps
-- the stored status truthful for lists and reports.
-- Why SECURITY DEFINER: as for medrec_sweep_prescriptions (00011), the
-- system's own UPDATE of rows no caller's policy lets it change (and there
-- is no UPDATE policy at all). It takes no argument and does one fixed,
-- idempotent thing; it refuses a transaction that carries a user identity,
-- so the audit trigger records the change as the system's (user_id NULL);
-- a transaction-scoped advisory lock lets one sweep run at a time across
-- every medrec process (a concurrent call returns 0).
CREATE FUNCTION medrec_sweep_emergency_access() RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    swept bigint;
BEGIN
    IF NULLIF(current_setting('app.user_id', true), '') IS NOT NULL THEN
        RAISE EXCEPTION 'medrec_sweep_emergency_access runs as the system, without a user identity'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT pg_try_advisory_xact_lock(hashtext('medrec.sweep_emergency_access')) THEN
        RETURN 0; -- another process is sweeping right now
    END IF;
    UPDATE public.emergency_access
    SET status = 'EXPIRED'
    WHERE status IN ('PENDING', 'APPROVED') AND expires_at <= public.medrec_now();
    GET DIAGNOSTICS swept = ROW_COUNT;
    RETURN swept;
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION medrec_sweep_emergency_access();
DROP FUNCTION medrec_decide_emergency_access(uuid, text, text);
DROP FUNCTION medrec_request_emergency_access(uuid, text, text, interval);

CREATE POLICY emergency_access_insert ON emergency_access FOR INSERT TO PUBLIC
    WITH CHECK ((SELECT medrec_role()) IN ('CLINICIAN', 'NURSE')
                AND requested_by_user_id = (SELECT medrec_user_id())
                AND status = 'PENDING');
CREATE POLICY emergency_access_update ON emergency_access FOR UPDATE TO PUBLIC
    USING ((SELECT medrec_role()) = 'CLINICIAN'
           AND requested_by_user_id IS DISTINCT FROM (SELECT medrec_user_id()))
    WITH CHECK ((SELECT medrec_role()) = 'CLINICIAN'
                AND requested_by_user_id IS DISTINCT FROM (SELECT medrec_user_id()));

CREATE OR REPLACE FUNCTION medrec_patients_in_care() RETURNS SETOF uuid
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

DROP FUNCTION medrec_now();
