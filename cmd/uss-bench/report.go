package main

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// report is the benchmark's output: a header saying what ran where, one table of scenarios
// against their targets, where the CPU went in each run, then notes (cost growth, errors, what
// was not available).
type report struct {
	header []string
	rows   []row
	notes  []string
}

// row is one line of the table. Reference, ratios and target are empty where the scenario
// has none.
type row struct {
	scenario  string
	rate      float64 // successful requests (or transactions) per second
	p50, p99  time.Duration
	errors    string
	ref       string  // what the row is compared with
	vsPgbench float64 // rate over the pgbench reference's
	vsFloor   float64 // rate over the HTTP floor's (GET /livez)
	target    string
	met       string  // "yes", "NO", or why the target was not judged
	cpu       *cpuUse // where the CPU went during the run, if measured
	requests  int     // successful requests (or transactions) of the run, for CPU per request
}

func judge(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}

func (r *report) add(x row)               { r.rows = append(r.rows, x) }
func (r *report) note(f string, a ...any) { r.notes = append(r.notes, fmt.Sprintf(f, a...)) }

func (r *report) write(w io.Writer) error {
	var b strings.Builder
	for _, h := range r.header {
		b.WriteString(h + "\n")
	}
	b.WriteString("\n")
	t := table{align: "lrrrrlrrll"}
	t.add("scenario", "req/s", "p50", "p99", "errors", "reference", "×pgbench", "×floor", "target", "met?")
	times := func(x float64) string {
		if x <= 0 {
			return ""
		}
		return fmt.Sprintf("%.2f×", x)
	}
	for _, x := range r.rows {
		t.add(x.scenario, rate(x.rate), ms(x.p50), ms(x.p99), x.errors, x.ref, times(x.vsPgbench), times(x.vsFloor), x.target, x.met)
	}
	t.write(&b)
	r.writeCPU(&b)
	if len(r.notes) > 0 {
		b.WriteString("\n")
		for _, n := range r.notes {
			b.WriteString(n + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeCPU tells where the CPU went in each measured run: CPU time per successful request of
// uss-server, PostgreSQL and the client (the HTTP load generator, or pgbench), and how many of
// the machine's CPUs were busy on average. "rest" is the machine's busy time charged to none
// of the three: other processes (another job running makes the figures noisy) and kernel
// work such as loopback networking in interrupts.
func (r *report) writeCPU(b *strings.Builder) {
	t := table{align: "lrrrrr"}
	t.add("CPU µs per request", "uss-server", "postgres", "client", "rest", "CPUs busy")
	for _, x := range r.rows {
		if x.cpu == nil {
			continue
		}
		u := *x.cpu
		t.add(x.scenario, u.perRequest(u.server, x.requests), u.perRequest(u.postgres, x.requests),
			u.perRequest(u.client, x.requests), u.perRequest(u.other(), x.requests), u.cores(u.machine))
	}
	if len(t.cells) > 1 {
		b.WriteString("\n")
		t.write(b)
	}
}

// table lays out text in columns, each aligned left (l) or right (r).
type table struct {
	align string
	cells [][]string
}

func (t *table) add(cells ...string) { t.cells = append(t.cells, cells) }

func (t *table) write(b *strings.Builder) {
	widths := make([]int, len(t.align))
	for _, row := range t.cells {
		for i, c := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	for _, row := range t.cells {
		var line strings.Builder
		for i, c := range row {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i > 0 {
				line.WriteString("  ")
			}
			if t.align[i] == 'r' {
				line.WriteString(pad + c)
			} else {
				line.WriteString(c + pad)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
}

func rate(perSecond float64) string {
	if perSecond == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", perSecond)
}

func ms(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

// mb writes a size in decimal megabytes, the unit of the memory target (100 MB).
func mb(bytes int64) string { return fmt.Sprintf("%.1f MB", float64(bytes)/1e6) }
