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

-- +goose Down
DROP FUNCTION chi_square_p_value(double precision, integer);
DROP FUNCTION regularized_gamma_q(double precision, double precision);
DROP FUNCTION ln_gamma(double precision);
DROP TABLE settings_goals;
DROP TABLE settings_variations;
