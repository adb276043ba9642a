-- Emergency access (migration 00016). Every write goes through a SECURITY
-- DEFINER function; the rows are then read back under row-level security.
-- Every query that returns a request shows its status as the access model
-- says: a PENDING or APPROVED request past expires_at (by medrec_now()) is
-- EXPIRED, whether or not the sweep has stored it yet.

-- name: EmergencyRequest :one
-- No row when there is no ACTIVE patient with that id.
SELECT r.id::text AS id
FROM (SELECT medrec_request_emergency_access(@patient_id::uuid, @reason::text, sqlc.narg(notes)::text,
                                             make_interval(mins => @duration_minutes::integer)) AS id) r
WHERE r.id IS NOT NULL;

-- name: EmergencyDecide :one
-- No row when there is no such request.
SELECT r.id::text AS id
FROM (SELECT medrec_decide_emergency_access(@id::uuid, @decision::text, sqlc.narg(notes)::text) AS id) r
WHERE r.id IS NOT NULL;

-- name: EmergencyGet :one
SELECT id, patient_id, requested_by_user_id, requester_name, reason, notes,
    (CASE WHEN status IN ('PENDING', 'APPROVED') AND expires_at <= medrec_now() THEN 'EXPIRED' ELSE status END)::text AS status,
    approved_by_doctor_id, expires_at, created_at, updated_at
FROM emergency_access WHERE id = @id;

-- name: EmergencyList :many
-- Newest first, keyset-paginated on (created_at, id); row-level security
-- decides whose requests the caller sees.
SELECT id, patient_id, requested_by_user_id, requester_name, reason, notes,
    (CASE WHEN status IN ('PENDING', 'APPROVED') AND expires_at <= medrec_now() THEN 'EXPIRED' ELSE status END)::text AS status,
    approved_by_doctor_id, expires_at, created_at, updated_at
FROM emergency_access
WHERE (sqlc.narg(status)::text IS NULL
       OR (CASE WHEN status IN ('PENDING', 'APPROVED') AND expires_at <= medrec_now() THEN 'EXPIRED' ELSE status END) = sqlc.narg(status)::text)
  AND (sqlc.narg(after_created)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY created_at DESC, id DESC
LIMIT @max_rows;

-- name: EmergencyAudit :many
-- The spec's "emergency access audit report" without its flaws: the window
-- is the last @days days by the database clock (not from midnight in the
-- session's time zone), the status is the status as shown, and approved_by
-- is the deciding doctor's name or NULL (the spec says 'Pending' for every
-- request without an approver, a DENIED one or one whose doctor was
-- deleted included). Keyset-paginated like every list.
SELECT ea.id, ea.patient_id,
    (p.first_name || ' ' || p.last_name)::text AS patient_name,
    ea.requested_by_user_id, ea.requester_name, ea.reason,
    (CASE WHEN ea.status IN ('PENDING', 'APPROVED') AND ea.expires_at <= medrec_now() THEN 'EXPIRED' ELSE ea.status END)::text AS status,
    ea.approved_by_doctor_id,
    coalesce(d.first_name || ' ' || d.last_name, '')::text AS approved_by, -- '': nobody decided
    ea.created_at, ea.expires_at
FROM emergency_access ea
JOIN patients p ON ea.patient_id = p.id
LEFT JOIN doctors d ON ea.approved_by_doctor_id = d.id
WHERE ea.created_at >= now() - make_interval(days => @days::integer)
  AND (sqlc.narg(after_created)::timestamptz IS NULL
       OR (ea.created_at, ea.id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY ea.created_at DESC, ea.id DESC
LIMIT @max_rows;

-- name: EmergencyAuditReads :many
-- The READ audit rows marked with one of these grants, oldest first.
SELECT a.emergency_access_id::text AS emergency_access_id, a.changed_at, a.table_name, a.record_id,
    coalesce(a.new_values->>'what', '')::text AS what,
    coalesce(a.new_values->>'route', '')::text AS route,
    coalesce(a.new_values->>'request_id', '')::text AS request_id
FROM audit_log a
WHERE a.emergency_access_id = ANY (@grant_ids::uuid[]) AND a.action = 'READ'
ORDER BY a.changed_at, a.id;

-- name: EmergencySweep :one
SELECT medrec_sweep_emergency_access()::bigint AS swept;

-- name: AccessLogAllowed :one
-- Whether the caller may read this patient's access log: an ADMIN any
-- patient they can see, a CLINICIAN only one in their care by the care
-- team or treatment; an emergency grant opens the record, not its log.
SELECT coalesce(EXISTS (SELECT 1 FROM patients WHERE id = @patient_id::uuid)
   AND (medrec_role() = 'ADMIN'
        OR (medrec_role() = 'CLINICIAN' AND @patient_id::uuid IN (SELECT medrec_patients_in_care_to_write()))), false)::boolean
   AS allowed;

-- name: AccessLogList :many
-- Newest first, keyset-paginated on (changed_at, id). Row-level security
-- (audit_log_select) limits it again to what the caller may read.
-- '' stands for NULL in the text columns. what and route come only from
-- the rows the service writes about itself (READ, ERASE): on an INSERT or
-- UPDATE, new_values is the clinical row, and prescriptions has a column
-- named route (the route of administration), which an ADMIN must not read.
SELECT a.id, a.changed_at, a.user_id, coalesce(u.email, '')::text AS user_email, coalesce(u.role, '')::text AS user_role,
    a.action, a.table_name, a.record_id,
    coalesce(CASE WHEN a.action IN ('READ', 'ERASE') THEN a.new_values->>'what' END, '')::text AS what,
    coalesce(CASE WHEN a.action IN ('READ', 'ERASE') THEN a.new_values->>'route' END, '')::text AS route,
    a.emergency_access_id
FROM audit_log a
LEFT JOIN users u ON u.id = a.user_id
WHERE a.patient_id = @patient_id::uuid
  AND (sqlc.narg(after_changed)::timestamptz IS NULL
       OR (a.changed_at, a.id) < (sqlc.narg(after_changed)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY a.changed_at DESC, a.id DESC
LIMIT @max_rows;
