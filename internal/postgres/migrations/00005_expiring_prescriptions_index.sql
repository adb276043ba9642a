-- The spec's "active prescriptions expiring soon" query filters on
-- status = 'ACTIVE' and a range of end_date, ordered by end_date; none of the
-- spec's indexes serves that without reading every active prescription. A
-- partial index on end_date over the active rows answers it directly and
-- stays small, since completed and cancelled prescriptions are left out.

-- +goose Up
CREATE INDEX idx_prescriptions_active_end_date ON prescriptions (end_date)
    WHERE status = 'ACTIVE';

-- +goose Down
DROP INDEX idx_prescriptions_active_end_date;
