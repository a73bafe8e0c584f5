package segment

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/uss/uss/internal/jsoncheck"
)

// The operand forms of a custom_variable condition, recognised with the Go
// SDK's own patterns (only the leading function name is anchored; the value
// runs to the last ")" on the line), tested in this order.
var (
	lowerForm    = regexp.MustCompile(`^lower\((.*)\)`)
	wildcardForm = regexp.MustCompile(`^wildcard\((.*)\)`)
	regexForm    = regexp.MustCompile(`^regex\((.*)\)`)
	// gt/gte/lt/lte come from the node, python and FME SDKs; the Go SDK has
	// none and would compare "gt(5)" as a literal string. Their argument is
	// an unsigned decimal, as in python's anchored patterns.
	compareForm = regexp.MustCompile(`^(gte|gt|lte|lt)\((\d+\.?\d*|\.\d+)\)$`)
)

type form uint8

const (
	formEqual    form = iota // plain string equality (also wildcard() without stars)
	formLower                // lower(x): case-insensitive equality
	formContains             // wildcard(*x*)
	formSuffix               // wildcard(*x)
	formPrefix               // wildcard(x*)
	formRegex                // regex(x): unanchored search
	formGT                   // gt(n)
	formGTE                  // gte(n)
	formLT                   // lt(n)
	formLTE                  // lte(n)
)

// comparesNumbers reports the gt/gte/lt/lte forms, which compare parsed
// numbers rather than normalised text.
func (f form) comparesNumbers() bool {
	return f == formGT || f == formGTE || f == formLT || f == formLTE
}

// Limits on what one hostile settings file can make every decision do. Go's
// regexp is linear in pattern and input, so bounding both bounds the work.
const (
	// maxRegexBytes is far above any targeting rule written in VWO's UI.
	maxRegexBytes = 1024
	// maxRegexInsts bounds the compiled program, which is what matching
	// cost scales with ("a{1000}" is 8 bytes but 1000 instructions).
	maxRegexInsts = 2000
	// maxRegexInput: a value longer than this is not searched and the
	// condition is false. Browser names, plans and URLs are far shorter.
	maxRegexInput = 4096
	// maxFileRegexes and maxFileRegexInsts bound the memory a whole file's
	// compiled regexes take (a 16 MiB file could otherwise hold half a
	// million of them). Identical patterns are compiled once and shared.
	maxFileRegexes    = 10000
	maxFileRegexInsts = 200000
)

// customVariable is one compiled {"custom_variable": {"<name>": "<operand>"}}.
// A file holds thousands, so it carries only what its form needs.
type customVariable struct {
	name string
	// value is the operand after its function and stars are removed;
	// lower-cased for formLower.
	value string
	re    *regexp.Regexp // formRegex
	// num is the operand read as a number, nil when it is none: VWO
	// compares numbers by their normalised text ("10" matches 10.0), so
	// when the operand and the input both parse as numbers, both are
	// replaced by their normalised form before comparing. The operand's
	// half is done here, once.
	num  *numericOperand
	form form
}

type numericOperand struct {
	value string         // normalised; lower-cased for formLower
	re    *regexp.Regexp // formRegex: the normalised value's pattern
	bound float64        // gt/gte/lt/lte
}

var compareForms = map[string]form{"gt": formGT, "gte": formGTE, "lt": formLT, "lte": formLTE}

// compileOperand reads the operand string of a custom_variable condition. A regex over the
// limits is a problem; one that RE2 cannot compile is a warning only: it may be valid where
// the rule was written (a browser's JavaScript), so the file must load, and the condition is
// false, as in VWO's Go SDK.
func (sc *Compiler) compileOperand(path, name, operand string) *customVariable {
	cv := &customVariable{name: sc.c.Intern(name), form: formEqual, value: operand}
	var bound float64
	switch {
	case lowerForm.MatchString(operand):
		cv.form = formLower
		cv.value = lowerForm.FindStringSubmatch(operand)[1]
	case wildcardForm.MatchString(operand):
		v := wildcardForm.FindStringSubmatch(operand)[1]
		starts, ends := strings.HasPrefix(v, "*"), strings.HasSuffix(v, "*")
		switch {
		case starts && ends:
			cv.form = formContains
		case starts:
			cv.form = formSuffix
		case ends:
			cv.form = formPrefix
		}
		// Only one leading and one trailing star are special.
		v = strings.TrimPrefix(v, "*")
		v = strings.TrimSuffix(v, "*")
		cv.value = v
	case regexForm.MatchString(operand):
		cv.form = formRegex
		cv.value = regexForm.FindStringSubmatch(operand)[1]
	case compareForm.MatchString(operand):
		m := compareForm.FindStringSubmatch(operand)
		cv.form = compareForms[m[1]]
		cv.value = m[2]
		bound, _ = strconv.ParseFloat(m[2], 64) // the pattern admits only decimals
	}

	if f, err := strconv.ParseFloat(cv.value, 64); err == nil {
		cv.num = &numericOperand{value: normaliseNumber(f), bound: bound}
	}
	switch cv.form {
	case formLower:
		cv.value = strings.ToLower(cv.value)
		if cv.num != nil {
			cv.num.value = strings.ToLower(cv.num.value)
		}
	case formRegex:
		cv.re = sc.compileRegex(path, cv.value)
		if cv.num != nil {
			cv.num.re = sc.compileRegex(path, cv.num.value)
		}
	}
	cv.value = sc.c.Intern(cv.value)
	return cv
}

// compileRegex returns nil for a pattern that cannot be used: such a condition is always
// false. Compiled patterns are shared within a file.
func (sc *Compiler) compileRegex(path, pattern string) *regexp.Regexp {
	if re, seen := sc.regexes[pattern]; seen {
		return re
	}
	if len(pattern) > maxRegexBytes {
		sc.c.Addf(path, "regex is %d bytes, the limit is %d", len(pattern), maxRegexBytes)
		return nil
	}
	parsed, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		sc.c.Warn(path, fmt.Sprintf("regex %s does not compile in RE2, Go's syntax (%v): the file loads, "+
			"and the condition never matches (as in VWO's Go SDK; a \"not\" around it always does)", jsoncheck.Quote(pattern), err))
		return nil
	}
	prog, err := syntax.Compile(parsed.Simplify())
	if err != nil {
		sc.c.Addf(path, "regex %s does not compile: %v", jsoncheck.Quote(pattern), err)
		return nil
	}
	if len(prog.Inst) > maxRegexInsts {
		sc.c.Addf(path, "regex compiles to %d instructions, the limit is %d", len(prog.Inst), maxRegexInsts)
		return nil
	}
	sc.regexInsts += len(prog.Inst)
	if len(sc.regexes) == maxFileRegexes || sc.regexInsts > maxFileRegexInsts {
		if !sc.regexBudgetSpent {
			sc.regexBudgetSpent = true
			sc.c.Addf(path, "the file holds more regex than uss compiles (at most %d distinct patterns, %d instructions in all)",
				maxFileRegexes, maxFileRegexInsts)
		}
		return nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil { // cannot happen: the pattern parsed with the same flags above
		sc.c.Addf(path, "regex %s does not compile: %v", jsoncheck.Quote(pattern), err)
		return nil
	}
	if sc.regexes == nil {
		sc.regexes = make(map[string]*regexp.Regexp)
	}
	sc.regexes[pattern] = re
	return re
}

// normaliseNumber is the Go SDK's text for a number: integral values without
// a decimal point ("10"), others in the shortest form that round-trips. The
// SDK converts integral values through int, which is undefined beyond ±2^63
// and for infinities; those keep their float text here.
func normaliseNumber(f float64) string {
	return string(appendNormalised(make([]byte, 0, 24), f))
}

func appendNormalised(dst []byte, f float64) []byte {
	if f == math.Floor(f) && math.Abs(f) < 1<<63 {
		return strconv.AppendInt(dst, int64(f), 10)
	}
	return strconv.AppendFloat(dst, f, 'f', -1, 64)
}

// eval tests the variable's value as VWO does: the value is turned into
// text, numbers are normalised when the operand is a number too, and the
// operand form decides the comparison.
func (cv *customVariable) eval(v any) bool {
	if cv.form == formRegex {
		// The regexp package holds on to its input, so a number's text
		// would escape from any stack buffer; this path may allocate.
		text, ok := valueText(v)
		return ok && cv.evalRegex(text)
	}
	switch x := v.(type) {
	case string:
		return cv.evalString(x)
	case bool:
		return cv.evalText(strconv.FormatBool(x))
	case nil:
		// The Go SDK turns null into "", which the text forms never match
		// and equality matches only against an empty operand.
		return cv.evalText("")
	}
	// Numbers are formatted on the stack; evalText does not keep the text,
	// so this costs no allocation for the usual short numbers.
	var buf [32]byte
	b, ok := appendNumberText(buf[:0], v)
	if !ok {
		return false
	}
	return cv.evalText(string(b))
}

// evalString tests a value that is already text.
func (cv *customVariable) evalString(text string) bool {
	if cv.form == formRegex {
		return cv.evalRegex(text)
	}
	return cv.evalText(text)
}

// evalText handles every form but regex. It must not retain text.
func (cv *customVariable) evalText(text string) bool {
	if cv.num != nil && !cv.form.comparesNumbers() {
		if f, err := strconv.ParseFloat(text, 64); err == nil {
			var buf [32]byte
			return cv.compare(cv.num.value, string(appendNormalised(buf[:0], f)))
		}
	}
	return cv.compare(cv.value, text)
}

// compare tests text against value (the operand, or its normalised number).
func (cv *customVariable) compare(value, text string) bool {
	switch cv.form {
	case formLower:
		return text != "" && equalLower(text, value)
	case formContains:
		return text != "" && strings.Contains(text, value)
	case formSuffix:
		return text != "" && strings.HasSuffix(text, value)
	case formPrefix:
		return text != "" && strings.HasPrefix(text, value)
	case formGT, formGTE, formLT, formLTE:
		// Only a value that is a number compares. The parse is strict:
		// node's parseFloat would also read "12px" as 12.
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return false
		}
		switch bound := cv.num.bound; cv.form {
		case formGT:
			return f > bound
		case formGTE:
			return f >= bound
		case formLT:
			return f < bound
		default:
			return f <= bound
		}
	default:
		return text == value
	}
}

func (cv *customVariable) evalRegex(text string) bool {
	re := cv.re
	if cv.num != nil {
		if f, err := strconv.ParseFloat(text, 64); err == nil {
			re, text = cv.num.re, normaliseNumber(f)
		}
	}
	if re == nil || len(text) > maxRegexInput {
		return false
	}
	return re.MatchString(text)
}

// equalLower is strings.ToLower(text) == lower without building the lowered
// text: rune by rune, with invalid bytes read as U+FFFD like ToLower does.
func equalLower(text, lower string) bool {
	for text != "" && lower != "" {
		r, n := utf8.DecodeRuneInString(text)
		q, m := utf8.DecodeRuneInString(lower)
		if unicode.ToLower(r) != q {
			return false
		}
		text, lower = text[n:], lower[m:]
	}
	return text == "" && lower == ""
}

// valueText is the text VWO compares a variable's value as: strings as they
// are, booleans as "true"/"false", null as "", numbers without exponent.
// Other values (objects, arrays) have no text and never match.
func valueText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case nil:
		return "", true
	}
	b, ok := appendNumberText(nil, v)
	return string(b), ok
}

// appendNumberText formats the number types encoding/json and Go callers
// produce. json.Number is read as encoding/json would have decoded it into
// float64, so a server using UseNumber decides exactly like one that does
// not.
func appendNumberText(dst []byte, v any) ([]byte, bool) {
	switch x := v.(type) {
	case float64:
		return strconv.AppendFloat(dst, x, 'f', -1, 64), true
	case float32:
		return strconv.AppendFloat(dst, float64(x), 'f', -1, 32), true
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return append(dst, x...), true
		}
		return strconv.AppendFloat(dst, f, 'f', -1, 64), true
	case int:
		return strconv.AppendInt(dst, int64(x), 10), true
	case int8:
		return strconv.AppendInt(dst, int64(x), 10), true
	case int16:
		return strconv.AppendInt(dst, int64(x), 10), true
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), true
	case int64:
		return strconv.AppendInt(dst, x, 10), true
	case uint:
		return strconv.AppendUint(dst, uint64(x), 10), true
	case uint8:
		return strconv.AppendUint(dst, uint64(x), 10), true
	case uint16:
		return strconv.AppendUint(dst, uint64(x), 10), true
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10), true
	case uint64:
		return strconv.AppendUint(dst, x, 10), true
	}
	return dst, false
}
