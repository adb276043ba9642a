-- Patient search, lookup by identity, and erasure.
--   * medrec_fold(text): lower case without accents, IMMUTABLE so that
--     expression indexes can use it (unaccent() itself is only STABLE,
--     because its dictionary could change; this wrapper names the
--     dictionary explicitly, the well-known pattern). When the unaccent
--     extension cannot be created (it is trusted from PostgreSQL 13 on, so
--     the owner normally can), medrec_fold only lowers case and the
--     migration still succeeds, like 00006 does for pg_stat_statements.
--   * idx_patients_fold_first_name, idx_patients_fold_last_name,
--     idx_patients_fold_full_name: text_pattern_ops indexes for the
--     prefix search of GET /patients?q= on first name, last name, and
--     "first last".
--   * idx_patients_identity: the exact lookup by date of birth and name.
--   * medrec_search_patients(): the prefix search itself (see below why it
--     is SECURITY DEFINER).
--   * medrec_lookup_patients(): the identity fields (id, names, dob) of the
--     exact matches, for any signed-in role that may look patients up,
--     whether or not they are in the caller's care (its purpose).
--   * medrec_report_storage_urls(): the storage URLs of a patient's report
--     files, for an ADMIN erasing the patient (RLS hides reports from ADMIN).
-- Down leaves the extension alone: a DBA or another tool may have made it.

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS unaccent;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'unaccent not enabled, patient search will not ignore accents: %', SQLERRM;
END;
$$;
-- +goose StatementEnd

-- Without the extension: case folding only. Replaced just below when the
-- extension exists, before any index is built on it.
CREATE FUNCTION medrec_fold(t text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT pg_catalog.lower(t) $$;

-- No SET search_path here on purpose: it would stop PostgreSQL from
-- inlining the function, and every name in it is schema-qualified.
-- +goose StatementBegin
DO $$
DECLARE
    ext_schema text;
BEGIN
    SELECT n.nspname INTO ext_schema
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'unaccent';
    IF ext_schema IS NOT NULL THEN
        EXECUTE format($f$
            CREATE OR REPLACE FUNCTION medrec_fold(t text) RETURNS text
            LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
            AS $body$ SELECT pg_catalog.lower(%1$I.unaccent(%2$L::regdictionary, t)) $body$
        $f$, ext_schema, ext_schema || '.unaccent');
    END IF;
END;
$$;
-- +goose StatementEnd

CREATE INDEX idx_patients_fold_first_name ON patients (medrec_fold(first_name) text_pattern_ops);
CREATE INDEX idx_patients_fold_last_name ON patients (medrec_fold(last_name) text_pattern_ops);
CREATE INDEX idx_patients_fold_full_name ON patients (medrec_fold(first_name || ' ' || last_name) text_pattern_ops);
CREATE INDEX idx_patients_identity ON patients (dob, lower(last_name));

-- One page of the name search: the ids, newest first, of at most max_rows
-- patients the caller may see whose first name, last name or "first last"
-- starts with q, ignoring case and accents (q is folded here), with the
-- list's other filters and its keyset cursor.
-- Why SECURITY DEFINER: under row-level security PostgreSQL may use an
-- index only for conditions it knows cannot leak (LEAKPROOF functions), and
-- medrec_fold cannot be marked LEAKPROOF without a superuser; run as the
-- caller, a search scanned every patient (9 s on 300,000). Run as the owner,
-- the prefix conditions use the fold indexes, and EXECUTE plans each call
-- with its values (a short prefix walks idx_patients_created_at instead).
-- It applies the patients_select policy's rule itself, so it returns only
-- ids the caller may see anyway, and the service still reads the rows
-- through row-level security.
-- +goose StatementBegin
CREATE FUNCTION medrec_search_patients(q text, p_dob date, p_email text, p_status text,
                                       after_created timestamptz, after_id uuid, max_rows integer)
RETURNS SETOF uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $fn$
BEGIN
    IF public.medrec_role() IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY EXECUTE $q$
        SELECT p.id
        FROM public.patients p
        WHERE (public.medrec_role() IN ('ADMIN', 'RECEPTIONIST')
               OR p.id IN (SELECT public.medrec_patients_in_care()))
          AND ((public.medrec_fold(p.first_name) ~>=~ $1 AND public.medrec_fold(p.first_name) ~<~ $2
                AND starts_with(public.medrec_fold(p.first_name), $1))
            OR (public.medrec_fold(p.last_name) ~>=~ $1 AND public.medrec_fold(p.last_name) ~<~ $2
                AND starts_with(public.medrec_fold(p.last_name), $1))
            OR (public.medrec_fold(p.first_name || ' ' || p.last_name) ~>=~ $1
                AND public.medrec_fold(p.first_name || ' ' || p.last_name) ~<~ $2
                AND starts_with(public.medrec_fold(p.first_name || ' ' || p.last_name), $1)))
          AND ($3::date IS NULL OR p.dob = $3)
          AND ($4::text IS NULL OR lower(p.email) = lower($4))
          AND ($5::text IS NULL OR p.status = $5)
          AND ($6::timestamptz IS NULL OR (p.created_at, p.id) < ($6, $7))
        ORDER BY p.created_at DESC, p.id DESC
        LIMIT $8
    $q$
    USING public.medrec_fold(q), public.medrec_fold(q) || U&'\+10FFFF',
          p_dob, p_email, p_status, after_created, after_id, max_rows;
END;
$fn$;
-- +goose StatementEnd

-- Why SECURITY DEFINER: a NURSE or CLINICIAN must be able to find a
-- patient who is not (yet) in their care, to ask for care-team membership
-- or emergency access, while row-level security hides that patient from
-- them. It returns only the four identity fields, only for an exact match
-- of both names (ignoring case) and the date of birth, at most 20 rows, and
-- only to a caller with an identity and a role that may look up. The
-- service writes one READ audit row per match in the same transaction.
-- +goose StatementBegin
CREATE FUNCTION medrec_lookup_patients(p_first_name text, p_last_name text, p_dob date)
RETURNS TABLE (id uuid, first_name text, last_name text, dob date)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF public.medrec_user_id() IS NULL
       OR public.medrec_role() IS NULL
       OR public.medrec_role() NOT IN ('ADMIN', 'CLINICIAN', 'NURSE', 'RECEPTIONIST') THEN
        RAISE EXCEPTION 'patient lookup needs a signed-in caller' USING ERRCODE = '42501';
    END IF;
    RETURN QUERY
        SELECT p.id, p.first_name::text, p.last_name::text, p.dob
        FROM public.patients p
        WHERE p.dob = p_dob
          AND lower(p.last_name) = lower(p_last_name)
          AND lower(p.first_name) = lower(p_first_name)
        ORDER BY p.created_at, p.id
        LIMIT 20;
END;
$$;
-- +goose StatementEnd

-- Why SECURITY DEFINER: erasing a patient must also delete their report
-- files, but an ADMIN does not read clinical content and row-level
-- security hides medical_reports from them. This returns only the storage
-- URLs of one patient's reports, and only to an ADMIN.
-- +goose StatementBegin
CREATE FUNCTION medrec_report_storage_urls(patient uuid)
RETURNS SETOF text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF public.medrec_role() IS DISTINCT FROM 'ADMIN' THEN
        RAISE EXCEPTION 'report storage URLs are for erasure by an ADMIN' USING ERRCODE = '42501';
    END IF;
    RETURN QUERY
        SELECT r.storage_url::text FROM public.medical_reports r
        WHERE r.patient_id = patient
        ORDER BY r.created_at, r.id;
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION medrec_search_patients(text, date, text, text, timestamptz, uuid, integer);
DROP FUNCTION medrec_report_storage_urls(uuid);
DROP FUNCTION medrec_lookup_patients(text, text, date);
DROP INDEX idx_patients_identity;
DROP INDEX idx_patients_fold_full_name;
DROP INDEX idx_patients_fold_last_name;
DROP INDEX idx_patients_fold_first_name;
DROP FUNCTION medrec_fold(text);
