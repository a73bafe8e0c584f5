package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/uss/uss/internal/strictjson"
)

// decodeBody decodes the request body strictly into dst: one JSON value, no unknown fields,
// no wrong types, and strict JSON (see strictjson: valid UTF-8, no lone surrogates, no key
// twice). Field names match case-insensitively (encoding/json's rule), so the VWO Go SDK's
// UserID/CampaignKey spelling is accepted, and for the same reason "userId" and "USERID" in
// one object are the same field given twice.
func decodeBody(c echo.Context, dst any) error {
	return decode(c, dst, false)
}

// decodeBodyNumbers is decodeBody keeping numbers in free-form values (custom variables) as
// json.Number, so that 12345678901234567890 reaches segmentation as written, not as a float.
func decodeBodyNumbers(c echo.Context, dst any) error {
	return decode(c, dst, true)
}

func decode(c echo.Context, dst any, numbers bool) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if numbers {
		dec.UseNumber()
	}
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return invalid("body must hold exactly one JSON value")
	}
	if err := strictjson.Check(body, shapeOf(dst)); err != nil {
		return invalid("body is not strict JSON: %v", err)
	}
	return nil
}

// readBody reads the whole body, which bodyLimit bounds (an *http.MaxBytesError, a 413,
// beyond it). A body of known length is read into one buffer of that length: io.ReadAll
// would grow its buffer by doubling, and leave about as much again behind as garbage.
func readBody(c echo.Context) ([]byte, error) {
	req := c.Request()
	var body []byte
	var err error
	if n := req.ContentLength; n > 0 {
		body = make([]byte, n)
		_, err = io.ReadFull(req.Body, body)
	} else {
		body, err = io.ReadAll(req.Body)
	}
	var tooLarge *http.MaxBytesError
	var refused *apiError
	switch {
	case errors.As(err, &tooLarge), errors.As(err, &refused):
		return nil, err
	case err != nil:
		return nil, invalid("body could not be read: the connection failed while sending it")
	}
	return body, nil
}

// shapes caches strictjson's view of each request type.
var shapes sync.Map // reflect.Type -> *strictjson.Shape

func shapeOf(dst any) *strictjson.Shape {
	t := reflect.TypeOf(dst)
	if s, ok := shapes.Load(t); ok {
		return s.(*strictjson.Shape)
	}
	s := strictjson.ShapeOf(t)
	shapes.Store(t, s)
	return s
}

func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return invalid("body must be a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("body is not valid JSON: unexpected end")
	case errors.As(err, &syntax):
		return invalid("body is not valid JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.As(err, &typ):
		if typ.Field == "" {
			return invalid("body must be a JSON object, not %s", typ.Value)
		}
		return invalid("field %q must be %s, not %s", typ.Field, jsonType(typ.Type.Kind().String()), typ.Value)
	}
	if msg, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return invalid("unknown field %s", msg)
	}
	return invalid("body is not valid: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// jsonType names a Go kind as the JSON type a client must send.
func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	case "float64", "float32", "int", "int64", "int32", "uint", "uint64":
		return "a number"
	}
	return "of type " + kind
}

// query reads the query string strictly: only the allowed names, each at most once, and a
// malformed query string is an error rather than silently dropped pairs.
func query(c echo.Context, allowed ...string) (map[string]string, error) {
	values, err := url.ParseQuery(c.Request().URL.RawQuery)
	if err != nil {
		return nil, invalid("query string is malformed: %v", err)
	}
	out := make(map[string]string, len(values))
	for name, vs := range values {
		if !contains(allowed, name) {
			return nil, invalid("unknown query parameter %q (allowed: %s)", name, strings.Join(allowed, ", "))
		}
		if len(vs) > 1 {
			return nil, invalid("query parameter %q is given %d times", name, len(vs))
		}
		out[name] = vs[0]
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
