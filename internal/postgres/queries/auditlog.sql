-- name: AuditList :many
-- One page of the audit log, newest first, keyset-paginated on
-- (changed_at, id). Only the columns GET /audit shows are read, so that
-- later columns of audit_log change nothing here. Values leave the
-- database only for the tables in @value_tables, which hold no clinical
-- content (medrec.AuditValueTables, deny by default); for every table the
-- names of the fields an INSERT, UPDATE or DELETE touched are computed here.
-- READ and ERASE rows show their details (what, request_id, route, reason) only.
SELECT a.id, a.table_name, a.record_id, a.action, a.user_id, a.changed_at,
       a.patient_id, a.emergency_access_id,
       (CASE WHEN a.action IN ('INSERT', 'UPDATE', 'DELETE') THEN
           ARRAY(SELECT k.key
                 FROM (SELECT jsonb_object_keys(coalesce(a.old_values, '{}'::jsonb)) AS key
                       UNION
                       SELECT jsonb_object_keys(coalesce(a.new_values, '{}'::jsonb))) AS k
                 WHERE a.old_values -> k.key IS DISTINCT FROM a.new_values -> k.key
                 ORDER BY k.key)
        END)::text[] AS changed_fields,
       (CASE WHEN a.action IN ('INSERT', 'UPDATE', 'DELETE')
                  AND a.table_name = ANY (@value_tables::text[])
             THEN a.old_values END)::jsonb AS old_values,
       (CASE WHEN a.action IN ('INSERT', 'UPDATE', 'DELETE')
                  AND a.table_name = ANY (@value_tables::text[])
             THEN a.new_values END)::jsonb AS new_values,
       (CASE WHEN a.action IN ('READ', 'ERASE') THEN
           jsonb_strip_nulls(jsonb_build_object(
               'what', a.new_values ->> 'what',
               'request_id', a.new_values ->> 'request_id',
               'route', a.new_values ->> 'route',
               'reason', CASE WHEN a.action = 'ERASE' THEN a.new_values ->> 'reason' END))
        END)::jsonb AS details
FROM audit_log a
WHERE (sqlc.narg(table_name)::text IS NULL OR a.table_name = sqlc.narg(table_name)::text)
  AND (sqlc.narg(record_id)::uuid IS NULL OR a.record_id = sqlc.narg(record_id)::uuid)
  AND (sqlc.narg(user_id)::uuid IS NULL OR a.user_id = sqlc.narg(user_id)::uuid)
  AND (sqlc.narg(action)::text IS NULL OR a.action = sqlc.narg(action)::text)
  AND (sqlc.narg(from_time)::timestamptz IS NULL OR a.changed_at >= sqlc.narg(from_time)::timestamptz)
  AND (sqlc.narg(to_time)::timestamptz IS NULL OR a.changed_at < sqlc.narg(to_time)::timestamptz)
  AND (sqlc.narg(after_changed)::timestamptz IS NULL
       OR (a.changed_at, a.id) < (sqlc.narg(after_changed)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY a.changed_at DESC, a.id DESC
LIMIT @max_rows;

-- name: AuditRecordLogRead :exec
-- The READ row of one read of the audit log: record_id is the reader, the
-- details say what was asked. One row per request whatever it returned,
-- so reading the log never feeds on itself.
INSERT INTO audit_log (table_name, record_id, action, user_id, new_values)
VALUES ('audit_log', medrec_user_id(), 'READ', medrec_user_id(), @details::jsonb);
