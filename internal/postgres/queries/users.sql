-- name: UserCreate :one
INSERT INTO users (email, password_hash, role)
VALUES (@email, @password_hash, @role)
RETURNING id, email, role, status, created_at, updated_at;

-- name: UserCount :one
SELECT count(*) FROM users;

-- name: UserLockFirstAdmin :exec
-- Serialises concurrent first starts so that exactly one ADMIN is created.
SELECT pg_advisory_xact_lock(hashtext('medrec.first_admin'));

-- name: UserCreateIfNone :execrows
INSERT INTO users (email, password_hash, role)
SELECT @email, @password_hash, 'ADMIN'
WHERE NOT EXISTS (SELECT 1 FROM users);

-- name: UserGet :one
SELECT u.id, u.email, u.role, u.status, u.created_at, u.updated_at,
       coalesce(d.id::text, '')::text AS doctor_id,
       (u.totp_confirmed_at IS NOT NULL)::boolean AS mfa_enabled
FROM users u LEFT JOIN doctors d ON d.user_id = u.id
WHERE u.id = @id;

-- name: UserList :many
-- Newest first, keyset-paginated on (created_at, id).
SELECT u.id, u.email, u.role, u.status, u.created_at, u.updated_at,
       coalesce(d.id::text, '')::text AS doctor_id,
       (u.totp_confirmed_at IS NOT NULL)::boolean AS mfa_enabled
FROM users u LEFT JOIN doctors d ON d.user_id = u.id
WHERE (sqlc.narg(role)::text IS NULL OR u.role = sqlc.narg(role)::text)
  AND (sqlc.narg(status)::text IS NULL OR u.status = sqlc.narg(status)::text)
  AND (sqlc.narg(after_created)::timestamptz IS NULL
       OR (u.created_at, u.id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY u.created_at DESC, u.id DESC
LIMIT @max_rows;

-- name: UserUpdate :one
-- Unlocking (status back to ACTIVE) also forgets the failed sign-ins.
UPDATE users
SET role = coalesce(sqlc.narg(role)::text, role),
    status = coalesce(sqlc.narg(status)::text, status),
    failed_login_count = CASE WHEN sqlc.narg(status)::text = 'ACTIVE' THEN 0 ELSE failed_login_count END
WHERE id = @id
  AND (sqlc.narg(if_match)::timestamptz IS NULL OR updated_at = sqlc.narg(if_match)::timestamptz)
RETURNING id;
