package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/uss/uss/internal/history"
	"github.com/uss/uss/internal/uss"
)

// The statements that change assignments write their events themselves (migration 00031):
// each is the statement's own data-modifying CTE over the rows its write returned, so an event
// commits exactly when its change does. insertEventsSQL starts that CTE; the SELECT that
// follows it gives historyColumns in order.
const insertEventsSQL = `
    INSERT INTO assignment_history (account_id, user_id, campaign_key, kind, old_variation, new_variation,
                                    source, settings_version, reason_code, request_id, merged_from)`

// settingsVersionSQL is the account's newest settings version as the change is written.
func settingsVersionSQL(account string) string {
	return `(SELECT max(s.version) FROM settings s WHERE s.account_id = ` + account + `)`
}

// changeKindSQL names the change a write made from the variation it found (prev, NULL when
// it inserted the row) to the one it left: created, or the given kind.
func changeKindSQL(prev string, kind history.Kind) string {
	return `CASE WHEN ` + prev + ` IS NULL THEN '` + string(history.Created) + `' ELSE '` + string(kind) + `' END`
}

// quoted is a reason code or kind as an SQL literal (they are fixed words, never input).
func quoted[T ~string](v T) string { return "'" + string(v) + "'" }

const historySQL = `
SELECT event_id, kind, old_variation, new_variation, source, reason_code, settings_version,
       request_id, merged_from, occurred_at
FROM assignment_history
WHERE account_id = $1 AND campaign_key = $3 AND user_id = $2 AND ($4 = 0 OR event_id < $4)
ORDER BY event_id DESC
LIMIT $5`

// History implements history.Store.
func (s *Store) History(ctx context.Context, account uss.AccountID, key uss.AssignmentKey, before int64, limit int) ([]history.Event, error) {
	rows, err := s.db.Query(ctx, historySQL, account, key.UserID, key.CampaignKey, before, limit)
	if err != nil {
		return nil, mapError(fmt.Errorf("history: %w", err))
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (history.Event, error) {
		var e history.Event
		err := r.Scan(&e.ID, &e.Kind, &e.OldVariation, &e.NewVariation, &e.Source, &e.ReasonCode,
			&e.SettingsVersion, &e.RequestID, &e.MergedFrom, &e.OccurredAt)
		return e, err
	})
	if err != nil {
		return nil, mapError(fmt.Errorf("history: %w", err))
	}
	return events, nil
}

// requestID is the API request id ctx carries, NULL (nil) when there is none.
func requestID(ctx context.Context) *string {
	if id := uss.RequestID(ctx); id != "" {
		return &id
	}
	return nil
}
