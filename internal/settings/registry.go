// Package settings keeps every account's current VWO settings file in memory. Decisions read
// it without touching the database; uploads through any process reach every process through
// PostgreSQL notifications, a periodic poll backing them up.
package settings

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uss/uss/internal/campaign"
	"github.com/uss/uss/internal/uss"
)

// Stored is one version of an account's settings file as the database keeps it.
type Stored struct {
	Account   uss.AccountID
	Version   int64
	Body      []byte
	CreatedAt time.Time
}

// Store keeps settings versions.
type Store interface {
	// SaveSettings stores body, with what it contains, as the account's next version, removes
	// the account's versions beyond the newest keep (the new one included; 0 keeps all), and
	// tells every process.
	SaveSettings(ctx context.Context, account uss.AccountID, body []byte, contents Contents, keep int) (Stored, error)
	// CurrentSettings returns the account's newest version, or uss.ErrNotFound.
	CurrentSettings(ctx context.Context, account uss.AccountID) (Stored, error)
	// EachCurrentSettings calls each with every account's newest version, one at a time.
	EachCurrentSettings(ctx context.Context, each func(Stored)) error
	CurrentSettingsVersions(ctx context.Context) (map[uss.AccountID]int64, error)
	// Listen calls changed for every version saved by any process until ctx is done, and
	// connected after every (re)connection; lost gets each connection failure, and probed
	// whether a connection receives notifications at all (nil) or not (a transaction-pooling
	// PgBouncer passes LISTEN but delivers nothing).
	Listen(ctx context.Context, changed func(uss.AccountID, int64), connected func(), lost, probed func(error))
}

// Snapshot is one account's settings as decisions see them; it never changes once published.
type Snapshot struct {
	Version  int64
	Settings *campaign.Settings
}

// Limits bound what one account's settings may cost: every process holds every account's
// current file, and the database keeps its versions.
type Limits struct {
	// Campaigns is the most campaigns an uploaded file may list (0: no bound). Files already
	// stored load whatever it is today, so lowering it never stops decisions.
	Campaigns int
	// Keep is how many versions of an account are kept, the current one included (0: all).
	Keep int
}

// Registry holds the current Snapshot of every account. Reads are lock-free: the map is
// replaced, never changed, when a version arrives.
type Registry struct {
	store  Store
	logger *slog.Logger
	limits Limits

	current atomic.Pointer[map[uss.AccountID]*Snapshot]
	// loaded is set once every account's settings were read: until then an account without
	// settings may just not be loaded yet, and decisions must not answer "unknown campaign".
	loaded atomic.Bool
	// mu serializes publishers, so a slow load of an old version cannot replace a newer one.
	mu sync.Mutex
}

// NewRegistry returns an empty registry; call Load before serving.
func NewRegistry(store Store, logger *slog.Logger, limits Limits) *Registry {
	r := &Registry{store: store, logger: logger, limits: limits}
	r.current.Store(&map[uss.AccountID]*Snapshot{})
	return r
}

// ErrNotLoaded: settings could not be read yet, so no decision can be made.
var ErrNotLoaded = fmt.Errorf("%w: settings are not loaded yet", uss.ErrUnavailable)

// Current returns the account's settings, nil when it has none, or ErrNotLoaded.
func (r *Registry) Current(account uss.AccountID) (*Snapshot, error) {
	if !r.loaded.Load() {
		return nil, ErrNotLoaded
	}
	return (*r.current.Load())[account], nil
}

// Loaded reports whether every account's settings have been read.
func (r *Registry) Loaded() bool { return r.loaded.Load() }

func (r *Registry) held(account uss.AccountID) *Snapshot {
	return (*r.current.Load())[account]
}

// Put validates a settings file, stores it as the account's next version and publishes it in
// this process at once (other processes follow through notifications).
func (r *Registry) Put(ctx context.Context, account uss.AccountID, body []byte) (*Snapshot, error) {
	parsed, err := campaign.ParseWithin(body, campaign.Limits{Campaigns: r.limits.Campaigns})
	if err != nil {
		return nil, err
	}
	stored, err := r.store.SaveSettings(ctx, account, body, contentsOf(parsed), r.limits.Keep)
	if err != nil {
		return nil, err
	}
	snap := &Snapshot{Version: stored.Version, Settings: parsed}
	r.publish(account, snap)
	if w := parsed.Warnings(); len(w) > 0 {
		r.logger.Warn("settings stored with warnings", "account", account, "version", stored.Version,
			"count", len(w), "warnings", w[:min(len(w), maxLoggedWarnings)])
	}
	return snap, nil
}

// maxLoggedWarnings bounds the warnings one log line lists; the upload's answer has them all.
const maxLoggedWarnings = 10

// Get returns the account's current file as uploaded, read from the database so that it is
// current even a moment after another process stored it.
func (r *Registry) Get(ctx context.Context, account uss.AccountID) (Stored, error) {
	return r.store.CurrentSettings(ctx, account)
}

// Load reads every account's current settings; the server calls it before serving, and the
// watcher again until it succeeds.
func (r *Registry) Load(ctx context.Context) error {
	// One file at a time: a process holds every account's parsed settings, not every file.
	if err := r.store.EachCurrentSettings(ctx, r.install); err != nil {
		return fmt.Errorf("load settings: %w", err)
	}
	r.loaded.Store(true)
	return nil
}

// Refresh loads the account's current version if it is newer than the one held.
func (r *Registry) Refresh(ctx context.Context, account uss.AccountID, version int64) error {
	if held := r.held(account); held != nil && held.Version >= version {
		return nil
	}
	st, err := r.store.CurrentSettings(ctx, account)
	if err != nil {
		return fmt.Errorf("refresh settings of account %d: %w", account, err)
	}
	r.install(st)
	return nil
}

// Sync compares every account's version with the database and refreshes those behind: the
// catch-up after a reconnection and the periodic poll.
func (r *Registry) Sync(ctx context.Context) error {
	if !r.loaded.Load() {
		return r.Load(ctx)
	}
	versions, err := r.store.CurrentSettingsVersions(ctx)
	if err != nil {
		return fmt.Errorf("poll settings versions: %w", err)
	}
	var errs []error
	for account, version := range versions {
		errs = append(errs, r.Refresh(ctx, account, version))
	}
	return errors.Join(errs...)
}

// Watch keeps the registry current until ctx is done: notifications as they come, a Sync after
// every (re)connection of the listener, and a Sync every poll interval in case a notification
// could not be delivered (for example through a pooler that does not pass LISTEN).
func (r *Registry) Watch(ctx context.Context, poll time.Duration) {
	go r.store.Listen(ctx,
		func(account uss.AccountID, version int64) {
			if err := r.Refresh(ctx, account, version); err != nil && ctx.Err() == nil {
				r.logger.Warn("settings refresh failed; the poll will retry", "error", err)
			}
		},
		func() { r.sync(ctx) },
		func(err error) { r.logger.Warn("settings listener lost its connection; reconnecting", "error", err) },
		func(err error) {
			if err == nil {
				r.logger.Info("settings change notifications are received")
				return
			}
			r.logger.Error("settings change notifications are not received: uploads through other processes "+
				"reach this one only by the poll; give LISTEN a direct connection to PostgreSQL with "+
				"USS_DIRECT_DATABASE_URL (a transaction-pooling PgBouncer does not pass notifications)",
				"poll_interval", poll, "error", err)
		},
	)
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.sync(ctx)
		}
	}
}

func (r *Registry) sync(ctx context.Context) {
	if err := r.Sync(ctx); err != nil && ctx.Err() == nil {
		r.logger.Warn("settings sync failed", "error", err)
	}
}

// install parses a stored version and publishes it. A stored file was valid when uploaded; one
// that no longer parses (a stricter release) is logged and the held version kept.
func (r *Registry) install(st Stored) {
	parsed, err := campaign.Parse(st.Body)
	if err != nil {
		r.logger.Error("stored settings no longer parse; keeping the version held",
			"account", st.Account, "version", st.Version, "error", err)
		return
	}
	r.publish(st.Account, &Snapshot{Version: st.Version, Settings: parsed})
}

func (r *Registry) publish(account uss.AccountID, snap *Snapshot) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.current.Load()
	if held := old[account]; held != nil && held.Version >= snap.Version {
		return
	}
	next := make(map[uss.AccountID]*Snapshot, len(old)+1)
	for a, s := range old {
		next[a] = s
	}
	next[account] = snap
	r.current.Store(&next)
	r.logger.Info("settings version in use", "account", account, "version", snap.Version)
}
