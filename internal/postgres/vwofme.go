package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/uss/uss/internal/uss"
	"github.com/uss/uss/internal/vwofme"
)

const getVWOFMERecordSQL = `
SELECT record FROM vwo_fme_records
WHERE account_id = $1 AND user_id = $2 AND feature_key = $3`

const saveVWOFMERecordSQL = `
INSERT INTO vwo_fme_records (account_id, user_id, feature_key, record)
VALUES ($1, $2, $3, $4)
ON CONFLICT (account_id, user_id, feature_key)
DO UPDATE SET record = excluded.record, updated_at = now()
RETURNING record`

// VWOFMERecord reads one FME record.
func (s *Store) VWOFMERecord(ctx context.Context, account uss.AccountID, key vwofme.Key) (json.RawMessage, error) {
	var record []byte
	if err := s.db.QueryRow(ctx, getVWOFMERecordSQL, account, key.UserID, key.FeatureKey).Scan(&record); err != nil {
		return nil, mapError(fmt.Errorf("get vwo fme record: %w", err))
	}
	return compact(record)
}

// compact drops the spaces PostgreSQL writes in jsonb's text after colons and commas.
func compact(record []byte) (json.RawMessage, error) {
	var b bytes.Buffer
	if err := json.Compact(&b, record); err != nil {
		return nil, fmt.Errorf("vwo fme record: %w", err)
	}
	return b.Bytes(), nil
}

// SaveVWOFMERecord replaces one FME record and returns it as stored.
func (s *Store) SaveVWOFMERecord(ctx context.Context, account uss.AccountID, r vwofme.Record) (json.RawMessage, error) {
	var record []byte
	// r.Object goes as json.RawMessage, which pgx sends as json in every query mode; a []byte
	// is sent as bytea when pgx does not describe the statement first (default_query_exec_mode=exec,
	// as behind PgBouncer), and PostgreSQL refuses it as jsonb.
	err := s.db.QueryRow(ctx, saveVWOFMERecordSQL, account, r.UserID, r.FeatureKey, r.Object).Scan(&record)
	if err != nil {
		return nil, s.writeError(fmt.Errorf("save vwo fme record: %w", err))
	}
	return compact(record)
}
