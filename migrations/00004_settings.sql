-- +goose Up
-- Every uploaded settings file is a new version; the highest version of an account is its
-- current one. Files are kept byte for byte as uploaded (GET returns them as they came) and
-- older versions stay for audit.
CREATE TABLE settings (
    account_id bigint      NOT NULL,
    version    bigint      NOT NULL CHECK (version > 0),
    body       bytea       NOT NULL,
    campaigns  integer     NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, version)
);

-- +goose Down
DROP TABLE settings;
