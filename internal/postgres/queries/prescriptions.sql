-- Every query that returns a prescription shows its status as the access
-- model says: an ACTIVE prescription whose end date has passed (by the
-- database clock) is COMPLETED, whether or not the sweep has stored it yet.

-- name: PrescriberDoctor :one
-- The caller's linked doctor record, to explain why they may not prescribe.
SELECT d.id, d.status FROM doctors d WHERE d.user_id = @user_id;

-- name: PrescriptionCreate :one
INSERT INTO prescriptions (patient_id, doctor_id, drug_name, dosage, frequency, route, start_date, end_date)
VALUES (@patient_id, @doctor_id, @drug_name, @dosage, @frequency, sqlc.narg(route), @start_date, sqlc.narg(end_date))
RETURNING id, patient_id, doctor_id, drug_name, dosage, frequency, route, start_date, end_date,
    (CASE WHEN status = 'ACTIVE' AND end_date < current_date THEN 'COMPLETED' ELSE status END)::text AS status,
    created_at, updated_at;

-- name: PrescriptionGet :one
SELECT id, patient_id, doctor_id, drug_name, dosage, frequency, route, start_date, end_date,
    (CASE WHEN status = 'ACTIVE' AND end_date < current_date THEN 'COMPLETED' ELSE status END)::text AS status,
    created_at, updated_at
FROM prescriptions WHERE id = @id;

-- name: PrescriptionLock :one
-- Row-level security applies the UPDATE policy to FOR UPDATE: only the
-- prescriber, while in care and ACTIVE, gets the row.
SELECT id, patient_id, doctor_id, start_date, end_date,
    (CASE WHEN status = 'ACTIVE' AND end_date < current_date THEN 'COMPLETED' ELSE status END)::text AS status,
    updated_at
FROM prescriptions WHERE id = @id
FOR UPDATE;

-- name: PrescriptionList :many
-- Newest first, keyset-paginated on (created_at, id); the status filter is
-- on the status as shown.
SELECT id, patient_id, doctor_id, drug_name, dosage, frequency, route, start_date, end_date,
    (CASE WHEN status = 'ACTIVE' AND end_date < current_date THEN 'COMPLETED' ELSE status END)::text AS status,
    created_at, updated_at
FROM prescriptions
WHERE patient_id = @patient_id
  AND (sqlc.narg(status)::text IS NULL
       OR (CASE WHEN status = 'ACTIVE' AND end_date < current_date THEN 'COMPLETED' ELSE status END) = sqlc.narg(status)::text)
  AND (sqlc.narg(after_created)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY created_at DESC, id DESC
LIMIT @max_rows;

-- name: PrescriptionUpdate :one
UPDATE prescriptions
SET end_date = CASE WHEN @set_end_date::boolean THEN sqlc.narg(end_date)::date ELSE end_date END,
    status = coalesce(sqlc.narg(status)::text, status)
WHERE id = @id
RETURNING id, patient_id, doctor_id, drug_name, dosage, frequency, route, start_date, end_date,
    (CASE WHEN status = 'ACTIVE' AND end_date < current_date THEN 'COMPLETED' ELSE status END)::text AS status,
    created_at, updated_at;

-- name: PrescriptionExpiring :many
-- The spec's "active prescriptions expiring soon" for the patients in the
-- caller's care (row-level security), soonest first, keyset-paginated on
-- (end_date, id). The cursor defaults are below any real row.
-- The in-care condition repeats what row-level security enforces anyway,
-- so that the planner can start from the caller's patients: at a million
-- patients a week of expiring prescriptions is 200,000 rows, of which a
-- clinician's few hundred patients hold a few hundred. It then probes
-- idx_prescriptions_active_patient_end (migration 00020) per patient
-- instead of walking idx_prescriptions_active_end_date_id through everyone's.
SELECT pr.id, pr.patient_id,
    (p.first_name || ' ' || p.last_name)::text AS patient_name,
    pr.drug_name, pr.end_date::date AS end_date,
    (d.first_name || ' ' || d.last_name)::text AS prescribing_doctor
FROM prescriptions pr
JOIN patients p ON pr.patient_id = p.id
JOIN doctors d ON pr.doctor_id = d.id
WHERE pr.status = 'ACTIVE'
  AND pr.patient_id IN (SELECT medrec_patients_in_care())
  AND pr.end_date BETWEEN current_date AND current_date + @days::integer
  AND (pr.end_date, pr.id) > (coalesce(sqlc.narg(after_end)::date, '-infinity'::date),
                              coalesce(sqlc.narg(after_id)::uuid, '00000000-0000-0000-0000-000000000000'::uuid))
ORDER BY pr.end_date, pr.id
LIMIT @max_rows;

-- name: PrescriptionSweep :one
SELECT medrec_sweep_prescriptions()::bigint AS swept;
