package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/uss/uss/internal/retention"
)

// tryRetentionLockSQL takes the retention lock for the transaction, if no other session holds
// it. A transaction-scoped lock is held by an open transaction, which PgBouncer in transaction
// mode keeps on one server connection (a session lock would not survive it).
const tryRetentionLockSQL = `SELECT pg_try_advisory_xact_lock(hashtextextended('uss.retention', 0))`

const removedCampaignsSQL = `
SELECT r.account_id, coalesce(a.name, ''), r.campaign_key, r.removed_at
FROM removed_campaigns r LEFT JOIN accounts a USING (account_id)
WHERE r.removed_at <= $1
ORDER BY r.account_id, r.campaign_key`

// purgeSQL deletes one batch of a campaign's rows from a table whose primary key is
// (account_id, user_id, campaign_key[, id]). The batch is picked without order (cheaply, from
// an index on the campaign), then its rows are locked in key order, the order of every
// multi-row writer, before they are deleted. The removed_campaigns row is locked to share, so
// an upload that brings the campaign back waits for the batch, and the next batch, which no
// longer finds the row, deletes nothing.
func purgeSQL(table, id string) string {
	key, on := "user_id", "t.user_id = l.user_id"
	if id != "" {
		key, on = "user_id, "+id, on+" AND t."+id+" = l."+id
	}
	return `
WITH still AS (
    SELECT 1 FROM removed_campaigns
    WHERE account_id = $1 AND campaign_key = $2 AND removed_at <= $3
    FOR SHARE
),
batch AS (
    SELECT ` + key + ` FROM ` + table + `
    WHERE account_id = $1 AND campaign_key = $2 AND EXISTS (SELECT 1 FROM still)
    LIMIT $4
),
locked AS (
    SELECT ` + key + ` FROM ` + table + `
    WHERE account_id = $1 AND campaign_key = $2 AND (` + key + `) IN (SELECT ` + key + ` FROM batch)
    ORDER BY ` + key + `
    FOR UPDATE
)
DELETE FROM ` + table + ` t USING locked l
WHERE t.account_id = $1 AND t.campaign_key = $2 AND ` + on
}

var purgeSQLs = map[retention.Table]string{
	retention.Assignments: purgeSQL("assignments", ""),
	retention.Conversions: purgeSQL("conversions", "conversion_id"),
	retention.History:     purgeSQL("assignment_history", "event_id"),
}

const countCampaignSQL = `
SELECT (SELECT count(*) FROM assignments WHERE account_id = $1 AND campaign_key = $2),
       (SELECT count(*) FROM conversions WHERE account_id = $1 AND campaign_key = $2),
       (SELECT count(*) FROM assignment_history WHERE account_id = $1 AND campaign_key = $2)`

// WithRetentionLock implements retention.Store. fn's statements run on the pool, each in its
// own short transaction; the lock's transaction only holds the lock (it has no snapshot and no
// transaction id, so it holds back no vacuum).
func (s *Store) WithRetentionLock(ctx context.Context, fn func(context.Context) error) (bool, error) {
	var got bool
	err := s.withTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, tryRetentionLockSQL).Scan(&got); err != nil {
			return mapError(fmt.Errorf("retention lock: %w", err))
		}
		if !got {
			return nil
		}
		return fn(ctx)
	})
	return got, err
}

// RemovedCampaigns implements retention.Store.
func (s *Store) RemovedCampaigns(ctx context.Context, before time.Time) ([]retention.RemovedCampaign, error) {
	rows, err := s.db.Query(ctx, removedCampaignsSQL, before)
	if err != nil {
		return nil, mapError(fmt.Errorf("removed campaigns: %w", err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (retention.RemovedCampaign, error) {
		var c retention.RemovedCampaign
		err := r.Scan(&c.Account, &c.AccountName, &c.CampaignKey, &c.RemovedAt)
		return c, err
	})
	if err != nil {
		return nil, mapError(fmt.Errorf("removed campaigns: %w", err))
	}
	return out, nil
}

// PurgeCampaign implements retention.Store.
func (s *Store) PurgeCampaign(ctx context.Context, table retention.Table, c retention.RemovedCampaign, before time.Time, limit int) (int64, error) {
	q, ok := purgeSQLs[table]
	if !ok {
		return 0, fmt.Errorf("purge campaign: no table %q", table)
	}
	tag, err := s.db.Exec(ctx, q, c.Account, c.CampaignKey, before, limit)
	if err != nil {
		return 0, mapError(fmt.Errorf("purge %s: %w", table, err))
	}
	return tag.RowsAffected(), nil
}

// CountCampaign implements retention.Store.
func (s *Store) CountCampaign(ctx context.Context, c retention.RemovedCampaign) (map[retention.Table]int64, error) {
	var a, conv, h int64
	if err := s.db.QueryRow(ctx, countCampaignSQL, c.Account, c.CampaignKey).Scan(&a, &conv, &h); err != nil {
		return nil, mapError(fmt.Errorf("count campaign: %w", err))
	}
	return map[retention.Table]int64{retention.Assignments: a, retention.Conversions: conv, retention.History: h}, nil
}
