package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/appreg-portal/portal/internal/catalog"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/internal/testenv"
)

// signIn signs in through the emulator's page as the given demo user.
func signIn(t *testing.T, ctx context.Context, env *testenv.Env, user string) {
	t.Helper()
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.Portal.URL+"/"),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-user-`+env.Users[user]+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="current-user-name"]`)),
	))
}

// An operator browses the catalogue, reads a blueprint and adds a custom
// one by editing the template in the page.
func TestCatalogueInChromium(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	browser := newBrowser(t)
	ctx, cancel := context.WithTimeout(browser, 60*time.Second)
	defer cancel()
	signIn(t, ctx, env, "oscar")

	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.Portal.URL+"/catalogue"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="blueprint-card-resourcexpress-ews"]`)),
		// Live search through htmx narrows the list without a page load.
		chromedp.SendKeys(chromedp.CSS(`[data-testid="catalogue-search"]`), "afas"),
		chromedp.WaitNotPresent(chromedp.CSS(`[data-testid="blueprint-card-resourcexpress-ews"]`)),
	))
	cards, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll(`[data-testid^="blueprint-card-"]`)))
	must(t, err)
	if len(cards) != 1 {
		t.Fatalf("search for afas shows %d cards, want 1", len(cards))
	}
	screenshot(t, ctx, "catalogue-search")

	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.Portal.URL+"/catalogue/resourcexpress-ews"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="ews-notice"]`)),
	))
	summary, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="permission-full_access_as_app-application"] [data-testid="permission-summary"]`)))
	must(t, err)
	if !strings.Contains(summary, "full_access_as_app") {
		t.Errorf("full_access_as_app summary = %q", summary)
	}
	screenshot(t, ctx, "blueprint-ews")

	src := strings.Replace(string(catalog.CustomTemplate()), "id: my-product", "id: browser-made", 1)
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.Portal.URL+"/catalogue/new"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="blueprint-source"]`)),
		chromedp.SetValue(chromedp.CSS(`[data-testid="blueprint-source"]`), "id: [broken"),
		chromedp.Click(chromedp.CSS(`[data-testid="save-blueprint"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="blueprint-errors"]`)),
	))
	screenshot(t, ctx, "blueprint-errors")
	// Four mistakes, one of them structural: all four at once, each line a way into the editor.
	bad := strings.Replace(string(catalog.CustomTemplate()), "id: my-product", "id: [my-product]", 1)
	bad = strings.Replace(bad, "vendor: ", "vendorr: ", 1)
	bad = strings.Replace(bad, "name: Mail.Send", "name: Mail.Sendd", 1)
	bad = strings.Replace(bad, "defaultLifetimeMonths: 6", "defaultLifetimeMonths: 60", 1)
	// The first answer's list goes, so the wait below sees the second one.
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('[data-testid="blueprint-errors"]').remove() === undefined`))
	must(t, err)
	must(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`[data-testid="blueprint-source"]`), bad),
		chromedp.Click(chromedp.CSS(`[data-testid="save-blueprint"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="blueprint-errors"]`)),
	))
	problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('[data-testid="blueprint-error"]')).map(e => e.innerText)`))
	must(t, err)
	if len(problems) < 4 {
		t.Errorf("four mistakes reported as %d problems: %q", len(problems), problems)
	}
	must(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-testid="blueprint-error"] [data-goto-line]`))))
	selected, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const ta = document.querySelector('textarea[name=source]'); return document.activeElement === ta ? ta.value.slice(ta.selectionStart, ta.selectionEnd) : 'not focused'; })()`))
	must(t, err)
	first, err := chromedp.Run(ctx, chromedp.Evaluate[int](`parseInt(document.querySelector('[data-goto-line]').getAttribute('data-goto-line'), 10)`))
	must(t, err)
	if want := strings.Split(bad, "\n")[first-1]; selected != want {
		t.Errorf("the first problem's line (%d) selected %q in the editor, want %q", first, selected, want)
	}
	must(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`[data-testid="blueprint-source"]`), src),
		chromedp.Click(chromedp.CSS(`[data-testid="save-blueprint"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="blueprint-name"]`)),
	))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	must(t, err)
	if loc != env.Portal.URL+"/catalogue/browser-made" {
		t.Errorf("after saving, the browser is at %s", loc)
	}
}

// When the session ends while a page is open, the next htmx request takes
// the whole browser to sign-in instead of swapping a sign-in page into the
// fragment it asked for.
func TestExpiredSessionDuringHtmxRequestRedirectsTheWholePage(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	browser := newBrowser(t)
	ctx, cancel := context.WithTimeout(browser, 60*time.Second)
	defer cancel()
	signIn(t, ctx, env, "vera")
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.Portal.URL+"/catalogue"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="catalogue-search"]`)),
	))
	sessions, err := env.Store.ListSessions(context.Background(), 0)
	must(t, err)
	for _, s := range sessions {
		must(t, env.Store.EndSession(context.Background(), s.ID, store.AuditEvent{Action: "session.end"}))
	}
	must(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`[data-testid="catalogue-search"]`), "exact"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="signin-user-`+env.Users["vera"]+`"]`)),
	))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	must(t, err)
	if !strings.HasPrefix(loc, env.Entra.URL+"/organizations/oauth2/v2.0/authorize") {
		t.Errorf("after the session ended, the htmx search led to %s, want Entra's sign-in", loc)
	}
	// Signing in again returns to the catalogue page the person was on.
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="signin-user-`+env.Users["vera"]+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="blueprint-list"]`)),
	))
}
