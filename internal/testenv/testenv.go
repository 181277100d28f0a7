// Package testenv assembles a whole portal for tests: real Postgres (through
// pgtest), the Entra emulator with an operator tenant, the portal app and a
// user for each role, and the portal's HTTP handler on a loopback server.
// Handler flow tests and browser tests share it.
package testenv

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/auth"
	"github.com/appreg-portal/portal/internal/entrasim"
	"github.com/appreg-portal/portal/internal/handlers"
	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/inventory"
	"github.com/appreg-portal/portal/internal/jobs"
	"github.com/appreg-portal/portal/internal/onboard"
	"github.com/appreg-portal/portal/internal/pgtest"
	"github.com/appreg-portal/portal/internal/store"
)

// Options tunes the environment.
type Options struct {
	// WrapEntra wraps the emulator's handler, e.g. to play an attacker in the
	// middle. The emulator's public base URL is the wrapper's.
	WrapEntra func(sim *entrasim.Sim) http.Handler
	// AutoLogin lets login_hint sign in without the emulator's page.
	AutoLogin bool
	// Log receives the portal's log (default: discarded).
	Log io.Writer
	// IdleTimeout and Lifetime of sessions (defaults 1h and 12h).
	IdleTimeout, Lifetime time.Duration
	// Alerts is what the alerts page shows of the configuration.
	Alerts handlers.AlertSettings
	// AlertChannels adds and tests alert channels (an *alerts.Alerter over Env.Store).
	AlertChannels func(*store.Store) handlers.AlertChannels
	// Dev adds `portal dev`'s Outbox and demo clock.
	Dev func(*store.Store) *handlers.DevTools
	// WrapPortal wraps the portal's handler, e.g. to check every page it
	// serves.
	WrapPortal func(http.Handler) http.Handler
	// Localizer replaces i18n.For in the portal (tests that mark every
	// message to find text that bypassed the catalogues).
	Localizer func(i18n.Lang) *i18n.Localizer
}

// Env is one running portal with its world.
type Env struct {
	Sim      *entrasim.Sim
	Entra    *httptest.Server
	Store    *store.Store
	Portal   *httptest.Server
	TenantID string // the operator tenant, on the allow-list
	Other    string // a customer tenant, not on the allow-list
	AppID    string // the portal app's client ID
	// Users maps short names to UPNs: ada (admin), oscar (operator),
	// vera (viewer), nina (no role) in the operator tenant; fiona (Global
	// Administrator) and frank (Cloud Application Administrator) in the
	// other tenant.
	Users map[string]string
	// Names maps short names to display names.
	Names map[string]string
	// Jobs runs background jobs (scans) against the test database.
	Jobs *jobs.Runner

	portalSecret string
}

// PortalSecret is the portal app's client secret, for tests that build
// their own clients of the emulator.
func (e *Env) PortalSecret() (string, bool) { return e.portalSecret, e.portalSecret != "" }

// New starts everything; it is all stopped when the test ends.
func New(tb testing.TB, o Options) *Env {
	tb.Helper()
	e := &Env{Users: map[string]string{}, Names: map[string]string{}}
	e.Sim = entrasim.New(entrasim.Options{AutoLogin: o.AutoLogin})
	var entra http.Handler = e.Sim
	if o.WrapEntra != nil {
		entra = o.WrapEntra(e.Sim)
	}
	e.Entra = httptest.NewServer(entra)
	tb.Cleanup(e.Entra.Close)
	e.Sim.SetBaseURL(e.Entra.URL)

	var portal http.Handler
	e.Portal = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { portal.ServeHTTP(w, r) }))
	tb.Cleanup(e.Portal.Close)

	var err error
	if e.TenantID, err = e.Sim.CreateTenant("Contoso Consulting", "contoso.example"); err != nil {
		tb.Fatal(err)
	}
	if e.Other, err = e.Sim.CreateTenant("Fabrikam", "fabrikam.example"); err != nil {
		tb.Fatal(err)
	}
	app, err := e.Sim.CreateApplication(e.TenantID, entrasim.AppSpec{
		DisplayName: "AppReg Portal", SignInAudience: "AzureADMultipleOrgs",
		RedirectURIs: []string{e.Portal.URL + "/auth/callback", e.Portal.URL + "/signed-out", e.Portal.URL + "/onboarding/callback",
			e.Portal.URL + "/registrations/callback"}, Secret: true,
		// As `portal setup` declares them: the consent screen of a consent link lists these.
		DelegatedPermissions:   slices.Clone(onboard.SignInPermissions),
		ApplicationPermissions: slices.Clone(onboard.ScanPermissions),
		AppRoles: []entrasim.AppRole{
			{Value: auth.AppRoleAdmin, DisplayName: "Admin"},
			{Value: auth.AppRoleOperator, DisplayName: "Operator"},
			{Value: auth.AppRoleViewer, DisplayName: "Viewer"},
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	e.AppID, e.portalSecret = app.AppID, app.SecretText
	for _, u := range []struct{ key, name, role string }{
		{"ada", "Ada Admin", auth.AppRoleAdmin},
		{"oscar", "Oscar Operator", auth.AppRoleOperator},
		{"vera", "Vera Viewer", auth.AppRoleViewer},
		{"nina", "Nina Norole", ""},
	} {
		upn := u.key + "@contoso.example"
		id, err := e.Sim.CreateUser(e.TenantID, entrasim.User{DisplayName: u.name, UserPrincipalName: upn})
		if err != nil {
			tb.Fatal(err)
		}
		if u.role != "" {
			if err := e.Sim.AssignAppRole(e.TenantID, id, app.AppID, u.role); err != nil {
				tb.Fatal(err)
			}
		}
		e.Users[u.key], e.Names[u.key] = upn, u.name
	}
	if _, err := e.Sim.CreateUser(e.Other, entrasim.User{DisplayName: "Fiona Fabrikam", UserPrincipalName: "fiona@fabrikam.example", DirectoryRoles: []string{"Global Administrator"}}); err != nil {
		tb.Fatal(err)
	}
	e.Users["fiona"], e.Names["fiona"] = "fiona@fabrikam.example", "Fiona Fabrikam"
	if _, err := e.Sim.CreateUser(e.Other, entrasim.User{DisplayName: "Frank Fabrikam", UserPrincipalName: "frank@fabrikam.example", DirectoryRoles: []string{"Cloud Application Administrator"}}); err != nil {
		tb.Fatal(err)
	}
	e.Users["frank"], e.Names["frank"] = "frank@fabrikam.example", "Frank Fabrikam"

	e.Store = pgtest.NewStore(tb)
	base, _ := url.Parse(e.Portal.URL)
	logw := o.Log
	if logw == nil {
		logw = io.Discard
		if os.Getenv("PORTAL_TEST_LOG") != "" {
			logw = os.Stderr // PORTAL_TEST_LOG=1 go test … shows the portal's log
		}
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = time.Hour
	}
	if o.Lifetime == 0 {
		o.Lifetime = 12 * time.Hour
	}
	scanner := inventory.New(inventory.Config{Authority: e.Entra.URL, GraphURL: e.Entra.URL + "/v1.0", ClientID: app.AppID,
		ClientSecret: app.SecretText}, e.Store)
	runner, err := jobs.New(jobs.Config{Pool: e.Store.Pool(), Tenants: e.Store, Scanner: scanner,
		Log: slog.New(slog.NewTextHandler(logw, nil)), PollInterval: 50 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	if err := runner.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = runner.Stop(ctx) // jobs still running are cancelled; the database goes next
	})
	e.Jobs = runner
	wiz, err := handlers.NewWizard(handlers.WizardConfig{SealKey: []byte("test-seal-key-32-bytes-long-....")[:32], Authority: e.Entra.URL,
		GraphURL: e.Entra.URL + "/v1.0", OwnTenantID: e.TenantID, ClientID: app.AppID, ClientSecret: app.SecretText,
		ReplicationBackoff: 50 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	var alertChannels handlers.AlertChannels
	if o.AlertChannels != nil {
		alertChannels = o.AlertChannels(e.Store)
	}
	var dev *handlers.DevTools
	if o.Dev != nil {
		dev = o.Dev(e.Store)
	}
	h := handlers.New(handlers.Deps{
		Wizard: wiz,
		Log:    slog.New(slog.NewTextHandler(logw, nil)), BaseURL: base, Store: e.Store,
		FormTargets: []string{e.Entra.URL},
		Auth: auth.New(auth.Config{Authority: e.Entra.URL, ClientID: app.AppID, ClientSecret: app.SecretText,
			RedirectURL: e.Portal.URL + "/auth/callback", AllowedTenants: []string{e.TenantID}}),
		Confirmer: onboard.New(onboard.Config{Authority: e.Entra.URL, GraphURL: e.Entra.URL + "/v1.0", ClientID: app.AppID,
			ClientSecret: app.SecretText, RedirectURL: e.Portal.URL + "/onboarding/callback", Wait: 2 * time.Second}),
		Scanner:         scanner,
		ScanQueue:       runner,
		Alerts:          o.Alerts,
		AlertChannels:   alertChannels,
		Dev:             dev,
		Sessions:        handlers.NewSessionManager(e.Store.Pool(), base, o.IdleTimeout, o.Lifetime),
		SessionLifetime: o.Lifetime,
		Localizer:       o.Localizer,
	})
	portal = h.Routes()
	if o.WrapPortal != nil {
		portal = o.WrapPortal(portal)
	}
	return e
}
