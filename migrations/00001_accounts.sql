-- +goose Up
-- An account is a tenant: every row of every other table carries its account_id.
CREATE TABLE accounts (
    account_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text        NOT NULL UNIQUE CHECK (octet_length(name) BETWEEN 1 AND 255),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- API keys are shown once and stored only as a SHA-256 hash. key_id is the public part of the
-- key (it is embedded in the key itself), so a lookup is by key_id and the secret is compared
-- in constant time in the server, never by the database.
CREATE TABLE api_keys (
    key_id     text        PRIMARY KEY,
    account_id bigint      NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    key_hash   bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX api_keys_account_id_idx ON api_keys (account_id);

-- +goose Down
DROP TABLE api_keys;
DROP TABLE accounts;
