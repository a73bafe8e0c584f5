package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/uss/uss/internal/history"
	"github.com/uss/uss/internal/transfer"
	"github.com/uss/uss/internal/uss"
)

const exportColumns = `user_id, campaign_key, variation_name, goals, source, exposures, created_at, updated_at`

const exportAccountSQL = `SELECT ` + exportColumns + ` FROM assignments WHERE account_id = $1`

const exportCampaignSQL = `SELECT ` + exportColumns + ` FROM assignments WHERE account_id = $1 AND campaign_key = $2`

// An import is copied into a staging table of its transaction, then upserted in one
// statement: the database checks and writes a million rows in bulk rather than one by one.
const createStagingSQL = `
CREATE TEMPORARY TABLE import_rows (
    line           bigint      NOT NULL,
    user_id        text        NOT NULL,
    campaign_key   text        NOT NULL,
    variation_name text        NOT NULL,
    goals          text[]      NOT NULL,
    source         text        NOT NULL,
    exposures      bigint      NOT NULL,
    created_at     timestamptz,
    updated_at     timestamptz
) ON COMMIT DROP`

var stagingColumns = []string{"line", "user_id", "campaign_key", "variation_name", "goals", "source", "exposures", "created_at", "updated_at"}

// upsertImportSQL writes the staged rows in key order (the order every multi-row writer locks
// rows in) with the goal-merge rule of a set. A row is only written when the import changes
// it, so importing the same file twice changes nothing the second time. A row created or given
// another variation is an event, with the request id $2 (previous_variation is NULL on a row
// the statement inserted).
var upsertImportSQL = `
WITH up AS (
    INSERT INTO assignments AS a (account_id, user_id, campaign_key, variation_name, goals, source, exposures, created_at, updated_at)
    SELECT $1, user_id, campaign_key, variation_name, goals, source, exposures,
           coalesce(created_at, now()), coalesce(updated_at, created_at, now())
    FROM import_rows
    ORDER BY user_id, campaign_key` + onConflictSQL[uss.SetUpsert] + `
    WHERE a.variation_name <> excluded.variation_name OR NOT (excluded.goals <@ a.goals)
    RETURNING user_id, campaign_key, variation_name, source, previous_variation
),
h AS (` + insertEventsSQL + `
    SELECT $1, user_id, campaign_key, ` + changeKindSQL("previous_variation", history.Overwritten) + `, previous_variation,
           variation_name, source, ` + settingsVersionSQL("$1") + `, ` + quoted(history.ReasonImport) + `, $2, NULL
    FROM up WHERE previous_variation IS DISTINCT FROM variation_name
)
SELECT count(*) FILTER (WHERE previous_variation IS NULL), count(*) FILTER (WHERE previous_variation IS NOT NULL) FROM up`

// firstRepeatSQL finds the first line that repeats the key of an earlier line.
const firstRepeatSQL = `
SELECT line, first FROM (
    SELECT line, min(line) OVER (PARTITION BY user_id, campaign_key) AS first FROM import_rows
) r WHERE line > first ORDER BY line LIMIT 1`

// ExportAssignments implements transfer.Store. pgx hands rows over as they arrive, so the
// export holds one row at a time.
func (s *Store) ExportAssignments(ctx context.Context, account uss.AccountID, campaignKey string, each func(transfer.Row) error) error {
	var rows pgx.Rows
	var err error
	if campaignKey == "" {
		rows, err = s.db.Query(ctx, exportAccountSQL, account)
	} else {
		rows, err = s.db.Query(ctx, exportCampaignSQL, account, campaignKey)
	}
	if err != nil {
		return mapError(fmt.Errorf("export assignments: %w", err))
	}
	defer rows.Close()
	var r transfer.Row
	for rows.Next() {
		r = transfer.Row{}
		if err := rows.Scan(&r.UserID, &r.CampaignKey, &r.VariationName, &r.Goals, &r.Source, &r.Exposures,
			&r.CreatedAt, &r.UpdatedAt); err != nil {
			return mapError(fmt.Errorf("export assignments: %w", err))
		}
		if err := each(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return mapError(fmt.Errorf("export assignments: %w", err))
	}
	return nil
}

// ImportAssignments implements transfer.Store: COPY into the staging table, then one upsert,
// in one transaction.
func (s *Store) ImportAssignments(ctx context.Context, account uss.AccountID, rows transfer.Rows) (transfer.Counts, error) {
	var c transfer.Counts
	err := s.withTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, createStagingSQL); err != nil {
			return mapError(fmt.Errorf("import: staging table: %w", err))
		}
		n, err := tx.CopyFrom(ctx, pgx.Identifier{"import_rows"}, stagingColumns, copySource{rows})
		if rowsErr := rows.Err(); rowsErr != nil {
			return rowsErr
		}
		if err != nil {
			return mapError(fmt.Errorf("import: copy: %w", err))
		}
		c.Lines = n
		// The upsert runs in a savepoint so that, should the file repeat a key, the
		// transaction is still usable to find which line.
		sp, err := tx.Begin(ctx)
		if err != nil {
			return mapError(fmt.Errorf("import: savepoint: %w", err))
		}
		err = sp.QueryRow(ctx, upsertImportSQL, account, requestID(ctx)).Scan(&c.Created, &c.Updated)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == pgerrcode.CardinalityViolation { // a key twice
			_ = sp.Rollback(ctx)
			var line, first int64
			if err := tx.QueryRow(ctx, firstRepeatSQL).Scan(&line, &first); err != nil {
				return mapError(fmt.Errorf("import: find repeated key: %w", err))
			}
			return &transfer.LineError{Line: line, Reason: fmt.Sprintf("repeats the userId and campaignKey of line %d", first)}
		}
		if err != nil {
			return mapError(fmt.Errorf("import: upsert: %w", err))
		}
		if err := sp.Commit(ctx); err != nil {
			return mapError(fmt.Errorf("import: release savepoint: %w", err))
		}
		c.Unchanged = c.Lines - c.Created - c.Updated
		return nil
	})
	if err != nil {
		return transfer.Counts{}, err
	}
	return c, nil
}

// copySource feeds COPY from the parsed lines.
type copySource struct{ rows transfer.Rows }

func (c copySource) Next() bool { return c.rows.Next() }
func (c copySource) Err() error { return c.rows.Err() }

func (c copySource) Values() ([]any, error) {
	r := c.rows.Row()
	goals := r.Goals
	if goals == nil {
		goals = []string{}
	}
	return []any{c.rows.Line(), r.UserID, r.CampaignKey, r.VariationName, goals, string(r.Source), r.Exposures,
		optionalTime(r.CreatedAt), optionalTime(r.UpdatedAt)}, nil
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
