package campaign

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"

	"github.com/uss/uss/internal/bucketing"
	"github.com/uss/uss/internal/jsoncheck"
	"github.com/uss/uss/internal/segment"
)

// Settings is a parsed and validated VWO server-side settings file (the
// format is in docs/decisions.md). One value is shared by every request:
// treat it, and everything it points to, as read-only; it is then safe for
// concurrent use.
type Settings struct {
	SDKKey string
	// AccountID is kept as text: VWO sends a number or a string, and the
	// user UUID and the isNBv2 seed both use its decimal text.
	AccountID string
	// Version is the file's own "version", as text (number or string).
	Version   string
	Campaigns []*Campaign
	// Groups and CampaignGroups are VWO's mutually exclusive groups. They
	// are kept so the file round-trips and can be reported on, but uss
	// decides every campaign on its own.
	Groups             map[string]Group
	CampaignGroups     map[string]int
	IsEventArchEnabled bool
	IsNB               bool
	IsNBv2             bool
	CollectionPrefix   string

	byKey     map[string]*Campaign
	warnings  []string
	namespace [16]byte
}

// Campaign returns the campaign with that key, or nil.
func (s *Settings) Campaign(key string) *Campaign { return s.byKey[key] }

// Warnings lists what loads but will not behave as its author may expect,
// such as a regex that RE2 cannot compile (the condition is then always
// false, as in VWO's Go SDK).
func (s *Settings) Warnings() []string { return s.warnings }

// UserUUID is the VWO UUID of a user of this settings file's account.
func (s *Settings) UserUUID(userID string) string {
	return userUUID(s.namespace, userID)
}

// weightTolerance is how far the weights of a campaign may sum from 100.
// VWO rounds weights to four decimals, so three equal variations sum to
// 99.9999 (the SDKs' own test files do); 0.01 is one bucket of VWO's 10000.
// Whether the ranges then reach bucket 10000 is checked on its own below, so
// a sum that rounds short cannot leave the top bucket without a variation.
const weightTolerance = 0.01

// Parse reads and validates a settings file. It accepts fields it does not
// know (real files carry more than the SDKs read) but returns a
// *ValidationError listing every problem it finds. Variation ranges, seeds
// and segments, regexes included, are all worked out here, so deciding does
// no parsing.
func Parse(data []byte) (*Settings, error) {
	return ParseWithin(data, Limits{})
}

// Limits bound what one file may hold, beyond the fixed bounds on segments and regexes that
// every file has.
type Limits struct {
	// Campaigns is the most campaigns the file may list; 0 is no bound.
	Campaigns int
}

// ParseWithin is Parse with limits: a file over them is refused, with that problem alone.
func ParseWithin(data []byte, limits Limits) (*Settings, error) {
	c := &jsoncheck.Checker{}
	p := &parser{Checker: c, segments: segment.NewCompiler(c), limits: limits}
	s := p.settings(data)
	if err := c.Err(); err != nil {
		return nil, err
	}
	s.warnings = c.Warnings()
	return s, nil
}

func (p *parser) settings(data []byte) *Settings {
	s := &Settings{}
	// SDKs read the stored file too: each JSON parser resolves a repeated key or text that
	// is not UTF-8 its own way, and could then decide otherwise than uss.
	if !p.Document("settings", data) {
		return s
	}
	o, ok := p.Object("settings", data)
	if !ok {
		return s
	}
	root := fields{p: p, o: o}
	s.SDKKey = root.optionalString("sdkKey")
	s.AccountID = p.accountID(root)
	if root.present("version") {
		s.Version = p.scalarText("version", root.o.Get("version"))
	}
	s.IsEventArchEnabled = root.optionalBool("isEventArchEnabled")
	s.IsNB = root.optionalBool("isNB")
	s.IsNBv2 = root.optionalBool("isNBv2")
	s.CollectionPrefix = root.optionalString("collectionPrefix")
	s.Groups = p.groups(root.o.Get("groups"))
	s.CampaignGroups = p.campaignGroups(root.o.Get("campaignGroups"))
	s.namespace = accountNamespace(s.AccountID)

	raw, ok := root.required("campaigns")
	if !ok {
		return s
	}
	items, ok := p.Array("campaigns", raw)
	if !ok {
		return s
	}
	if most := p.limits.Campaigns; most > 0 && len(items) > most {
		p.Addf("campaigns", "the file lists %d campaigns, more than the %d this server accepts per account", len(items), most)
		return s
	}
	s.byKey = make(map[string]*Campaign, len(items))
	keyAt := make(map[string]int, len(items))
	idAt := make(map[int]int, len(items))
	for i, item := range items {
		path := jsoncheck.Index("campaigns", i)
		camp, idOK := p.campaign(s, path, item)
		if camp == nil {
			continue
		}
		if camp.Key != "" {
			if j, dup := keyAt[camp.Key]; dup {
				p.Addf(path+".key", "duplicate campaign key %s (also campaigns[%d])", jsoncheck.Quote(camp.Key), j)
			} else {
				keyAt[camp.Key] = i
				s.byKey[camp.Key] = camp
			}
		}
		if j, dup := idAt[camp.ID]; dup && idOK {
			// Ids seed bucketing and identify the campaign in VWO's
			// reports; two campaigns with one id would share users.
			p.Addf(path+".id", "duplicate campaign id %d (also campaigns[%d])", camp.ID, j)
		} else if idOK {
			idAt[camp.ID] = i
		}
		s.Campaigns = append(s.Campaigns, camp)
	}
	return s
}

// accountID keeps the account id's decimal text. It is required: the
// user UUID and node's isNBv2 seed are derived from it.
func (p *parser) accountID(root fields) string {
	raw, ok := root.required("accountId")
	if !ok {
		return ""
	}
	switch jsoncheck.Kind(raw) {
	case '"':
		s, _ := p.String("accountId", raw)
		if s == "" {
			p.Add("accountId", "must not be empty")
		}
		return s
	case '0':
		n, _ := p.IntegerText("accountId", raw)
		return n
	}
	p.Add("accountId", "must be a whole number or a string")
	return ""
}

// scalarText reads a field that VWO sends as a number or a string.
func (p *parser) scalarText(path string, raw json.RawMessage) string {
	switch jsoncheck.Kind(raw) {
	case '"':
		s, _ := p.String(path, raw)
		return s
	case '0':
		return string(bytes.TrimSpace(raw))
	}
	p.Add(path, "must be a number or a string")
	return ""
}

func (p *parser) campaign(s *Settings, path string, raw json.RawMessage) (camp *Campaign, idOK bool) {
	f, ok := p.object(path, raw)
	if !ok {
		return nil, false
	}
	camp = &Campaign{userNamespace: s.namespace}
	camp.ID, idOK = f.requiredInt("id")
	camp.Key, _ = f.requiredIdentifier("key")
	camp.Name = f.optionalString("name")
	camp.Status = f.oneOf("status", "status", knownStatuses, true)
	camp.Type = Type(f.oneOf("type", "type", knownTypes, true))
	if pt, ok := f.requiredInt("percentTraffic"); ok {
		if pt < 0 || pt > bucketing.MaxTraffic {
			p.Addf(f.at("percentTraffic"), "must be between 0 and 100, is %d", pt)
		} else {
			camp.PercentTraffic = pt
		}
	}
	camp.IsForcedVariationEnabled = f.optionalBool("isForcedVariationEnabled")
	camp.IsBucketingSeedEnabled = f.optionalBool("isBucketingSeedEnabled")
	camp.IsUserListEnabled = f.optionalBool("isUserListEnabled")
	camp.IsOB = f.optionalBool("isOB")
	camp.IsOBv2 = f.optionalBool("isOBv2")
	camp.IsMAB = f.optionalBool("isMAB")
	camp.Segments = f.segment("segments")
	camp.Goals = p.goals(f)
	camp.Variables = p.variables(f)
	camp.Variations = p.variations(f)

	camp.ranges = make([]bucketing.Range, len(camp.Variations))
	camp.names = make([]string, len(camp.Variations))
	for i, v := range camp.Variations {
		camp.ranges[i] = v.Range
		camp.names[i] = v.Name
		if v.Segments != nil {
			camp.whitelisting = true
		}
	}
	setSeeds(camp, s)
	return camp, idOK
}

// setSeeds picks the seed prefixes and multiplier (docs/decisions.md,
// Bucketing). Without node's account flags this is the Go SDK's model:
// "<id>_<user>" with isBucketingSeedEnabled, the raw user id otherwise, and
// the 100/percentTraffic multiplier.
func setSeeds(camp *Campaign, s *Settings) {
	nb, nbv2 := s.IsNB, s.IsNBv2
	if nb || nbv2 || camp.IsBucketingSeedEnabled {
		camp.trafficPrefix = bucketing.CampaignPrefix(camp.ID)
	}
	switch {
	case (!nb && !nbv2) || (nb && camp.IsOB):
		// Old model; campaigns created before the account switched to
		// new bucketing keep it (isOB).
		if camp.IsBucketingSeedEnabled {
			camp.variationPrefix = bucketing.CampaignPrefix(camp.ID)
		}
		camp.multiplier = bucketing.VariationMultiplier(camp.PercentTraffic)
	case (nb && !camp.IsOB && !nbv2) || (nbv2 && camp.IsOBv2):
		// New bucketing: the raw user id even with the seed flag on.
		camp.multiplier = 1
	default:
		// New bucketing v2: campaign and account in the seed.
		camp.variationPrefix = bucketing.AccountCampaignPrefix(camp.ID, s.AccountID)
		camp.multiplier = 1
	}
}

func (p *parser) variations(camp fields) []*Variation {
	path := camp.at("variations")
	raw, ok := camp.required("variations")
	if !ok {
		return nil
	}
	items, ok := p.Array(path, raw)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		p.Add(path, "must not be empty")
		return nil
	}
	variations := make([]*Variation, 0, len(items))
	nameAt := make(map[string]int, len(items))
	idAt := make(map[int]int, len(items))
	sum, weightsOK := 0.0, true
	for i, item := range items {
		f, ok := p.object(jsoncheck.Index(path, i), item)
		if !ok {
			weightsOK = false
			continue
		}
		v := &Variation{}
		if id, ok := f.requiredInt("id"); ok {
			v.ID = id
			if j, dup := idAt[id]; dup {
				p.Addf(f.at("id"), "duplicate variation id %d (also %s)", id, jsoncheck.Index(path, j))
			} else {
				idAt[id] = i
			}
		}
		if name, ok := f.requiredIdentifier("name"); ok {
			v.Name = p.Intern(name)
			if j, dup := nameAt[name]; dup {
				p.Addf(f.at("name"), "duplicate variation name %s (also %s)", jsoncheck.Quote(name), jsoncheck.Index(path, j))
			} else {
				nameAt[name] = i
			}
		}
		if raw, ok := f.required("weight"); !ok {
			weightsOK = false
		} else if w, ok := p.Number(f.at("weight"), raw); !ok {
			weightsOK = false
		} else if w < 0 || w > 100 {
			p.Addf(f.at("weight"), "must be between 0 and 100, is %v", w)
			weightsOK = false
		} else {
			v.Weight = w
			sum += w
		}
		v.Segments = f.segment("segments")
		v.Variables = p.variables(f)
		v.IsFeatureEnabled = f.optionalBool("isFeatureEnabled")
		variations = append(variations, v)
	}

	cum := 0
	for _, v := range variations {
		v.Range, cum = bucketing.NextRange(cum, v.Weight)
	}
	if weightsOK && len(variations) == len(items) {
		switch {
		case math.Abs(sum-100) > weightTolerance:
			// Weights have at most four decimals; round away float noise.
			p.Addf(path, "weights must sum to 100 (within %v), they sum to %v", weightTolerance, math.Round(sum*1e6)/1e6)
		case cum < bucketing.MaxVariation:
			p.Addf(path, "weights leave buckets %d..10000 without a variation", cum+1)
		}
	}
	return variations
}

func (p *parser) goals(camp fields) []*Goal {
	items := camp.array("goals")
	if items == nil {
		return nil
	}
	goals := make([]*Goal, 0, len(items))
	identifierAt := make(map[string]int, len(items))
	for i, item := range items {
		f, ok := p.object(jsoncheck.Index(camp.at("goals"), i), item)
		if !ok {
			continue
		}
		g := &Goal{}
		if id, ok := f.requiredIdentifier("identifier"); ok {
			switch j, dup := identifierAt[id]; {
			case strings.Contains(id, goalDelimiter):
				p.Addf(f.at("identifier"), "must not contain %q, VWO's goal-list delimiter", goalDelimiter)
			case dup:
				p.Addf(f.at("identifier"), "duplicate goal identifier %s (also %s)", jsoncheck.Quote(id), jsoncheck.Index(camp.at("goals"), j))
			default:
				identifierAt[id] = i
			}
			g.Identifier = p.Intern(id)
		}
		g.ID, _ = f.requiredInt("id")
		g.Type = GoalType(f.oneOf("type", "goal type", knownGoalTypes, true))
		g.RevenueProp = p.Intern(f.optionalString("revenueProp"))
		if mca, ok := f.optionalInt("mca"); ok {
			g.MCA = &mca
		}
		goals = append(goals, g)
	}
	return goals
}

func (p *parser) variables(owner fields) []Variable {
	items := owner.array("variables")
	if items == nil {
		return nil
	}
	vars := make([]Variable, 0, len(items))
	for i, item := range items {
		f, ok := p.object(jsoncheck.Index(owner.at("variables"), i), item)
		if !ok {
			continue
		}
		v := Variable{Key: p.Intern(f.optionalString("key"))}
		v.ID, _ = f.optionalInt("id")
		v.Type = f.oneOf("type", "variable type", knownVariableTypes, false)
		// The value stays as sent: VWO's own test files send "123" for an
		// integer variable and expect SDKs to coerce it.
		v.Value = json.RawMessage(bytes.Clone(f.o.Get("value")))
		vars = append(vars, v)
	}
	return vars
}
