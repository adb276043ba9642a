-- name: DoctorCreate :one
INSERT INTO doctors (first_name, last_name, email, phone, specialty, status, user_id)
VALUES (@first_name, @last_name, @email, sqlc.narg(phone), sqlc.narg(specialty), @status, sqlc.narg(user_id))
RETURNING *;

-- name: DoctorGet :one
SELECT * FROM doctors WHERE id = @id;

-- name: DoctorList :many
-- Newest first, keyset-paginated on (created_at, id).
SELECT * FROM doctors
WHERE (sqlc.narg(specialty)::text IS NULL OR lower(specialty) = lower(sqlc.narg(specialty)::text))
  AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status)::text)
  AND (sqlc.narg(after_created)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY created_at DESC, id DESC
LIMIT @max_rows;

-- name: DoctorUpdate :one
UPDATE doctors SET
    first_name = coalesce(sqlc.narg(first_name), first_name),
    last_name  = coalesce(sqlc.narg(last_name), last_name),
    email      = coalesce(sqlc.narg(email), email),
    phone      = CASE WHEN @set_phone::boolean THEN sqlc.narg(phone) ELSE phone END,
    specialty  = CASE WHEN @set_specialty::boolean THEN sqlc.narg(specialty) ELSE specialty END,
    status     = coalesce(sqlc.narg(status), status),
    user_id    = CASE WHEN @set_user_id::boolean THEN sqlc.narg(user_id)::uuid ELSE user_id END
WHERE id = @id
  AND (sqlc.narg(if_match)::timestamptz IS NULL OR updated_at = sqlc.narg(if_match)::timestamptz)
RETURNING *;

-- name: DoctorOwner :one
-- The user a doctor record is linked to, and whether the record exists;
-- locks the row so that it cannot vanish before the update.
SELECT user_id FROM doctors WHERE id = @id FOR UPDATE;
