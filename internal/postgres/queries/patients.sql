-- name: PatientCreate :one
INSERT INTO patients (first_name, last_name, dob, gender, email, phone, status)
VALUES (@first_name, @last_name, @dob, @gender, sqlc.narg(email), sqlc.narg(phone), @status)
RETURNING id, first_name, last_name, dob, gender, email, phone, status, created_at, updated_at;

-- name: PatientGet :one
-- Row-level security decides: a patient the caller may not see is no row.
SELECT id, first_name, last_name, dob, gender, email, phone, status, created_at, updated_at
FROM patients WHERE id = @id;

-- name: PatientVersion :one
-- The current updated_at of a visible patient, to tell a changed record
-- (412) from a missing or invisible one (404) after a conditional update.
SELECT updated_at FROM patients WHERE id = @id;

-- name: PatientList :many
-- Newest first, keyset-paginated on (created_at, id).
SELECT id, first_name, last_name, dob, gender, email, phone, status, created_at, updated_at
FROM patients
WHERE true
  AND (sqlc.narg(dob)::date IS NULL OR dob = sqlc.narg(dob)::date)
  AND (sqlc.narg(email)::text IS NULL OR lower(email) = lower(sqlc.narg(email)::text))
  AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status)::text)
  AND (sqlc.narg(after_created)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY created_at DESC, id DESC
LIMIT @max_rows;

-- name: PatientSearch :many
-- PatientList with a name prefix q. medrec_search_patients (00010) picks
-- the page's ids with the fold indexes; the rows themselves are read here,
-- under row-level security, in the same order.
SELECT id, first_name, last_name, dob, gender, email, phone, status, created_at, updated_at
FROM patients
WHERE id = ANY (ARRAY(SELECT medrec_search_patients(@q::text, sqlc.narg(dob)::date, sqlc.narg(email)::text,
                                                    sqlc.narg(status)::text, sqlc.narg(after_created)::timestamptz,
                                                    sqlc.narg(after_id)::uuid, @max_rows::integer)))
ORDER BY created_at DESC, id DESC;

-- name: PatientUpdate :one
-- Conditional on if_match when given: a concurrent writer that got there
-- first changed updated_at, and this one then updates nothing.
UPDATE patients SET
    first_name = coalesce(sqlc.narg(first_name), first_name),
    last_name  = coalesce(sqlc.narg(last_name), last_name),
    dob        = coalesce(sqlc.narg(dob), dob),
    gender     = coalesce(sqlc.narg(gender), gender),
    email      = CASE WHEN @set_email::boolean THEN sqlc.narg(email) ELSE email END,
    phone      = CASE WHEN @set_phone::boolean THEN sqlc.narg(phone) ELSE phone END,
    status     = coalesce(sqlc.narg(status), status)
WHERE id = @id
  AND (sqlc.narg(if_match)::timestamptz IS NULL OR updated_at = sqlc.narg(if_match)::timestamptz)
RETURNING id, first_name, last_name, dob, gender, email, phone, status, created_at, updated_at;

-- name: PatientLockForErase :one
SELECT id FROM patients WHERE id = @id FOR UPDATE;

-- medrec_lookup_patients and medrec_report_storage_urls (00010) return
-- sets sqlc cannot type; patients.go calls them directly.

-- name: PatientDelete :execrows
DELETE FROM patients WHERE id = @id;
