package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/uss/uss/internal/ussproc"
)

// bulkAccount receives the import of what the benchmark account exported.
const bulkAccount = "bench-import"

// bulk measures export and import at BulkRows assignments: the export streamed to a file,
// then that file imported into another account, each timed, with the server's memory
// sampled during each (both stream, so it should not grow with the rows).
func (b *bench) bulk(ctx context.Context) error {
	o := b.o
	b.step("bulk: loading %s assignments for export and import", count(o.BulkRows))
	if err := b.db.truncateAssignments(ctx); err != nil {
		return err
	}
	if err := b.db.loadUsers(ctx, 0, o.BulkRows/campaignsPerUser, loadChunkUsers, nil); err != nil {
		return err
	}
	if err := b.db.vacuumAnalyze(ctx, "assignments"); err != nil {
		return err
	}
	importKey, err := ussproc.CreateAPIKey(ctx, o.ServerBin, o.DatabaseURL, bulkAccount)
	if err != nil {
		return err
	}
	file := filepath.Join(o.ResultsDir, "export.ndjson")
	defer os.Remove(file)
	client := &http.Client{Timeout: 30 * time.Minute}

	b.step("bulk: GET /v1/export/assignments of %s rows", count(o.BulkRows))
	var lines int
	exportTook, exportRSS, err := b.sampled(func() error {
		var err error
		lines, err = b.export(ctx, client, file)
		return err
	})
	if err != nil {
		return err
	}
	if lines != o.BulkRows {
		return fmt.Errorf("bulk: exported %d lines, loaded %d rows", lines, o.BulkRows)
	}
	b.addBulk("GET /v1/export/assignments", lines, exportTook, exportRSS)

	b.step("bulk: POST /v1/import/assignments of the %s lines into another account", count(lines))
	var counts struct {
		Lines, Created int
	}
	importTook, importRSS, err := b.sampled(func() error {
		return b.importFile(ctx, client, importKey, file, &counts)
	})
	if err != nil {
		return err
	}
	if counts.Lines != lines || counts.Created != lines {
		return fmt.Errorf("bulk: imported %+v of %d lines", counts, lines)
	}
	b.addBulk("POST /v1/import/assignments", lines, importTook, importRSS)
	return nil
}

// sampled times f and returns the server's largest VmRSS while it ran.
func (b *bench) sampled(f func() error) (time.Duration, int64, error) {
	rss := ussproc.StartRSSSampler(b.srv.Pid(), 50*time.Millisecond)
	took, err := timed(f)
	peak, _, rssErr := rss.Stop()
	if err == nil {
		err = rssErr
	}
	return took, peak, err
}

func (b *bench) addBulk(name string, rows int, took time.Duration, peakRSS int64) {
	b.rep.add(row{scenario: fmt.Sprintf("%s (%s rows)", name, count(rows)), rate: float64(rows) / took.Seconds(),
		errors: "0", ref: fmt.Sprintf("rows/s; %s; server VmRSS max %s", took.Round(100*time.Millisecond), mb(peakRSS))})
}

// export streams the export to file and counts its lines.
func (b *bench) export(ctx context.Context, client *http.Client, file string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.srv.URL("/v1/export/assignments"), nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+b.ep.key)
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return 0, fmt.Errorf("export: status %d: %s", resp.StatusCode, body)
	}
	f, err := os.Create(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	lines := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines++
		w.Write(sc.Bytes())
		w.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("export: read: %w", err)
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	return lines, f.Close()
}

// importFile posts file to the import route with key and decodes the counts.
func (b *bench) importFile(ctx context.Context, client *http.Client, key, file string, counts any) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.srv.URL("/v1/import/assignments"), f)
	if err != nil {
		return err
	}
	req.ContentLength = st.Size()
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("import: status %d: %s", resp.StatusCode, body)
	}
	return json.Unmarshal(body, counts)
}
