package graph_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/catalog"
	"github.com/appreg-portal/portal/internal/entrasim"
	"github.com/appreg-portal/portal/internal/graph"
	"golang.org/x/oauth2"
)

type env struct {
	sim    *entrasim.Sim
	url    string
	tenant string
	app    entrasim.AppCreated
	hc     *http.Client
}

// newEnv starts the emulator (over HTTPS with a generated CA when useTLS, as `entrasim -tls` does) with
// one tenant and an app holding the given Microsoft Graph application permissions.
func newEnv(t *testing.T, useTLS bool, opts entrasim.Options, perms ...string) *env {
	t.Helper()
	sim := entrasim.New(opts)
	e := &env{sim: sim, hc: &http.Client{}}
	if useTLS {
		mat, err := entrasim.GenerateTLS([]string{"127.0.0.1", "localhost"})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewUnstartedServer(sim)
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{mat.Server}}
		srv.StartTLS()
		t.Cleanup(srv.Close)
		e.url = srv.URL
		e.hc = entrasim.TLSClient(mat.CA)
	} else {
		srv := httptest.NewServer(sim)
		t.Cleanup(srv.Close)
		e.url = srv.URL
	}
	sim.SetBaseURL(e.url)
	var err error
	if e.tenant, err = sim.CreateTenant("Contoso", "contoso.example"); err != nil {
		t.Fatal(err)
	}
	if e.app, err = sim.CreateApplication(e.tenant, entrasim.AppSpec{DisplayName: "Portal", ApplicationPermissions: perms, Secret: true}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) tokenSource(tenant, clientID, secret string) oauth2.TokenSource {
	return graph.AppOnlyTokenSource(context.Background(), e.url, tenant, clientID, secret, e.hc)
}

func (e *env) client(t *testing.T, mod ...func(*graph.Config)) *graph.Client {
	t.Helper()
	cfg := graph.Config{BaseURL: e.url + "/v1.0", TokenSource: e.tokenSource(e.tenant, e.app.AppID, e.app.SecretText),
		HTTPClient: e.hc, ReplicationBackoff: 50 * time.Millisecond, ReplicationTimeout: 5 * time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := graph.NewClient(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Source: https://learn.microsoft.com/graph/paging — ListApplications follows @odata.nextLink with the
// SDK's PageIterator over several pages, the last page, and an empty trailing page; over HTTP and HTTPS.
func TestListApplicationsPages(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", useTLS), func(t *testing.T) {
			e := newEnv(t, useTLS, entrasim.Options{TrailingEmptyPage: true}, "Application.Read.All")
			for i := range 2199 { // 2200 apps with the caller: pages of 999, 999, 202, then an empty page
				if _, err := e.sim.CreateApplication(e.tenant, entrasim.AppSpec{DisplayName: fmt.Sprintf("App %04d", i), Secret: i%2 == 0}); err != nil {
					t.Fatal(err)
				}
			}
			apps, err := e.client(t).ListApplications(context.Background())
			if err != nil {
				t.Fatalf("ListApplications: %v", err)
			}
			seen := map[string]bool{}
			secrets := 0
			for _, a := range apps {
				seen[a.ObjectID] = true
				for _, c := range a.Credentials {
					if c.Kind == graph.CredentialPassword && c.KeyID != "" && len(c.Hint) == 3 && c.End.After(c.Start) {
						secrets++
					}
				}
			}
			if len(apps) != 2200 || len(seen) != 2200 || secrets != 1101 {
				t.Errorf("ListApplications() = %d apps (%d distinct, %d secrets), want 2200 (1101 secrets)", len(apps), len(seen), secrets)
			}
			var pages int
			for _, r := range e.sim.Requests() {
				if r.Path == "/v1.0/applications" {
					pages++
				}
			}
			if pages != 4 {
				t.Errorf("requests for pages = %d, want 4 (999, 999, 202, empty)", pages)
			}
		})
	}
}

// Source: https://learn.microsoft.com/graph/paging (empty collection: value [] and no nextLink) — a tenant
// without applications lists none. The scanner is a multi-tenant app consented in the empty tenant.
func TestListApplicationsEmptyTenant(t *testing.T) {
	e := newEnv(t, false, entrasim.Options{})
	res, err := e.sim.LoadSeed(strings.NewReader(`{"tenants":[
	  {"key":"home","displayName":"Home","domain":"home.example","applications":[{"key":"scanner","displayName":"Scanner",
	    "signInAudience":"AzureADMultipleOrgs","applicationPermissions":["Application.Read.All"],"secret":true,"adminConsentIn":["empty"]}]},
	  {"key":"empty","displayName":"Empty","domain":"empty.example"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	scanner := res.Applications["scanner"]
	c := e.client(t, func(cfg *graph.Config) {
		cfg.TokenSource = e.tokenSource(res.Tenants["empty"], scanner.AppID, scanner.SecretText)
	})
	apps, err := c.ListApplications(context.Background())
	if err != nil || apps == nil || len(apps) != 0 {
		t.Errorf("ListApplications() = %v, %v, want an empty list", apps, err)
	}
}

// Source: https://github.com/microsoft/kiota-http-go/issues/183 and
// https://github.com/microsoftgraph/msgraph-sdk-go/issues/341 (kiota's default pipeline, with its
// CompressionHandler, can lose the body of a POST retried after a 429) and
// https://learn.microsoft.com/graph/throttling — through the portal's client
// configuration, a POST retried after an injected 429 arrives with its body intact, every time.
func TestPostRetriedAfter429KeepsBody(t *testing.T) {
	e := newEnv(t, false, entrasim.Options{}, "Application.ReadWrite.All")
	c := e.client(t)
	ctx := context.Background()
	for i := range 3 {
		name := fmt.Sprintf("rotation %d", i)
		if err := e.sim.AddFault(entrasim.Fault{Method: "POST", Path: "/v1.0/applications/*/addPassword", Status: 429, RetryAfter: 1, Count: 1}); err != nil {
			t.Fatal(err)
		}
		before := len(e.sim.Requests())
		sec, err := c.AddPassword(ctx, e.app.ID, name, time.Now().AddDate(0, 6, 0))
		if err != nil {
			t.Fatalf("AddPassword after 429: %v", err)
		}
		var posts []entrasim.RecordedRequest
		for _, r := range e.sim.Requests()[before:] {
			if r.Method == "POST" && strings.HasSuffix(r.Path, "/addPassword") {
				posts = append(posts, r)
			}
		}
		if len(posts) != 2 || posts[0].Status != 429 || posts[1].Status != 200 {
			t.Fatalf("requests = %+v, want a 429 then a 200", posts)
		}
		if !bytes.Equal(posts[0].Body, posts[1].Body) || !json.Valid(posts[1].Body) || !bytes.Contains(posts[1].Body, []byte(name)) {
			t.Errorf("retried body %q differs from the first %q", posts[1].Body, posts[0].Body)
		}
		if sec.DisplayName != name || sec.Text == "" {
			t.Errorf("secret = %+v", sec)
		}
	}
}

// Source: https://learn.microsoft.com/graph/api/application-upsert and application-addpassword — the
// wizard's apply step: upsert the app (201, then 204), its service principal, a secret that works.
func TestUpsertAndAddPassword(t *testing.T) {
	e := newEnv(t, false, entrasim.Options{}, "Application.ReadWrite.All")
	c := e.client(t)
	ctx := context.Background()
	spec := graph.ApplicationSpec{DisplayName: "Exact Globe+ mail", WebRedirectURIs: []string{"https://exact.example/cb"},
		RequiredResourceAccess: []catalog.ResourceAccess{{ResourceAppID: graph.MicrosoftGraphAppID,
			Access: []catalog.AccessEntry{{ID: "b633e1c5-b582-4048-a93e-9f11b44c7e96", Type: "Role"}}}}}
	app, created, err := c.UpsertApplication(ctx, "exact-globe-mail", spec)
	if err != nil || !created || app.AppID == "" || app.UniqueName != "exact-globe-mail" {
		t.Fatalf("UpsertApplication = %+v, %v, %v", app, created, err)
	}
	spec.DisplayName = "Exact Globe+ mail (renamed)"
	again, created, err := c.UpsertApplication(ctx, "exact-globe-mail", spec)
	if err != nil || created || again.ObjectID != app.ObjectID || again.DisplayName != spec.DisplayName {
		t.Errorf("second UpsertApplication = %+v, %v, %v", again, created, err)
	}
	sp, created, err := c.UpsertServicePrincipal(ctx, app.AppID)
	if err != nil || !created || sp.AppID != app.AppID {
		t.Fatalf("UpsertServicePrincipal = %+v, %v, %v", sp, created, err)
	}
	if _, created, err := c.UpsertServicePrincipal(ctx, app.AppID); err != nil || created {
		t.Errorf("second UpsertServicePrincipal: created=%v err=%v", created, err)
	}
	sec, err := c.AddPassword(ctx, app.ObjectID, "Exact", time.Now().AddDate(1, 0, 0))
	if err != nil || sec.Hint != sec.Text[:3] {
		t.Fatalf("AddPassword = %+v, %v", sec, err)
	}
	if _, err := e.tokenSource(e.tenant, app.AppID, sec.Text).Token(); err != nil {
		t.Errorf("token with the new secret: %v", err)
	}
	if err := c.RemovePassword(ctx, app.ObjectID, sec.KeyID); err != nil {
		t.Errorf("RemovePassword: %v", err)
	}
}

// Source: replication lag after a create (undocumented; reported in
// https://github.com/microsoftgraph/msgraph-sdk-dotnet/issues/3108) and
// https://github.com/Azure/ARO-HCP/pull/6325 (kiota's RetryHandler does not retry 400
// NoBackingApplicationObject) — the client retries with back-off until the object has replicated.
func TestReplicationLagIsRetried(t *testing.T) {
	e := newEnv(t, false, entrasim.Options{}, "Application.ReadWrite.All")
	e.sim.SetReplicationLag(700 * time.Millisecond)
	c := e.client(t)
	ctx := context.Background()
	app, _, err := c.UpsertApplication(ctx, "fresh", graph.ApplicationSpec{DisplayName: "Fresh"})
	if err != nil {
		t.Fatal(err)
	}
	// Applying again right away (a resumed wizard) updates the app and reads it back through the lag.
	if again, created, err := c.UpsertApplication(ctx, "fresh", graph.ApplicationSpec{DisplayName: "Fresh"}); err != nil || created || again.AppID != app.AppID {
		t.Errorf("second UpsertApplication during lag = %+v, %v, %v", again, created, err)
	}
	if _, _, err := c.UpsertServicePrincipal(ctx, app.AppID); err != nil {
		t.Errorf("UpsertServicePrincipal during lag: %v", err)
	}
	app2, _, _ := c.UpsertApplication(ctx, "fresh2", graph.ApplicationSpec{DisplayName: "Fresh 2"})
	if _, err := c.AddPassword(ctx, app2.ObjectID, "s", time.Time{}); err != nil {
		t.Errorf("AddPassword during lag: %v", err)
	}
	var lagged int
	for _, r := range e.sim.Requests() {
		if r.Status == 400 || r.Status == 404 {
			lagged++
		}
	}
	if lagged == 0 {
		t.Error("no request hit the replication lag; the test proves nothing")
	}
}

// Source: https://learn.microsoft.com/graph/errors and https://learn.microsoft.com/graph/throttling (error
// envelope, status codes, 429) and the directory error codes the service returns — typed errors for the
// portal's decisions.
func TestTypedErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("insufficient privileges", func(t *testing.T) {
		e := newEnv(t, false, entrasim.Options{}, "User.Read.All")
		_, err := e.client(t).ListApplications(ctx)
		var ge *graph.Error
		if !errors.Is(err, graph.ErrInsufficientPrivileges) || !errors.As(err, &ge) || ge.Status != 403 || ge.Code != "Authorization_RequestDenied" || ge.RequestID == "" {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("not found", func(t *testing.T) {
		e := newEnv(t, false, entrasim.Options{}, "Application.ReadWrite.All")
		c := e.client(t, func(cfg *graph.Config) { cfg.ReplicationTimeout = 200 * time.Millisecond })
		if _, err := c.AddPassword(ctx, "11111111-2222-3333-4444-555555555555", "x", time.Time{}); !errors.Is(err, graph.ErrNotFound) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("policy violation", func(t *testing.T) {
		e := newEnv(t, false, entrasim.Options{}, "Application.ReadWrite.All", "Policy.Read.All")
		e.sim.SetPasswordLifetimePolicy(e.tenant, 180*24*time.Hour)
		c := e.client(t)
		pol, err := c.AppManagementPolicy(ctx)
		if err != nil || !pol.Enabled || pol.MaxLifetime != 180*24*time.Hour {
			t.Errorf("AppManagementPolicy = %+v, %v", pol, err)
		}
		if _, err := c.AddPassword(ctx, e.app.ID, "x", time.Now().AddDate(2, 0, 0)); !errors.Is(err, graph.ErrPolicyViolation) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("throttled", func(t *testing.T) {
		e := newEnv(t, false, entrasim.Options{}, "Application.Read.All")
		e.sim.AddFault(entrasim.Fault{Path: "/v1.0/organization", Status: 429, RetryAfter: 1, Count: 5})
		c := e.client(t, func(cfg *graph.Config) { cfg.MaxRetries = 1 })
		if _, err := c.Organization(ctx); !errors.Is(err, graph.ErrThrottled) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("replication lag", func(t *testing.T) {
		e := newEnv(t, false, entrasim.Options{}, "Application.ReadWrite.All")
		e.sim.SetReplicationLag(time.Hour)
		c := e.client(t, func(cfg *graph.Config) { cfg.ReplicationTimeout = 200 * time.Millisecond })
		app, _, err := c.UpsertApplication(ctx, "lagging", graph.ApplicationSpec{DisplayName: "Lagging"})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.UpsertServicePrincipal(ctx, app.AppID); !errors.Is(err, graph.ErrReplicationLag) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("unauthenticated", func(t *testing.T) {
		e := newEnv(t, false, entrasim.Options{}, "Application.Read.All")
		c := e.client(t, func(cfg *graph.Config) {
			cfg.TokenSource = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "a.b.c"})
		})
		if _, err := c.ListApplications(ctx); !errors.Is(err, graph.ErrUnauthenticated) {
			t.Errorf("err = %v", err)
		}
	})
}

// Source: kiota's AllowedHostsValidator trap (a token provider returns an empty token for a host outside
// the list, so the request silently goes out without one) — the client refuses loudly instead of sending
// an unauthenticated request.
func TestTokenOnlyForGraphHost(t *testing.T) {
	e := newEnv(t, false, entrasim.Options{TrailingEmptyPage: true}, "Application.Read.All")
	// The emulator now names another host in its nextLinks than the client's BaseURL.
	e.sim.SetBaseURL(strings.Replace(e.url, "127.0.0.1", "localhost", 1))
	_, err := e.client(t).ListApplications(context.Background())
	if err == nil || !strings.Contains(err.Error(), "refusing to send a token") {
		t.Errorf("ListApplications following a nextLink to another host: err = %v", err)
	}
}

// Source: https://learn.microsoft.com/graph/permissions-reference (resource appIds and permission IDs are
// the same in every tenant) and https://learn.microsoft.com/graph/permissions-grant-via-msgraph (the resource service
// principal's object ID is not) — look up the resource service principal per tenant, grant an application
// permission and delegated scopes (idempotently).
func TestResourceLookupAndGrants(t *testing.T) {
	e := newEnv(t, false, entrasim.Options{}, "Application.Read.All", "AppRoleAssignment.ReadWrite.All", "DelegatedPermissionGrant.ReadWrite.All", "Organization.Read.All")
	c := e.client(t)
	ctx := context.Background()
	org, err := c.Organization(ctx)
	if err != nil || org.TenantID != e.tenant || len(org.Domains) != 2 {
		t.Errorf("Organization = %+v, %v", org, err)
	}
	gsp, err := c.ResourceServicePrincipal(ctx, graph.MicrosoftGraphAppID)
	if err != nil {
		t.Fatal(err)
	}
	var mailSend, userRead graph.Permission
	for _, r := range gsp.AppRoles {
		if r.Value == "Mail.Send" {
			mailSend = r
		}
	}
	for _, s := range gsp.Scopes {
		if s.Value == "User.Read" {
			userRead = s
		}
	}
	if mailSend.ID != "b633e1c5-b582-4048-a93e-9f11b44c7e96" || userRead.ID != "e1fe6dd8-ba31-4d61-89e7-88639da4683d" || userRead.AdminOnly {
		t.Errorf("Mail.Send %+v, User.Read %+v", mailSend, userRead)
	}
	target, _ := e.sim.CreateApplication(e.tenant, entrasim.AppSpec{DisplayName: "Target"})
	tsp, err := c.ResourceServicePrincipal(ctx, target.AppID)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second grant already exists: still no error
		if err := c.GrantAppRole(ctx, tsp.ObjectID, gsp.ObjectID, mailSend.ID); err != nil {
			t.Errorf("GrantAppRole: %v", err)
		}
	}
	if err := c.GrantDelegated(ctx, tsp.ObjectID, gsp.ObjectID, []string{"User.Read"}); err != nil {
		t.Errorf("GrantDelegated: %v", err)
	}
	if err := c.GrantDelegated(ctx, tsp.ObjectID, gsp.ObjectID, []string{"Mail.Read"}); err != nil {
		t.Errorf("GrantDelegated (merge): %v", err)
	}
	var scope string
	for _, g := range e.sim.State().Tenants[0].OAuth2PermissionGrants {
		if g.ClientID == tsp.ObjectID {
			scope = g.Scope
		}
	}
	if scope != "User.Read Mail.Read" {
		t.Errorf("grant scope = %q, want %q", scope, "User.Read Mail.Read")
	}
}

// Source: https://learn.microsoft.com/graph/api/user-sendmail — alert mail through Graph arrives in the
// emulator's outbox; without Mail.Send the call is denied.
func TestSendMail(t *testing.T) {
	e := newEnv(t, false, entrasim.Options{}, "Mail.Send")
	e.sim.CreateUser(e.tenant, entrasim.User{DisplayName: "Alerts", UserPrincipalName: "alerts@contoso.example"})
	err := e.client(t).SendMail(context.Background(), "alerts@contoso.example", graph.Mail{To: []string{"ops@contoso.example"},
		Subject: "2 secrets expire within 7 days", HTMLBody: "<p>Exact Globe+ mail</p>"})
	if err != nil {
		t.Fatalf("SendMail: %v", err)
	}
	out := e.sim.Outbox(e.tenant)
	if len(out) != 1 || out[0].Subject != "2 secrets expire within 7 days" || out[0].To[0] != "ops@contoso.example" || out[0].ContentType != "HTML" {
		t.Errorf("outbox = %+v", out)
	}
	e2 := newEnv(t, false, entrasim.Options{}, "Application.Read.All")
	if err := e2.client(t).SendMail(context.Background(), "x@contoso.example", graph.Mail{To: []string{"a@b"}}); !errors.Is(err, graph.ErrInsufficientPrivileges) {
		t.Errorf("SendMail without Mail.Send: err = %v, want ErrInsufficientPrivileges", err)
	}
}

// Source: https://learn.microsoft.com/graph/api/serviceprincipal-list and application-delete — the
// inventory also lists service principals; a deleted application is gone with its service principal.
func TestServicePrincipalCredentialsAndDelete(t *testing.T) {
	e := newEnv(t, false, entrasim.Options{}, "Application.ReadWrite.All")
	c := e.client(t)
	ctx := context.Background()
	sps, err := c.ListServicePrincipalCredentials(ctx)
	if err != nil || len(sps) != 3 { // Microsoft Graph, Exchange Online, the portal
		t.Fatalf("ListServicePrincipalCredentials = %d, %v; want 3", len(sps), err)
	}
	app, _, err := c.UpsertApplication(ctx, "temp", graph.ApplicationSpec{DisplayName: "Temp"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.UpsertServicePrincipal(ctx, app.AppID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteApplication(ctx, app.ObjectID); err != nil {
		t.Fatalf("DeleteApplication: %v", err)
	}
	if _, err := c.ResourceServicePrincipal(ctx, app.AppID); !errors.Is(err, graph.ErrNotFound) {
		t.Errorf("service principal after delete: %v, want ErrNotFound", err)
	}
	if err := c.DeleteApplication(ctx, app.ObjectID); !errors.Is(err, graph.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
}

// delegatedTokenSource signs upn in through the authorization code flow with PKCE (auto-login, admins
// consent for the organisation) and returns a refreshing token source, as the portal's wizard holds one.
func (e *env) delegatedTokenSource(t *testing.T, app entrasim.AppCreated, upn string, scopes ...string) oauth2.TokenSource {
	t.Helper()
	cfg := &oauth2.Config{ClientID: app.AppID, ClientSecret: app.SecretText, RedirectURL: "http://127.0.0.1:9/cb",
		Scopes:   append([]string{"openid", "offline_access"}, scopes...),
		Endpoint: oauth2.Endpoint{AuthURL: e.url + "/" + e.tenant + "/oauth2/v2.0/authorize", TokenURL: e.url + "/" + e.tenant + "/oauth2/v2.0/token"}}
	ver := oauth2.GenerateVerifier()
	hc := *e.hc
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Get(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(ver), oauth2.SetAuthURLParam("login_hint", upn),
		oauth2.SetAuthURLParam("prompt", "consent")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("authorize for %s: %v %v", upn, loc, err)
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, e.hc)
	tok, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(ver))
	if err != nil {
		t.Fatal(err)
	}
	return cfg.TokenSource(ctx, tok)
}

// Source: grant-admin-consent.md and serviceprincipal-post-approleassignedto.md — with the signed-in
// admin's delegated token, granting a Microsoft Graph application permission needs a Global or
// Privileged Role Administrator; an Application Administrator gets ErrInsufficientPrivileges but may
// grant Exchange Online's full_access_as_app.
func TestDelegatedGrantNeedsTheRightRole(t *testing.T) {
	e := newEnv(t, true, entrasim.Options{AutoLogin: true})
	e.sim.CreateUser(e.tenant, entrasim.User{DisplayName: "Ada", UserPrincipalName: "ada@contoso.example", DirectoryRoles: []string{"Global Administrator"}})
	e.sim.CreateUser(e.tenant, entrasim.User{DisplayName: "Oscar", UserPrincipalName: "oscar@contoso.example", DirectoryRoles: []string{"Application Administrator"}})
	portal, err := e.sim.CreateApplication(e.tenant, entrasim.AppSpec{DisplayName: "Portal", RedirectURIs: []string{"http://127.0.0.1:9/cb"}, Secret: true})
	if err != nil {
		t.Fatal(err)
	}
	scopes := []string{"Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All", "DelegatedPermissionGrant.ReadWrite.All"}
	ctx := context.Background()
	clientFor := func(upn string) *graph.Client {
		return e.client(t, func(cfg *graph.Config) { cfg.TokenSource = e.delegatedTokenSource(t, portal, upn, scopes...) })
	}
	oscar := clientFor("oscar@contoso.example")
	app, _, err := oscar.UpsertApplication(ctx, "vendor-app", graph.ApplicationSpec{DisplayName: "Vendor app"})
	if err != nil {
		t.Fatal(err)
	}
	sp, _, err := oscar.UpsertServicePrincipal(ctx, app.AppID)
	if err != nil {
		t.Fatal(err)
	}
	gsp, err := oscar.ResourceServicePrincipal(ctx, graph.MicrosoftGraphAppID)
	if err != nil {
		t.Fatal(err)
	}
	exo, err := oscar.ResourceServicePrincipal(ctx, graph.ExchangeOnlineAppID)
	if err != nil {
		t.Fatal(err)
	}
	const mailSend, fullAccess = "b633e1c5-b582-4048-a93e-9f11b44c7e96", "dc890d15-9560-4a4c-9b7f-a736ec74ec40"
	if err := oscar.GrantAppRole(ctx, sp.ObjectID, gsp.ObjectID, mailSend); !errors.Is(err, graph.ErrInsufficientPrivileges) {
		t.Errorf("Application Administrator granting Mail.Send: %v, want ErrInsufficientPrivileges", err)
	}
	if err := oscar.GrantAppRole(ctx, sp.ObjectID, exo.ObjectID, fullAccess); err != nil {
		t.Errorf("Application Administrator granting full_access_as_app: %v", err)
	}
	if err := oscar.GrantDelegated(ctx, sp.ObjectID, gsp.ObjectID, []string{"User.Read"}); err != nil {
		t.Errorf("Application Administrator granting delegated User.Read: %v", err)
	}
	if err := clientFor("ada@contoso.example").GrantAppRole(ctx, sp.ObjectID, gsp.ObjectID, mailSend); err != nil {
		t.Errorf("Global Administrator granting Mail.Send: %v", err)
	}
}
