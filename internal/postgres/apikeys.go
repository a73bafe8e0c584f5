package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/uss/uss/internal/apikey"
	"github.com/uss/uss/internal/uss"
)

// The no-op update makes RETURNING yield the id of an account that already exists.
const ensureAccountSQL = `
INSERT INTO accounts (name) VALUES ($1)
ON CONFLICT (name) DO UPDATE SET name = excluded.name
RETURNING account_id`

const createKeySQL = `INSERT INTO api_keys (key_id, account_id, key_hash) VALUES ($1, $2, $3)`

const keyColumns = `k.key_id, k.account_id, a.name, k.key_hash, k.created_at, k.revoked_at`

const lookupKeySQL = `
SELECT ` + keyColumns + `
FROM api_keys k JOIN accounts a USING (account_id)
WHERE k.key_id = $1`

const listKeysSQL = `
SELECT ` + keyColumns + `
FROM api_keys k JOIN accounts a USING (account_id)
WHERE $1 = '' OR a.name = $1
ORDER BY a.name, k.created_at`

const revokeKeySQL = `UPDATE api_keys SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL`

// EnsureAccount returns the named account's id, creating the account if needed.
func (s *Store) EnsureAccount(ctx context.Context, name string) (uss.AccountID, error) {
	var id uss.AccountID
	if err := s.db.QueryRow(ctx, ensureAccountSQL, name).Scan(&id); err != nil {
		return 0, mapError(fmt.Errorf("ensure account: %w", err))
	}
	return id, nil
}

// CreateKey stores a key's hash.
func (s *Store) CreateKey(ctx context.Context, account uss.AccountID, id string, hash []byte) error {
	if _, err := s.db.Exec(ctx, createKeySQL, id, account, hash); err != nil {
		return mapError(fmt.Errorf("create api key: %w", err))
	}
	return nil
}

func scanKey(row pgx.Row) (apikey.StoredKey, error) {
	var k apikey.StoredKey
	err := row.Scan(&k.ID, &k.Account, &k.AccountName, &k.Hash, &k.CreatedAt, &k.RevokedAt)
	return k, err
}

// LookupKey returns the key with that id.
func (s *Store) LookupKey(ctx context.Context, id string) (apikey.StoredKey, error) {
	k, err := scanKey(s.db.QueryRow(ctx, lookupKeySQL, id))
	if err != nil {
		return apikey.StoredKey{}, mapError(fmt.Errorf("look up api key: %w", err))
	}
	return k, nil
}

// ListKeys lists keys of the named account, or of every account when the name is empty.
func (s *Store) ListKeys(ctx context.Context, accountName string) ([]apikey.StoredKey, error) {
	rows, err := s.db.Query(ctx, listKeysSQL, accountName)
	if err != nil {
		return nil, mapError(fmt.Errorf("list api keys: %w", err))
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (apikey.StoredKey, error) { return scanKey(r) })
	if err != nil {
		return nil, mapError(fmt.Errorf("list api keys: %w", err))
	}
	return keys, nil
}

// RevokeKey marks an active key revoked.
func (s *Store) RevokeKey(ctx context.Context, id string) error {
	tag, err := s.db.Exec(ctx, revokeKeySQL, id)
	if err != nil {
		return mapError(fmt.Errorf("revoke api key: %w", err))
	}
	if tag.RowsAffected() == 0 {
		return uss.ErrNotFound
	}
	return nil
}
