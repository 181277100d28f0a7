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

// A customer's administrator declines the consent: they land on a page that
// says nothing changed and offers no sign-in they cannot use; the operator
// sees the link as declined, with the reason, and makes a new one from it.
// A link not yet used can be withdrawn, and then connects nothing.
func TestDeclinedAndWithdrawnConsentLinksInChromium(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	operator := newBrowser(t)
	ctx, cancel := context.WithTimeout(operator, 2*time.Minute)
	defer cancel()
	signIn(t, ctx, env, "oscar")
	makeLink := func(label, expected string) string {
		must(t, chromedp.Do(ctx,
			chromedp.Navigate(env.Portal.URL+"/tenants/connect"),
			chromedp.SendKeys(chromedp.CSS(`[data-testid="connect-label"]`), label),
			chromedp.SendKeys(chromedp.CSS(`[data-testid="connect-expected"]`), expected),
			chromedp.Click(chromedp.CSS(`[data-testid="make-link"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="consent-link"]`)),
		))
		link, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="consent-link"]`)))
		must(t, err)
		return link
	}
	link := makeLink("Fabrikam", "fabrikam.example")

	customer := newBrowser(t)
	cctx, ccancel := context.WithTimeout(customer, time.Minute)
	defer ccancel()
	must(t, chromedp.Do(cctx,
		chromedp.Navigate(link),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-user-`+env.Users["fiona"]+`"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="consent-cancel"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="onboarding-failed"]`)),
	))
	page, err := chromedp.Run(cctx, chromedp.Text(chromedp.CSS("body")))
	must(t, err)
	if !strings.Contains(page, "Nothing in your tenant was changed") {
		t.Errorf("the customer's page after declining:\n%s", page)
	}
	if n, _ := chromedp.Run(cctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="signin"]').length`)); n != 0 {
		t.Error("the customer's result page offers a portal sign-in")
	}

	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.Portal.URL+"/tenants"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="onboarding-row"][data-state="declined"]`)),
	))
	reason, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="onboarding-row"][data-state="declined"] [data-testid="onboarding-reason"]`)))
	must(t, err)
	if !strings.Contains(reason, "declined the consent") {
		t.Errorf("the declined link's reason: %q", reason)
	}
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="onboarding-row"][data-state="declined"] [data-testid="onboarding-new-link"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="connect-label"]`)),
	))
	label, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`[data-testid="connect-label"]`)))
	must(t, err)
	expected, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`[data-testid="connect-expected"]`)))
	must(t, err)
	if label != "Fabrikam" || expected != "fabrikam.example" {
		t.Errorf("Make a new link starts with %q / %q", label, expected)
	}

	// Withdraw a fresh link; opening it afterwards connects nothing.
	second := makeLink("Fabrikam again", "fabrikam.example")
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.Portal.URL+"/tenants"),
		chromedp.Click(chromedp.CSS(`[data-testid="onboarding-row"][data-state="waiting"] [data-testid="onboarding-withdraw"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="onboarding-row"][data-state="withdrawn"]`)),
	))
	must(t, chromedp.Do(cctx,
		chromedp.Navigate(second),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="consent-accept"], [data-testid="signin-user-`+env.Users["fiona"]+`"]`)),
	))
	if n, _ := chromedp.Run(cctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="consent-accept"]').length`)); n == 0 {
		must(t, chromedp.Do(cctx, chromedp.Click(chromedp.CSS(`[data-testid="signin-user-`+env.Users["fiona"]+`"]`))))
	}
	must(t, chromedp.Do(cctx,
		chromedp.Click(chromedp.CSS(`[data-testid="consent-accept"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="onboarding-failed"]`)),
	))
	if ts, _ := env.Store.ListTenants(context.Background()); len(ts) != 0 {
		t.Errorf("a withdrawn link connected %d tenants", len(ts))
	}
}

// QA: the customer's administrator declines, opens the same link again and
// accepts. Entra's consent screen lists as many permissions as the portal's
// consent link page; after accepting, the portal (whose link is closed)
// connects nothing and says that Entra may have recorded the consent and how
// to remove it, never that nothing in the tenant changed.
func TestAcceptAfterDeclineInChromium(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	operator := newBrowser(t)
	ctx, cancel := context.WithTimeout(operator, 2*time.Minute)
	defer cancel()
	signIn(t, ctx, env, "oscar")
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.Portal.URL+"/tenants/connect"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="connect-label"]`), "Fabrikam"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="connect-expected"]`), "fabrikam.example"),
		chromedp.Click(chromedp.CSS(`[data-testid="make-link"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="consent-link"]`)),
	))
	link, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="consent-link"]`)))
	must(t, err)
	promised, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="requested-permission"]').length`))
	must(t, err)

	customer := newBrowser(t)
	cctx, ccancel := context.WithTimeout(customer, time.Minute)
	defer ccancel()
	fiona := `[data-testid="signin-user-` + env.Users["fiona"] + `"]`
	// openConsent opens the link and signs in if Entra asks, up to the consent screen.
	openConsent := func() {
		t.Helper()
		must(t, chromedp.Do(cctx,
			chromedp.Navigate(link),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="consent-accept"], `+fiona)),
		))
		if n, _ := chromedp.Run(cctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="consent-accept"]').length`)); n == 0 {
			must(t, chromedp.Do(cctx, chromedp.Click(chromedp.CSS(fiona)), chromedp.WaitVisible(chromedp.CSS(`[data-testid="consent-accept"]`))))
		}
	}
	openConsent()
	shown, err := chromedp.Run(cctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="consent-permissions"] li').length`))
	must(t, err)
	if shown != promised || promised != 7 {
		t.Errorf("Entra's consent screen lists %d permissions, the portal's consent link page %d; want the same 7", shown, promised)
	}
	must(t, chromedp.Do(cctx,
		chromedp.Click(chromedp.CSS(`[data-testid="consent-cancel"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="onboarding-failed"]`)),
	))

	openConsent()
	must(t, chromedp.Do(cctx,
		chromedp.Click(chromedp.CSS(`[data-testid="consent-accept"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="onboarding-consent-recorded"]`)),
	))
	screenshot(t, cctx, "consent-on-declined-link")
	page, err := chromedp.Run(cctx, chromedp.Text(chromedp.CSS("body")))
	must(t, err)
	for _, want := range []string{"was declined on", "Enterprise applications", "Delete"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page after accepting on the declined link lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "Nothing in your tenant was changed") || strings.Contains(page, "cannot be used") {
		t.Errorf("the page after accepting on the declined link misleads:\n%s", page)
	}
	if ts, _ := env.Store.ListTenants(context.Background()); len(ts) != 0 {
		t.Errorf("a declined link connected %d tenants", len(ts))
	}
}
