-- The spec makes emails unique byte for byte, so Ann@x.org and ann@x.org
-- could be two users (or two doctors, or two patients), and its
-- idx_users_email, idx_doctors_email and idx_patients_email only repeat the
-- index that each UNIQUE constraint already has. Each of those three indexes
-- is rebuilt under its own name as a unique index on lower(email): the names
-- stay as the spec gives them, the duplicate goes, and case no longer makes a
-- second account. The spec's UNIQUE constraints stay as they are.

-- +goose Up
DROP INDEX idx_users_email;
CREATE UNIQUE INDEX idx_users_email ON users (lower(email));
DROP INDEX idx_doctors_email;
CREATE UNIQUE INDEX idx_doctors_email ON doctors (lower(email));
DROP INDEX idx_patients_email;
CREATE UNIQUE INDEX idx_patients_email ON patients (lower(email));

-- +goose Down
DROP INDEX idx_patients_email;
CREATE INDEX idx_patients_email ON patients(email);
DROP INDEX idx_doctors_email;
CREATE INDEX idx_doctors_email ON doctors(email);
DROP INDEX idx_users_email;
CREATE UNIQUE INDEX idx_users_email ON users(email);
