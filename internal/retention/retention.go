// Package retention deletes what an account no longer needs: the assignments, conversions and
// history of campaigns that left its settings longer ago than the retention period. (Old
// settings versions go at upload, beyond USS_SETTINGS_KEEP.) It runs as a background task in
// every server, but one server at a time does the work (the store's lock), in small batches,
// so that it never holds many row locks for long.
package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/uss/uss/internal/uss"
)

// Policy says what to delete. Its zero value deletes nothing.
type Policy struct {
	// Retention: the data of a campaign removed from the settings longer ago than this is
	// deleted. 0 keeps it for ever.
	Retention time.Duration
	// Batch bounds the rows of one delete statement (DefaultBatch when 0).
	Batch int
}

// DefaultBatch is small enough that one statement holds its row locks for milliseconds.
const DefaultBatch = 1000

// Enabled reports whether the policy deletes anything.
func (p Policy) Enabled() bool { return p.Retention > 0 }

// Table names what a purge deletes.
type Table string

// The tables a purge deletes from.
const (
	Assignments Table = "assignments"
	Conversions Table = "conversions"
	History     Table = "history"
)

// CampaignTables are the tables that hold a campaign's data, deleted in this order.
var CampaignTables = []Table{Assignments, Conversions, History}

// RemovedCampaign is a campaign that is no longer in its account's settings.
type RemovedCampaign struct {
	Account     uss.AccountID
	AccountName string
	CampaignKey string
	RemovedAt   time.Time
}

// Store runs the deletes.
type Store interface {
	// WithRetentionLock runs fn holding a lock that one process at a time can hold. It
	// returns false, without running fn, when another process holds it.
	WithRetentionLock(ctx context.Context, fn func(context.Context) error) (bool, error)
	// RemovedCampaigns lists the campaigns removed from their settings before the cutoff.
	RemovedCampaigns(ctx context.Context, before time.Time) ([]RemovedCampaign, error)
	// PurgeCampaign deletes up to limit rows of the campaign from table, and only while the
	// campaign is still removed since before the cutoff, in key order; it returns how many.
	PurgeCampaign(ctx context.Context, table Table, c RemovedCampaign, before time.Time, limit int) (int64, error)
	// CountCampaign counts the campaign's rows in every table of CampaignTables.
	CountCampaign(ctx context.Context, c RemovedCampaign) (map[Table]int64, error)
}

// Task applies a policy.
type Task struct {
	store  Store
	policy Policy
	now    func() time.Time
	logger *slog.Logger
	// deleted, when set, is told every batch's deleted rows, and runs every run's result
	// (for metrics).
	deleted func(Table, int64)
	runs    func(result string)
}

// Options are a Task's collaborators beside the store and the policy.
type Options struct {
	// Now is the clock (time.Now when nil); tests move it.
	Now    func() time.Time
	Logger *slog.Logger
	// Deleted is told the rows of every batch.
	Deleted func(Table, int64)
	// Runs is told the result of every run of Run: "ran", "skipped" (another process held
	// the lock) or "failed".
	Runs func(result string)
}

// NewTask returns a Task.
func NewTask(store Store, policy Policy, opts Options) *Task {
	if policy.Batch <= 0 {
		policy.Batch = DefaultBatch
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Runs == nil {
		opts.Runs = func(string) {}
	}
	return &Task{store: store, policy: policy, now: opts.Now, logger: opts.Logger, deleted: opts.Deleted, runs: opts.Runs}
}

// Plan is what a run would delete now.
type Plan struct {
	Campaigns []CampaignRows
}

// CampaignRows is a removed campaign with its rows.
type CampaignRows struct {
	RemovedCampaign
	Rows map[Table]int64
}

// Report is what a run did. Ran is false when another process held the lock.
type Report struct {
	Ran     bool
	Deleted map[Table]int64
}

// Plan lists what RunOnce would delete now, deleting nothing (uss-server purge --dry-run).
func (t *Task) Plan(ctx context.Context) (Plan, error) {
	var p Plan
	if !t.policy.Enabled() {
		return p, nil
	}
	removed, err := t.store.RemovedCampaigns(ctx, t.cutoff())
	if err != nil {
		return Plan{}, err
	}
	for _, c := range removed {
		rows, err := t.store.CountCampaign(ctx, c)
		if err != nil {
			return Plan{}, err
		}
		p.Campaigns = append(p.Campaigns, CampaignRows{RemovedCampaign: c, Rows: rows})
	}
	return p, nil
}

func (t *Task) cutoff() time.Time { return t.now().Add(-t.policy.Retention) }

// RunOnce deletes what the policy says, if no other process is doing it.
func (t *Task) RunOnce(ctx context.Context) (Report, error) {
	r := Report{Deleted: map[Table]int64{}}
	if !t.policy.Enabled() {
		return r, nil
	}
	ran, err := t.store.WithRetentionLock(ctx, func(ctx context.Context) error {
		return t.purgeCampaigns(ctx, r.Deleted)
	})
	r.Ran = ran
	return r, err
}

func (t *Task) purgeCampaigns(ctx context.Context, deleted map[Table]int64) error {
	cutoff := t.cutoff()
	removed, err := t.store.RemovedCampaigns(ctx, cutoff)
	if err != nil {
		return err
	}
	for _, c := range removed {
		for _, table := range CampaignTables {
			err := t.drain(ctx, table, deleted, func() (int64, error) {
				return t.store.PurgeCampaign(ctx, table, c, cutoff, t.policy.Batch)
			})
			if err != nil {
				return fmt.Errorf("purge campaign %q of account %d: %w", c.CampaignKey, c.Account, err)
			}
		}
	}
	return nil
}

// drain runs batches until one deletes fewer rows than a batch holds.
func (t *Task) drain(ctx context.Context, table Table, deleted map[Table]int64, batch func() (int64, error)) error {
	for {
		n, err := batch()
		if err != nil {
			return err
		}
		if n > 0 {
			deleted[table] += n
			if t.deleted != nil {
				t.deleted(table, n)
			}
		}
		if n < int64(t.policy.Batch) {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// Run calls RunOnce every interval until ctx is done; failures are logged and retried at the
// next interval.
func (t *Task) Run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		r, err := t.RunOnce(ctx)
		switch {
		case errors.Is(err, context.Canceled):
		case err != nil:
			t.runs("failed")
			t.logger.Warn("retention run failed; retrying at the next interval", "error", err)
		case !r.Ran:
			t.runs("skipped")
		default:
			t.runs("ran")
			if len(r.Deleted) > 0 {
				t.logger.Info("retention deleted rows", "deleted", r.Deleted)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
