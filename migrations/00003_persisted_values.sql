-- +goose Up
-- Statsig's user persisted values: one JSON value per (storage key, config name). The storage
-- key is "<unitID>:<idType>"; unit_id (the part before the last colon) is kept as a column so a
-- user's values can be erased and distributed by user like assignments.
CREATE TABLE persisted_values (
    account_id  bigint      NOT NULL,
    unit_id     text        NOT NULL,
    persist_key text        NOT NULL,
    config_name text        NOT NULL,
    value       jsonb       NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, unit_id, persist_key, config_name)
);

-- +goose Down
DROP TABLE persisted_values;
