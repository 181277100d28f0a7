package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/appreg-portal/portal/internal/entrasim"
	"github.com/appreg-portal/portal/internal/graph"
	"github.com/appreg-portal/portal/internal/registration"
	"github.com/appreg-portal/portal/internal/testenv"
)

// driftText is the drift page's findings, one per line.
func driftText(t *testing.T, ctx context.Context) string {
	t.Helper()
	must(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="drift-clean"], [data-testid="drift-finding"], [data-testid="drift-error"]`))))
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll('[data-testid="drift-finding"]')).map(e => e.innerText.replace(/\s+/g, ' ')).join('\n')`))
	must(t, err)
	return text
}

// tamper calls Graph in the customer tenant as an admin tool would, behind
// the portal's back.
func tamper(t *testing.T, env *testenv.Env, method, path, body string, out any) {
	t.Helper()
	admin, err := env.Sim.CreateApplication(env.Other, entrasim.AppSpec{DisplayName: "Admin tool " + method, Secret: true,
		ApplicationPermissions: []string{"Application.ReadWrite.All", "DelegatedPermissionGrant.ReadWrite.All"}})
	must(t, err)
	tok, err := graph.AppOnlyTokenSource(context.Background(), env.Entra.URL, env.Other, admin.AppID, admin.SecretText, nil).Token()
	must(t, err)
	req, _ := http.NewRequest(method, env.Entra.URL+"/v1.0"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		must(t, json.Unmarshal(b, out))
	}
}

// An app registered by the wizard is changed by hand (an unsafe redirect
// URI, a delegated scope taken out of the admin consent). Its drift page,
// once the wizard's sign-in has lapsed, reads the app as the portal app and
// says delegated consent was not checked; a read-only sign-in shows the
// missing consent; Repair, with the registration's own values filled in,
// brings both back.
func TestDriftSignInAndRepairInChromium(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	browser := newBrowser(t)
	ctx, cancel := context.WithTimeout(browser, 4*time.Minute)
	defer cancel()
	signIn(t, ctx, env, "oscar")
	connectByConsent(t, ctx, env)
	params := map[string]string{"sender_mailbox": "invoices@fabrikam.example"}
	res := runWizard(t, ctx, env, "exact-globe-mail", params, "fiona", false, false)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	must(t, err)
	u, err := url.Parse(loc)
	must(t, err)
	runID, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/registrations/"), "/")

	apps := appsByUniqueName(env.Sim, env.Other, registration.UniqueName("exact-globe-mail"))
	if len(apps) != 1 {
		t.Fatalf("%d apps", len(apps))
	}
	appObject := apps[0]["id"].(string)
	tamper(t, env, "PATCH", "/applications/"+appObject, `{"web":{"redirectUris":["http://evil.example/callback"]}}`, nil)
	var sp struct {
		Value []struct{ ID string } `json:"value"`
	}
	tamper(t, env, "GET", "/servicePrincipals?$filter="+url.QueryEscape("appId eq '"+res.clientID+"'"), "", &sp)
	if len(sp.Value) != 1 {
		t.Fatalf("service principals for the app: %+v", sp.Value)
	}
	var grants struct {
		Value []struct{ ID, ConsentType, Scope string } `json:"value"`
	}
	tamper(t, env, "GET", "/oauth2PermissionGrants?$filter="+url.QueryEscape("clientId eq '"+sp.Value[0].ID+"'"), "", &grants)
	if len(grants.Value) != 1 || len(strings.Fields(grants.Value[0].Scope)) < 2 {
		t.Fatalf("delegated grants: %+v", grants.Value)
	}
	scopes := strings.Fields(grants.Value[0].Scope)
	removed := scopes[0]
	tamper(t, env, "PATCH", "/oauth2PermissionGrants/"+grants.Value[0].ID, `{"scope":"`+strings.Join(scopes[1:], " ")+`"}`, nil)

	// An hour later the wizard's delegated token is gone.
	if _, err := env.Store.Pool().Exec(context.Background(), `DELETE FROM registration_tokens WHERE run_id = $1`, runID); err != nil {
		t.Fatal(err)
	}
	must(t, chromedp.Do(ctx, chromedp.Navigate(env.Portal.URL+"/registrations/"+runID+"/drift")))
	text := driftText(t, ctx)
	for _, want := range []string{"Web redirect URIs differ", "Unsafe redirect URI http://evil.example/callback"} {
		if !strings.Contains(text, want) {
			t.Errorf("app-only drift page lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "(delegated)") {
		t.Errorf("app-only drift page claims to know delegated consent:\n%s", text)
	}
	must(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="drift-delegated-unchecked"]`))))
	screenshot(t, ctx, "drift-app-only")

	// The read-only sign-in: Fiona is asked to consent to reading grants, once.
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="drift-signin"]`)),
		chromedp.Sleep(300*time.Millisecond),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-user-`+env.Users["fiona"]+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="consent-accept"], [data-testid="drift-finding"], [data-testid="drift-notice"]`)),
	))
	consent, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS(`[data-testid="consent-accept"]`), chromedp.AtLeast(0)))
	must(t, err)
	if len(consent) > 0 {
		must(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-testid="consent-accept"]`))))
	}
	text = driftText(t, ctx)
	if want := removed + " (delegated) is not consented for the organisation"; !strings.Contains(text, want) {
		t.Errorf("drift page after the sign-in lacks %q:\n%s", want, text)
	}
	unchecked, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS(`[data-testid="drift-delegated-unchecked"]`), chromedp.AtLeast(0)))
	must(t, err)
	if len(unchecked) != 0 {
		t.Error("after the sign-in the page still says delegated consent was not checked")
	}
	screenshot(t, ctx, "drift-delegated")

	// Repair: the wizard opens with the registration's values, shows the review, re-applies.
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="drift-repair"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="wizard-tenant"]`)),
	))
	mailbox, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`input[name="sender_mailbox"]`)))
	must(t, err)
	tenant, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`[data-testid="wizard-tenant"]`)))
	must(t, err)
	if mailbox != params["sender_mailbox"] || !strings.EqualFold(tenant, env.Other) {
		t.Errorf("repair starts with mailbox %q in tenant %q, want the registration's %q in %q", mailbox, tenant, params["sender_mailbox"], env.Other)
	}
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="wizard-next"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="wizard-signin"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="wizard-next"]`)),
		chromedp.Sleep(300*time.Millisecond),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-user-`+env.Users["fiona"]+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="wizard-review"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="wizard-existing"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="wizard-apply"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="wizard-done"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="drift-check"]`)),
	))
	text = driftText(t, ctx)
	for _, gone := range []string{"redirect", "(delegated)", "not consented"} {
		if strings.Contains(strings.ToLower(text), strings.ToLower(gone)) {
			t.Errorf("after repair the drift page still reports %q:\n%s", gone, text)
		}
	}
	if apps := appsByUniqueName(env.Sim, env.Other, registration.UniqueName("exact-globe-mail")); len(apps) != 1 {
		t.Errorf("after repair the tenant holds %d apps, want 1", len(apps))
	}

	// The registration's page lists the app's secrets once the tenant is scanned, each with its Rotate.
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.Portal.URL+"/registrations/"+runID),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="app-credentials-empty"]`)),
		chromedp.Navigate(env.Portal.URL+"/tenants"),
		chromedp.Click(chromedp.CSS(`[data-testid="scan-now"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="credentials-table"]`)),
		chromedp.Navigate(env.Portal.URL+"/registrations/"+runID),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="app-credential"]`)),
	))
	keys := passwordKeys(env.Sim, env.Other, res.clientID)
	if len(keys) != 2 {
		t.Fatalf("the app holds %d secrets after the repair, want 2", len(keys))
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="app-credential"]').length`))
	must(t, err)
	if rows != 2 {
		text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="app-credentials"]`)))
		t.Errorf("the registration page lists %d credentials, want the 2 secrets %v:\n%s", rows, keys, text)
	}
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="rotate-`+keys[0]+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="rotation-next"]`)),
	))
	loc, err = chromedp.Run(ctx, chromedp.Location())
	must(t, err)
	if !strings.Contains(loc, "/rotations/") {
		t.Errorf("Rotate on the registration page led to %s, want a rotation", loc)
	}
}
