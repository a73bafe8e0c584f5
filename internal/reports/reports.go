// Package reports answers how a campaign is doing: users and exposures per variation,
// conversions and revenue per goal, conversion rates, and whether users split as the weights
// say (the sample-ratio check). PostgreSQL counts, in the report_* views (docs/reports.md),
// so the API and a SQL session agree; this package names the figures, decides what counts as
// an unknown campaign and which variation is the control, divides converted users by users as
// the report_conversion_rates view does, and adds the statistics of package stats.
package reports

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/uss/uss/internal/settings"
	"github.com/uss/uss/internal/stats"
	"github.com/uss/uss/internal/uss"
)

// Campaign is one campaign's report, as GET /v1/reports/campaign returns it.
type Campaign struct {
	CampaignKey string `json:"campaignKey"`
	// Control is the variation every other is compared with: the one asked for, else the
	// first variation of the campaign in the current settings, else one named "control" in
	// any case, else the first by name. Nil when the campaign has no variation.
	Control    *string     `json:"control"`
	Variations []Variation `json:"variations"`
	Goals      []Goal      `json:"goals"`
	// SampleRatio is nil when the current settings give the campaign no variation with a
	// weight above 0 (the campaign is no longer in the settings).
	SampleRatio *SampleRatio `json:"sampleRatio"`
}

// Variation is one variation's users (report_variation_users).
type Variation struct {
	Name  string `json:"name"`
	Users int64  `json:"users"`
	// WhitelistedUsers are the users among Users who were forced into the variation.
	WhitelistedUsers int64 `json:"whitelistedUsers"`
	Exposures        int64 `json:"exposures"`
	// Weight is the variation's weight in percent in the current settings, nil when the
	// variation is no longer there.
	Weight *float64 `json:"weight"`
	// Share is the variation's part of the campaign's users less whitelisted users (who are
	// forced, not split by weight), to hold against Weight; nil when there is none.
	Share *float64 `json:"share"`
}

// Goal is one goal's conversions in one variation (report_goal_conversions) and its rate
// (report_conversion_rates).
type Goal struct {
	Identifier     string `json:"identifier"`
	Variation      string `json:"variation"`
	ConvertedUsers int64  `json:"convertedUsers"`
	// Conversions counts repeats too.
	Conversions int64 `json:"conversions"`
	// Revenue is the exact sum as a decimal string ("0" without revenue), so no client
	// rounds it through a float.
	Revenue string `json:"revenue"`
	// Users of the variation: the rate's denominator.
	Users int64 `json:"users"`
	// ConversionRate is ConvertedUsers / Users, nil when the variation has no users.
	ConversionRate *float64 `json:"conversionRate"`
	// ConversionRateInterval is the rate's 95 % Wilson interval, nil without users.
	ConversionRateInterval *stats.Interval `json:"conversionRateInterval"`
	// RevenuePerUser is Revenue / Users, nil without users.
	RevenuePerUser *float64 `json:"revenuePerUser"`
	// ComparedWithControl compares the rate with the control's on the same goal: nil for the
	// control itself and when either side has no users.
	ComparedWithControl *stats.Comparison `json:"comparedWithControl"`
}

// SampleRatio is the sample-ratio check (report_sample_ratio): Pearson's chi-square of the
// bucketed and set users of each weighted variation against the current weights.
type SampleRatio struct {
	Variations       int      `json:"variations"`
	Users            int64    `json:"users"`
	ChiSquare        *float64 `json:"chiSquare"`
	DegreesOfFreedom int      `json:"degreesOfFreedom"`
	PValue           *float64 `json:"pValue"`
	// Mismatch is PValue < 0.001: the split is off the weights by more than chance explains.
	Mismatch bool `json:"mismatch"`
}

// Store reads reports.
type Store interface {
	// CampaignReport reads the variations, the goals (without Users and ConversionRate) and
	// the sample-ratio check of one campaign from one snapshot of the database, so the
	// sections agree with each other. A campaign without any row has empty lists.
	CampaignReport(ctx context.Context, account uss.AccountID, campaignKey string) (Campaign, error)
	// CampaignSummaries lists every campaign with an assignment, a conversion or a variation
	// in the current settings, by key, with Users and Mismatch (Status is left empty).
	CampaignSummaries(ctx context.Context, account uss.AccountID) ([]Summary, error)
	// CampaignReportSQL is SQL a person can run to read a campaign's counts, rates and
	// sample-ratio check from the views.
	CampaignReportSQL(accountName, campaignKey string) string
}

// ErrCampaignNotFound: nothing is known of the campaign in the account.
var ErrCampaignNotFound = fmt.Errorf("campaign %w: no assignments, conversions or settings for this campaignKey", uss.ErrNotFound)

// Settings gives every account's current settings (settings.Registry).
type Settings interface {
	Current(account uss.AccountID) (*settings.Snapshot, error)
}

// Service answers report requests.
type Service struct {
	store    Store
	settings Settings
}

// NewService returns a Service over store, which reads campaign order and status from
// settings.
func NewService(store Store, settings Settings) *Service {
	return &Service{store: store, settings: settings}
}

// Campaign reports on one campaign of the account, comparing every variation with control
// ("" for the default, see Campaign.Control). A campaign is known when the current settings
// have it or any assignment or conversion names it; otherwise ErrCampaignNotFound.
func (s *Service) Campaign(ctx context.Context, account uss.AccountID, campaignKey, control string) (Campaign, error) {
	if err := uss.ValidateIdentifier("campaignKey", campaignKey); err != nil {
		return Campaign{}, err
	}
	if control != "" {
		if err := uss.ValidateIdentifier("control", control); err != nil {
			return Campaign{}, err
		}
	}
	snap, err := s.settings.Current(account)
	if err != nil {
		return Campaign{}, err
	}
	r, err := s.store.CampaignReport(ctx, account, campaignKey)
	if err != nil {
		return Campaign{}, err
	}
	// The views list every configured variation, so settings alone give a variation row.
	if len(r.Variations) == 0 && len(r.Goals) == 0 {
		return Campaign{}, ErrCampaignNotFound
	}
	if control != "" && !hasVariation(r.Variations, control) {
		return Campaign{}, uss.Invalid("control", "%q is not a variation of campaign %q", control, campaignKey)
	}
	if control == "" {
		control = defaultControl(r.Variations, configuredVariations(snap, campaignKey))
	}
	if control != "" {
		r.Control = &control
	}
	addShares(r.Variations)
	addGoalStatistics(r.Goals, r.Variations, control)
	return r, nil
}

func hasVariation(vs []Variation, name string) bool {
	for _, v := range vs {
		if v.Name == name {
			return true
		}
	}
	return false
}

// configuredVariations are the campaign's variation names in the current settings, in file
// order; nil when the settings do not have the campaign.
func configuredVariations(snap *settings.Snapshot, campaignKey string) []string {
	if snap == nil {
		return nil
	}
	for _, c := range snap.Settings.Campaigns {
		if c.Key == campaignKey {
			names := make([]string, len(c.Variations))
			for i, v := range c.Variations {
				names[i] = v.Name
			}
			return names
		}
	}
	return nil
}

// defaultControl is the first configured variation (VWO lists the control first, with id 1),
// else a variation named "control" in any case, else the first by name.
func defaultControl(vs []Variation, configured []string) string {
	for _, name := range configured {
		if hasVariation(vs, name) {
			return name
		}
	}
	for _, v := range vs {
		if strings.EqualFold(v.Name, "control") {
			return v.Name
		}
	}
	if len(vs) > 0 {
		return vs[0].Name
	}
	return ""
}

// addShares sets each variation's share of the counted (not whitelisted) users.
func addShares(vs []Variation) {
	var counted int64
	for _, v := range vs {
		counted += v.Users - v.WhitelistedUsers
	}
	if counted <= 0 {
		return
	}
	for i := range vs {
		share := float64(vs[i].Users-vs[i].WhitelistedUsers) / float64(counted)
		vs[i].Share = &share
	}
}

// addGoalStatistics sets each goal row's users, rate, interval, revenue per user and, but for
// the control's own rows, its comparison with the control's row of the same goal.
func addGoalStatistics(goals []Goal, vs []Variation, control string) {
	users := make(map[string]int64, len(vs))
	for _, v := range vs {
		users[v.Name] = v.Users
	}
	controlOf := map[string]stats.Proportion{}
	for i := range goals {
		g := &goals[i]
		g.Users = users[g.Variation]
		p := stats.Proportion{Converted: g.ConvertedUsers, Users: g.Users}
		if rate, ok := p.Rate(); ok {
			g.ConversionRate = &rate
		}
		if w, ok := stats.Wilson(p); ok {
			g.ConversionRateInterval = &w
		}
		if rpu, ok := stats.RevenuePerUser(g.Revenue, g.Users); ok {
			g.RevenuePerUser = &rpu
		}
		if g.Variation == control {
			controlOf[g.Identifier] = p
		}
	}
	for i := range goals {
		g := &goals[i]
		c, ok := controlOf[g.Identifier]
		if !ok || g.Variation == control {
			continue
		}
		if cmp, ok := stats.Compare(stats.Proportion{Converted: g.ConvertedUsers, Users: g.Users}, c); ok {
			g.ComparedWithControl = &cmp
		}
	}
}

// Summary is one line of an account's campaign list.
type Summary struct {
	CampaignKey string
	// Status is the campaign's status in the current settings, "" when they do not have it.
	Status string
	// Users are the campaign's assignment rows (report_variation_users).
	Users int64
	// Mismatch is the sample-ratio check's verdict (report_sample_ratio).
	Mismatch bool
}

// Campaigns lists every campaign of the account's current settings and every campaign with
// stored rows, by key.
func (s *Service) Campaigns(ctx context.Context, account uss.AccountID) ([]Summary, error) {
	snap, err := s.settings.Current(account)
	if err != nil {
		return nil, err
	}
	list, err := s.store.CampaignSummaries(ctx, account)
	if err != nil {
		return nil, err
	}
	listed := make(map[string]int, len(list))
	for i, sm := range list {
		listed[sm.CampaignKey] = i
	}
	if snap != nil {
		for _, c := range snap.Settings.Campaigns {
			i, ok := listed[c.Key]
			if !ok {
				// A campaign without variations has no row in the views.
				list = append(list, Summary{CampaignKey: c.Key})
				i = len(list) - 1
			}
			list[i].Status = c.Status
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].CampaignKey < list[j].CampaignKey })
	return list, nil
}

// SQL is the SQL that reads the campaign's counts, rates and sample-ratio check, as a person
// would type it for the named account.
func (s *Service) SQL(accountName, campaignKey string) string {
	return s.store.CampaignReportSQL(accountName, campaignKey)
}

// Status is the campaign's status in the account's current settings, "" when they do not
// have it.
func (s *Service) Status(account uss.AccountID, campaignKey string) (string, error) {
	snap, err := s.settings.Current(account)
	if err != nil || snap == nil {
		return "", err
	}
	for _, c := range snap.Settings.Campaigns {
		if c.Key == campaignKey {
			return c.Status, nil
		}
	}
	return "", nil
}
