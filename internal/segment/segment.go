// Package segment is VWO's segmentation language: the rules of a campaign's pre-segmentation
// and of its variations' whitelisting. A rule is a tree of and / or / not over
// custom_variable conditions (with the operand forms lower(), wildcard(), regex() and node's
// gt/gte/lt/lte) and user conditions (a list of user ids). docs/decisions.md describes it.
//
// Everything is parsed and every regex compiled up front, so evaluating does no parsing and,
// for string values, no allocation. A Compiler bounds the rules of one settings file
// together, so that a hostile file cannot make every decision slow or the server large.
package segment

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/uss/uss/internal/jsoncheck"
)

// UserIDVariable is the variable a "user" condition compares with. VWO's Go SDK injects it
// into whitelisting's variables (node and python call it _vwoUserId).
const UserIDVariable = "_vwo_user_id"

// Bounds on a segment tree, so that a hostile file cannot make a decision recurse deeply or
// walk a huge tree. Segments built in VWO's UI are a few levels deep and a few dozen
// conditions wide.
const (
	maxDepth = 32
	maxNodes = 10000
	// maxFileNodes bounds all rules of one file together: real accounts have a few hundred
	// campaigns of a few dozen conditions.
	maxFileNodes = 100000
)

// Segment is a compiled rule. A nil *Segment, like an empty rule, matches everybody.
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

// userList is a "user" condition: a comma-separated list of user ids, each trimmed of white
// space.
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

// Parse compiles one rule from its JSON, on its own. Problems come in a *jsoncheck.Error.
func Parse(data []byte) (*Segment, error) {
	c := &jsoncheck.Checker{}
	var s *Segment
	if c.Document("segment", data) {
		s = NewCompiler(c).Compile("segment", data)
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	if s == nil {
		s = &Segment{}
	}
	return s, nil
}

// Matches evaluates the rule against variables as decoded from JSON. A "user" condition
// compares with the variable _vwo_user_id.
func (s *Segment) Matches(vars map[string]any) bool {
	if s == nil {
		return true
	}
	e := env{vars: vars}
	return s.root.eval(&e)
}

// MatchesUser is Matches with _vwo_user_id set to userID, whatever vars hold, without copying
// vars (whitelisting's injection).
func (s *Segment) MatchesUser(userID string, vars map[string]any) bool {
	if s == nil {
		return true
	}
	e := env{vars: vars, userID: userID, injected: true}
	return s.root.eval(&e)
}

// env is what a rule is evaluated against: injected overrides the map for _vwo_user_id.
type env struct {
	vars     map[string]any
	userID   string
	injected bool
}

func (e *env) vwoUserID() (string, bool) {
	if e.injected {
		return e.userID, true
	}
	id, ok := e.vars[UserIDVariable].(string)
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
		if e.injected && n.variable.name == UserIDVariable {
			return n.variable.evalString(e.userID)
		}
		// A variable the caller did not send never matches, not even regex(.*): VWO checks
		// presence first.
		v, ok := e.vars[n.variable.name]
		return ok && n.variable.eval(v)
	case kindUser:
		id, ok := e.vwoUserID()
		return ok && n.users.contains(id)
	default:
		return true
	}
}

// Compiler compiles the rules of one settings file, reporting to its checker, and bounds them
// together: conditions, distinct regexes and their compiled size. Identical patterns are
// compiled once and shared (a compiled regex is safe for concurrent use).
type Compiler struct {
	c          *jsoncheck.Checker
	nodes      int
	regexes    map[string]*regexp.Regexp
	regexInsts int
	// regexBudgetSpent: the file's regex budget was reported once; later patterns are not.
	regexBudgetSpent bool
}

// NewCompiler returns a Compiler that reports problems and warnings to c.
func NewCompiler(c *jsoncheck.Checker) *Compiler {
	return &Compiler{c: c}
}

// Compile reads the segments field at path, from a document that passed Checker.Document. It
// returns nil when the rule is absent, null or {}: VWO skips such rules (pre-segmentation
// passes, whitelisting ignores the variation).
func (sc *Compiler) Compile(path string, raw json.RawMessage) *Segment {
	if !jsoncheck.Present(raw) {
		return nil
	}
	b := builder{Compiler: sc}
	root := b.node(path, raw, 1)
	if root.kind == kindTrue {
		return nil
	}
	return &Segment{root: root}
}

// builder compiles one rule.
type builder struct {
	*Compiler
	nodes int
}

func (b *builder) node(path string, raw json.RawMessage, depth int) node {
	b.nodes++
	b.Compiler.nodes++
	if b.nodes == maxNodes+1 {
		b.c.Addf(path, "segment has more than %d conditions", maxNodes)
	}
	if b.Compiler.nodes == maxFileNodes+1 {
		b.c.Addf(path, "the file's segments have more than %d conditions in all", maxFileNodes)
	}
	if depth > maxDepth {
		b.c.Addf(path, "segment is nested deeper than %d levels", maxDepth)
		return node{}
	}
	o, ok := b.c.Object(path, raw)
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
		b.c.Addf(path, "must hold exactly one operator, found %s", strings.Join(keys, ", "))
		return node{}
	}

	for _, m := range o {
		op, arg := string(m.Key), m.Value
		p := path + "." + op
		switch op {
		case "and", "or":
			kind := kindAnd
			if op == "or" {
				kind = kindOr
			}
			items, ok := b.c.Array(p, arg)
			if !ok {
				return node{}
			}
			n := node{kind: kind, children: make([]node, len(items))}
			for i, item := range items {
				n.children[i] = b.node(jsoncheck.Index(p, i), item, depth+1)
			}
			return n
		case "not":
			return node{kind: kindNot, children: []node{b.node(p, arg, depth+1)}}
		case "custom_variable":
			return b.customVariable(p, arg)
		case "user":
			list, ok := b.c.String(p, arg)
			if !ok {
				return node{}
			}
			return node{kind: kindUser, users: newUserList(list)}
		default:
			// The Go SDK treats an unknown operator as "matches", which would silently widen
			// targeting; refuse the rule instead.
			b.c.Addf(path, "unknown operator %s", strconv.Quote(op))
			return node{}
		}
	}
	return node{}
}

func (b *builder) customVariable(path string, raw json.RawMessage) node {
	o, ok := b.c.Object(path, raw)
	if !ok {
		return node{}
	}
	if len(o) != 1 {
		b.c.Addf(path, "must name exactly one variable, found %d", len(o))
		return node{}
	}
	name, arg := string(o[0].Key), o[0].Value
	p := path + "[" + strconv.Quote(name) + "]"
	operand, ok := b.c.String(p, arg)
	if !ok {
		return node{}
	}
	return node{kind: kindCustomVariable, variable: b.compileOperand(p, name, operand)}
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
