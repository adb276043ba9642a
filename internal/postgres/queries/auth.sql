-- name: UserForLogin :one
SELECT id, email, password_hash, role, status, failed_login_count,
       totp_secret, totp_confirmed_at, totp_last_step
FROM users WHERE lower(email) = lower(@email);

-- name: UserLoginFailed :one
-- Counts one more consecutive failure and locks the account when it reaches
-- the limit, in one statement so that concurrent attempts cannot both slip
-- under it.
UPDATE users
SET failed_login_count = failed_login_count + 1,
    status = CASE WHEN status = 'ACTIVE' AND failed_login_count + 1 >= @max_failures::int
                  THEN 'LOCKED' ELSE status END
WHERE id = @id
RETURNING status, failed_login_count;

-- name: UserLoginSucceeded :exec
UPDATE users SET failed_login_count = 0
WHERE id = @id AND failed_login_count <> 0;

-- name: UserTOTPStepUsed :execrows
-- Records the TOTP step just used, refusing a step not newer than the last
-- one, so a code cannot be replayed even by two logins racing.
UPDATE users SET totp_last_step = @step
WHERE id = @id AND totp_last_step < @step;

-- name: SessionCreate :one
INSERT INTO sessions (user_id, mfa_pending) VALUES (@user_id, @mfa_pending)
RETURNING id;

-- name: RefreshTokenCreate :exec
INSERT INTO refresh_tokens (token_hash, session_id) VALUES (@token_hash, @session_id);

-- name: SessionForRequest :one
-- Everything an authenticated request needs to know, by the database clock:
-- whether the session is still live (not revoked, not idle, not too old) and
-- whether last_seen_at is stale enough to be worth a write.
SELECT u.role, u.status, s.mfa_pending,
       (s.revoked_at IS NULL
        AND s.last_seen_at > now() - make_interval(secs => @idle_seconds::float8)
        AND s.created_at > now() - make_interval(secs => @max_age_seconds::float8))::boolean AS live,
       (s.last_seen_at < now() - interval '30 seconds')::boolean AS stale,
       coalesce(d.id::text, '')::text AS doctor_id
FROM sessions s
JOIN users u ON u.id = s.user_id
LEFT JOIN doctors d ON d.user_id = u.id
WHERE s.id = @session_id AND s.user_id = @user_id;

-- name: SessionTouch :exec
UPDATE sessions SET last_seen_at = now() WHERE id = @id AND revoked_at IS NULL;

-- name: SessionRevoke :exec
UPDATE sessions SET revoked_at = now(), revoke_reason = @reason
WHERE id = @id AND revoked_at IS NULL;

-- name: RefreshTokenForUpdate :one
SELECT rt.session_id, rt.used_at, s.user_id, u.role, u.status, s.mfa_pending,
       (s.revoked_at IS NULL
        AND s.last_seen_at > now() - make_interval(secs => @idle_seconds::float8)
        AND s.created_at > now() - make_interval(secs => @max_age_seconds::float8))::boolean AS live
FROM refresh_tokens rt
JOIN sessions s ON s.id = rt.session_id
JOIN users u ON u.id = s.user_id
WHERE rt.token_hash = @token_hash
FOR UPDATE OF rt;

-- name: RefreshTokenMarkUsed :exec
UPDATE refresh_tokens SET used_at = now() WHERE token_hash = @token_hash;

-- name: UserPasswordHash :one
SELECT password_hash FROM users WHERE id = @id;

-- name: UserSetPassword :exec
UPDATE users SET password_hash = @password_hash WHERE id = @id;

-- name: UserSetPendingTOTP :exec
-- A new enrolment waits beside any confirmed factor, which stays in force
-- until the new one is confirmed.
UPDATE users SET totp_pending_secret = @secret WHERE id = @id;

-- name: UserPendingTOTP :one
SELECT totp_pending_secret FROM users WHERE id = @id;

-- name: UserConfirmTOTP :exec
UPDATE users
SET totp_secret = totp_pending_secret, totp_pending_secret = NULL,
    totp_confirmed_at = now(), totp_last_step = @step
WHERE id = @id AND totp_pending_secret IS NOT NULL;

-- name: SessionClearMFAPending :exec
UPDATE sessions SET mfa_pending = false WHERE id = @id;
