package stats_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/stats"
)

const tol = 1e-9

func prop(converted, users int64) stats.Proportion {
	return stats.Proportion{Converted: converted, Users: users}
}

func TestZ95IsTheNormalQuantileOf0975(t *testing.T) {
	t.Parallel()
	// Φ(z) = erfc(−z/√2)/2
	require.InDelta(t, 0.975, math.Erfc(-stats.Z95/math.Sqrt2)/2, 1e-15)
}

func TestWilson(t *testing.T) {
	t.Parallel()
	z2 := stats.Z95 * stats.Z95
	for _, tc := range []struct {
		name      string
		p         stats.Proportion
		low, high float64
	}{
		// By hand: p = 0.1, z²/n = 0.0038415, center = (0.1 + 0.00192073)/1.0038415 = 0.1015302,
		// half = 1.95996/1.0038415 · √(0.00009 + 0.00000096) = 0.0186204.
		{"100 of 1000", prop(100, 1000), 0.082909443593095701708, 0.1201519631953483976},
		{"130 of 1000", prop(130, 1000), 0.11056377462484191604, 0.15226802665446887582},
		// Closed forms at the ends: [0, z²/(n + z²)] and [n/(n + z²), 1].
		{"none of 500 converted", prop(0, 500), 0, z2 / (500 + z2)},
		{"all of 40 converted", prop(40, 40), 40 / (40 + z2), 1},
		{"one user, converted", prop(1, 1), 1 / (1 + z2), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := stats.Wilson(tc.p)
			require.True(t, ok)
			require.InDelta(t, tc.low, got.Low, tol)
			require.InDelta(t, tc.high, got.High, tol)
			rate, _ := tc.p.Rate()
			require.True(t, got.Low <= rate && rate <= got.High, "the interval holds the rate")
		})
	}
}

func TestNoUsersHaveNoRateIntervalOrComparison(t *testing.T) {
	t.Parallel()
	_, ok := prop(0, 0).Rate()
	require.False(t, ok)
	_, ok = stats.Wilson(prop(0, 0))
	require.False(t, ok)
	_, ok = stats.Compare(prop(0, 0), prop(10, 100))
	require.False(t, ok, "variation without users")
	_, ok = stats.Compare(prop(10, 100), prop(0, 0))
	require.False(t, ok, "control without users")
}

func TestCompare(t *testing.T) {
	t.Parallel()
	f := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		name               string
		variation, control stats.Proportion
		want               stats.Comparison
	}{
		{
			// By hand: uplift 0.13 − 0.10 = 0.03, relative 0.3. Pooled p = 230/2000 = 0.115,
			// SE = √(0.115 · 0.885 · (1/1000 + 1/1000)) = 0.0142671, z = 0.03/0.0142671 =
			// 2.10274, p = erfc(2.10274/√2) = 0.035488. Newcombe: 0.03 − √((0.13 − 0.110564)²
			// + (0.120152 − 0.1)²) = 0.002002, 0.03 + √((0.152268 − 0.13)² + (0.1 −
			// 0.082909)²) = 0.058070. Log risk ratio: ln 1.3 = 0.262364, SE = √(1/130 −
			// 1/1000 + 1/100 − 1/1000) = 0.129437, e^(0.262364 ± 1.959964 · 0.129437) − 1 =
			// 0.016984, 0.661776. P(B > A) by numerical integration of f_B · F_A.
			name: "130 of 1000 against 100 of 1000", variation: prop(130, 1000), control: prop(100, 1000),
			want: stats.Comparison{
				AbsoluteUplift:         0.03,
				AbsoluteUpliftInterval: stats.Interval{Low: 0.0020023487152830014239, High: 0.058070485022202838187},
				RelativeUplift:         f(0.3),
				RelativeUpliftInterval: &stats.Interval{Low: 0.016984270971045514088, High: 0.66177594702260234686},
				PValue:                 0.035488450466474692269,
				ChanceToBeatControl:    0.98216506611635052185,
			},
		},
		{
			// Equal rates on both sides: no uplift, p = 1, even odds. Nothing converted in the
			// control: no relative uplift.
			name: "nobody converted on either side", variation: prop(0, 500), control: prop(0, 500),
			want: stats.Comparison{
				AbsoluteUpliftInterval: stats.Interval{Low: -0.00762434046155224195, High: 0.00762434046155224195},
				PValue:                 1,
				ChanceToBeatControl:    0.5,
			},
		},
		{
			name: "5 of 1000 against a control that converted nobody", variation: prop(5, 1000), control: prop(0, 1000),
			want: stats.Comparison{
				AbsoluteUplift:         0.005,
				AbsoluteUpliftInterval: stats.Interval{Low: 0.00022111065580109869984, High: 0.011650955373375112973},
				PValue:                 0.025164485700318535762,
				ChanceToBeatControl:    0.98449195318357918222,
			},
		},
		{
			// The relative uplift exists (−100 %), its log interval does not.
			name: "nobody converted in the variation", variation: prop(0, 1000), control: prop(5, 1000),
			want: stats.Comparison{
				AbsoluteUplift:         -0.005,
				AbsoluteUpliftInterval: stats.Interval{Low: -0.011650955373375112973, High: -0.00022111065580109869984},
				RelativeUplift:         f(-1),
				PValue:                 0.025164485700318535762,
				ChanceToBeatControl:    1 - 0.98449195318357918222,
			},
		},
		{
			name: "a variation clearly worse", variation: prop(49, 490), control: prop(100, 513),
			want: stats.Comparison{
				AbsoluteUplift:         0.1 - 100.0/513,
				AbsoluteUpliftInterval: stats.Interval{Low: -0.13835503450694936518, High: -0.051265791618614136155},
				RelativeUplift:         f(0.1/(100.0/513) - 1),
				RelativeUpliftInterval: &stats.Interval{Low: -0.62695066762679382727, High: -0.29454638525737835552},
				PValue:                 0.000023821918658562025424,
				ChanceToBeatControl:    0.000010691317304195298935,
			},
		},
		{
			name: "everybody converted on both sides", variation: prop(10, 10), control: prop(20, 20),
			want: stats.Comparison{
				AbsoluteUpliftInterval: stats.Interval{
					Low:  -(1 - 10/(10+stats.Z95*stats.Z95)),
					High: 1 - 20/(20+stats.Z95*stats.Z95),
				},
				RelativeUplift:         f(0),
				RelativeUpliftInterval: &stats.Interval{},
				PValue:                 1,
				// Beta(11, 1) against Beta(21, 1): 11/32, the closed form below.
				ChanceToBeatControl: 11.0 / 32,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := stats.Compare(tc.variation, tc.control)
			require.True(t, ok)
			requireComparison(t, tc.want, got)
		})
	}
}

func requireComparison(t *testing.T, want, got stats.Comparison) {
	t.Helper()
	require.InDelta(t, want.AbsoluteUplift, got.AbsoluteUplift, tol, "absolute uplift")
	require.InDelta(t, want.AbsoluteUpliftInterval.Low, got.AbsoluteUpliftInterval.Low, tol, "absolute low")
	require.InDelta(t, want.AbsoluteUpliftInterval.High, got.AbsoluteUpliftInterval.High, tol, "absolute high")
	if want.RelativeUplift == nil {
		require.Nil(t, got.RelativeUplift, "relative uplift")
	} else {
		require.NotNil(t, got.RelativeUplift, "relative uplift")
		require.InDelta(t, *want.RelativeUplift, *got.RelativeUplift, tol, "relative uplift")
	}
	if want.RelativeUpliftInterval == nil {
		require.Nil(t, got.RelativeUpliftInterval, "relative interval")
	} else {
		require.NotNil(t, got.RelativeUpliftInterval, "relative interval")
		require.InDelta(t, want.RelativeUpliftInterval.Low, got.RelativeUpliftInterval.Low, tol, "relative low")
		require.InDelta(t, want.RelativeUpliftInterval.High, got.RelativeUpliftInterval.High, tol, "relative high")
	}
	require.InDelta(t, want.PValue, got.PValue, tol, "p-value")
	require.InDelta(t, want.ChanceToBeatControl, got.ChanceToBeatControl, tol, "chance to beat control")
}

// The chance to beat the control against closed forms of P(X > Y) for Beta variables:
// X ~ Beta(a, 1), Y ~ Beta(c, 1) (everybody converted) gives a/(a + c); X ~ Beta(1, b),
// Y ~ Beta(1, d) (nobody converted) gives d/(b + d); equal posteriors give 1/2.
func TestChanceToBeatMatchesClosedForms(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		b, a stats.Proportion
		want float64
	}{
		{"all of 3 against all of 5: 4/(4+6)", prop(3, 3), prop(5, 5), 0.4},
		{"all of 5 against all of 3: 6/(6+4)", prop(5, 5), prop(3, 3), 0.6},
		{"all of 999 against all of 1: 1000/1002", prop(999, 999), prop(1, 1), 1000.0 / 1002},
		{"none of 9 against none of 19: 20/30", prop(0, 9), prop(0, 19), 20.0 / 30},
		{"none of 19 against none of 9: 10/30", prop(0, 19), prop(0, 9), 10.0 / 30},
		{"no users on either side", prop(0, 0), prop(0, 0), 0.5},
		{"equal counts", prop(37, 400), prop(37, 400), 0.5},
		{"equal large counts", prop(5000, 100000), prop(5000, 100000), 0.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.InDelta(t, tc.want, stats.ChanceToBeat(tc.b, tc.a), tol)
		})
	}
}

func TestChanceToBeatIsComplementary(t *testing.T) {
	t.Parallel()
	for _, pair := range [][2]stats.Proportion{
		{prop(130, 1000), prop(100, 1000)},
		{prop(3, 7), prop(40, 41)},
		{prop(0, 12), prop(1, 3)},
		{prop(250, 2000), prop(9, 90)},
	} {
		sum := stats.ChanceToBeat(pair[0], pair[1]) + stats.ChanceToBeat(pair[1], pair[0])
		require.InDelta(t, 1, sum, tol, "%v", pair)
	}
}

func TestTwoProportionPValueAgreesWithChiSquareOfOneDegree(t *testing.T) {
	t.Parallel()
	// z² of the pooled test is Pearson's chi-square of the 2×2 table, and for one degree of
	// freedom Q(1/2, x/2) = erfc(√(x/2)). For 130/1000 against 100/1000 the table's expected
	// counts are 115 and 885 on each side: chi² = 2·(15²/115 + 15²/885) = 4.42146.
	chi2 := 2 * (15.0*15/115 + 15.0*15/885)
	require.InDelta(t, math.Erfc(math.Sqrt(chi2/2)), stats.TwoProportionPValue(prop(130, 1000), prop(100, 1000)), tol)
	require.Equal(t, stats.TwoProportionPValue(prop(130, 1000), prop(100, 1000)),
		stats.TwoProportionPValue(prop(100, 1000), prop(130, 1000)), "two-sided: symmetric")
}

func TestRevenuePerUser(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		revenue string
		users   int64
		want    float64
		ok      bool
	}{
		{"divided exactly", "39.80", 18, 39.8 / 18, true},
		{"no revenue", "0", 513, 0, true},
		// 1000000000019.92 / 490, from the exact decimal (a float64 sum would have lost cents)
		{"beyond float64's digits", "1000000000019.92", 490, 2040816326.5712653, true},
		{"no users", "12.5", 0, 0, false},
		{"not a decimal", "twelve", 3, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := stats.RevenuePerUser(tc.revenue, tc.users)
			require.Equal(t, tc.ok, ok)
			require.InDelta(t, tc.want, got, tol*math.Max(1, math.Abs(tc.want)))
		})
	}
}

// The exact chance to beat the control sums one term per conversion of the smaller side: this
// is its cost on a large campaign (a report computes it once per goal and variation).
func BenchmarkChanceToBeat100kConversions(b *testing.B) {
	for b.Loop() {
		stats.ChanceToBeat(prop(100_000, 1_000_000), prop(101_000, 1_000_000))
	}
}
