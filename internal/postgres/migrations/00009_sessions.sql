-- Sign-in state the spec's users table has no room for: consecutive failed
-- logins (for the lockout), a TOTP second factor (an enrolment waits in
-- totp_pending_secret until confirmed, so re-enrolling never switches off a
-- confirmed factor), and server-side sessions
-- with their rotating refresh tokens, so that logout, a password or role
-- change, or a suspension ends access on the next request instead of at
-- token expiry.

-- +goose Up
ALTER TABLE users
    ADD COLUMN failed_login_count integer NOT NULL DEFAULT 0
        CONSTRAINT chk_users_failed_login_count CHECK (failed_login_count >= 0),
    ADD COLUMN totp_secret text,
    ADD COLUMN totp_pending_secret text,
    ADD COLUMN totp_confirmed_at timestamptz,
    ADD COLUMN totp_last_step bigint NOT NULL DEFAULT 0,
    ADD CONSTRAINT chk_users_totp_confirmed CHECK (totp_confirmed_at IS NULL OR totp_secret IS NOT NULL);

CREATE TABLE sessions (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL CONSTRAINT fk_session_user REFERENCES users(id) ON DELETE CASCADE,
    -- A session that may only enrol a second factor (see the API's
    -- mfa_enrolment_required).
    mfa_pending   boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz,
    revoke_reason varchar(50)
);
CREATE INDEX idx_sessions_user_id ON sessions (user_id) WHERE revoked_at IS NULL;

-- Only the SHA-256 of a refresh token is kept. A used token stays, marked,
-- so that presenting it again is recognised as theft and ends the session.
CREATE TABLE refresh_tokens (
    token_hash  char(64) PRIMARY KEY,
    session_id  uuid NOT NULL CONSTRAINT fk_refresh_token_session REFERENCES sessions(id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    used_at     timestamptz
);
CREATE INDEX idx_refresh_tokens_session_id ON refresh_tokens (session_id);

-- Whatever path changes a user's password, role or status, their sessions
-- end with it: no code path can forget to revoke them.
-- +goose StatementBegin
CREATE FUNCTION revoke_user_sessions() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
    UPDATE sessions SET revoked_at = now(), revoke_reason =
        CASE WHEN NEW.password_hash IS DISTINCT FROM OLD.password_hash THEN 'password_changed'
             WHEN NEW.role IS DISTINCT FROM OLD.role THEN 'role_changed'
             ELSE 'status_changed' END
    WHERE user_id = NEW.id AND revoked_at IS NULL;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER revoke_user_sessions
    AFTER UPDATE OF password_hash, role, status ON users
    FOR EACH ROW
    WHEN (NEW.password_hash IS DISTINCT FROM OLD.password_hash
       OR NEW.role IS DISTINCT FROM OLD.role
       OR NEW.status IS DISTINCT FROM OLD.status)
    EXECUTE FUNCTION revoke_user_sessions();

-- +goose Down
DROP TRIGGER revoke_user_sessions ON users;
DROP FUNCTION revoke_user_sessions();
DROP TABLE refresh_tokens;
DROP TABLE sessions;
ALTER TABLE users
    DROP CONSTRAINT chk_users_totp_confirmed,
    DROP COLUMN totp_last_step,
    DROP COLUMN totp_confirmed_at,
    DROP COLUMN totp_pending_secret,
    DROP COLUMN totp_secret,
    DROP COLUMN failed_login_count;
