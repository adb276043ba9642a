-- name: PatientVisible :one
-- Row-level security decides: a patient the caller may not see is absent.
SELECT EXISTS (SELECT 1 FROM patients WHERE id = @id)::boolean;

-- name: CareTeamList :many
SELECT ct.patient_id, ct.user_id, u.email, u.role, ct.added_by, ct.since, ct.until
FROM care_team ct JOIN users u ON u.id = ct.user_id
WHERE ct.patient_id = @patient_id AND (ct.until IS NULL OR ct.until > now())
ORDER BY ct.since, ct.user_id;

-- name: UserRole :one
SELECT role FROM users WHERE id = @id;

-- name: CareTeamUpsert :one
-- Re-adding a former member starts a new period; re-adding a current one
-- only changes its end.
INSERT INTO care_team (patient_id, user_id, added_by, until)
VALUES (@patient_id, @user_id, @added_by, sqlc.narg(until))
ON CONFLICT (patient_id, user_id) DO UPDATE
SET added_by = EXCLUDED.added_by,
    until = EXCLUDED.until,
    since = CASE WHEN care_team.until IS NOT NULL AND care_team.until <= now() THEN now() ELSE care_team.since END
RETURNING patient_id, user_id, added_by, since, until;

-- name: CareTeamEnd :execrows
UPDATE care_team SET until = now()
WHERE patient_id = @patient_id AND user_id = @user_id AND (until IS NULL OR until > now());
