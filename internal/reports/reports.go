// Package reports answers how a campaign is doing: users and exposures per variation,
// conversions and revenue per goal, conversion rates, and whether users split as the weights
// say (the sample-ratio check). PostgreSQL computes the figures, in the report_* views
// (README: Reporting), so the API and a SQL session agree; this package names them, decides
// what counts as an unknown campaign, and divides converted users by users as the
// report_conversion_rates view does, from the two sections the store read.
package reports

import (
	"context"
	"fmt"

	"github.com/uss/uss/internal/uss"
)

// Campaign is one campaign's report, as GET /v1/reports/campaign returns it.
type Campaign struct {
	CampaignKey string      `json:"campaignKey"`
	Variations  []Variation `json:"variations"`
	Goals       []Goal      `json:"goals"`
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
}

// ErrCampaignNotFound: nothing is known of the campaign in the account.
var ErrCampaignNotFound = fmt.Errorf("campaign %w: no assignments, conversions or settings for this campaignKey", uss.ErrNotFound)

// Service answers report requests.
type Service struct {
	store Store
}

// NewService returns a Service over store.
func NewService(store Store) *Service { return &Service{store: store} }

// Campaign reports on one campaign of the account. A campaign is known when the current
// settings have it or any assignment or conversion names it; otherwise ErrCampaignNotFound.
func (s *Service) Campaign(ctx context.Context, account uss.AccountID, campaignKey string) (Campaign, error) {
	if err := uss.ValidateIdentifier("campaignKey", campaignKey); err != nil {
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
	users := make(map[string]int64, len(r.Variations))
	for _, v := range r.Variations {
		users[v.Name] = v.Users
	}
	for i := range r.Goals {
		g := &r.Goals[i]
		g.Users = users[g.Variation]
		if g.Users > 0 {
			rate := float64(g.ConvertedUsers) / float64(g.Users)
			g.ConversionRate = &rate
		}
	}
	return r, nil
}
