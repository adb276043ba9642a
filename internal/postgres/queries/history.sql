-- name: HistoryGet :one
-- A patient's complete medical history in one statement, so that the
-- patient, the reports and the prescriptions come from one snapshot. Unlike
-- the spec's sample query, which joins reports and prescriptions to the
-- patient side by side (N reports x M prescriptions rows, undone by
-- json_agg(DISTINCT ...)), each list is its own subquery on its own index
-- (idx_reports_patient_id, idx_prescriptions_patient_id): N + M rows read.
-- Row-level security filters all three; a patient out of care is no row.
-- Each element has the columns of the resource's own route plus
-- doctor_name; a patient with none has an empty array.
SELECT p.id, p.first_name, p.last_name, p.dob, p.gender, p.email, p.phone, p.status,
    p.created_at, p.updated_at,
    coalesce((
        SELECT json_agg(json_build_object(
            'id', r.id, 'patient_id', r.patient_id, 'doctor_id', r.doctor_id,
            'doctor_name', d.first_name || ' ' || d.last_name,
            'title', r.title, 'report_type', r.report_type, 'storage_url', r.storage_url,
            'summary', r.summary, 'report_date', r.report_date, 'status', r.status,
            'created_at', r.created_at, 'updated_at', r.updated_at)
            ORDER BY r.report_date DESC, r.created_at DESC, r.id)
        FROM medical_reports r JOIN doctors d ON d.id = r.doctor_id
        WHERE r.patient_id = p.id), '[]')::jsonb AS reports,
    coalesce((
        SELECT json_agg(json_build_object(
            'id', pr.id, 'patient_id', pr.patient_id, 'doctor_id', pr.doctor_id,
            'doctor_name', d.first_name || ' ' || d.last_name,
            'drug_name', pr.drug_name, 'dosage', pr.dosage, 'frequency', pr.frequency,
            'route', pr.route, 'start_date', pr.start_date, 'end_date', pr.end_date,
            'status', CASE WHEN pr.status = 'ACTIVE' AND pr.end_date < current_date THEN 'COMPLETED' ELSE pr.status END,
            'created_at', pr.created_at, 'updated_at', pr.updated_at)
            ORDER BY pr.start_date DESC, pr.created_at DESC, pr.id)
        FROM prescriptions pr JOIN doctors d ON d.id = pr.doctor_id
        WHERE pr.patient_id = p.id), '[]')::jsonb AS prescriptions
FROM patients p
WHERE p.id = @id;
