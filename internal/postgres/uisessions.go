package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/uss/uss/internal/uisession"
	"github.com/uss/uss/internal/uss"
)

const createUISessionSQL = `
INSERT INTO ui_sessions (token_hash, key_id, account_id, expires_at) VALUES ($1, $2, $3, $4)`

// A session is live while it has not expired and its key is not revoked.
const uiSessionSQL = `
SELECT s.account_id, a.name
FROM ui_sessions s
JOIN api_keys k USING (key_id)
JOIN accounts a ON a.account_id = s.account_id
WHERE s.token_hash = $1 AND s.expires_at > now() AND k.revoked_at IS NULL`

const deleteUISessionSQL = `DELETE FROM ui_sessions WHERE token_hash = $1`

const deleteExpiredUISessionsSQL = `DELETE FROM ui_sessions WHERE expires_at <= now()`

// CreateUISession implements uisession.Store.
func (s *Store) CreateUISession(ctx context.Context, tokenHash []byte, keyID string, account uss.AccountID, expires time.Time) error {
	if _, err := s.pool.Exec(ctx, createUISessionSQL, tokenHash, keyID, account, expires); err != nil {
		return mapError(fmt.Errorf("create ui session: %w", err))
	}
	return nil
}

// UISession implements uisession.Store.
func (s *Store) UISession(ctx context.Context, tokenHash []byte) (uisession.Account, error) {
	var a uisession.Account
	err := s.pool.QueryRow(ctx, uiSessionSQL, tokenHash).Scan(&a.ID, &a.Name)
	if errors.Is(err, pgx.ErrNoRows) {
		return uisession.Account{}, uss.ErrNotFound
	}
	if err != nil {
		return uisession.Account{}, mapError(fmt.Errorf("ui session: %w", err))
	}
	return a, nil
}

// DeleteUISession implements uisession.Store.
func (s *Store) DeleteUISession(ctx context.Context, tokenHash []byte) error {
	if _, err := s.pool.Exec(ctx, deleteUISessionSQL, tokenHash); err != nil {
		return mapError(fmt.Errorf("delete ui session: %w", err))
	}
	return nil
}

// DeleteExpiredUISessions implements uisession.Store.
func (s *Store) DeleteExpiredUISessions(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, deleteExpiredUISessionsSQL); err != nil {
		return mapError(fmt.Errorf("delete expired ui sessions: %w", err))
	}
	return nil
}
