-- +goose Up
-- When each campaign left its account's settings: the retention task (docs/lifecycle.md)
-- deletes the data of campaigns gone for longer than USS_RETENTION. A row is written by the
-- upload of the first version without the campaign and removed by an upload that brings it
-- back, in the upload's transaction, so it does not depend on old settings versions being
-- kept. Campaigns that were never in the settings (an account that only stores what SDKs
-- decide) have no row and are never deleted.
CREATE TABLE removed_campaigns (
    account_id   bigint      NOT NULL,
    campaign_key text        NOT NULL,
    -- the first settings version without the campaign, and when it was uploaded
    version      bigint      NOT NULL,
    removed_at   timestamptz NOT NULL,
    PRIMARY KEY (account_id, campaign_key)
);
CREATE INDEX removed_campaigns_removed_at_idx ON removed_campaigns (removed_at);

-- Campaigns of the versions uploaded so far that the newest version does not have: removed
-- by the version after the last one that had them.
INSERT INTO removed_campaigns (account_id, campaign_key, version, removed_at)
SELECT last.account_id, last.campaign_key, next.version, next.created_at
FROM (SELECT account_id, campaign_key, max(version) AS version
      FROM settings_variations GROUP BY account_id, campaign_key) last
CROSS JOIN LATERAL (
    SELECT s.version, s.created_at FROM settings s
    WHERE s.account_id = last.account_id AND s.version > last.version
    ORDER BY s.version LIMIT 1
) next;

-- +goose Down
DROP TABLE removed_campaigns;
