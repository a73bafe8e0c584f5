package campaign

import (
	"encoding/json"
	"strconv"

	"github.com/uss/uss/internal/jsoncheck"
)

// Group is a mutually exclusive group (docs/decisions.md: uss reads and keeps
// groups but decides every campaign on its own).
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

func (p *parser) groups(raw json.RawMessage) map[string]Group {
	if !jsoncheck.Present(raw) {
		return nil
	}
	o, ok := p.Object("groups", raw)
	if !ok {
		return nil
	}
	groups := make(map[string]Group, len(o))
	for _, m := range o {
		id, item := string(m.Key), m.Value
		f, ok := p.object("groups["+strconv.Quote(id)+"]", item)
		if !ok {
			continue
		}
		group := Group{Name: f.optionalString("name")}
		group.Campaigns = p.intList(f, "campaigns")
		group.ET, _ = f.optionalInt("et")
		group.P = p.intList(f, "p")
		if f.present("wt") {
			if wt, ok := p.Object(f.at("wt"), f.o.Get("wt")); ok {
				group.WT = make(map[string]float64, len(wt))
				for _, m := range wt {
					cid, w := string(m.Key), m.Value
					group.WT[cid], _ = p.Number(f.at("wt")+"["+strconv.Quote(cid)+"]", w)
				}
			}
		}
		groups[id] = group
	}
	return groups
}

func (p *parser) campaignGroups(raw json.RawMessage) map[string]int {
	if !jsoncheck.Present(raw) {
		return nil
	}
	o, ok := p.Object("campaignGroups", raw)
	if !ok {
		return nil
	}
	m := make(map[string]int, len(o))
	for _, member := range o {
		cid, gid := string(member.Key), member.Value
		m[cid], _ = p.Integer("campaignGroups["+strconv.Quote(cid)+"]", gid)
	}
	return m
}

// intList reads an array of whole numbers that may be absent or null.
func (p *parser) intList(f fields, key string) []int {
	items := f.array(key)
	if items == nil {
		return nil
	}
	out := make([]int, 0, len(items))
	for i, item := range items {
		if n, ok := p.Integer(jsoncheck.Index(f.at(key), i), item); ok {
			out = append(out, n)
		}
	}
	return out
}
