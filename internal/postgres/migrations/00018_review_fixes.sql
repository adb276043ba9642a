-- Review fixes to the emergency workflow of 00016.
--
-- medrec_decide_emergency_access trusted app.role and the caller's doctor
-- record alone: a SUSPENDED or LOCKED clinician whose doctor record was
-- still ACTIVE, or a user re-roled away from CLINICIAN whose doctor link
-- remained, decided requests whenever the service (or a stolen service
-- connection) presented app.role = CLINICIAN for them. The request side
-- already checked the users row (00016); the deciding side now does too.
-- And an approval opens the record at once, so it now also needs the
-- requester to be an ACTIVE CLINICIAN or NURSE still (a suspended user's
-- pending request must not become a grant that works the moment the account
-- is restored) and the patient to be ACTIVE still (requests are filed only
-- for ACTIVE patients). Both refusals are 55000, like an expired request;
-- DENY and REVOKE are unaffected by them.
--
-- medrec_request_emergency_access bounded the interval argument, but
-- PostgreSQL compares an interval's months and days as 30 days and 24
-- hours while adding them to a timestamp by the calendar: from 15 January,
-- '1 mon -30 days 23 hours' passed the 24-hour ceiling and gave 47 hours.
-- The service only passes minutes; the ceiling must hold for any caller,
-- so it is now checked on the resulting expires_at.
--
-- Same names, same signatures, same grants (CREATE OR REPLACE); Down puts
-- 00016's bodies back verbatim.

-- +goose Up
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION medrec_decide_emergency_access(p_request uuid, p_decision text, p_notes text)
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
    -- app.role is what the service says; the users row is what is true.
    PERFORM 1 FROM public.users u
    WHERE u.id = caller AND u.status = 'ACTIVE' AND u.role = 'CLINICIAN';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the caller is not an ACTIVE CLINICIAN user'
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
        -- A grant opens the record to its requester at once: only while
        -- the requester is still an ACTIVE CLINICIAN or NURSE, and the
        -- patient still ACTIVE (the only patients a request is filed for).
        IF p_decision = 'APPROVE' THEN
            PERFORM 1 FROM public.users u
            WHERE u.id = req.requested_by_user_id AND u.status = 'ACTIVE' AND u.role IN ('CLINICIAN', 'NURSE');
            IF NOT FOUND THEN
                RAISE EXCEPTION 'the requester is no longer an ACTIVE CLINICIAN or NURSE'
                    USING ERRCODE = 'object_not_in_prerequisite_state';
            END IF;
            PERFORM 1 FROM public.patients p WHERE p.id = req.patient_id AND p.status = 'ACTIVE';
            IF NOT FOUND THEN
                RAISE EXCEPTION 'the patient is no longer ACTIVE'
                    USING ERRCODE = 'object_not_in_prerequisite_state';
            END IF;
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
CREATE OR REPLACE FUNCTION medrec_request_emergency_access(p_patient uuid, p_reason text, p_notes text, p_duration interval)
RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    caller uuid := public.medrec_user_id();
    requester text;
    created uuid;
    now_at timestamptz := public.medrec_now();
    expires timestamptz;
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
    -- The interval first (so that a huge one never reaches the addition),
    -- then the resulting expires_at: PostgreSQL compares an interval's
    -- months and days as 30 days and 24 hours, but adds them by the
    -- calendar ('1 mon -30 days 23 hours' compares as 23 hours and can add
    -- 47).
    IF p_duration IS NULL OR p_duration <= interval '0' OR p_duration > interval '24 hours' THEN
        RAISE EXCEPTION 'an emergency grant lasts more than zero and at most 24 hours'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    expires := now_at + p_duration;
    IF expires <= now_at OR expires > now_at + interval '24 hours' THEN
        RAISE EXCEPTION 'an emergency grant lasts more than zero and at most 24 hours'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM 1 FROM public.patients p WHERE p.id = p_patient AND p.status = 'ACTIVE';
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    INSERT INTO public.emergency_access (patient_id, requested_by_user_id, requester_name, reason, notes, status, expires_at)
    VALUES (p_patient, caller, requester, p_reason, p_notes, 'PENDING', expires)
    RETURNING id INTO created;
    RETURN created;
END;
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION medrec_decide_emergency_access(p_request uuid, p_decision text, p_notes text)
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
CREATE OR REPLACE FUNCTION medrec_request_emergency_access(p_patient uuid, p_reason text, p_notes text, p_duration interval)
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
