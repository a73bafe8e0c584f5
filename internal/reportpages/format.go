package reportpages

import (
	"fmt"
	"html/template"
	"math"
	"strconv"

	"github.com/uss/uss/internal/stats"
)

// funcs format figures for reading. Each figure on a page also carries its exact value in a
// data-value attribute (value), so that what a page shows can be checked against the API.
var funcs = template.FuncMap{
	"percent":          percent,
	"interval":         interval,
	"points":           points,
	"pointsInterval":   pointsInterval,
	"relative":         relative,
	"relativeInterval": relativeInterval,
	"pvalue":           pvalue,
	"chance":           chance,
	"money":            money,
	"value":            value,
	"weight":           weight,
	"deref":            deref,
	// deref2 reads a float a template has checked is there.
	"deref2": func(v *float64) float64 {
		if v == nil {
			return 0
		}
		return *v
	},
	"pvalue2": func(v float64) string { return pvalue(&v) },
	// pclause is "p = 0.0123", or "p < 0.0001".
	"pclause": func(v *float64) string {
		if v != nil && *v < 0.0001 {
			return "p " + pvalue(v)
		}
		return "p = " + pvalue(v)
	},
}

const dash = "–"

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// percent is a rate as a percentage with two decimals: 0.13 is "13.00 %".
func percent(v *float64) string {
	if v == nil {
		return dash
	}
	return fmt.Sprintf("%.2f %%", *v*100)
}

func interval(i *stats.Interval) string {
	if i == nil {
		return ""
	}
	return fmt.Sprintf("%.2f – %.2f %%", i.Low*100, i.High*100)
}

// points is a difference of rates in percentage points, signed.
func points(v float64) string { return fmt.Sprintf("%+.2f pp", v*100) }

func pointsInterval(i stats.Interval) string {
	return fmt.Sprintf("%+.2f to %+.2f pp", i.Low*100, i.High*100)
}

// relative is a relative change in percent, signed: 0.3 is "+30.0 %".
func relative(v *float64) string {
	if v == nil {
		return dash
	}
	return fmt.Sprintf("%+.1f %%", *v*100)
}

func relativeInterval(i *stats.Interval) string {
	if i == nil {
		return ""
	}
	return fmt.Sprintf("%+.1f to %+.1f %%", i.Low*100, i.High*100)
}

// pvalue shows four decimals, and "< 0.0001" below.
func pvalue(v *float64) string {
	switch {
	case v == nil:
		return dash
	case *v < 0.0001:
		return "< 0.0001"
	}
	return fmt.Sprintf("%.4f", *v)
}

func chance(v float64) string { return fmt.Sprintf("%.1f %%", v*100) }

func money(v *float64) string {
	if v == nil {
		return dash
	}
	return fmt.Sprintf("%.4f", *v)
}

func weight(v *float64) string {
	if v == nil {
		return "not in the settings"
	}
	return strconv.FormatFloat(*v, 'f', -1, 64) + " %"
}

// value is a figure's exact value for data-value: the shortest text that reads back as the
// same float64, "" when there is none.
func value(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case *float64:
		if x == nil {
			return ""
		}
		return value(*x)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return ""
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case string:
		return x
	}
	return fmt.Sprint(v)
}
