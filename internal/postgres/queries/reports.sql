-- Row-level security decides what every query below sees and may change:
-- a report of a patient outside the caller's care is absent.

-- name: ReportCallerDoctor :one
-- The caller's own ACTIVE doctor record as the policies see it, or empty.
SELECT coalesce(medrec_doctor_id()::text, '')::text AS doctor_id;

-- name: ReportCreate :one
INSERT INTO medical_reports (patient_id, doctor_id, title, report_type, storage_url, summary, report_date,
                             file_sha256, file_size, file_content_type)
VALUES (@patient_id, @doctor_id, @title, @report_type, @storage_url, sqlc.narg(summary), @report_date,
        @file_sha256, @file_size, @file_content_type)
RETURNING id, patient_id, doctor_id, title, report_type, storage_url, summary, report_date, status,
          created_at, updated_at, file_sha256, file_size, file_content_type;

-- name: ReportGet :one
SELECT id, patient_id, doctor_id, title, report_type, storage_url, summary, report_date, status,
       created_at, updated_at, file_sha256, file_size, file_content_type
FROM medical_reports WHERE id = @id;

-- name: ReportGetForUpdate :one
-- Locks the row; the update policy hides a report the caller may not change.
SELECT id, patient_id, doctor_id, title, report_type, storage_url, summary, report_date, status,
       created_at, updated_at, file_sha256, file_size, file_content_type
FROM medical_reports WHERE id = @id FOR UPDATE;

-- name: ReportUpdate :one
UPDATE medical_reports
SET title = coalesce(sqlc.narg(title), title),
    summary = CASE WHEN @set_summary::boolean THEN sqlc.narg(summary) ELSE summary END,
    status = coalesce(sqlc.narg(status), status)
WHERE id = @id
RETURNING id, patient_id, doctor_id, title, report_type, storage_url, summary, report_date, status,
          created_at, updated_at, file_sha256, file_size, file_content_type;

-- name: ReportList :many
-- Newest first, keyset on (created_at, id).
SELECT id, patient_id, doctor_id, title, report_type, storage_url, summary, report_date, status,
       created_at, updated_at, file_sha256, file_size, file_content_type
FROM medical_reports
WHERE patient_id = @patient_id
  AND (sqlc.narg(report_type)::text IS NULL OR report_type = sqlc.narg(report_type))
  AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status))
  AND (sqlc.narg(date_from)::date IS NULL OR report_date >= sqlc.narg(date_from))
  AND (sqlc.narg(date_to)::date IS NULL OR report_date <= sqlc.narg(date_to))
  AND (sqlc.narg(after_created)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY created_at DESC, id DESC
LIMIT @row_limit;
