package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/decision"
	"github.com/uss/uss/internal/groupcommit"
	"github.com/uss/uss/internal/pgtest"
	"github.com/uss/uss/internal/postgres"
	"github.com/uss/uss/internal/uss"
)

// Concurrent first decisions of one user, half of them with another candidate, on the
// single-row statement (variation, track) and on the group-committed one (activate): every
// answer names the same variation, and exactly one says it wrote it, inserted for a new user
// or replaced for a user whose stored variation was removed; every other says kept. So a
// returning user is never answered "bucketed", however the writers race.
func TestConcurrentFirstDecisionsReportExactlyOneWrite(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	store := postgres.NewStore(pool)
	group := postgres.NewGroupCommitted(store, groupcommit.Options{Writers: 2, MaxBatch: 8}, nil)
	t.Cleanup(group.Close)
	ctx := context.Background()
	stores := map[string]decision.Store{"single-row": store, "group-committed": group}
	for name, s := range stores {
		for _, removed := range []bool{false, true} {
			for round := range 10 {
				user := fmt.Sprintf("%s-%v-%d", name, removed, round)
				key := uss.AssignmentKey{UserID: user, CampaignKey: "c"}
				want := decision.OutcomeInserted
				if removed {
					want = decision.OutcomeReplaced
					_, err := store.SetAssignment(ctx, acct, uss.Assignment{UserID: user, CampaignKey: "c",
						VariationName: "Removed", Source: uss.SourceSet}, uss.SetUpsert)
					require.NoError(t, err)
				}
				const deciders = 12
				answers := make([]decision.Stored, deciders)
				errs := make([]error, deciders)
				var wg sync.WaitGroup
				start := make(chan struct{})
				for i := range deciders {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						answers[i], errs[i] = s.StoreDecision(ctx, decision.StoreParams{Account: acct, Key: key,
							Valid: []string{"A", "B"}, Candidate: []string{"A", "B"}[i%2], Source: uss.SourceBucketed,
							Expose: name == "group-committed"})
					}()
				}
				close(start)
				wg.Wait()
				writes := 0
				for i, st := range answers {
					require.NoError(t, errs[i])
					require.Equal(t, answers[0].VariationName, st.VariationName, "%s: answer %d", user, i)
					switch st.Outcome {
					case want:
						writes++
					case decision.OutcomeKept:
					default:
						require.Failf(t, "unexpected outcome", "%s: answer %d is %v", user, i, st.Outcome)
					}
				}
				require.Equal(t, 1, writes, "%s: one writer, the others kept its row", user)
				var stored string
				require.NoError(t, pool.QueryRow(ctx, `SELECT variation_name FROM assignments WHERE user_id = $1`, user).Scan(&stored))
				require.Equal(t, answers[0].VariationName, stored)
			}
		}
	}
}
