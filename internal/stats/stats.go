// Package stats holds the statistics of an A/B comparison of conversion rates: the Wilson
// interval of a rate, the uplift of a variation over the control with its interval, the
// two-proportion z-test, the probability that a variation beats the control under Beta
// posteriors, and revenue per user. It is pure: standard library only, no I/O.
//
// Every function takes counts (users who converted out of users) and says by an ok result or
// a nil pointer when a figure does not exist for them (a rate of no users, a relative uplift
// over a control that converted nobody), rather than return NaN.
package stats

import (
	"math"
	"math/big"
)

// Z95 is the standard normal quantile Φ⁻¹(0.975): a two-sided 95 % interval is ±Z95 standard
// errors.
const Z95 = 1.959963984540054

// Proportion is converted users out of users.
type Proportion struct {
	Converted int64
	Users     int64
}

// Rate is Converted / Users; ok is false without users.
func (p Proportion) Rate() (rate float64, ok bool) {
	if p.Users <= 0 {
		return 0, false
	}
	return float64(p.Converted) / float64(p.Users), true
}

// Interval is a two-sided 95 % interval.
type Interval struct {
	Low  float64 `json:"low"`
	High float64 `json:"high"`
}

// Wilson is the Wilson score interval of the rate at 95 %:
//
//	(p + z²/2n ± z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n)
//
// It stays within [0, 1] and is meaningful at 0 and at n conversions, where the normal
// approximation p ± z·√(p(1−p)/n) collapses to a point. ok is false without users.
func Wilson(p Proportion) (Interval, bool) {
	rate, ok := p.Rate()
	if !ok {
		return Interval{}, false
	}
	n := float64(p.Users)
	z2 := Z95 * Z95
	denom := 1 + z2/n
	center := (rate + z2/(2*n)) / denom
	half := Z95 / denom * math.Sqrt(rate*(1-rate)/n+z2/(4*n*n))
	return Interval{Low: math.Max(0, center-half), High: math.Min(1, center+half)}, true
}

// Comparison is a variation against the control, on one goal.
type Comparison struct {
	// AbsoluteUplift is rate(variation) − rate(control), with Newcombe's hybrid score
	// interval (method 10 of Newcombe 1998), built from the two Wilson intervals.
	AbsoluteUplift         float64  `json:"absoluteUplift"`
	AbsoluteUpliftInterval Interval `json:"absoluteUpliftInterval"`
	// RelativeUplift is rate(variation) / rate(control) − 1; nil when the control converted
	// nobody. Its interval is the log risk-ratio interval, exp(ln RR ± z·√(1/x₁ − 1/n₁ +
	// 1/x₀ − 1/n₀)) − 1, nil when either side converted nobody.
	RelativeUplift         *float64  `json:"relativeUplift"`
	RelativeUpliftInterval *Interval `json:"relativeUpliftInterval"`
	// PValue is the two-sided p-value of the pooled two-proportion z-test.
	PValue float64 `json:"pValue"`
	// ChanceToBeatControl is P(rate(variation) > rate(control)) for Beta(1 + converted,
	// 1 + users − converted) posteriors (a uniform prior), computed exactly.
	ChanceToBeatControl float64 `json:"chanceToBeatControl"`
}

// Compare compares variation with control; ok is false when either has no users.
func Compare(variation, control Proportion) (Comparison, bool) {
	p1, ok1 := variation.Rate()
	p0, ok0 := control.Rate()
	if !ok1 || !ok0 {
		return Comparison{}, false
	}
	w1, _ := Wilson(variation)
	w0, _ := Wilson(control)
	d := p1 - p0
	c := Comparison{
		AbsoluteUplift: d,
		AbsoluteUpliftInterval: Interval{
			Low:  d - math.Sqrt((p1-w1.Low)*(p1-w1.Low)+(w0.High-p0)*(w0.High-p0)),
			High: d + math.Sqrt((w1.High-p1)*(w1.High-p1)+(p0-w0.Low)*(p0-w0.Low)),
		},
		PValue:              TwoProportionPValue(variation, control),
		ChanceToBeatControl: ChanceToBeat(variation, control),
	}
	if control.Converted > 0 {
		r := p1/p0 - 1
		c.RelativeUplift = &r
		if variation.Converted > 0 {
			se := math.Sqrt(1/float64(variation.Converted) - 1/float64(variation.Users) +
				1/float64(control.Converted) - 1/float64(control.Users))
			ln := math.Log(p1 / p0)
			c.RelativeUpliftInterval = &Interval{Low: math.Expm1(ln - Z95*se), High: math.Expm1(ln + Z95*se)}
		}
	}
	return c, true
}

// TwoProportionPValue is the two-sided p-value of the z-test of equal rates with the pooled
// standard error: z = (p₁ − p₀) / √(p(1−p)(1/n₁ + 1/n₀)), p = (x₁ + x₀)/(n₁ + n₀), and the
// p-value is erfc(|z|/√2). When nobody or everybody converted on both sides the rates are
// equal and the p-value is 1. Both sides need users.
func TwoProportionPValue(a, b Proportion) float64 {
	pa, _ := a.Rate()
	pb, _ := b.Rate()
	na, nb := float64(a.Users), float64(b.Users)
	pooled := float64(a.Converted+b.Converted) / (na + nb)
	se := math.Sqrt(pooled * (1 - pooled) * (1/na + 1/nb))
	if se == 0 {
		return 1
	}
	z := (pa - pb) / se
	return math.Erfc(math.Abs(z) / math.Sqrt2)
}

// ChanceToBeat is P(B > A) for independent B ~ Beta(1 + b.Converted, 1 + b.Users −
// b.Converted) and A likewise from a: the posteriors of the two rates under a uniform prior.
// With integer parameters it has a closed form (Evan Miller, "Formulas for Bayesian A/B
// testing"), for B ~ Beta(α_B, β_B), A ~ Beta(α_A, β_A):
//
//	P(B > A) = Σ_{i=0}^{α_B−1} B(α_A + i, β_A + β_B) / ((β_B + i) · B(1 + i, β_B) · B(α_A, β_A))
//
// Each term is evaluated through ln Γ. The sum has α_B terms; since P(B > A) = 1 − P(A > B)
// (ties have probability 0), it runs over whichever side has the smaller α.
func ChanceToBeat(b, a Proportion) float64 {
	alphaB, betaB := float64(b.Converted+1), float64(b.Users-b.Converted+1)
	alphaA, betaA := float64(a.Converted+1), float64(a.Users-a.Converted+1)
	if alphaA < alphaB {
		return 1 - probGreater(alphaA, betaA, alphaB, betaB)
	}
	return probGreater(alphaB, betaB, alphaA, betaA)
}

// probGreater is P(X > Y) for X ~ Beta(ax, bx), Y ~ Beta(ay, by), integer ax ≥ 1.
func probGreater(ax, bx, ay, by float64) float64 {
	lnBetaY := lnBeta(ay, by)
	lnBx := lgamma(bx)
	total := 0.0
	for i := 0.0; i < ax; i++ {
		// ln B(1 + i, bx) = lnΓ(1 + i) + lnΓ(bx) − lnΓ(1 + i + bx)
		lnBetaI := lgamma(1+i) + lnBx - lgamma(1+i+bx)
		total += math.Exp(lnBeta(ay+i, by+bx) - math.Log(bx+i) - lnBetaI - lnBetaY)
	}
	return math.Min(1, math.Max(0, total))
}

func lnBeta(a, b float64) float64 { return lgamma(a) + lgamma(b) - lgamma(a+b) }

func lgamma(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}

// RevenuePerUser is revenue / users, rounded once to the nearest float64 from the exact
// decimal; ok is false without users or when revenue is not a decimal number.
func RevenuePerUser(revenue string, users int64) (float64, bool) {
	if users <= 0 {
		return 0, false
	}
	r, ok := new(big.Rat).SetString(revenue)
	if !ok {
		return 0, false
	}
	f, _ := r.Quo(r, new(big.Rat).SetInt64(users)).Float64()
	return f, true
}
