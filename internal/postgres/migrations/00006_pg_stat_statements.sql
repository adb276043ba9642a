-- The spec asks for slow queries to be watched with pg_stat_statements. Creating
-- the extension needs a superuser and the server's contrib files, which not every
-- installation grants, so its absence is a notice, never a failed migration.
-- Down leaves the extension alone: a DBA or another tool may have made it first.

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_stat_statements not enabled: %', SQLERRM;
END;
$$;
-- +goose StatementEnd

-- +goose Down
SELECT 1;
