-- +goose Up
-- One row per (account, user, campaign): VWO's userStorageData. The primary key starts with
-- account_id and user_id so that one user's campaigns are one index range (batch get) and the
-- table can be hash-distributed by user (native partitioning or Citus) without redesign.
-- There is deliberately no foreign key to accounts: it would cost a lookup on every write and
-- cannot be kept on a distributed table; accounts are never deleted while data exists.
CREATE TABLE assignments (
    account_id     bigint      NOT NULL,
    user_id        text        NOT NULL,
    campaign_key   text        NOT NULL,
    variation_name text        NOT NULL,
    -- converted goals in the order they converted; exposed on the wire joined by "_vwo_"
    goals          text[]      NOT NULL DEFAULT '{}',
    -- where the variation came from: written by an SDK ("set"), decided by uss ("bucketed"),
    -- or forced by whitelisting when a whitelisted user converted a goal ("whitelisted")
    source         text        NOT NULL CHECK (source IN ('set', 'bucketed', 'whitelisted')),
    -- exposures counted by POST /v1/activate; one counter per row keeps concurrent activations
    -- of different users off any shared row
    exposures      bigint      NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, user_id, campaign_key)
);

-- +goose Down
DROP TABLE assignments;
