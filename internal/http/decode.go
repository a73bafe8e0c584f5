package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
)

// decodeBody decodes the request body strictly into dst: one JSON value, no unknown fields,
// no wrong types. Field names match case-insensitively (encoding/json's rule), so the VWO Go
// SDK's UserID/CampaignKey spelling is accepted.
func decodeBody(c echo.Context, dst any) error {
	return decode(c, dst, false)
}

// decodeBodyNumbers is decodeBody keeping numbers in free-form values (custom variables) as
// json.Number, so that 12345678901234567890 reaches segmentation as written, not as a float.
func decodeBodyNumbers(c echo.Context, dst any) error {
	return decode(c, dst, true)
}

func decode(c echo.Context, dst any, numbers bool) error {
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if numbers {
		dec.UseNumber()
	}
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return err
		}
		return invalid("body must hold exactly one JSON value")
	}
	return nil
}

func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return err
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
