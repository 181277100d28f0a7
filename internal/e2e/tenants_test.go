package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/appreg-portal/portal/internal/testenv"
)

// An operator makes a consent link; the customer's Global Administrator
// opens it in their own browser, signs in at Entra, accepts the consent and
// sees that the tenant is connected; the operator then sees the tenant.
func TestConnectTenantInChromium(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	operator := newBrowser(t)
	ctx, cancel := context.WithTimeout(operator, 90*time.Second)
	defer cancel()
	signIn(t, ctx, env, "oscar")
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.Portal.URL+"/tenants"),
		chromedp.Click(chromedp.CSS(`[data-testid="connect-tenant"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="connect-label"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="connect-label"]`), "Fabrikam"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="connect-expected"]`), "fabrikam.example"),
		chromedp.Click(chromedp.CSS(`[data-testid="make-link"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="consent-link"]`)),
	))
	link, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="consent-link"]`)))
	must(t, err)
	screenshot(t, ctx, "consent-link")

	customer := newBrowser(t)
	cctx, ccancel := context.WithTimeout(customer, 60*time.Second)
	defer ccancel()
	must(t, chromedp.Do(cctx,
		chromedp.Navigate(link),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-user-`+env.Users["fiona"]+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="consent-accept"]`)),
	))
	screenshot(t, cctx, "admin-consent")
	must(t, chromedp.Do(cctx,
		chromedp.Click(chromedp.CSS(`[data-testid="consent-accept"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="onboarding-connected"]`)),
	))
	screenshot(t, cctx, "tenant-connected")

	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.Portal.URL+"/tenants"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="tenant-row"]`)),
	))
	row, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="tenant-row"]`)))
	must(t, err)
	if want := env.Other; !strings.Contains(row, "Fabrikam") || !strings.Contains(row, want) || !strings.Contains(row, "connected") {
		t.Errorf("tenant row = %q, want Fabrikam %s connected", row, want)
	}
}
