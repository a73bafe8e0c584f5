-- +goose Up
-- Reporting in SQL (README: Reporting): views that answer, per account and campaign, how many
-- users each variation has, how they convert, and whether the split matches the configured
-- weights (the sample-ratio check).

-- Every settings version's variation weights and goals, as rows SQL can join. The file itself
-- stays the source of truth (settings.body); these rows are derived from the parsed file in the
-- transaction that stores the version (postgres.SaveSettings), and backfilled below for versions
-- stored before this migration. Goals are kept so that a configured goal nobody has converted
-- yet still shows in the reports, with zeros.
CREATE TABLE settings_variations (
    account_id     bigint  NOT NULL,
    version        bigint  NOT NULL,
    campaign_key   text    NOT NULL,
    variation_name text    NOT NULL,
    weight         numeric NOT NULL,
    PRIMARY KEY (account_id, version, campaign_key, variation_name),
    FOREIGN KEY (account_id, version) REFERENCES settings (account_id, version) ON DELETE CASCADE
);

CREATE TABLE settings_goals (
    account_id      bigint NOT NULL,
    version         bigint NOT NULL,
    campaign_key    text   NOT NULL,
    goal_identifier text   NOT NULL,
    goal_type       text   NOT NULL,
    PRIMARY KEY (account_id, version, campaign_key, goal_identifier),
    FOREIGN KEY (account_id, version) REFERENCES settings (account_id, version) ON DELETE CASCADE
);

-- Backfill from the stored files. Every stored file was valid when uploaded, but one that
-- cannot be read here (say, a weight written as a hexadecimal string, which Go parses and
-- numeric does not) must not stop the migration: that version is left without rows, with a
-- warning, and its campaigns simply have no configured weights in the reports.
-- +goose StatementBegin
DO $$
DECLARE
    s record;
    file jsonb;
BEGIN
    FOR s IN SELECT account_id, version, body FROM settings LOOP
        BEGIN
            file := convert_from(s.body, 'UTF8')::jsonb;
            INSERT INTO settings_variations (account_id, version, campaign_key, variation_name, weight)
            SELECT s.account_id, s.version, c ->> 'key', v ->> 'name', (v ->> 'weight')::numeric
            FROM jsonb_array_elements(file -> 'campaigns') AS c,
                 jsonb_array_elements(c -> 'variations') AS v
            ON CONFLICT DO NOTHING;
            INSERT INTO settings_goals (account_id, version, campaign_key, goal_identifier, goal_type)
            SELECT s.account_id, s.version, c ->> 'key', g ->> 'identifier', g ->> 'type'
            FROM jsonb_array_elements(file -> 'campaigns') AS c,
                 jsonb_array_elements(coalesce(c -> 'goals', '[]')) AS g
            ON CONFLICT DO NOTHING;
        EXCEPTION WHEN others THEN
            RAISE WARNING 'settings version % of account %: weights and goals not derived: %',
                s.version, s.account_id, SQLERRM;
        END;
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE settings_goals;
DROP TABLE settings_variations;
