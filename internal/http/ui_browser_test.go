package httpapi_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/apitest"
	"github.com/uss/uss/internal/reports"
)

// chromium finds Debian's Chromium (or the one USS_CHROMIUM names). Without it the browser
// test fails, saying how to install it: it is never skipped.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("USS_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("\n\n*** Chromium is not installed: the report pages are tested in a real browser and cannot be here. ***\n" +
		"*** Install it with `apt-get update && apt-get install -y chromium` (.ci/run does so in CI), ***\n" +
		"*** or set USS_CHROMIUM to a Chromium binary.                                               ***\n")
	return ""
}

// artifactDir is where the browser test leaves its screenshots: USS_TEST_ARTIFACTS, else
// test-artifacts/ui at the repository's root.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("USS_TEST_ARTIFACTS")
	if dir == "" {
		wd, err := os.Getwd()
		require.NoError(t, err)
		// internal/http → the repository's root
		dir = filepath.Join(wd, "..", "..", "test-artifacts")
	}
	dir = filepath.Join(dir, "ui")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// browser starts a headless Chromium of its own (own profile, so own cookies) and returns a
// context that drives its tab.
func browser(t *testing.T, exe string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// The first action starts the browser, which lives as long as the context of that call.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("about:blank")), "start Chromium")
	// The bound of the whole browser session: a hung page fails the test, it does not hang it.
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancelTimeout)
	return ctx
}

func signIn(t *testing.T, ctx context.Context, baseURL, key string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(baseURL+"/ui/"),
		chromedp.WaitVisible(chromedp.ID("key")),
		chromedp.SendKeys(chromedp.ID("key"), key),
		chromedp.Submit(chromedp.ID("key")),
		chromedp.WaitVisible(chromedp.ID("account")),
	))
}

// figure is one figure a page shows: where it is (campaign, goal, variation), its exact
// value (data-value, or data-low and data-high) and its text.
type figure struct {
	Campaign  string `json:"campaign"`
	Goal      string `json:"goal"`
	Variation string `json:"variation"`
	Figure    string `json:"figure"`
	Value     string `json:"value"`
	Low       string `json:"low"`
	High      string `json:"high"`
	Text      string `json:"text"`
}

const readFigures = `Array.from(document.querySelectorAll('[data-figure]')).map(e => {
  const up = a => { const n = e.closest('[' + a + ']'); return n ? n.getAttribute(a) : ''; };
  return {campaign: up('data-campaign'), goal: up('data-goal'), variation: up('data-variation'),
          figure: e.dataset.figure, value: e.dataset.value || '', low: e.dataset.low || '', high: e.dataset.high || '',
          text: e.textContent.trim()};
})`

func figures(t *testing.T, ctx context.Context) []figure {
	t.Helper()
	fs, err := chromedp.Run(ctx, chromedp.Evaluate[[]figure](readFigures))
	require.NoError(t, err)
	require.NotEmpty(t, fs, "the page shows no figures")
	return fs
}

func screenshot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 is a PNG
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot: %s", path)
}

// run runs one action that returns a value.
func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	require.NoError(t, err)
	return v
}

// exact is how a page writes a float64 in data-value: the shortest text that reads back.
func exact(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

var number = regexp.MustCompile(`[-+]?[0-9]+(\.[0-9]+)?`)

// shown reads the numbers of a figure's text ("+3.00 pp" is 3, "0.20 – 5.81 %" is 0.2, 5.81).
func shown(t *testing.T, text string) []float64 {
	t.Helper()
	var out []float64
	for _, m := range number.FindAllString(text, -1) {
		f, err := strconv.ParseFloat(m, 64)
		require.NoError(t, err)
		out = append(out, f)
	}
	return out
}

// requireShown checks a figure's text shows want, scaled (100 for percent), to its decimals.
func requireShown(t *testing.T, f figure, scale float64, want ...float64) {
	t.Helper()
	got := shown(t, f.Text)
	require.Len(t, got, len(want), "%+v", f)
	for i, w := range want {
		decimals := 0
		if m := number.FindAllString(f.Text, -1)[i]; strings.Contains(m, ".") {
			decimals = len(m) - strings.Index(m, ".") - 1
		}
		require.InDelta(t, w*scale, got[i], 0.5001/pow10(decimals), "%+v", f)
	}
}

func pow10(n int) float64 {
	p := 1.0
	for range n {
		p *= 10
	}
	return p
}

// TestReportPagesInABrowser signs in to the report pages in a real headless Chromium, reads
// every figure off the campaigns page and a campaign's page, compares them with the JSON
// report of the same account, runs the SQL the page offers and compares it too, and checks
// that another account's session sees none of it. Screenshots go to test-artifacts/ui/.
func TestReportPagesInABrowser(t *testing.T) {
	t.Parallel()
	exe := chromium(t)
	dir := artifactDir(t)
	s := apitest.Start(t)
	acmeKey, globexKey := s.NewKey(t, "acme"), s.NewKey(t, "globex")
	seedPricing(t, s, acmeKey, "acme")
	reportsByKey := map[string]reports.Campaign{}
	for _, k := range []string{"pricing", "paused-test", "legacy"} {
		reportsByKey[k] = getReport(t, s, acmeKey, k)
	}

	acme := browser(t, exe)
	signIn(t, acme, s.URL, acmeKey)

	// The session cookie: HttpOnly, SameSite=Strict, and not the key.
	got, err := chromedp.Call(acme, network.GetCookies, network.GetCookiesParams{})
	require.NoError(t, err)
	cookies := got.Cookies
	require.Len(t, cookies, 1)
	require.Equal(t, "uss_session", cookies[0].Name)
	require.True(t, cookies[0].HTTPOnly)
	require.Equal(t, network.CookieSameSiteStrict, cookies[0].SameSite)
	require.NotContains(t, cookies[0].Value, acmeKey[len(acmeKey)-20:], "the key is not in the cookie")
	location := run(t, acme, chromedp.Location())
	visibleCookies := run(t, acme, chromedp.Evaluate[string](`document.cookie`))
	scripts := run(t, acme, chromedp.Evaluate[int](`document.scripts.length`))
	require.Equal(t, s.URL+"/ui/campaigns", location, "signed in, the browser is on the campaigns page")
	require.NotContains(t, location, acmeKey)
	require.Empty(t, visibleCookies, "page scripts cannot read the session")
	require.Zero(t, scripts, "the pages need no JavaScript")

	// Campaigns page: every campaign, its status, users and sample-ratio mark, as the JSON
	// reports have them.
	screenshot(t, acme, filepath.Join(dir, "campaigns.png"))
	status := map[string]string{"pricing": "RUNNING", "paused-test": "PAUSED", "legacy": "not in the current settings"}
	seen := map[string]bool{}
	for _, f := range figures(t, acme) {
		r, ok := reportsByKey[f.Campaign]
		require.True(t, ok, "unexpected campaign on the page: %+v", f)
		seen[f.Campaign] = true
		switch f.Figure {
		case "status":
			require.Equal(t, status[f.Campaign], f.Text)
		case "users":
			var users int64
			for _, v := range r.Variations {
				users += v.Users
			}
			require.Equal(t, strconv.FormatInt(users, 10), f.Value)
			require.Equal(t, f.Value, f.Text)
		case "mismatch":
			mismatch := r.SampleRatio != nil && r.SampleRatio.Mismatch
			require.Equal(t, strconv.FormatBool(mismatch), f.Value, f.Campaign)
			require.Equal(t, mismatch, strings.Contains(f.Text, "mismatch"), f.Campaign)
		default:
			t.Fatalf("unexpected figure %+v", f)
		}
	}
	require.Len(t, seen, 3)
	require.True(t, reportsByKey["paused-test"].SampleRatio.Mismatch, "the data has a mismatch to show")

	// The campaign page, reached by its link.
	require.NoError(t, chromedp.Do(acme,
		chromedp.Click(chromedp.CSS(`tr[data-campaign="pricing"] a`)),
		chromedp.WaitVisible(chromedp.ID("campaign-key")),
	))
	screenshot(t, acme, filepath.Join(dir, "campaign.png"))
	pricing := reportsByKey["pricing"]
	require.Equal(t, *pricing.Control, run(t, acme, chromedp.Text(chromedp.ID("control"))))
	variations := map[string]reports.Variation{}
	for _, v := range pricing.Variations {
		variations[v.Name] = v
	}
	goalRows := map[[2]string]reports.Goal{}
	for _, g := range pricing.Goals {
		goalRows[[2]string{g.Identifier, g.Variation}] = g
	}
	compared := 0
	for _, f := range figures(t, acme) {
		compared++
		if f.Goal == "" {
			v, ok := variations[f.Variation]
			require.True(t, ok, "%+v", f)
			switch f.Figure {
			case "users":
				require.Equal(t, strconv.FormatInt(v.Users, 10), f.Value)
			case "whitelistedUsers":
				require.Equal(t, strconv.FormatInt(v.WhitelistedUsers, 10), f.Value)
			case "exposures":
				require.Equal(t, strconv.FormatInt(v.Exposures, 10), f.Value)
			case "share":
				require.Equal(t, exact(*v.Share), f.Value)
				requireShown(t, f, 100, *v.Share)
			case "weight":
				require.Equal(t, exact(*v.Weight), f.Value)
				requireShown(t, f, 1, *v.Weight)
			default:
				t.Fatalf("unexpected figure %+v", f)
			}
			continue
		}
		g, ok := goalRows[[2]string{f.Goal, f.Variation}]
		require.True(t, ok, "%+v", f)
		cmp := g.ComparedWithControl
		switch f.Figure {
		case "convertedUsers":
			require.Equal(t, strconv.FormatInt(g.ConvertedUsers, 10), f.Value)
		case "users":
			require.Equal(t, strconv.FormatInt(g.Users, 10), f.Value)
		case "conversionRate":
			require.Equal(t, exact(*g.ConversionRate), f.Value)
			requireShown(t, f, 100, *g.ConversionRate)
		case "conversionRateInterval":
			require.Equal(t, []string{exact(g.ConversionRateInterval.Low), exact(g.ConversionRateInterval.High)}, []string{f.Low, f.High})
			requireShown(t, f, 100, g.ConversionRateInterval.Low, g.ConversionRateInterval.High)
		case "absoluteUplift":
			require.Equal(t, exact(cmp.AbsoluteUplift), f.Value)
			requireShown(t, f, 100, cmp.AbsoluteUplift)
		case "absoluteUpliftInterval":
			require.Equal(t, []string{exact(cmp.AbsoluteUpliftInterval.Low), exact(cmp.AbsoluteUpliftInterval.High)}, []string{f.Low, f.High})
			requireShown(t, f, 100, cmp.AbsoluteUpliftInterval.Low, cmp.AbsoluteUpliftInterval.High)
		case "relativeUplift":
			require.Equal(t, exact(*cmp.RelativeUplift), f.Value)
			requireShown(t, f, 100, *cmp.RelativeUplift)
		case "relativeUpliftInterval":
			require.Equal(t, []string{exact(cmp.RelativeUpliftInterval.Low), exact(cmp.RelativeUpliftInterval.High)}, []string{f.Low, f.High})
			requireShown(t, f, 100, cmp.RelativeUpliftInterval.Low, cmp.RelativeUpliftInterval.High)
		case "pValue":
			require.Equal(t, exact(cmp.PValue), f.Value)
			if cmp.PValue >= 0.0001 {
				requireShown(t, f, 1, cmp.PValue)
			} else {
				require.Equal(t, "< 0.0001", f.Text)
			}
		case "chanceToBeatControl":
			require.Equal(t, exact(cmp.ChanceToBeatControl), f.Value)
			requireShown(t, f, 100, cmp.ChanceToBeatControl)
		case "revenue":
			require.Equal(t, g.Revenue, f.Value)
			require.Equal(t, g.Revenue, f.Text)
		case "revenuePerUser":
			require.Equal(t, exact(*g.RevenuePerUser), f.Value)
			requireShown(t, f, 1, *g.RevenuePerUser)
		default:
			t.Fatalf("unexpected figure %+v", f)
		}
	}
	// 3 variations × 5 figures; 2 goals × 3 variations × 6 figures; 6 more for each of the 4
	// rows compared with the control, but for the relative intervals that do not exist
	// (nobody converted: Green on signup, Blue and Green on purchase).
	require.Equal(t, 3*5+2*3*6+4*6-3, compared, "every figure of the report is on the page")

	// One chart per goal, a dot per variation with users.
	require.Equal(t, 2, run(t, acme, chromedp.Evaluate[int](`document.querySelectorAll('svg.chart').length`)))
	require.Equal(t, 6, run(t, acme, chromedp.Evaluate[int](`document.querySelectorAll('svg.chart circle.rate').length`)))

	// The SQL on the page gives the same counts.
	sqlText := run(t, acme, chromedp.TextContent(chromedp.ID("sql-text")))
	requireSQLGivesTheReport(t, s.DatabaseURL, sqlText, pricing)

	// On a phone's width nothing but the tables' own scrolling areas is wider than the screen.
	require.NoError(t, chromedp.Do(acme, chromedp.EmulateViewport(375, 812, chromedp.EmulateScale(2), chromedp.EmulateMobile)))
	require.False(t, run(t, acme, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`)),
		"the campaign page is wider than a phone")
	screenshot(t, acme, filepath.Join(dir, "campaign-phone.png"))
	require.NoError(t, chromedp.Do(acme, chromedp.ResetViewport()))

	// The sample-ratio banner, on the campaign whose split is off.
	require.NoError(t, chromedp.Do(acme, chromedp.Navigate(s.URL+"/ui/campaign?campaignKey=paused-test")))
	require.Contains(t, run(t, acme, chromedp.Text(chromedp.ID("srm-banner"))), "Sample-ratio mismatch")
	screenshot(t, acme, filepath.Join(dir, "campaign-mismatch.png"))

	// Another account's session sees none of acme's campaigns, not even by URL.
	globex := browser(t, exe)
	signIn(t, globex, s.URL, globexKey)
	require.Equal(t, "globex", run(t, globex, chromedp.Text(chromedp.ID("account"))))
	body := run(t, globex, chromedp.Text(chromedp.CSS("main")))
	require.Contains(t, body, "No campaigns yet")
	for k := range reportsByKey {
		require.NotContains(t, body, k)
	}
	require.NoError(t, chromedp.Do(globex, chromedp.Navigate(s.URL+"/ui/campaign?campaignKey=pricing")))
	body = run(t, globex, chromedp.Text(chromedp.CSS("main")))
	require.Contains(t, body, "no assignments, conversions or settings for this campaignKey")
	require.NotContains(t, body, "Original")
	screenshot(t, globex, filepath.Join(dir, "other-account.png"))

	// Signing out ends the session: the pages send the browser back to the sign-in form.
	require.NoError(t, chromedp.Do(acme,
		chromedp.Navigate(s.URL+"/ui/campaigns"),
		chromedp.Click(chromedp.CSS(`header form button`)),
		chromedp.WaitVisible(chromedp.ID("key")),
		chromedp.Navigate(s.URL+"/ui/campaign?campaignKey=pricing"),
		chromedp.WaitVisible(chromedp.ID("key")),
	))
	require.Equal(t, s.URL+"/ui/", run(t, acme, chromedp.Location()))
}

// requireSQLGivesTheReport runs the page's SQL and compares its rows with the report's counts.
func requireSQLGivesTheReport(t *testing.T, databaseURL, sqlText string, r reports.Campaign) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, databaseURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	results, err := conn.PgConn().Exec(ctx, sqlText).ReadAll()
	require.NoError(t, err)
	require.Len(t, results, 3, "variations, goals, sample ratio")
	text := func(b []byte) string { return string(b) }

	require.Len(t, results[0].Rows, len(r.Variations))
	for i, v := range r.Variations {
		row := results[0].Rows[i]
		require.Equal(t, []string{v.Name, strconv.FormatInt(v.Users, 10), strconv.FormatInt(v.WhitelistedUsers, 10),
			strconv.FormatInt(v.Exposures, 10)}, []string{text(row[0]), text(row[1]), text(row[2]), text(row[3])})
	}
	require.Len(t, results[1].Rows, len(r.Goals))
	for i, g := range r.Goals {
		row := results[1].Rows[i]
		require.Equal(t, []string{g.Identifier, g.Variation, strconv.FormatInt(g.Users, 10), strconv.FormatInt(g.ConvertedUsers, 10),
			strconv.FormatInt(g.Conversions, 10), g.Revenue},
			[]string{text(row[0]), text(row[1]), text(row[2]), text(row[3]), text(row[4]), text(row[5])})
		if g.ConversionRate != nil {
			rate, err := strconv.ParseFloat(text(row[6]), 64)
			require.NoError(t, err)
			require.InDelta(t, *g.ConversionRate, rate, 1e-12)
		}
	}
	require.Len(t, results[2].Rows, 1)
	require.Equal(t, strconv.FormatBool(r.SampleRatio.Mismatch), map[string]string{"t": "true", "f": "false"}[text(results[2].Rows[0][5])])
}
