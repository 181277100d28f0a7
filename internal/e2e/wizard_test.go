package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/appreg-portal/portal/internal/catalog"
	"github.com/appreg-portal/portal/internal/entrasim"
	"github.com/appreg-portal/portal/internal/graph"
	"github.com/appreg-portal/portal/internal/pgcluster"
	"github.com/appreg-portal/portal/internal/registration"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/internal/testenv"
)

// tokenTap records every access token the emulator issues, so the test can
// look for the delegated token where it must never be.
type tokenTap struct {
	mu     sync.Mutex
	tokens []string
}

func (tt *tokenTap) wrap(sim *entrasim.Sim) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
			sim.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, r)
		var body struct {
			AccessToken string `json:"access_token"`
		}
		if json.Unmarshal(rec.Body.Bytes(), &body) == nil && body.AccessToken != "" {
			tt.mu.Lock()
			tt.tokens = append(tt.tokens, body.AccessToken)
			tt.mu.Unlock()
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// connectFabrikam records the customer tenant as connected, as the
// onboarding flow does (TestConnectTenantInChromium drives that flow itself).
func connectFabrikam(t *testing.T, env *testenv.Env) {
	t.Helper()
	if _, err := env.Store.CreateTenant(context.Background(), store.Tenant{EntraTenantID: env.Other, DisplayName: "Fabrikam",
		DefaultDomain: "fabrikam.example", Status: "connected"}, store.AuditEvent{Action: "tenant.connect"}); err != nil {
		t.Fatal(err)
	}
}

// wizardResult is what the finished page showed.
type wizardResult struct{ secret, clientID, tenantID, shareLink string }

// runWizard drives the wizard in the operator's browser from the blueprint
// page to the finished page, signing in to Fabrikam as admin.
func runWizard(t *testing.T, ctx context.Context, env *testenv.Env, blueprint string, params map[string]string, admin string, wantExisting, share bool) wizardResult {
	t.Helper()
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.Portal.URL+"/catalogue/"+blueprint),
		chromedp.Click(chromedp.CSS(`[data-testid="register-start"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="wizard-tenant"]`)),
		chromedp.SetValue(chromedp.CSS(`[data-testid="wizard-tenant"]`), env.Other),
	))
	for name, v := range params {
		if f, ok := strings.CutPrefix(name, "feature:"); ok { // an optional feature's switch
			must(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`input[name="feature"][value="`+f+`"]`))))
			continue
		}
		must(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`input[name="`+name+`"]`), v)))
	}
	if share {
		must(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-testid="wizard-share"]`))))
	}
	screenshot(t, ctx, "wizard-start-"+blueprint)
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="wizard-next"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="wizard-signin"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="wizard-next"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-user-`+env.Users[admin]+`"]`)),
	))
	// Entra asks the admin to consent to the portal's delegated permissions the first time.
	must(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="consent-accept"], [data-testid="wizard-review"]`))))
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS(`[data-testid="consent-accept"]`), chromedp.AtLeast(0)))
	must(t, err)
	if len(nodes) > 0 {
		must(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-testid="consent-accept"]`))))
	}
	must(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="wizard-review"]`))))
	// What the review refers to is on the review, and nothing is left as a raw template.
	review, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="wizard-review"]`)))
	must(t, err)
	for ref, section := range map[string]string{"see the doubt below": "review-doubts", "see hardening": "review-hardening"} {
		if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="`+section+`"]').length`)); strings.Contains(review, ref) && n == 0 {
			t.Errorf("%s: the review says %q but has no %s", blueprint, ref, section)
		}
	}
	if strings.Contains(review, "{{") {
		t.Errorf("%s: a raw template on the review", blueprint)
	}
	existing, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS(`[data-testid="wizard-existing"]`), chromedp.AtLeast(0)))
	must(t, err)
	if (len(existing) > 0) != wantExisting {
		t.Errorf("%s: wizard-existing shown = %v, want %v", blueprint, len(existing) > 0, wantExisting)
	}
	screenshot(t, ctx, "wizard-review-"+blueprint)
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="wizard-apply"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="wizard-done"]`)),
	))
	screenshot(t, ctx, "wizard-done-"+blueprint)
	var res wizardResult
	res.secret, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="secret-value"]`)))
	must(t, err)
	res.clientID, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="handoff-client-id"]`)))
	must(t, err)
	res.tenantID, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="handoff-tenant-id"]`)))
	must(t, err)
	if share {
		res.shareLink, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="share-link"]`)))
		must(t, err)
	}
	return res
}

// appByUniqueName returns the emulator's applications with the uniqueName in a tenant.
func appsByUniqueName(sim *entrasim.Sim, tenant, name string) []map[string]any {
	var out []map[string]any
	for _, ts := range sim.State().Tenants {
		if ts.ID != tenant {
			continue
		}
		for _, a := range ts.Applications {
			if a.UniqueName != nil && *a.UniqueName == name {
				b, _ := json.Marshal(a)
				var m map[string]any
				_ = json.Unmarshal(b, &m)
				out = append(out, m)
			}
		}
	}
	return out
}

// grantedScopes counts the AllPrincipals scopes granted to the app's service principal.
func grantedScopes(sim *entrasim.Sim, tenant, appID string) int {
	n := 0
	for _, ts := range sim.State().Tenants {
		if ts.ID != tenant {
			continue
		}
		for _, sp := range ts.ServicePrincipals {
			if sp.AppID != appID {
				continue
			}
			for _, g := range ts.OAuth2PermissionGrants {
				if g.ClientID == sp.ID && g.ConsentType == "AllPrincipals" {
					n += len(strings.Fields(g.Scope))
				}
			}
		}
	}
	return n
}

// rolesOf returns the roles claim of an app-only token made with the
// secret, for Microsoft Graph or (exchange) Exchange Online.
func rolesOf(t *testing.T, env *testenv.Env, tenant, clientID, secret string, exchange bool) []string {
	t.Helper()
	scope := graph.Scope
	if exchange {
		scope = "https://outlook.office365.com/.default"
	}
	cc := clientcredentials.Config{ClientID: clientID, ClientSecret: secret, Scopes: []string{scope},
		TokenURL: env.Entra.URL + "/" + tenant + "/oauth2/v2.0/token"}
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatalf("client_credentials with the wizard's secret: %v", err)
	}
	parts := strings.Split(tok.AccessToken, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	must(t, err)
	var cl struct {
		Roles []string `json:"roles"`
	}
	must(t, json.Unmarshal(b, &cl))
	return cl.Roles
}

// The wizard through real pages for three blueprints: Microsoft Graph
// application and delegated permissions (Exact Globe+ mail), an Exchange
// Online application permission with a parameter in the redirect URI (Exact
// Synergy calendar), and Graph again with a redirect URI parameter (Exact
// Synergy mail). Each ends with one app holding the blueprint's redirect
// URIs, flags and permissions, its grants, and a working secret; a second
// run of a blueprint updates the same app. The canary checks follow.
func TestWizardInChromium(t *testing.T) {
	tap := &tokenTap{}
	logs := &syncBuffer{}
	env := testenv.New(t, testenv.Options{WrapEntra: tap.wrap, Log: logs})
	browser := newBrowser(t)
	ctx, cancel := context.WithTimeout(browser, 4*time.Minute)
	defer cancel()
	signIn(t, ctx, env, "oscar")
	connectByConsent(t, ctx, env) // app-only consent too: the drift check reads the tenant as the portal app

	cases := []struct {
		blueprint string
		params    map[string]string
		webURIs   []string
	}{
		// A name of the admin's own, which the hardening PowerShell must use.
		{"exact-globe-mail", map[string]string{"sender_mailbox": "invoices@fabrikam.example", "display_name": "Globe mail for Fabrikam"}, nil},
		{"exact-synergy-calendar", map[string]string{"server_name": "synergy.fabrikam.example"},
			[]string{"https://synergy.fabrikam.example/Synergy/docs/SysJwtTokenLogin.aspx"}},
		{"exact-synergy-mail", map[string]string{"server_name": "synergy.fabrikam.example", "sender_mailbox": "mail@fabrikam.example"},
			[]string{"https://synergy.fabrikam.example/Synergy/docs/SysJwtTokenLogin.aspx"}},
	}
	var secrets, shareLinks []string
	for i, c := range cases {
		res := runWizard(t, ctx, env, c.blueprint, c.params, "fiona", false, i == 1)
		if i == 1 {
			shareLinks = append(shareLinks, res.shareLink)
			openShareLink(t, res.shareLink, res.secret)
		}
		secrets = append(secrets, res.secret)
		if name := c.params["display_name"]; name != "" {
			page, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
			must(t, err)
			if want := "-DisplayName '" + name + "'"; !strings.Contains(page, want) {
				t.Errorf("%s: the finished page's PowerShell lacks %q:\n%s", c.blueprint, want, page)
			}
		}
		if res.secret == "" || res.tenantID != env.Other || len(res.clientID) != 36 {
			t.Fatalf("%s: finished page shows secret %d chars, tenant %q, client %q", c.blueprint, len(res.secret), res.tenantID, res.clientID)
		}
		apps := appsByUniqueName(env.Sim, env.Other, registration.UniqueName(c.blueprint))
		if len(apps) != 1 {
			t.Fatalf("%s: %d applications in the tenant, want 1", c.blueprint, len(apps))
		}
		app := apps[0]
		web, _ := app["web"].(map[string]any)
		var uris []string
		for _, u := range web["redirectUris"].([]any) {
			uris = append(uris, u.(string))
		}
		for _, want := range c.webURIs {
			if !slices.Contains(uris, want) {
				t.Errorf("%s: web redirect URIs %v lack %s", c.blueprint, uris, want)
			}
		}
		bp, _ := catalog.Builtin(c.blueprint)
		ig, _ := web["implicitGrantSettings"].(map[string]any)
		if ig["enableIdTokenIssuance"] != bp.Registration.Web.ImplicitGrant.IDTokens || ig["enableAccessTokenIssuance"] != bp.Registration.Web.ImplicitGrant.AccessTokens {
			t.Errorf("%s: implicit grant %v, want ID tokens %v, access tokens %v", c.blueprint, ig,
				bp.Registration.Web.ImplicitGrant.IDTokens, bp.Registration.Web.ImplicitGrant.AccessTokens)
		}
		// requiredResourceAccess holds exactly the blueprint's required permissions.
		want := 0
		for _, rp := range bp.ResolvedPermissions() {
			if !rp.Optional {
				want++
			}
		}
		got := 0
		for _, rra := range app["requiredResourceAccess"].([]any) {
			got += len(rra.(map[string]any)["resourceAccess"].([]any))
		}
		if got != want {
			t.Errorf("%s: requiredResourceAccess has %d permissions, want %d", c.blueprint, got, want)
		}
		// Delegated permissions are granted for all users.
		delegated := 0
		for _, rp := range bp.ResolvedPermissions() {
			if rp.Type == catalog.Delegated && !rp.Optional {
				delegated++
			}
		}
		if granted := grantedScopes(env.Sim, env.Other, res.clientID); granted != delegated {
			t.Errorf("%s: %d delegated scopes granted for all users, want %d", c.blueprint, granted, delegated)
		}
		// The secret works, and the tokens it gets carry the blueprint's application permissions.
		graphRoles := rolesOf(t, env, env.Other, res.clientID, res.secret, false)
		exoRoles := rolesOf(t, env, env.Other, res.clientID, res.secret, true)
		for _, rp := range bp.ResolvedPermissions() {
			if rp.Type != catalog.Application || rp.Optional {
				continue
			}
			got := graphRoles
			if rp.Permission.Resource == catalog.ExchangeOnline {
				got = exoRoles
			}
			if !slices.Contains(got, rp.Name) {
				t.Errorf("%s: app-only %s token roles %v lack %s", c.blueprint, rp.Permission.Resource.Name, got, rp.Name)
			}
		}
		state, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="consent-verified"]`)))
		must(t, err)
		if !strings.Contains(state, "granted") {
			t.Errorf("%s: finished page says %q, want every permission granted", c.blueprint, state)
		}
	}

	// Again: the page offers to update; the tenant still holds one app, now with two secrets.
	res := runWizard(t, ctx, env, "exact-globe-mail", map[string]string{"sender_mailbox": "invoices@fabrikam.example"}, "fiona", true, false)
	secrets = append(secrets, res.secret)
	apps := appsByUniqueName(env.Sim, env.Other, registration.UniqueName("exact-globe-mail"))
	if len(apps) != 1 || len(apps[0]["passwordCredentials"].([]any)) != 2 {
		t.Errorf("after a second run: %d apps (want 1)", len(apps))
	}

	// The drift check reads the app as it is now: it matches its blueprint, but the second run left
	// two working secrets, which it reports (and nothing else).
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="drift-check"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="drift-clean"], [data-testid="drift-finding"], [data-testid="drift-error"]`)),
	))
	findings, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll(`[data-testid="drift-finding"]`)))
	must(t, err)
	text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if len(findings) != 1 || !strings.Contains(text, "2 client secrets are active") {
		t.Errorf("drift after a second run: %d findings, want the one about two active secrets:\n%s", len(findings), text)
	}

	// Leave the secret page: neither the registrations page nor the run page shows it again.
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.Portal.URL+"/registrations"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="registrations-table"]`)),
	))
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	must(t, err)
	rows, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll(`[data-testid="registration-row"]`)))
	must(t, err)
	if len(rows) != 3 {
		t.Errorf("registrations page lists %d rows, want 3", len(rows))
	}
	pages := []string{html}
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="registration-row"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="wizard-done"]`)),
	))
	html, err = chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	must(t, err)
	pages = append(pages, html)
	gone, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS(`[data-testid="secret-gone"]`), chromedp.AtLeast(0)))
	must(t, err)
	if len(gone) != 1 {
		t.Error("the run page does not say the secret was shown once")
	}
	// Back: the browser must not bring the secret page back from a cache.
	must(t, chromedp.Do(ctx, chromedp.NavigateBack(), chromedp.WaitReady(chromedp.CSS("body"))))
	html, err = chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	must(t, err)
	pages = append(pages, html)

	canaries := append([]string{}, secrets...)
	for _, l := range shareLinks {
		canaries = append(canaries, l[strings.LastIndex(l, "/")+1:]) // the link's token
	}
	tap.mu.Lock()
	canaries = append(canaries, tap.tokens...)
	tap.mu.Unlock()
	dump := pgDump(t, env)
	audit, err := env.Store.ListAudit(context.Background(), store.AuditFilter{Limit: 1000})
	must(t, err)
	auditJSON, _ := json.Marshal(audit)
	for i, c := range canaries {
		if len(c) < 16 {
			t.Fatalf("canary %d is too short to mean anything", i)
		}
		for where, text := range map[string]string{"log": logs.String(), "pg_dump": dump, "audit": string(auditJSON),
			"registrations page": pages[0], "run page": pages[1], "page after back": pages[2]} {
			if strings.Contains(text, c) {
				kind := "secret"
				if i >= len(secrets) {
					kind = "share token or access token"
				}
				t.Errorf("a %s (canary %d) appears in the %s", kind, i, where)
			}
		}
	}
	if !strings.Contains(dump, "share_links") || !strings.Contains(dump, "registration_tokens") {
		t.Error("pg_dump does not contain the tokens table: the dump is not what it should be")
	}
}

// openShareLink opens a one-time link in a fresh browser as the customer
// would: a button first, then the secret, once; a second opening gets 410.
func openShareLink(t *testing.T, link, secret string) {
	t.Helper()
	if !strings.Contains(link, "/share/") {
		t.Fatalf("share link %q", link)
	}
	// A link preview (GET) does not use it up.
	if status, body := httpGet(t, link); status != http.StatusOK || strings.Contains(body, secret) {
		t.Fatalf("share page GET: %d, secret shown %v", status, strings.Contains(body, secret))
	}
	b := newBrowser(t)
	ctx, cancel := context.WithTimeout(b, time.Minute)
	defer cancel()
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.Click(chromedp.CSS(`[data-testid="share-reveal"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="share-secret-value"]`)),
	))
	got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="share-secret-value"]`)))
	must(t, err)
	if got != secret {
		t.Errorf("share link showed %d characters, not the secret", len(got))
	}
	screenshot(t, ctx, "share-revealed")
	must(t, chromedp.Do(ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`[data-testid="share-gone"]`))))
	if status, body := httpGet(t, link); status != http.StatusGone || strings.Contains(body, secret) {
		t.Errorf("used link: %d", status)
	}
}

func httpGet(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// pgDump dumps the test database as SQL with Postgres's own pg_dump.
func pgDump(t *testing.T, env *testenv.Env) string {
	t.Helper()
	bin, err := pgcluster.FindBinDir()
	must(t, err)
	// pg_ctl may be a symlink into the version's own directory, where pg_dump is.
	if real, err := filepath.EvalSymlinks(filepath.Join(bin, "pg_ctl")); err == nil {
		bin = filepath.Dir(real)
	}
	var out bytes.Buffer
	cmd := exec.Command(filepath.Join(bin, "pg_dump"), "--no-owner", "--dbname", env.Store.Pool().Config().ConnString())
	cmd.Stdout = &out
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pg_dump: %v: %s", err, stderr.String())
	}
	return out.String()
}

// The role path in Fabrikam: a Cloud Application Administrator (frank)
// completes the wizard but gets a consent link for the Microsoft Graph
// application permissions; the Global Administrator (fiona) opens it in her
// own browser and consents; the portal reads the grants back and the wizard
// shows them as verified.
func TestWizardConsentLinkInChromium(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	connectFabrikam(t, env)
	browser := newBrowser(t)
	ctx, cancel := context.WithTimeout(browser, 3*time.Minute)
	defer cancel()
	signIn(t, ctx, env, "oscar")
	res := runWizard(t, ctx, env, "exact-globe-mail", map[string]string{"sender_mailbox": "invoices@fabrikam.example"}, "frank", false, true)
	if res.secret == "" {
		t.Fatal("no secret shown")
	}
	link, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="wizard-consent-link"]`)))
	must(t, err)
	if roles := rolesOf(t, env, env.Other, res.clientID, res.secret, false); len(roles) != 0 {
		t.Errorf("before consent the app already has roles %v", roles)
	}
	// "Check again" before the Global Administrator has consented: still waiting.
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="wizard-check-consent"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="wizard-consent-link"]`)),
	))

	customer := newBrowser(t)
	cctx, ccancel := context.WithTimeout(customer, time.Minute)
	defer ccancel()
	must(t, chromedp.Do(cctx,
		chromedp.Navigate(link),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-user-`+env.Users["fiona"]+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="consent-accept"]`)),
	))
	screenshot(t, cctx, "wizard-admin-consent")
	must(t, chromedp.Do(cctx,
		chromedp.Click(chromedp.CSS(`[data-testid="consent-accept"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="consent-return"]`)),
	))
	msg, err := chromedp.Run(cctx, chromedp.Text(chromedp.CSS(`[data-testid="consent-return"]`)))
	must(t, err)
	if !strings.Contains(msg, "checked the grants") {
		t.Errorf("consent return page says %q", msg)
	}
	if roles := rolesOf(t, env, env.Other, res.clientID, res.secret, false); !slices.Contains(roles, "Mail.Send") {
		t.Errorf("after consent the app's roles are %v, want Mail.Send", roles)
	}
	// The operator withdraws the share link before anyone opened it: it no longer works.
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.Portal.URL+"/registrations"),
		chromedp.Click(chromedp.CSS(`[data-testid="registration-row"] a`)),
		chromedp.Click(chromedp.CSS(`[data-testid="share-revoke"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`[data-testid="share-revoke"]`)),
	))
	row, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="share-row"]`)))
	must(t, err)
	if !strings.Contains(row, "withdrawn") {
		t.Errorf("share row after withdrawal = %q", row)
	}
	if status, body := httpGet(t, res.shareLink); status != http.StatusGone || !strings.Contains(body, "withdrew") {
		t.Errorf("withdrawn link: %d", status)
	}
	// The operator's page: reloaded, it shows the grants as verified.
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.Portal.URL+"/registrations"),
		chromedp.Click(chromedp.CSS(`[data-testid="registration-row"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="consent-verified"]`)),
	))
	must(t, chromedp.Do(ctx, chromedp.Navigate(env.Portal.URL+"/registrations")))
	consent, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="registration-consent"]`)))
	must(t, err)
	if !strings.Contains(consent, "granted (verified)") {
		t.Errorf("registrations page says %q, want the grants verified", consent)
	}
}

// An app that needs Exchange Online and Microsoft Graph, applied by a Cloud
// Application Administrator: he grants Exchange's role himself; the consent
// link asks a Global Administrator for Microsoft Graph alone (Entra's v2
// adminconsent takes one API per request: AADSTS700022 otherwise), and her
// consent completes the registration.
func TestWizardConsentLinkForOneAPIAtATimeInChromium(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	connectFabrikam(t, env)
	browser := newBrowser(t)
	ctx, cancel := context.WithTimeout(browser, 3*time.Minute)
	defer cancel()
	signIn(t, ctx, env, "oscar")
	res := runWizard(t, ctx, env, "resourcexpress-graph", map[string]string{"feature:OAuth for SMTP": ""}, "frank", false, false)
	links, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('[data-testid="wizard-consent-link"]')).map(e => e.textContent)`))
	must(t, err)
	if len(links) != 1 {
		t.Fatalf("consent links %q, want one (Microsoft Graph)", links)
	}
	u, err := url.Parse(links[0])
	must(t, err)
	if scope := u.Query().Get("scope"); scope != "https://graph.microsoft.com/.default" {
		t.Errorf("the consent link asks for %q, want Microsoft Graph's .default alone", scope)
	}
	if roles := rolesOf(t, env, env.Other, res.clientID, res.secret, true); !slices.Contains(roles, "full_access_as_app") {
		t.Errorf("before consent the Exchange roles are %v: the Cloud Application Administrator grants full_access_as_app himself", roles)
	}
	customer := newBrowser(t)
	cctx, ccancel := context.WithTimeout(customer, time.Minute)
	defer ccancel()
	must(t, chromedp.Do(cctx,
		chromedp.Navigate(links[0]),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-user-`+env.Users["fiona"]+`"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="consent-accept"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="consent-return"]`)),
	))
	msg, err := chromedp.Run(cctx, chromedp.Text(chromedp.CSS(`[data-testid="consent-return"]`)))
	must(t, err)
	if !strings.Contains(msg, "checked the grants") {
		t.Errorf("consent return page says %q", msg)
	}
	if roles := rolesOf(t, env, env.Other, res.clientID, res.secret, false); !slices.Contains(roles, "Mail.Send") {
		t.Errorf("after consent the Graph roles are %v, want Mail.Send", roles)
	}
}
