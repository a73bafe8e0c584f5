package strictjson_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/strictjson"
)

type record struct {
	UserID      string `json:"userId"`
	CampaignKey string `json:"campaignKey"`
}

type request struct {
	Records         []record        `json:"records"`
	One             *record         `json:"one"`
	CustomVariables map[string]any  `json:"customVariables"`
	Raw             json.RawMessage `json:"raw"`
	Skipped         string          `json:"-"`
	Plain           int
}

var requestShape = strictjson.ShapeOf(reflect.TypeFor[request]())

func TestStrictJSONAcceptsWhatDecodesFaithfully(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"an object":                         `{"records":[{"userId":"u","campaignKey":"c"}]}`,
		"white space around":                " \n{ \"one\" : { \"userId\" : \"é\" } }\t",
		"case variants in a free-form map":  `{"customVariables":{"plan":"a","Plan":"b","PLAN":"c"}}`,
		"case variants inside a raw value":  `{"raw":{"a":1,"A":2}}`,
		"one key in two sibling objects":    `{"records":[{"userId":"a"},{"userId":"b"}]}`,
		"a surrogate pair":                  `{"customVariables":{"emoji":"\ud83d\ude00"}}`,
		"escapes":                           `{"customVariables":{"s":"\"\\\/\b\f\n\r\t\u00e9\uFFFD"}}`,
		"numbers":                           `[0,-0,1.5,-2e10,3E+2,4e-2,12345678901234567890]`,
		"literals":                          `[true,false,null]`,
		"an unknown field (the decoder's)":  `{"userid2":1}`,
		"a field matched by its Go name":    `{"plain":1}`,
		"U+FFFD written as such":            "{\"one\":{\"userId\":\"\uFFFD\"}}",
		"many keys in a map":                `{"customVariables":{` + manyKeys(100, "k") + `}}`,
		"a scalar body with a free shape":   `"text"`,
		"an escaped key unlike the others":  `{"customVariables":{"a\u0062":1,"ab\u0020":2}}`,
		"deep but within encoding/json's":   strings.Repeat("[", 100) + strings.Repeat("]", 100),
		"empty containers":                  `{"records":[],"customVariables":{}}`,
		"four-byte UTF-8 written as itself": `{"customVariables":{"emoji":"😀"}}`,
	} {
		require.NoError(t, strictjson.Check([]byte(body), requestShape), name)
	}
}

func TestStrictJSONRefusesWhatWouldChangeOrVanish(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		body   string
		reason string
	}{
		"invalid UTF-8 in a value":           {"{\"one\":{\"userId\":\"a\xffb\"}}", "invalid UTF-8 byte 0xff"},
		"invalid UTF-8 in a key":             {"{\"customVariables\":{\"\xfe\":1}}", "invalid UTF-8 byte 0xfe"},
		"invalid UTF-8 deep in a free value": {"{\"customVariables\":{\"a\":[{\"b\":\"\xc3\"}]}}", "invalid UTF-8 byte 0xc3"},
		"an overlong encoding":               {"[\"\xc0\xaf\"]", "invalid UTF-8 byte 0xc0"},
		"an encoded surrogate":               {"[\"\xed\xa0\x80\"]", "invalid UTF-8 byte 0xed"},
		"a lone high surrogate":              {`{"one":{"userId":"\ud800"}}`, `\uD800 is half of a UTF-16 surrogate pair without its second half`},
		"a high surrogate then a letter":     {`["\ud800x"]`, `without its second half`},
		"two high surrogates":                {`["\ud800\ud800"]`, `without its second half`},
		"a lone low surrogate":               {`{"customVariables":{"\udc00":1}}`, `\uDC00 is half of a UTF-16 surrogate pair without its first half`},
		"the same key twice":                 {`{"one":{"userId":"a","userId":"b"}}`, `key "userId" appears twice in one object`},
		"a case variant of a field":          {`{"one":{"userId":"a","USERID":"b"}}`, `field "USERID" repeats "userId" (field names match case-insensitively)`},
		"a case variant at the top":          {`{"Records":[],"records":[]}`, `field "records" repeats "Records"`},
		"a case variant in a listed record":  {`{"records":[{"userId":"a"},{"campaignKey":"c","CampaignKey":"d"}]}`, `field "CampaignKey" repeats "campaignKey"`},
		"the Kelvin sign folds to K":         {`{"one":{"campaignKey":"a","campaign\u212aey":"b"}}`, `repeats "campaignKey"`},
		"an escaped spelling of a key":       {`{"one":{"userId":"a","user\u0049d":"b"}}`, `key "userId" appears twice`},
		"a key twice in a free-form map":     {`{"customVariables":{"plan":"a","plan":"b"}}`, `key "plan" appears twice`},
		"a key twice in a raw value":         {`{"raw":{"x":{"y":1,"y":2}}}`, `key "y" appears twice`},
		"a key twice among many":             {`{"customVariables":{` + manyKeys(40, "k") + `,"k7":0}}`, `key "k7" appears twice`},
		"a control character":                {"[\"a\nb\"]", "control character"},
		"an unknown escape":                  {`["\x41"]`, `invalid escape \x`},
		"a short \\u escape":                 {`["\u12"]`, `four hexadecimal digits must follow`},
		"two values":                         {`{} {}`, "more after the JSON value"},
		"nothing":                            {``, "unexpected end of JSON"},
		"a leading zero":                     {`[01]`, "expected , or ]"},
		"a bare decimal point":               {`[1.]`, "no digit after the decimal point"},
		"a bare exponent":                    {`[1e]`, "no digit in the exponent"},
		"a trailing comma":                   {`[1,]`, "invalid character ']'"},
		"an unterminated string":             {`["abc`, "unexpected end of JSON in a string"},
		"a bad literal":                      {`[nul]`, "invalid literal"},
		"a number key":                       {`{1:2}`, "expected a string key"},
		"deeper than encoding/json allows":   {strings.Repeat("[", 10001) + strings.Repeat("]", 10001), "nested deeper than 10000 levels"},
	} {
		err := strictjson.Check([]byte(tc.body), requestShape)
		var se *strictjson.Error
		require.ErrorAs(t, err, &se, name)
		require.Contains(t, se.Error(), tc.reason, name)
		require.LessOrEqual(t, se.Offset, len(tc.body), name)
	}
}

func TestDuplicateReportsTheOffsetOfTheSecondKey(t *testing.T) {
	t.Parallel()
	body := `{"one":{"userId":"a","USERID":"b"}}`
	var se *strictjson.Error
	require.ErrorAs(t, strictjson.Check([]byte(body), requestShape), &se)
	require.Equal(t, strings.Index(body, `"USERID"`), se.Offset)
}

func manyKeys(n int, prefix string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = `"` + prefix + string(rune('0'+i%10)) + strings.Repeat("x", i/10) + `":` + "1"
	}
	return strings.Join(parts, ",")
}

// FuzzCheck holds Check to JSON's grammar and to what encoding/json would change: what it
// accepts is valid UTF-8 JSON that encoding/json decodes without a replacement character it
// did not contain, and valid UTF-8 JSON without surrogate escapes or repeated keys is accepted.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		`{"a":1,"b":[true,false,null,"x"]}`, `{"a":1,"a":2}`, "[\"\xff\"]", `["\ud800"]`, `["\ud83d\ude00"]`,
		`{"a":{"b":{"c":[1,2,{"d":"\u00e9"}]}}}`, `-0.5e+10`, `"\\ud800"`, `{"k":"v"} x`, `[1,]`, `{"` + manyKeys(20, "q") + `}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := strictjson.Check(data, nil)
		if err == nil {
			if !json.Valid(data) || !utf8.Valid(data) {
				t.Fatalf("accepted %q: valid JSON %v, valid UTF-8 %v", data, json.Valid(data), utf8.Valid(data))
			}
			var v any
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber() // 1e1000 is valid JSON, though no float64
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("accepted %q, which encoding/json refuses: %v", data, err)
			}
			out, _ := json.Marshal(v)
			if bytes.ContainsRune(out, utf8.RuneError) && !bytes.ContainsRune(data, utf8.RuneError) &&
				!bytes.Contains(bytes.ToLower(data), []byte(`\ufffd`)) {
				t.Fatalf("accepted %q, which decodes with a replacement character", data)
			}
			checkSplit(t, data)
			return
		}
		var se *strictjson.Error
		if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(data) {
			t.Fatalf("error %v (%T) for %q", err, err, data)
		}
		if json.Valid(data) && utf8.Valid(data) && !surrogateEscape(data) && !repeatsAKey(t, data) {
			t.Fatalf("refused %q, which is strict JSON: %v", data, err)
		}
	})
}

// surrogateEscape finds anything like a surrogate's \u escape (or an escaped backslash before
// such text, which it cannot tell apart: the fuzz test then asserts nothing).
func surrogateEscape(data []byte) bool {
	lower := bytes.ToLower(data)
	for _, p := range []string{`\ud8`, `\ud9`, `\uda`, `\udb`, `\udc`, `\udd`, `\ude`, `\udf`} {
		if bytes.Contains(lower, []byte(p)) {
			return true
		}
	}
	return false
}

// repeatsAKey reads valid JSON with encoding/json's tokenizer and reports an object with a key
// twice.
func repeatsAKey(t *testing.T, data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		object bool
		keys   map[string]bool
		expect bool // the next token of an object is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return false
		}
		if err != nil {
			t.Fatalf("tokenize valid JSON %q: %v", data, err)
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.expect {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				continue
			}
			k := tok.(string)
			if top.keys[k] {
				return true
			}
			top.keys[k] = true
			top.expect = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			if top != nil && top.object {
				top.expect = true
			}
			stack = append(stack, &frame{object: true, keys: map[string]bool{}, expect: true})
		case json.Delim('['):
			if top != nil && top.object {
				top.expect = true
			}
			stack = append(stack, &frame{})
		case json.Delim(']'), json.Delim('}'):
			stack = stack[:len(stack)-1]
		default:
			if top != nil && top.object {
				top.expect = true
			}
		}
	}
}

// checkSplit holds Members, Elements and String to what encoding/json reads.
func checkSplit(t *testing.T, data []byte) {
	var object map[string]json.RawMessage
	var array []json.RawMessage
	var str string
	members, isObject := strictjson.Members(data)
	elements, isArray := strictjson.Elements(data)
	text, isString := strictjson.String(data)
	require.Equal(t, json.Unmarshal(data, &object) == nil, isObject, "%q", data)
	require.Equal(t, json.Unmarshal(data, &array) == nil, isArray, "%q", data)
	require.Equal(t, json.Unmarshal(data, &str) == nil, isString, "%q", data)
	if isObject {
		require.Len(t, members, len(object), "%q", data)
		for _, m := range members {
			require.JSONEq(t, string(object[string(m.Key)]), string(m.Value), "%q", data)
			//nolint:testifylint // encoded-compare: the bytes are the point (no surrounding whitespace), which JSONEq would not see
			require.Equal(t, json.RawMessage(bytes.TrimSpace(m.Value)), m.Value)
		}
	}
	if isArray {
		require.Len(t, elements, len(array), "%q", data)
		for i, e := range elements {
			require.JSONEq(t, string(array[i]), string(e), "%q", data)
		}
	}
	if isString {
		require.Equal(t, str, text)
	}
}

func TestSplitReadsWhatEncodingJSONReads(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		`{"a":1,"b":[true,{"c":"}\"]"}],"d":null,"e":"x","f":-1.5e3,"g\u00e9":{}}`,
		` [ 1 , "a" , [ ] , { } , [ [ 2 ] ] ] `, `"\u00e9\ud83d\ude00"`, `{}`, `[]`, `3`,
	} {
		require.NoError(t, strictjson.Check([]byte(s), nil), s)
		checkSplit(t, []byte(s))
	}
}

// BenchmarkCheckStorageRecord is the check on a POST /v1/storage body, the hottest write.
func BenchmarkCheckStorageRecord(b *testing.B) {
	body := []byte(`{"userId":"5f0e3c2a-9d1b-4c1e-8f3a-2b7d6e4c9a10","campaignKey":"checkout-redesign","variationName":"Variation-1","goalIdentifier":"signup_vwo_purchase"}`)
	shape := strictjson.ShapeOf(reflect.TypeFor[record]())
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := strictjson.Check(body, shape); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckLargeObject checks an object of 60,000 keys (0.8 MB), the shape of a hostile
// body: B/op is what checking it allocates.
func BenchmarkCheckLargeObject(b *testing.B) {
	var body strings.Builder
	body.WriteString("{")
	for i := range 60000 {
		fmt.Fprintf(&body, `"k%d":1e308,`, i)
	}
	body.WriteString(`"z":1}`)
	data := []byte(body.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := strictjson.Check(data, nil); err != nil {
			b.Fatal(err)
		}
	}
}
