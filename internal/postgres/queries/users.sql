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
