package campaign

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/uss/uss/internal/bucketing"
	"github.com/uss/uss/internal/strictjson"
)

// Settings is a parsed and validated VWO server-side settings file
// (VWO-REFERENCE 3). One value is shared by every request: treat it, and
// everything it points to, as read-only; it is then safe for concurrent use.
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

// Group is a mutually exclusive group (VWO-REFERENCE 2.5).
type Group struct {
	Name      string
	Campaigns []int
	// ET is the selection type: 1 (or 0, absent) random, 2 advanced.
	ET int
	// P lists campaign ids by priority (advanced groups).
	P []int
	// WT maps campaign ids to weights (advanced groups).
	WT map[string]float64
}

// Campaign returns the campaign with that key, or nil.
func (s *Settings) Campaign(key string) *Campaign { return s.byKey[key] }

// Warnings lists what loads but will not behave as its author may expect,
// such as a regex that Go's RE2 syntax cannot compile (the condition is
// then always false, as in VWO's SDKs).
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
	c := &checker{limits: limits}
	s := parseSettings(c, data)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.warnings = c.warnings
	return s, nil
}

func parseSettings(c *checker, data []byte) *Settings {
	s := &Settings{}
	if !json.Valid(data) {
		var probe any
		err := json.Unmarshal(data, &probe)
		c.addf("settings", "not valid JSON: %v", err)
		return s
	}
	// SDKs read the stored file too: a repeated key, which JSON parsers resolve each their own
	// way, or text that is not UTF-8 could make them decide otherwise than uss.
	if err := strictjson.Check(data, nil); err != nil {
		c.addf("settings", "not strict JSON: %v", err)
		return s
	}
	root, ok := c.object("settings", data)
	if !ok {
		return s
	}

	s.SDKKey = c.optionalStr(root, "sdkKey", "sdkKey")
	s.AccountID = parseAccountID(c, root.get("accountId"))
	if present(root.get("version")) {
		s.Version = scalarText(c, "version", root.get("version"))
	}
	s.IsEventArchEnabled = c.optionalBool(root, "isEventArchEnabled", "isEventArchEnabled")
	s.IsNB = c.optionalBool(root, "isNB", "isNB")
	s.IsNBv2 = c.optionalBool(root, "isNBv2", "isNBv2")
	s.CollectionPrefix = c.optionalStr(root, "collectionPrefix", "collectionPrefix")
	s.Groups = parseGroups(c, root.get("groups"))
	s.CampaignGroups = parseCampaignGroups(c, root.get("campaignGroups"))
	s.namespace = accountNamespace(s.AccountID)

	if !present(root.get("campaigns")) {
		c.add("campaigns", "required")
		return s
	}
	items, ok := c.array("campaigns", root.get("campaigns"))
	if !ok {
		return s
	}
	if most := c.limits.Campaigns; most > 0 && len(items) > most {
		c.addf("campaigns", "the file lists %d campaigns, more than the %d this server accepts per account", len(items), most)
		return s
	}
	s.byKey = make(map[string]*Campaign, len(items))
	keyAt := make(map[string]int, len(items))
	idAt := make(map[int]int, len(items))
	for i, item := range items {
		path := indexPath("campaigns", i)
		camp, idOK := parseCampaign(c, s, path, item)
		if camp == nil {
			continue
		}
		if camp.Key != "" {
			if j, dup := keyAt[camp.Key]; dup {
				c.addf(path+".key", "duplicate campaign key %s (also campaigns[%d])", truncate(camp.Key), j)
			} else {
				keyAt[camp.Key] = i
				s.byKey[camp.Key] = camp
			}
		}
		if j, dup := idAt[camp.ID]; dup && idOK {
			// Ids seed bucketing and identify the campaign in VWO's
			// reports; two campaigns with one id would share users.
			c.addf(path+".id", "duplicate campaign id %d (also campaigns[%d])", camp.ID, j)
		} else if idOK {
			idAt[camp.ID] = i
		}
		s.Campaigns = append(s.Campaigns, camp)
	}
	return s
}

// parseAccountID keeps the account id's decimal text. It is required: the
// user UUID and node's isNBv2 seed are derived from it.
func parseAccountID(c *checker, raw json.RawMessage) string {
	if !present(raw) {
		c.add("accountId", "required")
		return ""
	}
	switch jsonKind(raw) {
	case '"':
		s, _ := c.str("accountId", raw)
		if s == "" {
			c.add("accountId", "must not be empty")
		}
		return s
	case '0':
		n, ok := c.integerText("accountId", raw)
		if !ok {
			return ""
		}
		return n
	}
	c.add("accountId", "must be a whole number or a string")
	return ""
}

// integerText returns a whole JSON number as decimal text, without the int32
// range limit that ids have (account ids only need to print the same).
func (c *checker) integerText(path string, raw json.RawMessage) (string, bool) {
	text := string(bytes.TrimSpace(raw))
	if n, err := strconv.ParseInt(text, 10, 64); err == nil {
		return strconv.FormatInt(n, 10), true
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) >= 1<<63 {
		c.addf(path, "must be a whole number, got %s", truncate(text))
		return "", false
	}
	return strconv.FormatInt(int64(f), 10), true
}

// scalarText reads a field that VWO sends as a number or a string.
func scalarText(c *checker, path string, raw json.RawMessage) string {
	switch jsonKind(raw) {
	case '"':
		s, _ := c.str(path, raw)
		return s
	case '0':
		return string(bytes.TrimSpace(raw))
	}
	c.add(path, "must be a number or a string")
	return ""
}

func parseGroups(c *checker, raw json.RawMessage) map[string]Group {
	if !present(raw) {
		return nil
	}
	o, ok := c.object("groups", raw)
	if !ok {
		return nil
	}
	groups := make(map[string]Group, len(o))
	for _, m := range o {
		id, item := string(m.Key), m.Value
		path := "groups[" + strconv.Quote(id) + "]"
		g, ok := c.object(path, item)
		if !ok {
			continue
		}
		group := Group{Name: c.optionalStr(g, "name", path+".name")}
		group.Campaigns = intList(c, path+".campaigns", g.get("campaigns"))
		if present(g.get("et")) {
			group.ET, _ = c.integer(path+".et", g.get("et"))
		}
		group.P = intList(c, path+".p", g.get("p"))
		if present(g.get("wt")) {
			if wt, ok := c.object(path+".wt", g.get("wt")); ok {
				group.WT = make(map[string]float64, len(wt))
				for _, m := range wt {
					cid, w := string(m.Key), m.Value
					group.WT[cid], _ = c.number(path+".wt["+strconv.Quote(cid)+"]", w)
				}
			}
		}
		groups[id] = group
	}
	return groups
}

func parseCampaignGroups(c *checker, raw json.RawMessage) map[string]int {
	if !present(raw) {
		return nil
	}
	o, ok := c.object("campaignGroups", raw)
	if !ok {
		return nil
	}
	m := make(map[string]int, len(o))
	for _, member := range o {
		cid, gid := string(member.Key), member.Value
		m[cid], _ = c.integer("campaignGroups["+strconv.Quote(cid)+"]", gid)
	}
	return m
}

func intList(c *checker, path string, raw json.RawMessage) []int {
	if !present(raw) {
		return nil
	}
	items, ok := c.array(path, raw)
	if !ok {
		return nil
	}
	out := make([]int, 0, len(items))
	for i, item := range items {
		if n, ok := c.integer(indexPath(path, i), item); ok {
			out = append(out, n)
		}
	}
	return out
}

func parseCampaign(c *checker, s *Settings, path string, raw json.RawMessage) (camp *Campaign, idOK bool) {
	o, ok := c.object(path, raw)
	if !ok {
		return nil, false
	}
	camp = &Campaign{userNamespace: s.namespace}

	if present(o.get("id")) {
		camp.ID, idOK = c.integer(path+".id", o.get("id"))
	} else {
		c.add(path+".id", "required")
	}
	if present(o.get("key")) {
		if key, ok := c.str(path+".key", o.get("key")); ok && c.identifier(path+".key", key) {
			camp.Key = key
		}
	} else {
		c.add(path+".key", "required")
	}
	camp.Name = c.optionalStr(o, "name", path+".name")

	if present(o.get("status")) {
		if status, ok := c.str(path+".status", o.get("status")); ok {
			if knownStatuses[status] {
				camp.Status = c.intern(status)
			} else {
				c.addf(path+".status", "unknown status %s (known: %s)", truncate(status), knownList(knownStatuses))
			}
		}
	} else {
		c.add(path+".status", "required")
	}
	if present(o.get("type")) {
		if typ, ok := c.str(path+".type", o.get("type")); ok {
			switch Type(typ) {
			case TypeVisualAB, TypeFeatureTest, TypeFeatureRollout:
				camp.Type = Type(c.intern(typ))
			default:
				c.addf(path+".type", "unknown type %s (known: FEATURE_ROLLOUT, FEATURE_TEST, VISUAL_AB)", truncate(typ))
			}
		}
	} else {
		c.add(path+".type", "required")
	}
	if present(o.get("percentTraffic")) {
		if pt, ok := c.integer(path+".percentTraffic", o.get("percentTraffic")); ok {
			if pt < 0 || pt > bucketing.MaxTraffic {
				c.addf(path+".percentTraffic", "must be between 0 and 100, is %d", pt)
			} else {
				camp.PercentTraffic = pt
			}
		}
	} else {
		c.add(path+".percentTraffic", "required")
	}

	camp.IsForcedVariationEnabled = c.optionalBool(o, "isForcedVariationEnabled", path+".isForcedVariationEnabled")
	camp.IsBucketingSeedEnabled = c.optionalBool(o, "isBucketingSeedEnabled", path+".isBucketingSeedEnabled")
	camp.IsUserListEnabled = c.optionalBool(o, "isUserListEnabled", path+".isUserListEnabled")
	camp.IsOB = c.optionalBool(o, "isOB", path+".isOB")
	camp.IsOBv2 = c.optionalBool(o, "isOBv2", path+".isOBv2")
	camp.IsMAB = c.optionalBool(o, "isMAB", path+".isMAB")
	camp.Segments = compileSegment(c, path+".segments", o.get("segments"))
	camp.Goals = parseGoals(c, path+".goals", o.get("goals"))
	camp.Variables = parseVariables(c, path+".variables", o.get("variables"))
	camp.Variations = parseVariations(c, path+".variations", o.get("variations"))

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

// setSeeds picks the seed prefixes and multiplier (VWO-REFERENCE 2.1, 2.3).
// Without node's account flags this is the Go SDK's model: "<id>_<user>"
// with isBucketingSeedEnabled, the raw user id otherwise, and the
// 100/percentTraffic multiplier.
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

func parseVariations(c *checker, path string, raw json.RawMessage) []*Variation {
	if !present(raw) {
		c.add(path, "required")
		return nil
	}
	items, ok := c.array(path, raw)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		c.add(path, "must not be empty")
		return nil
	}
	variations := make([]*Variation, 0, len(items))
	nameAt := make(map[string]int, len(items))
	idAt := make(map[int]int, len(items))
	sum, weightsOK := 0.0, true
	for i, item := range items {
		p := indexPath(path, i)
		o, ok := c.object(p, item)
		if !ok {
			weightsOK = false
			continue
		}
		v := &Variation{}
		if present(o.get("id")) {
			if id, ok := c.integer(p+".id", o.get("id")); ok {
				v.ID = id
				if j, dup := idAt[id]; dup {
					c.addf(p+".id", "duplicate variation id %d (also %s)", id, indexPath(path, j))
				} else {
					idAt[id] = i
				}
			}
		} else {
			c.add(p+".id", "required")
		}
		if present(o.get("name")) {
			if name, ok := c.str(p+".name", o.get("name")); ok && c.identifier(p+".name", name) {
				v.Name = c.intern(name)
				if j, dup := nameAt[name]; dup {
					c.addf(p+".name", "duplicate variation name %s (also %s)", truncate(name), indexPath(path, j))
				} else {
					nameAt[name] = i
				}
			}
		} else {
			c.add(p+".name", "required")
		}
		if present(o.get("weight")) {
			if w, ok := c.number(p+".weight", o.get("weight")); ok {
				if w < 0 || w > 100 {
					c.addf(p+".weight", "must be between 0 and 100, is %v", w)
					weightsOK = false
				} else {
					v.Weight = w
					sum += w
				}
			} else {
				weightsOK = false
			}
		} else {
			c.add(p+".weight", "required")
			weightsOK = false
		}
		v.Segments = compileSegment(c, p+".segments", o.get("segments"))
		v.Variables = parseVariables(c, p+".variables", o.get("variables"))
		v.IsFeatureEnabled = c.optionalBool(o, "isFeatureEnabled", p+".isFeatureEnabled")
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
			c.addf(path, "weights must sum to 100 (within %v), they sum to %v", weightTolerance, math.Round(sum*1e6)/1e6)
		case cum < bucketing.MaxVariation:
			c.addf(path, "weights leave buckets %d..10000 without a variation", cum+1)
		}
	}
	return variations
}

func parseGoals(c *checker, path string, raw json.RawMessage) []*Goal {
	if !present(raw) {
		return nil
	}
	items, ok := c.array(path, raw)
	if !ok {
		return nil
	}
	goals := make([]*Goal, 0, len(items))
	identifierAt := make(map[string]int, len(items))
	for i, item := range items {
		p := indexPath(path, i)
		o, ok := c.object(p, item)
		if !ok {
			continue
		}
		g := &Goal{}
		if present(o.get("identifier")) {
			if id, ok := c.str(p+".identifier", o.get("identifier")); ok && c.identifier(p+".identifier", id) {
				switch j, dup := identifierAt[id]; {
				case strings.Contains(id, goalDelimiter):
					c.addf(p+".identifier", "must not contain %q, VWO's goal-list delimiter", goalDelimiter)
				case dup:
					c.addf(p+".identifier", "duplicate goal identifier %s (also %s)", truncate(id), indexPath(path, j))
				default:
					identifierAt[id] = i
				}
				g.Identifier = c.intern(id)
			}
		} else {
			c.add(p+".identifier", "required")
		}
		if present(o.get("id")) {
			g.ID, _ = c.integer(p+".id", o.get("id"))
		} else {
			c.add(p+".id", "required")
		}
		if present(o.get("type")) {
			if typ, ok := c.str(p+".type", o.get("type")); ok {
				switch GoalType(typ) {
				case GoalCustom, GoalRevenue:
					g.Type = GoalType(c.intern(typ))
				default:
					c.addf(p+".type", "unknown goal type %s (known: CUSTOM_GOAL, REVENUE_TRACKING)", truncate(typ))
				}
			}
		} else {
			c.add(p+".type", "required")
		}
		g.RevenueProp = c.intern(c.optionalStr(o, "revenueProp", p+".revenueProp"))
		if present(o.get("mca")) {
			if mca, ok := c.integer(p+".mca", o.get("mca")); ok {
				g.MCA = &mca
			}
		}
		goals = append(goals, g)
	}
	return goals
}

func parseVariables(c *checker, path string, raw json.RawMessage) []Variable {
	if !present(raw) {
		return nil
	}
	items, ok := c.array(path, raw)
	if !ok {
		return nil
	}
	vars := make([]Variable, 0, len(items))
	for i, item := range items {
		p := indexPath(path, i)
		o, ok := c.object(p, item)
		if !ok {
			continue
		}
		v := Variable{Key: c.intern(c.optionalStr(o, "key", p+".key"))}
		if present(o.get("id")) {
			v.ID, _ = c.integer(p+".id", o.get("id"))
		}
		if present(o.get("type")) {
			if typ, ok := c.str(p+".type", o.get("type")); ok {
				if knownVariableTypes[typ] {
					v.Type = c.intern(typ)
				} else {
					c.addf(p+".type", "unknown variable type %s (known: boolean, double, integer, json, string)", truncate(typ))
				}
			}
		}
		// The value stays as sent: VWO's own test files send "123" for an
		// integer variable and expect SDKs to coerce it.
		v.Value = json.RawMessage(bytes.Clone(o.get("value")))
		vars = append(vars, v)
	}
	return vars
}

func knownList(known map[string]bool) string {
	names := make([]string, 0, len(known))
	for name := range known {
		names = append(names, name)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
