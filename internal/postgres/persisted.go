package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/uss/uss/internal/uss"
)

const getPersistedValuesSQL = `
SELECT config_name, value FROM persisted_values
WHERE account_id = $1 AND unit_id = $2 AND persist_key = $3`

const savePersistedValueSQL = `
INSERT INTO persisted_values (account_id, unit_id, persist_key, config_name, value)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (account_id, unit_id, persist_key, config_name)
DO UPDATE SET value = excluded.value, updated_at = now()`

const deletePersistedValueSQL = `
DELETE FROM persisted_values
WHERE account_id = $1 AND unit_id = $2 AND persist_key = $3 AND config_name = $4`

// PersistedValues returns every config's value under key (empty when there is none).
func (s *Store) PersistedValues(ctx context.Context, account uss.AccountID, key string) (map[string]json.RawMessage, error) {
	rows, err := s.db.Query(ctx, getPersistedValuesSQL, account, uss.UnitID(key), key)
	if err != nil {
		return nil, mapError(fmt.Errorf("get persisted values: %w", err))
	}
	defer rows.Close()
	values := map[string]json.RawMessage{}
	for rows.Next() {
		var name string
		var value []byte
		if err := rows.Scan(&name, &value); err != nil {
			return nil, mapError(fmt.Errorf("get persisted values: %w", err))
		}
		values[name] = value
	}
	if err := rows.Err(); err != nil {
		return nil, mapError(fmt.Errorf("get persisted values: %w", err))
	}
	return values, nil
}

// SavePersistedValue upserts one config's value.
func (s *Store) SavePersistedValue(ctx context.Context, account uss.AccountID, v uss.PersistedValue) error {
	_, err := s.db.Exec(ctx, savePersistedValueSQL, account, uss.UnitID(v.Key), v.Key, v.ConfigName, v.Value)
	if err != nil {
		return s.writeError(fmt.Errorf("save persisted value: %w", err))
	}
	return nil
}

// DeletePersistedValue removes one config's value and returns how many rows went.
func (s *Store) DeletePersistedValue(ctx context.Context, account uss.AccountID, key, configName string) (int64, error) {
	tag, err := s.db.Exec(ctx, deletePersistedValueSQL, account, uss.UnitID(key), key, configName)
	if err != nil {
		return 0, s.writeError(fmt.Errorf("delete persisted value: %w", err))
	}
	return tag.RowsAffected(), nil
}
