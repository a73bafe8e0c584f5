package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/uss/uss/internal/settings"
	"github.com/uss/uss/internal/uss"
)

// SettingsChannel is the NOTIFY channel of settings changes; the payload is
// "<account_id>:<version>".
const SettingsChannel = "uss_settings"

// The transaction-scoped advisory lock serializes uploads of one account, so versions are
// consecutive without a retry loop; pg_notify is delivered at commit.
const lockSettingsSQL = `SELECT pg_advisory_xact_lock(hashtextextended('uss.settings', $1))`

const insertSettingsSQL = `
INSERT INTO settings (account_id, version, body, campaigns)
SELECT $1, coalesce(max(version), 0) + 1, $2, $3 FROM settings WHERE account_id = $1
RETURNING version, created_at`

// The rows SQL reports join (migration 00006), derived from the parsed file. Weights travel as
// decimal text so that numeric holds what the file said (33.3333, not a binary fraction).
const insertSettingsVariationsSQL = `
INSERT INTO settings_variations (account_id, version, campaign_key, variation_name, weight)
SELECT $1, $2, r.campaign_key, r.variation_name, r.weight::numeric
FROM unnest($3::text[], $4::text[], $5::text[]) AS r(campaign_key, variation_name, weight)`

const insertSettingsGoalsSQL = `
INSERT INTO settings_goals (account_id, version, campaign_key, goal_identifier, goal_type)
SELECT $1, $2, r.campaign_key, r.goal_identifier, r.goal_type
FROM unnest($3::text[], $4::text[], $5::text[]) AS r(campaign_key, goal_identifier, goal_type)`

// trackRemovedCampaignsSQL records, for the retention task, the campaigns of the previous
// version that version $2 leaves out, and forgets the removal of those it brings back. It runs
// before older versions are pruned, while the previous one is still there.
const trackRemovedCampaignsSQL = `
WITH current AS (
    SELECT DISTINCT campaign_key FROM settings_variations WHERE account_id = $1 AND version = $2
),
back AS (
    DELETE FROM removed_campaigns
    WHERE account_id = $1 AND campaign_key IN (SELECT campaign_key FROM current)
)
INSERT INTO removed_campaigns (account_id, campaign_key, version, removed_at)
SELECT DISTINCT $1::bigint, p.campaign_key, $2::bigint, now()
FROM settings_variations p
WHERE p.account_id = $1 AND p.version = $2 - 1
  AND p.campaign_key NOT IN (SELECT campaign_key FROM current)
ON CONFLICT DO NOTHING`

// Older versions beyond the newest $2 go, and with them (ON DELETE CASCADE) their
// settings_variations and settings_goals rows. Versions are consecutive, so the current one,
// which the reports read, is never among them.
const pruneSettingsSQL = `DELETE FROM settings WHERE account_id = $1 AND version <= $2::bigint - $3::bigint`

const notifySettingsSQL = `SELECT pg_notify('` + SettingsChannel + `', format('%s:%s', $1::bigint, $2::bigint))`

const currentSettingsSQL = `
SELECT account_id, version, body, created_at FROM settings
WHERE account_id = $1 ORDER BY version DESC LIMIT 1`

const allCurrentSettingsSQL = `
SELECT DISTINCT ON (account_id) account_id, version, body, created_at FROM settings
ORDER BY account_id, version DESC`

const currentSettingsVersionsSQL = `SELECT account_id, max(version) FROM settings GROUP BY account_id`

// SaveSettings stores a validated file as the account's next version, with its variations'
// weights and its goals, removes the versions beyond the newest keep (0 keeps all), and
// notifies every listening process, all in one transaction.
func (s *Store) SaveSettings(ctx context.Context, account uss.AccountID, body []byte, contents settings.Contents, keep int) (settings.Stored, error) {
	stored := settings.Stored{Account: account, Body: body}
	err := s.withTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockSettingsSQL, int64(account)); err != nil {
			return mapError(fmt.Errorf("lock settings: %w", err))
		}
		if err := tx.QueryRow(ctx, insertSettingsSQL, account, body, contents.Campaigns).Scan(&stored.Version, &stored.CreatedAt); err != nil {
			return mapError(fmt.Errorf("save settings: %w", err))
		}
		if err := saveContents(ctx, tx, account, stored.Version, contents); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, trackRemovedCampaignsSQL, account, stored.Version); err != nil {
			return mapError(fmt.Errorf("track removed campaigns: %w", err))
		}
		if keep > 0 {
			if _, err := tx.Exec(ctx, pruneSettingsSQL, account, stored.Version, keep); err != nil {
				return mapError(fmt.Errorf("prune settings: %w", err))
			}
		}
		if _, err := tx.Exec(ctx, notifySettingsSQL, int64(account), stored.Version); err != nil {
			return mapError(fmt.Errorf("notify settings: %w", err))
		}
		return nil
	})
	return stored, err
}

func saveContents(ctx context.Context, tx pgx.Tx, account uss.AccountID, version int64, c settings.Contents) error {
	n := len(c.Variations)
	campaigns, names, weights := make([]string, n), make([]string, n), make([]string, n)
	for i, v := range c.Variations {
		campaigns[i], names[i] = v.CampaignKey, v.Variation
		weights[i] = strconv.FormatFloat(v.Weight, 'f', -1, 64)
	}
	if _, err := tx.Exec(ctx, insertSettingsVariationsSQL, account, version, campaigns, names, weights); err != nil {
		return mapError(fmt.Errorf("save settings variations: %w", err))
	}
	n = len(c.Goals)
	campaigns, names, types := make([]string, n), make([]string, n), make([]string, n)
	for i, g := range c.Goals {
		campaigns[i], names[i], types[i] = g.CampaignKey, g.Identifier, string(g.Type)
	}
	if _, err := tx.Exec(ctx, insertSettingsGoalsSQL, account, version, campaigns, names, types); err != nil {
		return mapError(fmt.Errorf("save settings goals: %w", err))
	}
	return nil
}

func scanSettings(row pgx.Row) (settings.Stored, error) {
	var st settings.Stored
	err := row.Scan(&st.Account, &st.Version, &st.Body, &st.CreatedAt)
	return st, err
}

// CurrentSettings returns the account's newest file, or uss.ErrNotFound.
func (s *Store) CurrentSettings(ctx context.Context, account uss.AccountID) (settings.Stored, error) {
	st, err := scanSettings(s.db.QueryRow(ctx, currentSettingsSQL, account))
	if err != nil {
		return settings.Stored{}, mapError(fmt.Errorf("current settings: %w", err))
	}
	return st, nil
}

// EachCurrentSettings calls each with every account's newest file in turn, as the rows
// arrive: only one file is in memory at a time, however many accounts there are.
func (s *Store) EachCurrentSettings(ctx context.Context, each func(settings.Stored)) error {
	rows, err := s.db.Query(ctx, allCurrentSettingsSQL)
	if err != nil {
		return mapError(fmt.Errorf("all current settings: %w", err))
	}
	var st settings.Stored
	_, err = pgx.ForEachRow(rows, []any{&st.Account, &st.Version, &st.Body, &st.CreatedAt}, func() error {
		each(st)
		st = settings.Stored{}
		return nil
	})
	if err != nil {
		return mapError(fmt.Errorf("all current settings: %w", err))
	}
	return nil
}

// CurrentSettingsVersions returns every account's newest version number: the cheap poll that
// backs up notifications.
func (s *Store) CurrentSettingsVersions(ctx context.Context) (map[uss.AccountID]int64, error) {
	rows, err := s.db.Query(ctx, currentSettingsVersionsSQL)
	if err != nil {
		return nil, mapError(fmt.Errorf("settings versions: %w", err))
	}
	defer rows.Close()
	versions := map[uss.AccountID]int64{}
	for rows.Next() {
		var account uss.AccountID
		var version int64
		if err := rows.Scan(&account, &version); err != nil {
			return nil, mapError(fmt.Errorf("settings versions: %w", err))
		}
		versions[account] = version
	}
	if err := rows.Err(); err != nil {
		return nil, mapError(fmt.Errorf("settings versions: %w", err))
	}
	return versions, nil
}

// Listen delivers settings notifications on a dedicated connection until ctx is done. After
// each (re)connection it calls connected, so the caller can catch up on what it missed while
// disconnected; each lost connection is reported to lost and retried with backoff. A probe
// notification sent through the pool after each connection tells whether notifications arrive
// at all (through a transaction-pooling PgBouncer LISTEN succeeds and nothing ever comes):
// probed gets nil when it arrived, an error when it did not.
func (s *Store) Listen(ctx context.Context, changed func(uss.AccountID, int64), connected func(), lost, probed func(error)) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, changed, connected, probed, func() { backoff = 100 * time.Millisecond })
		if ctx.Err() != nil {
			return
		}
		lost(err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// probeTimeout is how long a probe notification may take to come back before the listener is
// declared deaf; a delivered notification takes milliseconds.
const probeTimeout = 5 * time.Second

const notifyProbeSQL = `SELECT pg_notify('` + SettingsChannel + `', $1)`

func (s *Store) listenOnce(ctx context.Context, changed func(uss.AccountID, int64), connected func(), probed func(error), reset func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.session.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+SettingsChannel); err != nil {
		return err
	}
	reset()
	connected()
	probe := fmt.Sprintf("probe:%d:%d", conn.PgConn().PID(), time.Now().UnixNano())
	probing := true
	if _, err := s.pool.Exec(ctx, notifyProbeSQL, probe); err != nil {
		probing = false // the query path is down: nothing to learn until it is back
	}
	probeDeadline := time.Now().Add(probeTimeout)
	for {
		waitCtx, cancel := ctx, context.CancelFunc(func() {})
		if probing {
			waitCtx, cancel = context.WithDeadline(ctx, probeDeadline)
		}
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		if err != nil && probing && ctx.Err() == nil && time.Now().After(probeDeadline) {
			probing = false
			probed(fmt.Errorf("a probe notification sent through the query connection did not arrive within %s", probeTimeout))
			continue
		}
		if err != nil {
			return err
		}
		if n.Payload == probe {
			probing = false
			probed(nil)
			continue
		}
		// Only uss sends on this channel; a payload it cannot read (another process's probe) is
		// skipped, and the poll catches up on whatever it meant.
		if account, version, err := parseSettingsPayload(n.Payload); err == nil {
			changed(account, version)
		}
	}
}

func parseSettingsPayload(p string) (uss.AccountID, int64, error) {
	a, v, ok := strings.Cut(p, ":")
	if !ok {
		return 0, 0, errors.New("no colon")
	}
	account, err := strconv.ParseInt(a, 10, 64)
	if err != nil {
		return 0, 0, err
	}
	version, err := strconv.ParseInt(v, 10, 64)
	return uss.AccountID(account), version, err
}
