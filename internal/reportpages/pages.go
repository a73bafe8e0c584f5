// Package reportpages renders the report pages a person reads in a browser: the sign-in
// form, an account's campaigns, and one campaign's figures with an SVG chart drawn here, on
// the server. Templates and the stylesheet are embedded in the binary; the pages need no
// JavaScript and no network beyond uss itself. It knows nothing of HTTP routing.
package reportpages

import (
	"bytes"
	"embed"
	"html/template"
	"io"
	"io/fs"

	"github.com/uss/uss/internal/reports"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Assets are the static files the pages link to, by name (style.css).
func Assets() fs.FS {
	sub, err := fs.Sub(assetFS, "assets")
	if err != nil {
		panic(err) // the embedded directory exists
	}
	return sub
}

// Pages renders every page.
type Pages struct {
	signIn, campaigns, campaign, problem *template.Template
}

// New parses the templates; they are embedded, so an error is a bug and panics.
func New() *Pages {
	parse := func(page string) *template.Template {
		return template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+page))
	}
	return &Pages{
		signIn:    parse("signin.html"),
		campaigns: parse("campaigns.html"),
		campaign:  parse("campaign.html"),
		problem:   parse("problem.html"),
	}
}

// SignIn is the sign-in form.
type SignIn struct {
	// Problem says why the last attempt failed, "" on a first visit.
	Problem string
}

// Campaigns is an account's list of campaigns.
type Campaigns struct {
	Account   string
	Campaigns []reports.Summary
}

// Campaign is one campaign's report.
type Campaign struct {
	Account string
	// Status is the campaign's status in the current settings, "" when they do not have it.
	Status string
	Report reports.Campaign
	// SQL reads the same counts from the views.
	SQL string
}

// Problem is an error page.
type Problem struct {
	Account string
	Status  int
	Message string
}

type page struct {
	Title   string
	Account string
	Data    any
}

// RenderSignIn writes the sign-in page.
func (p *Pages) RenderSignIn(w io.Writer, d SignIn) error {
	return render(w, p.signIn, page{Title: "Sign in", Data: d})
}

// RenderCampaigns writes the campaigns page.
func (p *Pages) RenderCampaigns(w io.Writer, d Campaigns) error {
	return render(w, p.campaigns, page{Title: "Campaigns", Account: d.Account, Data: d})
}

// RenderCampaign writes a campaign's page.
func (p *Pages) RenderCampaign(w io.Writer, d Campaign) error {
	return render(w, p.campaign, page{Title: d.Report.CampaignKey, Account: d.Account, Data: campaignView{
		Campaign: d,
		Goals:    goalViews(d.Report),
	}})
}

// RenderProblem writes an error page.
func (p *Pages) RenderProblem(w io.Writer, d Problem) error {
	return render(w, p.problem, page{Title: "Problem", Account: d.Account, Data: d})
}

// render executes into a buffer first, so a template error never leaves half a page.
func render(w io.Writer, t *template.Template, data page) error {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return err
	}
	_, err := b.WriteTo(w)
	return err
}

type campaignView struct {
	Campaign
	Goals []goalView
}

// goalView is one goal's rows, with its chart.
type goalView struct {
	Identifier string
	Rows       []reports.Goal
	Chart      chart
}

func goalViews(r reports.Campaign) []goalView {
	var out []goalView
	for _, g := range r.Goals {
		if len(out) == 0 || out[len(out)-1].Identifier != g.Identifier {
			out = append(out, goalView{Identifier: g.Identifier})
		}
		last := &out[len(out)-1]
		last.Rows = append(last.Rows, g)
	}
	control := ""
	if r.Control != nil {
		control = *r.Control
	}
	for i := range out {
		out[i].Chart = newChart(out[i].Identifier, out[i].Rows, control)
	}
	return out
}
