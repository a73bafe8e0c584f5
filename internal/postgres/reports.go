package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/uss/uss/internal/reports"
	"github.com/uss/uss/internal/uss"
)

// A report reads the views of migration 00006, so the API shows what a SQL session sees. It
// reads each table once: the sample-ratio check is sample_ratio() applied to the variations
// just read, which is what the report_sample_ratio view does over the same rows.
const reportVariationsSQL = `
SELECT variation_name, users, whitelisted_users, exposures, weight
FROM report_variation_users
WHERE account_id = $1 AND campaign_key = $2
ORDER BY variation_name`

const reportGoalsSQL = `
SELECT goal_identifier, variation_name, converted_users, conversions, revenue::text
FROM report_goal_conversions
WHERE account_id = $1 AND campaign_key = $2
ORDER BY goal_identifier, variation_name`

const reportSampleRatioSQL = `
SELECT variations, users, chi_square, degrees_of_freedom, p_value, mismatch
FROM sample_ratio($1::bigint[], $2::bigint[], $3::numeric[])`

// readOnlySnapshot makes every query of a report see one snapshot, so its sections agree
// under concurrent writes.
var readOnlySnapshot = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}

// CampaignReport implements reports.Store.
func (s *Store) CampaignReport(ctx context.Context, account uss.AccountID, campaignKey string) (reports.Campaign, error) {
	r := reports.Campaign{CampaignKey: campaignKey, Variations: []reports.Variation{}, Goals: []reports.Goal{}}
	// The weights as stored, exact, to hand back to sample_ratio.
	var weights []pgtype.Numeric
	err := s.withTx(ctx, readOnlySnapshot, func(tx pgx.Tx) error {
		var b pgx.Batch
		b.Queue(reportVariationsSQL, account, campaignKey).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var v reports.Variation
				var w pgtype.Numeric
				if err := rows.Scan(&v.Name, &v.Users, &v.WhitelistedUsers, &v.Exposures, &w); err != nil {
					return err
				}
				if w.Valid {
					f, err := w.Float64Value()
					if err != nil {
						return err
					}
					v.Weight = &f.Float64
				}
				r.Variations = append(r.Variations, v)
				weights = append(weights, w)
			}
			return rows.Err()
		})
		b.Queue(reportGoalsSQL, account, campaignKey).Query(func(rows pgx.Rows) error {
			var err error
			r.Goals, err = pgx.AppendRows(r.Goals, rows, func(row pgx.CollectableRow) (reports.Goal, error) {
				var g reports.Goal
				err := row.Scan(&g.Identifier, &g.Variation, &g.ConvertedUsers, &g.Conversions, &g.Revenue)
				return g, err
			})
			return err
		})
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return mapError(fmt.Errorf("campaign report: %w", err))
		}

		users := make([]int64, len(r.Variations))
		whitelisted := make([]int64, len(r.Variations))
		for i, v := range r.Variations {
			users[i], whitelisted[i] = v.Users, v.WhitelistedUsers
		}
		var sr reports.SampleRatio
		err := tx.QueryRow(ctx, reportSampleRatioSQL, users, whitelisted, weights).
			Scan(&sr.Variations, &sr.Users, &sr.ChiSquare, &sr.DegreesOfFreedom, &sr.PValue, &sr.Mismatch)
		switch {
		case errors.Is(err, pgx.ErrNoRows): // no weighted variation in the current settings
		case err != nil:
			return mapError(fmt.Errorf("sample ratio: %w", err))
		default:
			r.SampleRatio = &sr
		}
		return nil
	})
	if err != nil {
		return reports.Campaign{}, err
	}
	return r, nil
}

// Every campaign of the account with a row in report_variation_users (assignments or the
// current settings' variations) or in conversions, with its users and the sample-ratio
// verdict of report_sample_ratio.
const campaignSummariesSQL = `
WITH users AS (
    SELECT campaign_key, sum(users)::bigint AS users
    FROM report_variation_users
    WHERE account_id = $1
    GROUP BY campaign_key
), campaigns AS (
    SELECT campaign_key FROM users
    UNION
    SELECT DISTINCT campaign_key FROM conversions WHERE account_id = $1
)
SELECT c.campaign_key, coalesce(u.users, 0), coalesce(s.mismatch, false)
FROM campaigns c
LEFT JOIN users u USING (campaign_key)
LEFT JOIN report_sample_ratio s ON s.account_id = $1 AND s.campaign_key = c.campaign_key
ORDER BY c.campaign_key`

// CampaignSummaries implements reports.Store.
func (s *Store) CampaignSummaries(ctx context.Context, account uss.AccountID) ([]reports.Summary, error) {
	rows, err := s.pool.Query(ctx, campaignSummariesSQL, account)
	if err != nil {
		return nil, mapError(fmt.Errorf("campaign summaries: %w", err))
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (reports.Summary, error) {
		var sm reports.Summary
		err := row.Scan(&sm.CampaignKey, &sm.Users, &sm.Mismatch)
		return sm, err
	})
	if err != nil {
		return nil, mapError(fmt.Errorf("campaign summaries: %w", err))
	}
	return list, nil
}

// campaignReportSQLText is what a person runs in a SQL session to get a campaign's counts,
// rates and sample-ratio check: the views the report reads, filtered as the report filters.
const campaignReportSQLText = `-- users, exposures and configured weight per variation
SELECT variation_name, users, whitelisted_users, exposures, weight
FROM report_variation_users
WHERE account_id = (SELECT account_id FROM accounts WHERE name = %[1]s)
  AND campaign_key = %[2]s
ORDER BY variation_name;

-- converted users, conversions, revenue and conversion rate per goal and variation
SELECT goal_identifier, variation_name, users, converted_users, conversions, revenue, conversion_rate
FROM report_conversion_rates
WHERE account_id = (SELECT account_id FROM accounts WHERE name = %[1]s)
  AND campaign_key = %[2]s
ORDER BY goal_identifier, variation_name;

-- the sample-ratio check
SELECT variations, users, chi_square, degrees_of_freedom, p_value, mismatch
FROM report_sample_ratio
WHERE account_id = (SELECT account_id FROM accounts WHERE name = %[1]s)
  AND campaign_key = %[2]s;
`

// CampaignReportSQL implements reports.Store.
func (s *Store) CampaignReportSQL(accountName, campaignKey string) string {
	return fmt.Sprintf(campaignReportSQLText, quoteLiteral(accountName), quoteLiteral(campaignKey))
}

// quoteLiteral makes s a SQL string literal. Identifiers hold no NUL, and with
// standard_conforming_strings (on since PostgreSQL 9.1) a backslash is an ordinary character,
// so doubling the quotes is all it takes.
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
