package reportpages

import (
	"fmt"
	"math"

	"github.com/uss/uss/internal/reports"
)

// The chart's geometry, in SVG user units; the SVG scales to the page width.
const (
	chartWidth  = 640.0
	labelWidth  = 150.0
	rightMargin = 24.0
	rowHeight   = 34.0
	axisHeight  = 30.0
)

// chart draws one goal's conversion rates with their 95 % intervals, one row per variation:
// a line from the low to the high end of the interval and a dot at the rate, the control's
// rate as a dashed line across the rows.
type chart struct {
	Title  string
	Width  float64
	Height float64
	// PlotLeft and PlotRight bound the plotting area.
	PlotLeft, PlotRight float64
	AxisY               float64
	Rows                []chartRow
	Ticks               []chartTick
	// ControlX is where the control's rate is, when the control has users.
	ControlX   float64
	HasControl bool
}

type chartRow struct {
	Label string
	// Y is the row's middle line.
	Y                  float64
	X, LowX, HighX     float64
	HasRate, IsControl bool
	Text               string
}

type chartTick struct {
	X     float64
	Label string
}

func newChart(goal string, rows []reports.Goal, control string) chart {
	c := chart{
		Title:     fmt.Sprintf("Conversion rate of %s per variation, with 95 %% intervals", goal),
		Width:     chartWidth,
		PlotLeft:  labelWidth,
		PlotRight: chartWidth - rightMargin,
	}
	top := 0.0
	for _, g := range rows {
		if g.ConversionRateInterval != nil {
			top = math.Max(top, g.ConversionRateInterval.High)
		}
	}
	step, max := axis(top)
	scale := func(v float64) float64 { return c.PlotLeft + v/max*(c.PlotRight-c.PlotLeft) }
	for i, g := range rows {
		r := chartRow{Label: g.Variation, Y: rowHeight*float64(i) + rowHeight/2, IsControl: g.Variation == control, Text: "no users"}
		if g.ConversionRate != nil && g.ConversionRateInterval != nil {
			r.HasRate = true
			r.X, r.LowX, r.HighX = scale(*g.ConversionRate), scale(g.ConversionRateInterval.Low), scale(g.ConversionRateInterval.High)
			r.Text = percent(g.ConversionRate)
			if r.IsControl {
				c.ControlX, c.HasControl = r.X, true
			}
		}
		c.Rows = append(c.Rows, r)
	}
	c.AxisY = rowHeight * float64(len(rows))
	c.Height = c.AxisY + axisHeight
	for v := 0.0; v <= max+step/2; v += step {
		c.Ticks = append(c.Ticks, chartTick{X: scale(v), Label: tickLabel(v, step)})
	}
	return c
}

// axis picks a tick step of 1, 2 or 5 times a power of ten giving at most 5 steps up to
// top (a rate in 0..1), and the axis end: a whole number of steps at or above top.
func axis(top float64) (step, max float64) {
	if top <= 0 {
		return 0.002, 0.01
	}
	raw := top / 5
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if step = m * pow; step >= raw {
			break
		}
	}
	max = math.Ceil(top/step-1e-9) * step
	return step, max
}

func tickLabel(v, step float64) string {
	decimals := max(0, int(math.Ceil(-math.Log10(step*100)-1e-9)))
	return fmt.Sprintf("%.*f %%", decimals, v*100)
}
