package httpapi

import (
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/uss/uss/internal/apikey"
	"github.com/uss/uss/internal/reportpages"
	"github.com/uss/uss/internal/reports"
	"github.com/uss/uss/internal/uisession"
)

// sessionCookie holds a report-page session's token: random, and stored server-side only as
// a hash. The API key never goes into a cookie or a URL.
const sessionCookie = "uss_session"

const ctxUIAccount = "uss.ui_account"

// uiHandlers serve the report pages under /ui/.
type uiHandlers struct {
	sessions *uisession.Service
	reports  *reports.Service
	pages    *reportpages.Pages
	assets   fs.FS
	logger   *slog.Logger
}

// uiRoutes registers the report pages. Pages render their own errors as HTML.
func uiRoutes(e *echo.Echo, h uiHandlers, bodyLimitBytes int64, timeout, holdBody echo.MiddlewareFunc) {
	base := []echo.MiddlewareFunc{uiHeaders, timeout}
	signedIn := append(append([]echo.MiddlewareFunc{}, base...), h.requireSession)
	// Sign-in reads its form before any key is known, so its body takes from the budget too.
	posted := append(append([]echo.MiddlewareFunc{bodyLimit(bodyLimitBytes)}, base...), h.sameOrigin, holdBody)

	e.GET("/ui/", h.home, base...)
	e.POST("/ui/login", h.login, posted...)
	e.POST("/ui/logout", h.logout, posted...)
	e.GET("/ui/campaigns", h.campaigns, signedIn...)
	e.GET("/ui/campaign", h.campaign, signedIn...)
	e.GET("/ui/assets/:name", h.asset)
}

// uiHeaders keep the pages to their own origin's resources, out of frames and caches, and
// the campaign keys in their URLs out of Referer headers sent elsewhere. (same-origin, not
// no-referrer: with no-referrer a browser sends "Origin: null" on the pages' own forms.)
func uiHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		hdr := c.Response().Header()
		hdr.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("Referrer-Policy", "same-origin")
		hdr.Set("Cache-Control", "no-store")
		return next(c)
	}
}

// sameOrigin refuses a form post that a page of another origin sent (the Origin header says
// so). The session cookie is SameSite=Strict already; this covers sign-in, which has none.
func (h uiHandlers) sameOrigin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if origin := c.Request().Header.Get("Origin"); origin != "" {
			u, err := url.Parse(origin)
			if err != nil || u.Host != c.Request().Host {
				return h.problem(c, &apiError{Status: http.StatusForbidden, Code: codeForbidden,
					Message: "this form was posted from another site; open uss's own sign-in page"}, "")
			}
		}
		return next(c)
	}
}

func (h uiHandlers) token(c echo.Context) string {
	ck, err := c.Cookie(sessionCookie)
	if err != nil {
		return ""
	}
	return ck.Value
}

// requireSession sends a browser without a live session to the sign-in page.
func (h uiHandlers) requireSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		a, err := h.sessions.Account(c.Request().Context(), h.token(c))
		if errors.Is(err, uisession.ErrNoSession) {
			return c.Redirect(http.StatusSeeOther, "/ui/")
		}
		if err != nil {
			return h.problem(c, err, "")
		}
		c.Set(ctxUIAccount, a)
		return next(c)
	}
}

func uiAccount(c echo.Context) uisession.Account {
	a, _ := c.Get(ctxUIAccount).(uisession.Account)
	return a
}

func (h uiHandlers) home(c echo.Context) error {
	if _, err := h.sessions.Account(c.Request().Context(), h.token(c)); err == nil {
		return c.Redirect(http.StatusSeeOther, "/ui/campaigns")
	}
	return h.render(c, http.StatusOK, func(b *bytes.Buffer) error { return h.pages.RenderSignIn(b, reportpages.SignIn{}) })
}

func (h uiHandlers) login(c echo.Context) error {
	if err := c.Request().ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return h.problem(c, err, "")
		}
		return h.problem(c, invalid("the sign-in form is malformed"), "")
	}
	// PostForm, not Form: a key in the query string is not read (nor should it be sent).
	token, expires, err := h.sessions.SignIn(c.Request().Context(), c.Request().PostForm.Get("key"))
	if errors.Is(err, apikey.ErrUnauthenticated) {
		return h.render(c, http.StatusUnauthorized, func(b *bytes.Buffer) error {
			return h.pages.RenderSignIn(b, reportpages.SignIn{Problem: "That API key is not valid: it is unknown, revoked or mistyped."})
		})
	}
	if err != nil {
		return h.problem(c, err, "")
	}
	c.SetCookie(&http.Cookie{
		Name: sessionCookie, Value: token, Path: "/ui/",
		Expires: expires, MaxAge: int(time.Until(expires).Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.Request().TLS != nil,
	})
	return c.Redirect(http.StatusSeeOther, "/ui/campaigns")
}

func (h uiHandlers) logout(c echo.Context) error {
	if err := h.sessions.SignOut(c.Request().Context(), h.token(c)); err != nil {
		return h.problem(c, err, "")
	}
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: "", Path: "/ui/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.Request().TLS != nil})
	return c.Redirect(http.StatusSeeOther, "/ui/")
}

func (h uiHandlers) campaigns(c echo.Context) error {
	a := uiAccount(c)
	if _, err := query(c); err != nil {
		return h.problem(c, err, a.Name)
	}
	list, err := h.reports.Campaigns(c.Request().Context(), a.ID)
	if err != nil {
		return h.problem(c, err, a.Name)
	}
	return h.render(c, http.StatusOK, func(b *bytes.Buffer) error {
		return h.pages.RenderCampaigns(b, reportpages.Campaigns{Account: a.Name, Campaigns: list})
	})
}

func (h uiHandlers) campaign(c echo.Context) error {
	a := uiAccount(c)
	q, err := query(c, "campaignKey", "control")
	if err != nil {
		return h.problem(c, err, a.Name)
	}
	r, err := h.reports.Campaign(c.Request().Context(), a.ID, q["campaignKey"], q["control"])
	if err != nil {
		return h.problem(c, err, a.Name)
	}
	status, err := h.reports.Status(a.ID, r.CampaignKey)
	if err != nil {
		return h.problem(c, err, a.Name)
	}
	return h.render(c, http.StatusOK, func(b *bytes.Buffer) error {
		return h.pages.RenderCampaign(b, reportpages.Campaign{Account: a.Name, Status: status, Report: r,
			SQL: h.reports.SQL(a.Name, r.CampaignKey)})
	})
}

func (h uiHandlers) asset(c echo.Context) error {
	name := c.Param("name")
	body, err := fs.ReadFile(h.assets, name)
	if err != nil {
		return &apiError{Status: http.StatusNotFound, Code: codeNotFound, Message: "no such asset"}
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=3600")
	return c.Blob(http.StatusOK, mime.TypeByExtension(path.Ext(name)), body)
}

// problem renders an error as a page, with the status the API would give it.
func (h uiHandlers) problem(c echo.Context, err error, account string) error {
	ae := classify(err)
	if ae.Status >= 500 {
		// The page says only what the API would say; the log has the error.
		h.logger.Error("page failed", "request_id", requestID(c), "route", c.Path(), "error", err)
	}
	return h.render(c, ae.Status, func(b *bytes.Buffer) error {
		return h.pages.RenderProblem(b, reportpages.Problem{Account: account, Status: ae.Status, Message: ae.Message})
	})
}

func (h uiHandlers) render(c echo.Context, status int, page func(*bytes.Buffer) error) error {
	var b bytes.Buffer
	if err := page(&b); err != nil {
		return err
	}
	return c.HTMLBlob(status, b.Bytes())
}
