package settings

import "github.com/uss/uss/internal/campaign"

// Contents is what the store keeps of a parsed file beside its body: the number of campaigns,
// and every variation's weight and every goal as rows, so that SQL reports can compare users
// with the configured split and list goals nobody has converted yet.
type Contents struct {
	Campaigns  int
	Variations []VariationWeight
	Goals      []CampaignGoal
}

// VariationWeight is a variation's configured share of a campaign's traffic, in percent.
type VariationWeight struct {
	CampaignKey string
	Variation   string
	Weight      float64
}

// CampaignGoal is a goal a campaign tracks.
type CampaignGoal struct {
	CampaignKey string
	Identifier  string
	Type        campaign.GoalType
}

// contentsOf lists the campaigns' variations and goals, in file order.
func contentsOf(s *campaign.Settings) Contents {
	c := Contents{Campaigns: len(s.Campaigns)}
	for _, camp := range s.Campaigns {
		for _, v := range camp.Variations {
			c.Variations = append(c.Variations, VariationWeight{CampaignKey: camp.Key, Variation: v.Name, Weight: v.Weight})
		}
		for _, g := range camp.Goals {
			c.Goals = append(c.Goals, CampaignGoal{CampaignKey: camp.Key, Identifier: g.Identifier, Type: g.Type})
		}
	}
	return c
}
