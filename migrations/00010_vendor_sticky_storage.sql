-- +goose Up
-- The sticky storage of three more SDKs (docs/vendors.md). Each keeps entries, not documents:
-- a save writes one row per entry, so two processes that each add a different experiment for
-- one user both keep theirs. As for assignments, every primary key starts with account_id and
-- the user's key, so that a user's entries are one index range (a lookup, an erasure) and the
-- tables can be distributed by user.

-- VWO FME's storage: one record per user and feature, the object the SDK gave, whole (the SDK
-- replaces it whole on every save). Records of mutually exclusive groups have the feature key
-- "_vwo_meta_meg_<groupId>".
CREATE TABLE vwo_fme_records (
    account_id  bigint      NOT NULL,
    user_id     text        NOT NULL,
    feature_key text        NOT NULL,
    record      jsonb       NOT NULL CHECK (jsonb_typeof(record) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, user_id, feature_key)
);

-- GrowthBook's sticky buckets: one row per entry of the document keyed
-- "<attributeName>||<attributeValue>"; assignment_key is the SDK's
-- "<experimentKey>__<bucketVersion>". The attribute value (the user's id, device id, ...)
-- leads the key after the account, so an erasure by value is one index range.
CREATE TABLE growthbook_assignments (
    account_id      bigint      NOT NULL,
    attribute_value text        NOT NULL,
    attribute_name  text        NOT NULL,
    assignment_key  text        NOT NULL,
    variation_key   text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, attribute_value, attribute_name, assignment_key)
);

-- Optimizely's user profiles: one row per entry of the experiment bucket map, the variation
-- id the user was bucketed into in an experiment (both are the datafile's ids).
CREATE TABLE optimizely_decisions (
    account_id    bigint      NOT NULL,
    user_id       text        NOT NULL,
    experiment_id text        NOT NULL,
    variation_id  text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, user_id, experiment_id)
);

-- Users per experiment and variation, one view per SDK. Filter on account_id (from accounts,
-- by name); each view reads the account's rows of its table.

-- VWO FME: a record counts once for its experiment rule and once for its rollout rule, when it
-- has them. Variation ids are as the SDK wrote them (numbers, shown as text). Records of
-- mutually exclusive groups say which campaign won a group, not a variation: left out.
CREATE VIEW report_vwo_fme_users AS
SELECT account_id, feature_key, rule_type, rule_key, variation_id, count(*) AS users
FROM (
    SELECT account_id, feature_key, 'experiment' AS rule_type,
           record ->> 'experimentKey' AS rule_key, record ->> 'experimentVariationId' AS variation_id
    FROM vwo_fme_records
    WHERE record ->> 'experimentKey' IS NOT NULL
    UNION ALL
    SELECT account_id, feature_key, 'rollout',
           record ->> 'rolloutKey', record ->> 'rolloutVariationId'
    FROM vwo_fme_records
    WHERE record ->> 'rolloutKey' IS NOT NULL
) r
WHERE NOT starts_with(feature_key, '_vwo_meta_meg_')
GROUP BY account_id, feature_key, rule_type, rule_key, variation_id;

-- GrowthBook: the experiment key and bucket version are read back from the entry's key
-- ("<experimentKey>__<bucketVersion>", split at the last "__" followed by digits only); a key
-- of another shape is the experiment key whole, with a NULL version. Users are counted per
-- attribute (a user bucketed by "id" and by "deviceId" has two documents).
CREATE VIEW report_growthbook_users AS
SELECT account_id, attribute_name,
       coalesce(substring(assignment_key FROM '^(.*)__[0-9]+$'), assignment_key) AS experiment_key,
       substring(assignment_key FROM '__([0-9]+)$')::numeric AS bucket_version,
       variation_key, count(*) AS users
FROM growthbook_assignments
GROUP BY account_id, attribute_name, assignment_key, variation_key;

CREATE VIEW report_optimizely_users AS
SELECT account_id, experiment_id, variation_id, count(*) AS users
FROM optimizely_decisions
GROUP BY account_id, experiment_id, variation_id;

-- +goose Down
DROP VIEW report_optimizely_users;
DROP VIEW report_growthbook_users;
DROP VIEW report_vwo_fme_users;
DROP TABLE optimizely_decisions;
DROP TABLE growthbook_assignments;
DROP TABLE vwo_fme_records;
