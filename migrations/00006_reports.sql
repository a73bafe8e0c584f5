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

-- Reports read one campaign's rows grouped by variation (and goal), in index order. source is
-- included so whitelisted users are told apart without the heap. Nothing that the hot paths
-- update is indexed: activate bumps assignments.exposures, track appends to goals, both set
-- updated_at, and none of these columns is in any index, so those updates stay HOT (no index
-- entry is written). The price is that summing exposures reads the heap (an Index Scan, not an
-- Index Only Scan). What this index does cost: a change of variation (a user re-bucketed, or an
-- SDK writing another variation), HOT until now, writes index entries; it is rare.
-- Plain CREATE INDEX blocks writes to the table while it builds: fine for a new or small
-- table; a large production table wants CREATE INDEX CONCURRENTLY, in a migration of its own
-- that carries goose's NO TRANSACTION annotation (CONCURRENTLY cannot run in a transaction).
CREATE INDEX assignments_report_idx ON assignments (account_id, campaign_key, variation_name) INCLUDE (source);
-- user_id is a key column, not INCLUDE, so a group's rows come sorted by user for
-- count(DISTINCT user_id) (PostgreSQL 16 and later use that order; 15 sorts each group).
-- Conversions are only inserted, so the visibility map stays set and index-only scans cheap.
CREATE INDEX conversions_report_idx ON conversions (account_id, campaign_key, goal_identifier, variation_name, user_id)
    INCLUDE (revenue);

-- The weights and goals of each account's current (newest) settings version.
CREATE VIEW current_settings_variations AS
SELECT v.account_id, v.campaign_key, v.variation_name, v.weight
FROM settings_variations v
WHERE v.version = (SELECT max(s.version) FROM settings s WHERE s.account_id = v.account_id);

CREATE VIEW current_settings_goals AS
SELECT g.account_id, g.campaign_key, g.goal_identifier, g.goal_type
FROM settings_goals g
WHERE g.version = (SELECT max(s.version) FROM settings s WHERE s.account_id = g.account_id);

-- The views below each group one campaign's rows in a single pass. Configured variations and
-- goals are appended to the table's rows (UNION ALL) before grouping, rather than joined, so
-- that a variation or goal nobody has reached yet still gets a row with zeros, and a filter on
-- account_id and campaign_key reaches the indexes of both sides.

-- Users per variation: every assignment row, whatever its source, and the exposures counted
-- by activate, with the variation's weight in the current settings (NULL when it is no longer
-- there). A query that does not read exposures is answered from the index alone: PostgreSQL
-- drops the unused sum, and exposures are the only column not in assignments_report_idx.
CREATE VIEW report_variation_users AS
SELECT account_id, campaign_key, variation_name,
       count(source) AS users,
       count(*) FILTER (WHERE source = 'whitelisted') AS whitelisted_users,
       coalesce(sum(exposures), 0)::bigint AS exposures,
       max(weight) AS weight
FROM (
    SELECT account_id, campaign_key, variation_name, source, exposures, NULL::numeric AS weight
    FROM assignments
    UNION ALL
    SELECT account_id, campaign_key, variation_name, NULL, NULL, weight
    FROM current_settings_variations
) r
GROUP BY account_id, campaign_key, variation_name;

-- Per goal and variation: users who converted (each once), conversions (repeats included) and
-- the exact revenue sum (0 for goals without revenue). The variation is the one the user had
-- when converting. Every goal of the current settings is listed for every configured variation.
CREATE VIEW report_goal_conversions AS
SELECT account_id, campaign_key, goal_identifier, variation_name,
       count(DISTINCT user_id) AS converted_users,
       count(user_id) AS conversions,
       coalesce(sum(revenue), 0) AS revenue
FROM (
    SELECT account_id, campaign_key, goal_identifier, variation_name, user_id, revenue
    FROM conversions
    UNION ALL
    SELECT g.account_id, g.campaign_key, g.goal_identifier, v.variation_name, NULL, NULL
    FROM current_settings_goals g
    JOIN current_settings_variations v USING (account_id, campaign_key)
) r
GROUP BY account_id, campaign_key, goal_identifier, variation_name;

-- report_goal_conversions with the users of the variation (report_variation_users) and the
-- conversion rate, converted users / users, exact numeric; NULL for a variation without users.
CREATE VIEW report_conversion_rates AS
SELECT g.account_id, g.campaign_key, g.goal_identifier, g.variation_name,
       g.converted_users, g.conversions, g.revenue,
       coalesce(u.users, 0) AS users,
       g.converted_users::numeric / nullif(u.users, 0) AS conversion_rate
FROM report_goal_conversions g
LEFT JOIN report_variation_users u USING (account_id, campaign_key, variation_name);

-- The upper tail of the chi-square distribution, Q(df/2, x/2) with Q the regularized upper
-- incomplete gamma function, computed as in Numerical Recipes (6.2, gammq with gser and gcf):
-- the series for P when x < a + 1, Lentz's continued fraction for Q otherwise, and Lanczos'
-- ln Γ. Both converge in O(sqrt(a)) steps, fast for the degrees of freedom of any campaign.
-- PostgreSQL raises an error where C would underflow to 0, so exp() is never called below
-- e^-700: p-values under 1e-304 are returned as 0.
-- +goose StatementBegin
CREATE FUNCTION ln_gamma(x double precision) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    -- Lanczos' approximation with g = 7 and Godfrey's nine coefficients: ~1e-15 relative.
    cof constant double precision[] := ARRAY[
        0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
        -176.61502916214059, 12.507343278686905, -0.13857109526572012,
        9.9843695780195716e-6, 1.5056327351493116e-7];
    z   double precision := x - 1;
    ser double precision := cof[1];
    t   double precision;
BEGIN
    IF x <= 0 THEN
        RAISE EXCEPTION 'ln_gamma(%): the argument must be positive', x;
    END IF;
    IF x < 0.5 THEN
        -- Γ(x) = Γ(x + 1) / x keeps the approximation where it is accurate
        RETURN ln_gamma(x + 1) - ln(x);
    END IF;
    FOR i IN 1..8 LOOP
        ser := ser + cof[i + 1] / (z + i);
    END LOOP;
    t := z + 7.5;
    RETURN 0.5 * ln(2 * pi()) + (z + 0.5) * ln(t) - t + ln(ser);
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION regularized_gamma_q(a double precision, x double precision) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    eps      constant double precision := 1e-15;
    fpmin    constant double precision := 1e-300;
    max_iter constant integer := 100000;
    -- ln of the prefactor e^-x x^a / Γ(a) both branches share
    ln_pre double precision;
    pre    double precision;
    ap  double precision;
    del double precision;
    total double precision;
    an double precision;
    b  double precision;
    c  double precision;
    d  double precision;
    h  double precision;
BEGIN
    IF a <= 0 OR x < 0 THEN
        RAISE EXCEPTION 'regularized_gamma_q(%, %): a must be positive and x not negative', a, x;
    END IF;
    IF x = 0 THEN
        RETURN 1;
    END IF;
    ln_pre := a * ln(x) - x - ln_gamma(a);
    pre := CASE WHEN ln_pre < -700 THEN 0 ELSE exp(ln_pre) END;
    IF x < a + 1 THEN
        -- P(a, x) = e^-x x^a / Γ(a) · Σ x^n / (a (a+1) … (a+n)); Q = 1 - P
        ap := a;
        del := 1 / a;
        total := del;
        FOR n IN 1..max_iter LOOP
            ap := ap + 1;
            del := del * x / ap;
            total := total + del;
            IF abs(del) < abs(total) * eps THEN
                RETURN 1 - total * pre;
            END IF;
        END LOOP;
    ELSE
        -- Q(a, x) = e^-x x^a / Γ(a) · 1/(x+1-a- 1·(1-a)/(x+3-a- 2·(2-a)/(x+5-a- …)))
        b := x + 1 - a;
        c := 1 / fpmin;
        d := 1 / b;
        h := d;
        FOR i IN 1..max_iter LOOP
            an := -i * (i - a);
            b := b + 2;
            d := an * d + b;
            IF abs(d) < fpmin THEN d := fpmin; END IF;
            c := b + an / c;
            IF abs(c) < fpmin THEN c := fpmin; END IF;
            d := 1 / d;
            del := d * c;
            h := h * del;
            IF abs(del - 1) < eps THEN
                RETURN pre * h;
            END IF;
        END LOOP;
    END IF;
    RAISE EXCEPTION 'regularized_gamma_q(%, %) did not converge', a, x;
END
$$;
-- +goose StatementEnd

CREATE FUNCTION chi_square_p_value(chi_square double precision, degrees_of_freedom integer) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN regularized_gamma_q(degrees_of_freedom / 2.0, chi_square / 2.0);

-- The sample-ratio check: do the users of a campaign split as its current settings' weights
-- say? Pearson's chi-square over the variations with weight > 0, counting users whose variation
-- was decided by bucketing or set by an SDK (which buckets with the same weights). Left out:
-- whitelisted users (forced, not random) and variations no longer in the settings or at weight
-- 0 (they get no new users, so no expected count). Expected users of a variation = counted
-- users × weight / sum of weights; chi² = Σ (O - E)² / E, which with E = N·w/W is
-- W/N · Σ O²/w - N, summed in exact numeric. mismatch is p < 0.001: a split this far off
-- happens by chance once in a thousand healthy campaigns, and usually means users are lost or
-- duplicated on the way to one variation. Weights changed during a campaign make the check
-- compare old users with new weights: read a mismatch then with that in mind. chi_square and
-- p_value are NULL with fewer than two weighted variations or no counted users.
-- The arguments are a campaign's rows of report_variation_users, as arrays; the API calls it
-- on the rows it has just read, so it does not read the assignments twice.
-- +goose StatementBegin
CREATE FUNCTION sample_ratio(variation_users bigint[], variation_whitelisted_users bigint[], variation_weights numeric[])
RETURNS TABLE (variations integer, users bigint, chi_square double precision, degrees_of_freedom integer,
               p_value double precision, mismatch boolean)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT s.k, s.n, s.x, s.k - 1, p.p, coalesce(p.p < 0.001, false)
    FROM (
        SELECT count(*)::integer AS k,
               sum(v.u - v.wl)::bigint AS n,
               CASE WHEN count(*) > 1 AND sum(v.u - v.wl) > 0 THEN
                   greatest(0, sum(v.w) * sum((v.u - v.wl)::numeric * (v.u - v.wl) / v.w) / sum(v.u - v.wl)
                               - sum(v.u - v.wl))::double precision
               END AS x
        FROM unnest(variation_users, variation_whitelisted_users, variation_weights) AS v(u, wl, w)
        WHERE v.w > 0
        HAVING count(*) > 0
    ) s
    CROSS JOIN LATERAL (SELECT chi_square_p_value(s.x, s.k - 1) AS p) p;
END;
-- +goose StatementEnd

-- sample_ratio of every campaign that has a weighted variation in the current settings. It
-- reads users and whitelisted users from assignments_report_idx alone.
CREATE VIEW report_sample_ratio AS
SELECT v.account_id, v.campaign_key, s.variations, s.users, s.chi_square, s.degrees_of_freedom,
       s.p_value, s.mismatch
FROM (
    SELECT account_id, campaign_key,
           array_agg(users ORDER BY variation_name) AS users,
           array_agg(whitelisted_users ORDER BY variation_name) AS whitelisted_users,
           array_agg(weight ORDER BY variation_name) AS weights
    FROM report_variation_users
    GROUP BY account_id, campaign_key
) v
CROSS JOIN LATERAL sample_ratio(v.users, v.whitelisted_users, v.weights) s;

-- +goose Down
DROP VIEW report_sample_ratio;
DROP FUNCTION sample_ratio(bigint[], bigint[], numeric[]);
DROP FUNCTION chi_square_p_value(double precision, integer);
DROP FUNCTION regularized_gamma_q(double precision, double precision);
DROP FUNCTION ln_gamma(double precision);
DROP VIEW report_conversion_rates;
DROP VIEW report_goal_conversions;
DROP VIEW report_variation_users;
DROP VIEW current_settings_goals;
DROP VIEW current_settings_variations;
DROP INDEX conversions_report_idx;
DROP INDEX assignments_report_idx;
DROP TABLE settings_goals;
DROP TABLE settings_variations;
