// Package handlers is the portal's HTTP layer: routes, middleware, request
// parsing, rendering and redirects. Business rules live in the packages it
// calls; each handler declares the small interface it needs.
package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/a-h/templ"
	"github.com/alexedwards/scs/v2"

	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/web/templates"
)

// Handler serves the portal.
type Handler struct {
	log          *slog.Logger
	baseURL      *url.URL
	health       healthChecker
	tenants      tenantLister
	tenantOpts   tenantOptionsCache
	auth         authenticator
	sessions     *scs.SessionManager
	sessionStore sessionStore
	audit        auditLister
	admin        adminStore
	blueprints   blueprintStore
	onboardings  onboardingStore
	credentials  credentialLister
	scans        scanStore
	scanner      tenantScanner
	scanQueue    scanQueue
	deliveries   deliveryLister
	tenantAdmin  tenantAdmin
	metrics      requestObserver

	registrations registrationStore
	shares        shareStore
	rotations     rotationStore
	adopts        adoptStore
	details       credentialDetailStore
	silences      silenceStore
	policies      policyStore
	channels      AlertChannels
	channelStore  channelStore
	calendars     calendarStore
	dev           *DevTools
	wizard        Wizard
	languages     languageStore
	// localizer gives a language's messages (i18n.For; tests mark them).
	localizer func(i18n.Lang) *i18n.Localizer

	alertSettings AlertSettings
	confirmer     tenantConfirmer
	now           func() time.Time
	// refusals coalesces the audit rows of anonymous refusals.
	refusals *refusalLimiter

	bootstrapAdmins []string
	sessionLifetime time.Duration
	trustedProxies  []netip.Prefix
	// formTargets are origins besides our own that forms may lead to
	// (sign-out ends at Entra's end-session endpoint).
	formTargets []string
}

// Deps is what New needs. Fields are interfaces so tests pass small fakes
// or a real store.
type Deps struct {
	Log     *slog.Logger
	BaseURL *url.URL
	Store   *store.Store
	// Health overrides the readiness check (tests, and `serve` while migrations run).
	Health healthChecker
	// FormTargets are extra origins allowed as form targets in the CSP.
	FormTargets []string
	// TrustedProxies are reverse proxies whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix

	Auth authenticator
	// Confirmer makes admin consent links and confirms consents (internal/onboard).
	Confirmer tenantConfirmer
	// Scanner reads a tenant's credentials into the inventory (internal/inventory).
	Scanner tenantScanner
	// Metrics, if set, counts requests (internal/metrics).
	Metrics requestObserver
	// Alerts is shown on the alerts page.
	Alerts AlertSettings
	// AlertChannels adds and tests alert channels; nil without a seal key.
	AlertChannels AlertChannels
	// Dev, in `portal dev` only, adds the Outbox page and the demo clock.
	Dev *DevTools
	// Wizard configures the registration wizard.
	Wizard Wizard
	// ScanQueue queues background scans (internal/jobs).
	ScanQueue       scanQueue
	Sessions        *scs.SessionManager
	BootstrapAdmins []string
	SessionLifetime time.Duration
	// Localizer, if set, replaces i18n.For: tests mark every message to
	// find text that bypassed the catalogues.
	Localizer func(i18n.Lang) *i18n.Localizer
}

// New builds the handler.
func New(d Deps) *Handler {
	h := &Handler{log: d.Log, baseURL: d.BaseURL, now: time.Now, formTargets: d.FormTargets,
		auth: d.Auth, confirmer: d.Confirmer, scanner: d.Scanner, scanQueue: d.ScanQueue, alertSettings: d.Alerts, channels: d.AlertChannels, dev: d.Dev, metrics: d.Metrics, wizard: d.Wizard, sessions: d.Sessions, trustedProxies: d.TrustedProxies, bootstrapAdmins: d.BootstrapAdmins, sessionLifetime: d.SessionLifetime}
	h.localizer = d.Localizer
	if h.localizer == nil {
		h.localizer = func(l i18n.Lang) *i18n.Localizer { return i18n.For(l) }
	}
	if h.sessions == nil {
		h.sessions = scs.New() // in-memory; tests that need no sign-in
	}
	h.refusals = newRefusalLimiter(func() time.Time { return h.now() })
	if h.sessionLifetime == 0 {
		h.sessionLifetime = h.sessions.Lifetime
	}
	if d.Store != nil {
		h.health = d.Store
		h.tenants = d.Store
		h.sessionStore = d.Store
		h.audit = d.Store
		h.admin = d.Store
		h.blueprints = d.Store
		h.onboardings = d.Store
		h.credentials = d.Store
		h.scans = d.Store
		h.deliveries = d.Store
		h.silences = d.Store
		h.policies = d.Store
		h.channelStore = d.Store
		h.calendars = d.Store
		h.tenantAdmin = d.Store
		h.registrations = d.Store
		h.shares = d.Store
		h.rotations = d.Store
		h.adopts = d.Store
		h.details = d.Store
		h.languages = d.Store
	}
	if d.Health != nil {
		h.health = d.Health
	}
	return h
}

// appHandler is a handler that returns its error to one adapter, which turns
// it into a response.
type appHandler func(w http.ResponseWriter, r *http.Request) error

// httpError is an error with a user-facing status and message. Title and
// message are message IDs (internal/i18n), shown in the request's language;
// args fill the message's fields.
type httpError struct {
	status  int
	title   string
	message string
	args    []any
	err     error // logged, never shown
}

func (e *httpError) Error() string {
	if e.err != nil {
		return e.title + ": " + e.err.Error()
	}
	return e.title
}

func (e *httpError) Unwrap() error { return e.err }

func errNotFound() error {
	return &httpError{status: http.StatusNotFound, title: "error.not_found.title", message: "error.not_found.message"}
}

// errForbidden refuses with message (a message ID) and its args.
func errForbidden(message string, args ...any) error {
	return &httpError{status: http.StatusForbidden, title: "error.forbidden.title", message: message, args: args}
}

// errBadRequest refuses input with message (a message ID) and its args.
func errBadRequest(message string, args ...any) error {
	return &httpError{status: http.StatusBadRequest, title: "error.bad_request.title", message: message, args: args}
}

// wrap adapts an appHandler: errors become an error page (or fragment for
// htmx), logged once with the request ID. err.Error() never reaches users.
func (h *Handler) wrap(fn appHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			h.serveError(w, r, err)
		}
	}
}

func (h *Handler) serveError(w http.ResponseWriter, r *http.Request, err error) {
	e := &httpError{status: http.StatusInternalServerError, title: "error.internal.title", message: "error.internal.message"}
	var he *httpError
	switch {
	case errors.As(err, &he):
		e = he
	case errors.Is(err, store.ErrNotFound):
		e = errNotFound().(*httpError)
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		return // the client went away; nothing to answer
	}
	rid := RequestID(r.Context())
	if e.status >= 500 {
		h.log.ErrorContext(r.Context(), "request failed", "request_id", rid, "method", r.Method, "path", r.URL.Path, "err", err)
	} else if e.err != nil {
		h.log.InfoContext(r.Context(), "request refused", "request_id", rid, "status", e.status, "err", e.err)
	}
	ctx := r.Context()
	data := templates.ErrorData{Status: e.status, Title: i18n.T(ctx, e.title), Message: i18n.T(ctx, e.message, e.args...), RequestID: rid}
	if e.status == http.StatusUnauthorized {
		data.ActionHref, data.ActionLabel = "/login", i18n.T(ctx, "error.sign_in_again")
	}
	if isFragmentRequest(r) {
		h.render(w, r, e.status, templates.ErrorFragment(data))
		return
	}
	h.render(w, r, e.status, templates.ErrorPage(h.page(r, data.Title, ""), data))
}

// render writes a component with a status. Rendering into a buffer first
// would hide nothing useful: templ components only fail on writer errors.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := c.Render(r.Context(), w); err != nil && r.Context().Err() == nil {
		h.log.WarnContext(r.Context(), "render", "request_id", RequestID(r.Context()), "err", err)
	}
}

// page builds the props every full page needs; title is in the page's
// language already (i18n.T).
func (h *Handler) page(r *http.Request, title string, section templates.Section) templates.PageData {
	pd := templates.PageData{Title: title, Section: section, User: viewUser(r.Context())}
	if r.Method == http.MethodGet { // the language switch comes back here
		pd.Path = r.URL.RequestURI()
	}
	if pd.User != nil { // only a signed-in session carries flashes
		pd.Flash = h.sessions.PopString(r.Context(), keyFlash)
	}
	return pd
}

// keyFlash carries the outcome of an action to the page it redirects to.
const keyFlash = "flash"

// flash says, on the next page this browser sees, what an action did: every
// action that redirects leaves one, so nobody wonders whether it worked.
// msg is in the request's language already (i18n.T): the next page is the
// same person's.
func (h *Handler) flash(r *http.Request, msg string) {
	h.sessions.Put(r.Context(), keyFlash, msg)
}

// isFragmentRequest says whether htmx wants a fragment. History restores
// also carry HX-Request but need the whole page.
func isFragmentRequest(r *http.Request) bool {
	return r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-History-Restore-Request") != "true"
}

// viewUser is the signed-in user for templates; nil when signed out.
func viewUser(ctx context.Context) *templates.User {
	u := userFrom(ctx)
	if u == nil {
		return nil
	}
	return &templates.User{Name: u.Name, Email: u.Email, Role: u.Role, IsAdmin: u.Role == "admin"}
}

type userKey struct{}
