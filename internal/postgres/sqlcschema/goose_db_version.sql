-- goose keeps its own bookkeeping table; this mirrors its shape so that sqlc
-- can check the readiness query. It is never applied: goose creates the table.
CREATE TABLE goose_db_version (
    id         serial PRIMARY KEY,
    version_id bigint NOT NULL,
    is_applied boolean NOT NULL,
    tstamp     timestamp NOT NULL DEFAULT now()
);
