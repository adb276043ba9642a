-- name: MigrationCurrentVersion :one
-- The newest applied migration, for the readiness check.
SELECT coalesce(max(version_id), 0)::bigint FROM goose_db_version WHERE is_applied;
