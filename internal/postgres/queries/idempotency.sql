-- name: IdempotencyClaim :one
-- Takes the caller's key as part of the surrounding transaction. A
-- concurrent claim of the same key waits here until the first transaction
-- ends; no row back means the key is taken. A row past its 24 hours that
-- the sweep has not yet deleted is taken over.
INSERT INTO idempotency_keys (user_id, idempotency_key, fingerprint)
VALUES (medrec_user_id(), @idempotency_key, @fingerprint)
ON CONFLICT (user_id, idempotency_key) DO UPDATE
SET fingerprint = EXCLUDED.fingerprint, status = NULL, location = NULL,
    created_at = now(), completed_at = NULL
WHERE idempotency_keys.created_at < now() - interval '24 hours'
RETURNING created_at;

-- name: IdempotencyFind :one
-- The caller's key while it has not expired.
SELECT fingerprint, status, location
FROM idempotency_keys
WHERE user_id = medrec_user_id() AND idempotency_key = @idempotency_key
  AND created_at >= now() - interval '24 hours';

-- name: IdempotencyRecord :execrows
-- Stores the outcome once; the row must be the caller's and still open.
UPDATE idempotency_keys
SET status = @status, location = sqlc.narg(location), completed_at = now()
WHERE user_id = medrec_user_id() AND idempotency_key = @idempotency_key
  AND fingerprint = @fingerprint AND status IS NULL;

-- name: IdempotencySweep :one
SELECT medrec_sweep_idempotency_keys()::bigint;
