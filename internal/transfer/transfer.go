// Package transfer moves an account's assignments in and out in bulk, as NDJSON: one JSON
// object per line, with the goals, source, exposures and timestamps, so that an export
// imported into an empty account gives back the same rows. Both directions stream: an
// export writes rows as the database reads them, an import parses lines as the database
// copies them, so memory stays the same whatever the size. An import is all or nothing.
package transfer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"time"

	"github.com/uss/uss/internal/strictjson"
	"github.com/uss/uss/internal/uss"
)

// Line is one assignment as a line of NDJSON.
type Line struct {
	UserID        string     `json:"userId"`
	CampaignKey   string     `json:"campaignKey"`
	VariationName string     `json:"variationName"`
	Goals         []string   `json:"goals"`
	Source        uss.Source `json:"source"`
	Exposures     int64      `json:"exposures"`
	CreatedAt     time.Time  `json:"createdAt"`
	UpdatedAt     time.Time  `json:"updatedAt"`
}

// Row is an assignment with its exposures: what a line holds.
type Row struct {
	uss.Assignment
	Exposures int64
}

// Rows is a stream of rows to import, read once. Next advances and reports whether there is
// a row; Line is the input line the row came from; Err says why it stopped early (nil at the
// end of the input).
type Rows interface {
	Next() bool
	Row() Row
	Line() int64
	Err() error
}

// Counts is what an import did: of the lines read, rows created, rows updated (another
// variation, or goals added), and lines that changed nothing.
type Counts struct {
	Lines     int64 `json:"lines"`
	Created   int64 `json:"created"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
}

// Store reads and writes in bulk.
type Store interface {
	// ExportAssignments calls each for every assignment of the account (of one campaign when
	// campaignKey is not empty), from one snapshot, as it reads them.
	ExportAssignments(ctx context.Context, account uss.AccountID, campaignKey string, each func(Row) error) error
	// ImportAssignments upserts every row in one transaction, with the goal-merge rule of a
	// set: rows the account lacks are created as given; a row with another variation takes
	// the imported one with its goals; a row with the same variation gains the imported
	// goals. An error from rows aborts it with nothing stored. Rows must not repeat a key:
	// the store reports the first repeat as a *LineError.
	ImportAssignments(ctx context.Context, account uss.AccountID, rows Rows) (Counts, error)
}

// LineError is a bad line of an import. It unwraps to a *uss.InvalidArgumentError with the
// same text, so it is a 400 that says which line.
type LineError struct {
	Line   int64
	Reason string
}

func (e *LineError) Error() string {
	return fmt.Sprintf("line %d: %s; nothing was imported", e.Line, e.Reason)
}

func (e *LineError) Unwrap() error { return &uss.InvalidArgumentError{Reason: e.Error()} }

// Service exports and imports.
type Service struct{ store Store }

// NewService returns a Service over store.
func NewService(store Store) *Service { return &Service{store: store} }

// Export writes every assignment of the account (of one campaign when campaignKey is not
// empty) to w, one line each, in no particular order. Nothing is written before the first
// row is read, so a failure to start is an error the caller can still report whole.
func (s *Service) Export(ctx context.Context, account uss.AccountID, campaignKey string, w io.Writer) error {
	if campaignKey != "" {
		if err := uss.ValidateIdentifier("campaignKey", campaignKey); err != nil {
			return err
		}
	}
	buf := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	err := s.store.ExportAssignments(ctx, account, campaignKey, func(r Row) error {
		goals := r.Goals
		if goals == nil {
			goals = []string{}
		}
		return enc.Encode(Line{UserID: r.UserID, CampaignKey: r.CampaignKey, VariationName: r.VariationName,
			Goals: goals, Source: r.Source, Exposures: r.Exposures,
			CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()})
	})
	if err != nil {
		return err
	}
	return buf.Flush()
}

// MaxLineBytes bounds one line of an import: 1000 goals of 255 bytes fit.
const MaxLineBytes = 1 << 20

// Import reads NDJSON from r and stores it all or none. Empty lines are skipped. The first bad
// line stops the import with a *LineError naming it.
func (s *Service) Import(ctx context.Context, account uss.AccountID, r io.Reader) (Counts, error) {
	lines := &lineReader{scan: bufio.NewScanner(r)}
	lines.scan.Buffer(make([]byte, 64<<10), MaxLineBytes)
	counts, err := s.store.ImportAssignments(ctx, account, lines)
	if err != nil {
		return Counts{}, err
	}
	if counts.Lines == 0 {
		return Counts{}, uss.Invalid("body", "holds no line: an import needs at least one assignment")
	}
	return counts, nil
}

// lineReader parses and validates lines as the store asks for rows.
type lineReader struct {
	scan *bufio.Scanner
	line int64
	row  Row
	err  error
}

func (l *lineReader) Next() bool {
	if l.err != nil {
		return false
	}
	for l.scan.Scan() {
		l.line++
		text := bytes.TrimSpace(l.scan.Bytes())
		if len(text) == 0 {
			continue
		}
		row, err := parseLine(text)
		if err != nil {
			l.err = &LineError{Line: l.line, Reason: err.Error()}
			return false
		}
		l.row = row
		return true
	}
	if err := l.scan.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = &LineError{Line: l.line + 1, Reason: fmt.Sprintf("is longer than %d bytes", MaxLineBytes)}
		}
		l.err = err
	}
	return false
}

func (l *lineReader) Row() Row   { return l.row }
func (l *lineReader) Err() error { return l.err }

// Line is the number of the line the current row came from.
func (l *lineReader) Line() int64 { return l.line }

// line is one line of an import file.
type line struct {
	UserID        string     `json:"userId"`
	CampaignKey   string     `json:"campaignKey"`
	VariationName string     `json:"variationName"`
	Goals         []string   `json:"goals"`
	Source        *string    `json:"source"`
	Exposures     *int64     `json:"exposures"`
	CreatedAt     *time.Time `json:"createdAt"`
	UpdatedAt     *time.Time `json:"updatedAt"`
}

// lineShape lets the strict check compare a line's keys as encoding/json matches them to
// fields, case-insensitively.
var lineShape = strictjson.ShapeOf(reflect.TypeFor[line]())

// parseLine decodes one line as strictly as an API body (no bytes that are not UTF-8, no key
// twice) and validates it as a set would.
func parseLine(text []byte) (Row, error) {
	if err := strictjson.Check(text, lineShape); err != nil {
		return Row{}, errors.New("is not a valid assignment object: " + err.Error())
	}
	var in line
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return Row{}, fmt.Errorf("is not a valid assignment object: %s", jsonReason(err))
	}
	if dec.More() {
		return Row{}, errors.New("holds more than one JSON value")
	}
	a := uss.Assignment{UserID: in.UserID, CampaignKey: in.CampaignKey, VariationName: in.VariationName, Source: uss.SourceSet}
	for _, check := range []struct{ field, value string }{
		{"userId", in.UserID}, {"campaignKey", in.CampaignKey}, {"variationName", in.VariationName},
	} {
		if err := uss.ValidateIdentifier(check.field, check.value); err != nil {
			return Row{}, err
		}
	}
	if len(in.Goals) > uss.MaxGoals {
		return Row{}, uss.Invalid("goals", "must hold at most %d goals", uss.MaxGoals)
	}
	for i, g := range in.Goals {
		if err := uss.ValidateGoal(fmt.Sprintf("goals[%d]", i), g); err != nil {
			return Row{}, err
		}
		if containsBefore(in.Goals, i) {
			return Row{}, uss.Invalid(fmt.Sprintf("goals[%d]", i), "repeats goal %q", g)
		}
	}
	a.Goals = in.Goals
	if in.Source != nil {
		switch s := uss.Source(*in.Source); s {
		case uss.SourceSet, uss.SourceBucketed, uss.SourceWhitelisted:
			a.Source = s
		default:
			return Row{}, uss.Invalid("source", "must be set, bucketed or whitelisted, got %q", *in.Source)
		}
	}
	r := Row{Assignment: a}
	if in.Exposures != nil {
		if *in.Exposures < 0 {
			return Row{}, uss.Invalid("exposures", "must not be negative")
		}
		r.Exposures = *in.Exposures
	}
	if in.CreatedAt != nil {
		r.CreatedAt = *in.CreatedAt
	}
	if in.UpdatedAt != nil {
		r.UpdatedAt = *in.UpdatedAt
	}
	return r, nil
}

func containsBefore(goals []string, i int) bool {
	for _, g := range goals[:i] {
		if g == goals[i] {
			return true
		}
	}
	return false
}

func jsonReason(err error) string {
	var typ *json.UnmarshalTypeError
	var syntax *json.SyntaxError
	switch {
	case errors.As(err, &typ) && typ.Field != "":
		return fmt.Sprintf("field %q has the wrong type (%s)", typ.Field, typ.Value)
	case errors.As(err, &syntax):
		return syntax.Error()
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end"
	}
	return err.Error()
}
