package postgres

import (
	"context"
	"fmt"

	"github.com/uss/uss/internal/optimizely"
	"github.com/uss/uss/internal/uss"
)

const getUserProfileSQL = `
SELECT experiment_id, variation_id FROM optimizely_decisions
WHERE account_id = $1 AND user_id = $2`

// saveUserProfileSQL: see entries.go.
const saveUserProfileSQL = `
WITH saved AS (
    INSERT INTO optimizely_decisions AS d (account_id, user_id, experiment_id, variation_id)
    SELECT $1, $2, e.k, e.v
    FROM unnest($3::text[], $4::text[]) AS e(k, v)
    ORDER BY e.k
    ON CONFLICT (account_id, user_id, experiment_id)
    DO UPDATE SET variation_id = excluded.variation_id, updated_at = now()
    WHERE d.variation_id <> excluded.variation_id
    RETURNING experiment_id, variation_id
)
SELECT experiment_id, variation_id FROM saved
UNION ALL
SELECT experiment_id, variation_id FROM optimizely_decisions
WHERE account_id = $1 AND user_id = $2
  AND experiment_id NOT IN (SELECT experiment_id FROM saved)`

// UserProfile reads a user's decisions (none when the user has no profile).
func (s *Store) UserProfile(ctx context.Context, account uss.AccountID, userID string) (optimizely.Profile, error) {
	decisions, err := s.queryEntries(ctx, getUserProfileSQL, account, userID)
	if err != nil {
		return optimizely.Profile{}, mapError(fmt.Errorf("get user profile: %w", err))
	}
	return optimizely.Profile{UserID: userID, Decisions: decisions}, nil
}

// SaveUserProfile upserts a profile's decisions and returns the profile as it stands.
func (s *Store) SaveUserProfile(ctx context.Context, account uss.AccountID, p optimizely.Profile) (optimizely.Profile, error) {
	experiments, variations := entryArrays(p.Decisions)
	decisions, err := s.queryEntries(ctx, saveUserProfileSQL, account, p.UserID, experiments, variations)
	if err != nil {
		return optimizely.Profile{}, s.writeError(fmt.Errorf("save user profile: %w", err))
	}
	return optimizely.Profile{UserID: p.UserID, Decisions: decisions}, nil
}
