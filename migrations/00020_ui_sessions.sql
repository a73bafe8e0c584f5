-- +goose Up
-- Sessions of the report pages (/ui/). The browser holds a random token in a cookie; only its
-- SHA-256 hash is stored, so reading this table gives no usable session, and any replica can
-- serve any session. A session belongs to the API key it was opened with: revoking the key
-- ends it, deleting the key or the account removes it.
CREATE TABLE ui_sessions (
    token_hash bytea       PRIMARY KEY,
    key_id     text        NOT NULL REFERENCES api_keys (key_id) ON DELETE CASCADE,
    account_id bigint      NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
-- Expired sessions are deleted by expiry on each sign-in.
CREATE INDEX ui_sessions_expires_at_idx ON ui_sessions (expires_at);
CREATE INDEX ui_sessions_key_id_idx ON ui_sessions (key_id);
CREATE INDEX ui_sessions_account_id_idx ON ui_sessions (account_id);

-- +goose Down
DROP TABLE ui_sessions;
