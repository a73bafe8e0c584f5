-- +goose Up
-- Every tracked conversion, for reporting: who converted which goal in which variation, with
-- revenue as exact numeric. The assignment's goal set says whether a goal converted; this
-- table says when and how often (returning users tracked again are rows with repeat = true).
CREATE TABLE conversions (
    account_id      bigint      NOT NULL,
    user_id         text        NOT NULL,
    campaign_key    text        NOT NULL,
    conversion_id   bigint      GENERATED ALWAYS AS IDENTITY,
    variation_name  text        NOT NULL,
    goal_identifier text        NOT NULL,
    revenue         numeric,
    repeat          boolean     NOT NULL DEFAULT false,
    converted_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, user_id, campaign_key, conversion_id)
);

-- +goose Down
DROP TABLE conversions;
