package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/entrasim"
	"github.com/appreg-portal/portal/internal/mailtest"
	"github.com/appreg-portal/portal/internal/registration"
	"github.com/appreg-portal/portal/internal/testenv"
)

// connectByConsent connects Fabrikam through the portal's consent link, as
// an operator and the customer's Global Administrator would.
func connectByConsent(t *testing.T, ctx context.Context, env *testenv.Env) {
	t.Helper()
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.Portal.URL+"/tenants/connect"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="connect-label"]`), "Fabrikam"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="connect-expected"]`), "fabrikam.example"),
		chromedp.Click(chromedp.CSS(`[data-testid="make-link"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="consent-link"]`)),
	))
	link, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="consent-link"]`)))
	must(t, err)
	customer := newBrowser(t)
	cctx, cancel := context.WithTimeout(customer, time.Minute)
	defer cancel()
	must(t, chromedp.Do(cctx,
		chromedp.Navigate(link),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-user-`+env.Users["fiona"]+`"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="consent-accept"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="onboarding-connected"]`)),
	))
}

// scanNow presses Scan now on the Tenants page (it appears once the
// connected tenant is listed) and waits for the dashboard it leads to.
func scanNow(t *testing.T, ctx context.Context, env *testenv.Env) {
	t.Helper()
	must(t, chromedp.Do(ctx, chromedp.Navigate(env.Portal.URL+"/tenants")))
	tctx, tcancel := context.WithTimeout(ctx, 15*time.Second)
	defer tcancel()
	must(t, chromedp.Do(tctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="scan-now"]`))))
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="scan-now"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="credentials-table"], [data-testid="credentials-empty"]`)),
	))
}

func secretWorks(t *testing.T, env *testenv.Env, clientID, secret string) bool {
	t.Helper()
	cc := clientcredentials.Config{ClientID: clientID, ClientSecret: secret, Scopes: []string{"https://graph.microsoft.com/.default"},
		TokenURL: env.Entra.URL + "/" + env.Other + "/oauth2/v2.0/token"}
	_, err := cc.Token(context.Background())
	return err == nil
}

func passwordKeys(sim *entrasim.Sim, tenant, appID string) []string {
	var out []string
	for _, ts := range sim.State().Tenants {
		if ts.ID != tenant {
			continue
		}
		for _, a := range ts.Applications {
			if a.AppID == appID {
				for _, c := range a.PasswordCredentials {
					out = append(out, c.KeyID)
				}
			}
		}
	}
	return out
}

// An operator rotates a scanned customer secret from the dashboard: the new
// secret works while the old one still does; after the confirmation the old
// one is gone, and the next scan and the alert run agree.
func TestRotateFromDashboardInChromium(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	app, err := env.Sim.CreateApplication(env.Other, entrasim.AppSpec{DisplayName: "Legacy mail", SignInAudience: "AzureADMyOrg",
		ApplicationPermissions: []string{"Mail.Send"}})
	must(t, err)
	// Its only secret ends in ten days: the alert run warns about it.
	app.SecretText = "Leg8Q~" + strings.Repeat("x7", 17)
	oldKey, err := env.Sim.AddSecret(app.ID, "legacy", app.SecretText, time.Now().Add(-355*24*time.Hour), time.Now().Add(10*24*time.Hour))
	must(t, err)
	browser := newBrowser(t)
	ctx, cancel := context.WithTimeout(browser, 3*time.Minute)
	defer cancel()
	signIn(t, ctx, env, "oscar")
	connectByConsent(t, ctx, env)
	scanNow(t, ctx, env)
	must(t, chromedp.Do(ctx, chromedp.Navigate(env.Portal.URL+"/")))
	screenshot(t, ctx, "rotation-dashboard")
	if mails := alertRun(t, env, "before@contoso.example"); !strings.Contains(mails, "Legacy mail") {
		t.Fatalf("before the rotation the alert run does not warn about the ending secret:\n%s", mails)
	}
	dctx, dcancel := context.WithTimeout(ctx, 20*time.Second)
	defer dcancel()
	must(t, chromedp.Do(dctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="rotate-`+oldKey+`"]`))))
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="rotate-`+oldKey+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="rotation-next"]`)),
	))
	// The page names every permission the sign-in asks for.
	asked, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`[data-testid="rotation-scopes"]`)))
	must(t, err)
	for _, sc := range registration.RotationScopes {
		if short := sc[strings.LastIndex(sc, "/")+1:]; !strings.Contains(asked, short) {
			t.Errorf("the rotation's sign-in asks for %s, which its page does not explain", short)
		}
	}
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="rotation-next"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-user-`+env.Users["fiona"]+`"]`)),
	))
	must(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="consent-accept"], [data-testid="rotation-new-name"]`))))
	if n, _ := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS(`[data-testid="consent-accept"]`), chromedp.AtLeast(0))); len(n) > 0 {
		must(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-testid="consent-accept"]`))))
	}
	rctx, rcancel := context.WithTimeout(ctx, 15*time.Second)
	defer rcancel()
	if err := chromedp.Do(rctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="rotation-new-name"]`))); err != nil {
		body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		t.Fatalf("no review after the sign-in: %v\n%s", err, body)
	}
	screenshot(t, ctx, "rotation-review")
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="rotation-share"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="rotation-next"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="secret-value"]`)),
	))
	screenshot(t, ctx, "rotation-secret")
	// Nothing has used the new secret yet: removing the old one now comes with a warning.
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="rotation-confirm-warning"]').length`)); n != 1 {
		t.Error("before the new secret signed in, the page does not warn against removing the old one")
	}
	secret, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="secret-value"]`)))
	must(t, err)
	client, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="handoff-client-id"]`)))
	must(t, err)
	link, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="share-link"]`)))
	must(t, err)
	openShareLink(t, link, secret)
	if client != app.AppID {
		t.Errorf("hand-off client ID %q, want %s", client, app.AppID)
	}
	if !secretWorks(t, env, app.AppID, secret) || !secretWorks(t, env, app.AppID, app.SecretText) {
		t.Fatal("during the overlap both the new and the old secret must work")
	}
	if keys := passwordKeys(env.Sim, env.Other, app.AppID); len(keys) != 2 {
		t.Fatalf("%d secrets during the overlap, want 2", len(keys))
	}
	// A reload shows the overlap without the secret, and (the new secret having just signed in above)
	// the sign-in report's hint that it is in use.
	must(t, chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`[data-testid="secret-gone"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="rotation-new-last-used"]`))))
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	must(t, err)
	if strings.Contains(html, secret) {
		t.Error("the rotation page shows the secret again after a reload")
	}
	// A removal date can be set instead of confirming now. The suggested date is one the portal
	// accepts; a date in the past is refused by the browser and, without its check, by the portal.
	suggested, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`[data-testid="rotation-remove-on"]`)))
	must(t, err)
	if day, err := time.Parse(time.DateOnly, suggested); err != nil || !day.After(time.Now()) || day.After(time.Now().Add(10*24*time.Hour)) {
		t.Errorf("suggested removal date %q, want one after today and before the old secret ends", suggested)
	}
	must(t, chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(`[data-testid="rotation-remove-on"]`), "2020-01-01")))
	underflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('[data-testid="rotation-remove-on"]').validity.rangeUnderflow`))
	must(t, err)
	if !underflow {
		t.Error("the browser accepts a removal date in the past")
	}
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('[data-testid="rotation-remove-on"]').removeAttribute('min') === undefined`))
	must(t, err)
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="rotation-schedule"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.field-error`)),
		chromedp.SetValue(chromedp.CSS(`[data-testid="rotation-remove-on"]`), time.Now().AddDate(0, 0, 10).Format(time.DateOnly)),
		chromedp.Click(chromedp.CSS(`[data-testid="rotation-schedule"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="rotation-scheduled"]`)),
	))
	// The dashboard shows the rotation under way, with the removal date.
	must(t, chromedp.Do(ctx, chromedp.Navigate(env.Portal.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="rotation-open-`+oldKey+`"]`))))
	row, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="credentials-table"]`)))
	must(t, err)
	if !strings.Contains(row, "this one is removed on "+time.Now().AddDate(0, 0, 10).Format(time.DateOnly)) {
		t.Errorf("dashboard during the rotation:\n%s", row)
	}
	must(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-testid="rotation-open-`+oldKey+`"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid="rotation-confirm"]`))))
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="rotation-confirm"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="rotation-done"]`)),
	))
	if keys := passwordKeys(env.Sim, env.Other, app.AppID); len(keys) != 1 || keys[0] == oldKey {
		t.Errorf("after confirming: secrets %v, want only the new one", keys)
	}
	if secretWorks(t, env, app.AppID, app.SecretText) || !secretWorks(t, env, app.AppID, secret) {
		t.Error("after confirming, the old secret must fail and the new one work")
	}
	// The confirmation queued a scan, so the dashboard drops the old secret and lists the new one
	// without anyone pressing Scan now.
	keys := passwordKeys(env.Sim, env.Other, app.AppID)
	deadline := time.Now().Add(20 * time.Second)
	for {
		must(t, chromedp.Do(ctx, chromedp.Navigate(env.Portal.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`footer`))))
		oldRow, _ := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS(`[data-testid="rotate-`+oldKey+`"], [data-testid="rotation-open-`+oldKey+`"]`), chromedp.AtLeast(0)))
		newRow, _ := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS(`[data-testid="rotate-`+keys[0]+`"]`), chromedp.AtLeast(0)))
		if len(oldRow) == 0 && len(newRow) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("20 s after confirming, the dashboard shows the old secret %d times and the new one %d times; want 0 and 1", len(oldRow), len(newRow))
		}
		time.Sleep(500 * time.Millisecond)
	}
	// The new secret's own page: what it is, its Rotate, where it lives in Entra, and its history.
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="credential-link-`+keys[0]+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="credential-history"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="rotate-`+keys[0]+`"]`)),
	))
	screenshot(t, ctx, "credential-detail")
	history, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="credential-history"]`)))
	must(t, err)
	if !strings.Contains(history, "A new secret was added by a rotation.") {
		t.Errorf("the new secret's history:\n%s", history)
	}
	entra, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`[data-testid="credential-entra-link"]`), "href"))
	must(t, err)
	if !strings.Contains(entra.Value, "/appId/"+app.AppID) || !strings.Contains(entra.Value, env.Other) {
		t.Errorf("Entra admin center link %q lacks the app or the tenant", entra.Value)
	}
	// The old one's page says it is gone, and how.
	var oldID int64
	must(t, env.Store.Pool().QueryRow(context.Background(), `SELECT id FROM credentials WHERE key_id = $1`, oldKey).Scan(&oldID))
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(fmt.Sprintf("%s/credentials/%d", env.Portal.URL, oldID)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="credential-removed"]`)),
	))
	history, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="credential-history"]`)))
	must(t, err)
	for _, want := range []string{"Rotation started.", "Its successor was added by a rotation", "Removed by a rotation"} {
		if !strings.Contains(history, want) {
			t.Errorf("the old secret's history lacks %q:\n%s", want, history)
		}
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid^="rotate-"]').length`)); n != 0 {
		t.Error("a removed secret's page offers Rotate")
	}

	// And the alert run: a recipient who was never warned before gets nothing about Legacy mail now
	// (the new secret lasts months; the old one is gone).
	if mails := alertRun(t, env, "after@contoso.example"); strings.Contains(mails, "Legacy mail") {
		t.Errorf("after the rotation the alert run still warns about Legacy mail:\n%s", mails)
	}
}

// alertRun runs the alerts once for one portal-wide recipient and returns
// the subjects and bodies that arrived.
func alertRun(t *testing.T, env *testenv.Env, recipient string) string {
	t.Helper()
	mb := mailtest.Start(t, "127.0.0.1:0")
	a := alerts.New(alerts.Config{SMTP: alerts.SMTP{Addr: mb.Addr, From: "portal@contoso.example", TLS: "none"}, Recipients: []string{recipient}}, env.Store)
	if _, err := a.Run(context.Background()); err != nil {
		t.Fatalf("alert run: %v", err)
	}
	var out strings.Builder
	for _, m := range mb.Mails() {
		out.WriteString(m.Subject + "\n" + m.Body + "\n")
	}
	return out.String()
}
