package campaign

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// userIDVariable is the variable VWO's Go SDK injects into the whitelisting
// variables and that "user" conditions compare against (node and python call
// it _vwoUserId).
const userIDVariable = "_vwo_user_id"

// Bounds on a segment tree, so that a hostile file cannot make a decision
// recurse deeply or walk a huge tree. Segments built in VWO's UI are a few
// levels deep and a few dozen conditions wide.
const (
	maxSegmentDepth = 32
	maxSegmentNodes = 10000
	// maxFileSegmentNodes bounds all rules of one file together: real
	// accounts have a few hundred campaigns of a few dozen conditions.
	maxFileSegmentNodes = 100000
)

// Segment is a compiled VWO segmentation rule (VWO-REFERENCE 3.1): and / or /
// not over custom_variable and user conditions. Everything is parsed and
// every regex compiled up front, so evaluating does no parsing and, for
// string values, no allocation.
type Segment struct {
	root node
}

type nodeKind uint8

const (
	kindTrue nodeKind = iota // {}: no condition
	kindAnd
	kindOr
	kindNot
	kindCustomVariable
	kindUser
)

type node struct {
	kind     nodeKind
	children []node // and, or; not has exactly one
	variable *customVariable
	users    *userList
}

// userList is a "user" condition: a comma-separated list of user ids,
// each trimmed of white space.
type userList struct {
	ids []string
	set map[string]struct{} // for long lists
}

const userSetThreshold = 16

func (u *userList) contains(id string) bool {
	if u.set != nil {
		_, ok := u.set[id]
		return ok
	}
	return slices.Contains(u.ids, id)
}

// ParseSegment compiles one segmentation rule from its JSON. Problems are
// reported like Parse reports them, in a *ValidationError.
func ParseSegment(data []byte) (*Segment, error) {
	c := &checker{}
	s := compileSegment(c, "segment", data)
	if err := c.err(); err != nil {
		return nil, err
	}
	if s == nil {
		s = &Segment{}
	}
	return s, nil
}

// Matches evaluates the rule against variables as decoded from JSON. A "user"
// condition compares with the variable _vwo_user_id. A nil Segment, like an
// empty rule, matches everybody.
func (s *Segment) Matches(vars map[string]any) bool {
	if s == nil {
		return true
	}
	e := env{vars: vars}
	return s.root.eval(&e)
}

// env is what a rule is evaluated against. Whitelisting adds the user id as
// _vwo_user_id without copying the caller's map: injected overrides the map
// for that one name.
type env struct {
	vars     map[string]any
	userID   string
	injected bool
}

func (e *env) vwoUserID() (string, bool) {
	if e.injected {
		return e.userID, true
	}
	id, ok := e.vars[userIDVariable].(string)
	return id, ok
}

func (n *node) eval(e *env) bool {
	switch n.kind {
	case kindAnd:
		for i := range n.children {
			if !n.children[i].eval(e) {
				return false
			}
		}
		return true
	case kindOr:
		for i := range n.children {
			if n.children[i].eval(e) {
				return true
			}
		}
		return false
	case kindNot:
		return !n.children[0].eval(e)
	case kindCustomVariable:
		if e.injected && n.variable.name == userIDVariable {
			return n.variable.evalString(e.userID)
		}
		// A variable the caller did not send never matches, not even
		// regex(.*): VWO checks presence first.
		v, ok := e.vars[n.variable.name]
		return ok && n.variable.eval(v)
	case kindUser:
		id, ok := e.vwoUserID()
		return ok && n.users.contains(id)
	default:
		return true
	}
}

// compileSegment reads a segments field. It returns nil when the rule is
// absent, null or {}: VWO skips such rules (pre-segmentation passes,
// whitelisting ignores the variation).
func compileSegment(c *checker, path string, raw json.RawMessage) *Segment {
	if !present(raw) {
		return nil
	}
	b := segmentBuilder{c: c}
	root := b.node(path, raw, 1)
	if root.kind == kindTrue {
		return nil
	}
	return &Segment{root: root}
}

type segmentBuilder struct {
	c     *checker
	nodes int
}

func (b *segmentBuilder) node(path string, raw json.RawMessage, depth int) node {
	b.nodes++
	b.c.segmentNodes++
	if b.nodes == maxSegmentNodes+1 {
		b.c.addf(path, "segment has more than %d conditions", maxSegmentNodes)
	}
	if b.c.segmentNodes == maxFileSegmentNodes+1 {
		b.c.addf(path, "the file's segments have more than %d conditions in all", maxFileSegmentNodes)
	}
	if depth > maxSegmentDepth {
		b.c.addf(path, "segment is nested deeper than %d levels", maxSegmentDepth)
		return node{}
	}
	o, ok := b.c.object(path, raw)
	if !ok {
		return node{}
	}
	switch len(o) {
	case 0:
		return node{kind: kindTrue}
	case 1:
	default:
		// The Go SDK would pick whichever key its map yields first.
		keys := make([]string, 0, len(o))
		for _, m := range o {
			keys = append(keys, string(m.Key))
		}
		slices.Sort(keys)
		b.c.addf(path, "must hold exactly one operator, found %s", strings.Join(keys, ", "))
		return node{}
	}

	for _, m := range o {
		op, arg := string(m.Key), json.RawMessage(m.Value)
		p := path + "." + op
		switch op {
		case "and", "or":
			kind := kindAnd
			if op == "or" {
				kind = kindOr
			}
			items, ok := b.c.array(p, arg)
			if !ok {
				return node{}
			}
			n := node{kind: kind, children: make([]node, len(items))}
			for i, item := range items {
				n.children[i] = b.node(indexPath(p, i), item, depth+1)
			}
			return n
		case "not":
			return node{kind: kindNot, children: []node{b.node(p, arg, depth+1)}}
		case "custom_variable":
			return b.customVariable(p, arg)
		case "user":
			list, ok := b.c.str(p, arg)
			if !ok {
				return node{}
			}
			return node{kind: kindUser, users: newUserList(list)}
		default:
			// The Go SDK treats an unknown operator as "matches", which
			// would silently widen targeting; refuse the rule instead.
			b.c.addf(path, "unknown operator %s", strconv.Quote(op))
			return node{}
		}
	}
	return node{}
}

func (b *segmentBuilder) customVariable(path string, raw json.RawMessage) node {
	o, ok := b.c.object(path, raw)
	if !ok {
		return node{}
	}
	if len(o) != 1 {
		b.c.addf(path, "must name exactly one variable, found %d", len(o))
		return node{}
	}
	for _, m := range o {
		name, arg := string(m.Key), json.RawMessage(m.Value)
		p := path + "[" + strconv.Quote(name) + "]"
		operand, ok := b.c.str(p, arg)
		if !ok {
			return node{}
		}
		return node{kind: kindCustomVariable, variable: compileOperand(b.c, p, name, operand)}
	}
	return node{}
}

func newUserList(list string) *userList {
	parts := strings.Split(list, ",")
	u := &userList{ids: make([]string, len(parts))}
	for i, p := range parts {
		// Go SDK: strings.TrimSpace on every entry.
		u.ids[i] = strings.TrimSpace(p)
	}
	if len(u.ids) > userSetThreshold {
		u.set = make(map[string]struct{}, len(u.ids))
		for _, id := range u.ids {
			u.set[id] = struct{}{}
		}
		u.ids = nil
	}
	return u
}
