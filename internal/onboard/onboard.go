// Package onboard connects customer tenants to the portal. A consultant
// sends a customer's Global Administrator an admin consent link for the
// portal's own multi-tenant app; when Entra sends the administrator back,
// the portal confirms with an app-only Graph call which tenant actually
// consented. The tenant named in the callback is never trusted by itself:
// anyone can edit a URL.
package onboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/appreg-portal/portal/internal/catalog"
	"github.com/appreg-portal/portal/internal/graph"
	"github.com/appreg-portal/portal/internal/problem"
)

// Config names the portal app and the Microsoft endpoints.
type Config struct {
	Authority    string // e.g. https://login.microsoftonline.com
	GraphURL     string // e.g. https://graph.microsoft.com/v1.0
	ClientID     string
	ClientSecret string
	RedirectURL  string // {base}/onboarding/callback, registered on the portal app
	HTTPClient   *http.Client
	// Wait bounds how long Confirm waits for a fresh consent to replicate
	// (the app's service principal can take a while to appear). Default 60s.
	Wait time.Duration
}

// Confirmer builds consent links and confirms consents.
type Confirmer struct{ cfg Config }

// New returns a Confirmer; it makes no network call.
func New(cfg Config) *Confirmer {
	cfg.Authority = strings.TrimRight(cfg.Authority, "/")
	if cfg.Wait <= 0 {
		cfg.Wait = 60 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	return &Confirmer{cfg: cfg}
}

// ConsentURL is the v2 admin consent link for the portal app. tenantHint is
// the customer's tenant ID or domain; empty means the administrator's own
// tenant, whichever it is (the organizations endpoint; never common).
func (c *Confirmer) ConsentURL(tenantHint, state string) string {
	seg := "organizations"
	if tenantHint != "" {
		seg = url.PathEscape(tenantHint)
	}
	q := url.Values{
		"client_id":    {c.cfg.ClientID},
		"scope":        {graph.Scope},
		"redirect_uri": {c.cfg.RedirectURL},
		"state":        {state},
	}
	return c.cfg.Authority + "/" + seg + "/v2.0/adminconsent?" + q.Encode()
}

// Tenant is what the app-only call says about the consenting tenant.
type Tenant struct {
	ID            string
	DisplayName   string
	DefaultDomain string
	Domains       []string // verified domains, lower case
	// Granted is what the portal app holds in the tenant.
	Granted Granted
}

// ScanPermissions are the Microsoft Graph application permissions the
// portal asks of a customer tenant, and all it should hold there: reading
// app registrations with their credentials' dates, and the tenant's name
// and domains. The Connect page lists exactly these.
//
// The consent link must ask for ".default" (the v2 admin consent endpoint
// grants application permissions only that way,
// https://learn.microsoft.com/entra/identity-platform/v2-admin-consent), and
// ".default" grants every permission configured on the portal app. So the
// multi-tenant portal app must carry these two and nothing else; anything
// for the operator's own tenant (sending mail through Graph, say) belongs
// on a separate single-tenant app. Granted checks it after each consent and
// scan.
var ScanPermissions = []string{"Application.Read.All", "Organization.Read.All"}

// SignInPermissions are the delegated Microsoft Graph permissions declared
// on the same portal app for signing people in to the portal (OpenID
// Connect) and reading who they are. ".default" grants them along with
// ScanPermissions, so Entra's consent screen for a consent link lists them
// too, and the Connect page must say so. `portal setup` declares exactly
// these on the app.
var SignInPermissions = []string{"openid", "profile", "email", "offline_access", "User.Read"}

// Requested describes what a consent link grants, in the order the Connect
// page shows it: ScanPermissions (application) and then SignInPermissions
// (delegated), from the permission table.
func Requested() []catalog.Permission {
	out := make([]catalog.Permission, 0, len(ScanPermissions)+len(SignInPermissions))
	add := func(names []string, typ catalog.PermissionType) {
		for _, name := range names {
			p, ok := catalog.Lookup(catalog.MicrosoftGraph.AppID, name, typ)
			if !ok {
				p = catalog.Permission{Resource: catalog.MicrosoftGraph, Name: name, Type: typ, Summary: name + " (" + string(typ) + ")"}
			}
			out = append(out, p)
		}
	}
	add(ScanPermissions, catalog.Application)
	add(SignInPermissions, catalog.Delegated)
	return out
}

// Granted is what the portal app holds in a tenant, read from its service
// principal's app role assignments there.
type Granted struct {
	// Extra names application permissions beyond ScanPermissions, e.g.
	// "Mail.Send (Microsoft Graph)".
	Extra []string
	// Missing names ScanPermissions not granted.
	Missing []string
	// Latest is when the newest of the ScanPermissions was granted.
	Latest time.Time
}

// Problems says what is wrong with g, for the Tenants page: stored lines of
// internal/problem, which the page says in its reader's language.
func (g Granted) Problems() []string {
	var out []string
	if len(g.Extra) > 0 {
		out = append(out, problem.New("onboard.problem.extra", "Extra", strings.Join(g.Extra, ", ")).With("Needed", ScanPermissions).String())
	}
	if len(g.Missing) > 0 {
		out = append(out, problem.New("onboard.problem.missing").With("Missing", g.Missing).String())
	}
	return out
}

// ReadGranted reads the portal app's application permissions in the tenant
// of gc (an app-only client there) with Application.Read.All.
func ReadGranted(ctx context.Context, gc *graph.Client, clientID string) (Granted, error) {
	self, err := gc.ResourceServicePrincipal(ctx, clientID)
	if err != nil {
		return Granted{}, fmt.Errorf("onboard: the portal's service principal: %w", err)
	}
	as, err := gc.AppRoleAssignments(ctx, self.ObjectID)
	if err != nil {
		return Granted{}, fmt.Errorf("onboard: the portal's permissions: %w", err)
	}
	msGraph, err := gc.ResourceServicePrincipal(ctx, graph.MicrosoftGraphAppID)
	if err != nil {
		return Granted{}, fmt.Errorf("onboard: Microsoft Graph's service principal: %w", err)
	}
	names := map[string]string{}
	for _, r := range msGraph.AppRoles {
		names[strings.ToLower(r.ID)] = r.Value
	}
	var g Granted
	have := map[string]bool{}
	for _, a := range as {
		name, ok := "", false
		if strings.EqualFold(a.ResourceID, msGraph.ObjectID) {
			name, ok = names[a.AppRoleID]
		}
		switch {
		case ok && slices.Contains(ScanPermissions, name):
			have[name] = true
			if a.Created.After(g.Latest) {
				g.Latest = a.Created
			}
		case ok:
			g.Extra = append(g.Extra, name+" (Microsoft Graph)")
		default:
			g.Extra = append(g.Extra, "app role "+a.AppRoleID+" of the API with service principal "+a.ResourceID)
		}
	}
	for _, p := range ScanPermissions {
		if !have[p] {
			g.Missing = append(g.Missing, p)
		}
	}
	slices.Sort(g.Extra)
	g.Extra = slices.Compact(g.Extra)
	return g, nil
}

// ErrNotConsented means the portal still cannot act in the tenant after
// waiting: consent was not (or not yet) granted there.
var ErrNotConsented = errors.New("onboard: the portal app has no access to the tenant")

// Confirm gets an app-only token for tenantID and reads /organization. It
// retries while a fresh consent replicates, up to Config.Wait.
func (c *Confirmer) Confirm(ctx context.Context, tenantID string) (Tenant, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Wait)
	defer cancel()
	wait := 500 * time.Millisecond
	for {
		t, err := c.confirmOnce(ctx, tenantID)
		if err == nil {
			return t, nil
		}
		if refused(err) {
			return Tenant{}, fmt.Errorf("%w: %v", ErrNotConsented, err)
		}
		if !retryable(err) {
			return Tenant{}, err
		}
		select {
		case <-ctx.Done():
			return Tenant{}, fmt.Errorf("%w: %v", ErrNotConsented, err)
		case <-time.After(wait):
		}
		wait = min(wait*2, 8*time.Second)
	}
}

func (c *Confirmer) confirmOnce(ctx context.Context, tenantID string) (Tenant, error) {
	gc, err := graph.NewAppOnlyClient(ctx, graph.AppOnly{LoginBase: c.cfg.Authority, GraphURL: c.cfg.GraphURL,
		ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret, HTTPClient: c.cfg.HTTPClient}, tenantID)
	if err != nil {
		return Tenant{}, err
	}
	org, err := gc.Organization(ctx)
	if err != nil {
		return Tenant{}, err
	}
	t := Tenant{ID: strings.ToLower(org.TenantID), DisplayName: org.DisplayName}
	for _, d := range org.Domains {
		name := strings.ToLower(d.Name)
		t.Domains = append(t.Domains, name)
		if d.IsDefault {
			t.DefaultDomain = name
		}
	}
	if t.ID != strings.ToLower(tenantID) {
		// The token was for tenantID, yet Graph describes another tenant: refuse.
		return Tenant{}, fmt.Errorf("onboard: Graph describes tenant %s, expected %s", t.ID, tenantID)
	}
	if t.Granted, err = ReadGranted(ctx, gc, c.cfg.ClientID); err != nil {
		return Tenant{}, err
	}
	return t, nil
}

// refused reports a final answer from the token endpoint: the tenant does
// not exist, or will not issue the portal a token for another reason than
// replication.
func refused(err error) bool {
	return graph.TokenRefused(err) && !retryable(err)
}

// retryable reports errors a fresh consent explains: the token endpoint
// does not know the app in the tenant yet, or Graph has not caught up. A
// wrong secret (AADSTS7000215) or a missing consent (AADSTS65001) is final.
func retryable(err error) bool {
	if errors.Is(graph.TokenError(err), graph.ErrNotReplicatedYet) {
		return true
	}
	if graph.TokenRefused(err) {
		return false
	}
	return errors.Is(err, graph.ErrUnauthenticated) || errors.Is(err, graph.ErrInsufficientPrivileges) || errors.Is(err, graph.ErrThrottled)
}
