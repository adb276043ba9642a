-- What the service must know about a report's stored file to serve it
-- safely: its SHA-256 and size (checked on every download, so a corrupted
-- or swapped file is never served as if it were fine) and the content type
-- detected from its bytes at upload (never the client's claim). storage_url
-- (the spec's column) says where the file is: local://<key> for the local
-- blob store. The columns are NULL only for rows made without an upload
-- (imports, demo data); such a report has no file to download.
-- A keyset index serves a patient's report list, newest first.

-- +goose Up
ALTER TABLE medical_reports
    ADD COLUMN file_sha256 char(64),
    ADD COLUMN file_size bigint,
    ADD COLUMN file_content_type varchar(100),
    ADD CONSTRAINT chk_medical_reports_file CHECK (
        (file_sha256 IS NULL AND file_size IS NULL AND file_content_type IS NULL)
        OR (file_sha256 ~ '^[0-9a-f]{64}$' AND file_size >= 0 AND file_content_type <> ''));

CREATE INDEX idx_reports_patient_created ON medical_reports (patient_id, created_at DESC, id DESC);

-- +goose Down
DROP INDEX idx_reports_patient_created;
ALTER TABLE medical_reports
    DROP CONSTRAINT chk_medical_reports_file,
    DROP COLUMN file_content_type,
    DROP COLUMN file_size,
    DROP COLUMN file_sha256;
