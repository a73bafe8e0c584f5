package bucketing

import "math"

// Range is the inclusive span of variation buckets that a variation owns.
// A variation of weight 0 owns nothing and has the range NoRange(), as in
// VWO.
type Range struct {
	Start, End int
}

// NoRange is VWO's [-1, -1] for a zero-weight variation. It is a function,
// not a variable, so the package has no global state anyone could change.
func NoRange() Range { return Range{Start: -1, End: -1} }

// Contains reports whether bucket v falls in r, with VWO's test
// start <= v <= end.
func (r Range) Contains(v int) bool {
	return r.Start <= v && v <= r.End
}

// Step is the number of buckets a weight (a percentage) buys:
// min(ceil(weight*100), 10000), or 0 for weight 0.
//
// weight*100 must be rounded as IEEE float64 at run time, like the SDKs do:
// 33.34*100 is 3334.0000000000005 and takes 3335 buckets. (A Go constant
// expression such as math.Ceil(33.34*100) is evaluated exactly and gives
// 3334, so never fold weights into constants.)
func Step(weight float64) int {
	if weight == 0 {
		return 0
	}
	s := math.Ceil(weight * 100)
	if s > MaxVariation {
		return MaxVariation
	}
	return int(s)
}

// AppendRanges appends, in order, the range of each weight to dst and
// returns the extended slice. Ranges are consecutive from bucket 1; a zero
// weight gets NoRange() and does not advance the cursor.
func AppendRanges(dst []Range, weights []float64) []Range {
	cum := 0
	for _, w := range weights {
		r, next := NextRange(cum, w)
		dst = append(dst, r)
		cum = next
	}
	return dst
}

// NextRange is one step of AppendRanges: the range of weight after cum
// buckets are taken, and the new cursor. It lets a caller walk ranges that
// exist only for one decision (whitelisting rescales the matching
// variations) without allocating a slice.
func NextRange(cum int, weight float64) (Range, int) {
	step := Step(weight)
	if step == 0 {
		return NoRange(), cum
	}
	return Range{Start: cum + 1, End: cum + step}, cum + step
}

// Find returns the index of the first range containing bucket v, or -1 when
// v lies beyond every range (possible when weights are short of 100, and at
// traffic below 100%, where the multiplier can push v a little past 10000).
func Find(ranges []Range, v int) int {
	for i, r := range ranges {
		if r.Contains(v) {
			return i
		}
	}
	return -1
}
