package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/entrasim"
	"github.com/appreg-portal/portal/internal/handlers"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/internal/testenv"
)

// brokenWordsJS lists words of the portal's own text that a line break cuts
// in two: Dutch compounds ("beheerderstoestemming",
// "Cloudtoepassingsbeheerder") are long, and `overflow-wrap: anywhere` keeps
// them inside the viewport by breaking them mid-word, which is as unreadable
// as overflow. Only labels are read (headings, table headers, buttons,
// navigation and breadcrumbs, form labels, terms), and the prose of cards
// (the catalogue's blueprint descriptions, data in the vendor's language,
// are read in a card's width too); other data marked translate="no" (names,
// IDs, URLs) may break where it must.
const brokenWordsJS = `(() => {
  const out = [];
  const sel = 'header.site a, header.site button, main nav.breadcrumb li, main h1, main h2, main h3, main th, main button, main [role=button], main label, main summary, main dt, main legend, main .tag, main .role-badge';
  for (const [s, prose] of [[sel, false], ['main .cards article p', true]])
  for (const el of document.querySelectorAll(s)) {
    if (!el.checkVisibility()) continue;
    const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      if (n.parentElement.closest(prose ? 'code, .visually-hidden' : '[translate="no"], code, .visually-hidden')) continue;
      for (const m of n.data.matchAll(/[\p{L}\p{N}]{2,}/gu)) {
        // First and last letter on different lines: the word is cut. A
        // letter's last rectangle is its own: a letter right after a soft
        // hyphen also gets the hyphen shown at the end of the line above.
        const top = i => { const r = document.createRange(); r.setStart(n, i); r.setEnd(n, i + 1); const rs = r.getClientRects(); return rs.length ? Math.round(rs[rs.length - 1].top) : 0; };
        if (top(m.index) !== top(m.index + m[0].length - 1)) out.push(el.tagName.toLowerCase() + (el.dataset.testid ? '[' + el.dataset.testid + ']' : '') + ': ' + m[0]);
      }
    }
  }
  return [...new Set(out)].slice(0, 8);
})()`

// tableScrollJS lists tables wider than their container: they scroll
// sideways, hiding columns. On a phone that is the design; on a laptop
// every column should be in view. The audit log is left out: its Details
// column is raw data (user agents) that scrolls in English too.
const tableScrollJS = `Array.from(document.querySelectorAll('main table:not([data-testid="audit-table"])')).filter(t => t.checkVisibility() && t.getBoundingClientRect().width > t.parentElement.clientWidth + 1).map(t => (t.dataset.testid || t.parentElement.dataset.testid || 'table') + ' ' + Math.round(t.getBoundingClientRect().width) + '/' + t.parentElement.clientWidth + ' px: ' + Array.from(t.querySelectorAll('th')).map(h => h.textContent.trim()).join(' | ').slice(0, 120))`

// The Dutch portal, as each role, at a laptop's and a phone's width: Dutch
// words are longer than English ones, so the page must still be no wider
// than the viewport, nothing may stick out of it, and no label may be cut
// mid-word. On a phone the menu is opened first, so its Dutch sections are
// measured too; on a laptop no table scrolls sideways. Each role visits the pages it may open, and a viewer and
// someone without a role one page they may not (the Dutch refusal); English
// covers every page for every role in TestEveryPageFitsEveryScreenInChromium.
func TestEveryDutchPageFitsEveryScreenInChromium(t *testing.T) {
	outbox, clock := alerts.NewOutbox(20), &alerts.Clock{}
	env := testenv.New(t, testenv.Options{
		Alerts: handlers.AlertSettings{Enabled: true, From: "portal@contoso.example", Recipients: []string{"ops@contoso.example"}, Thresholds: []int{30, 7, 0}},
		Dev: func(st *store.Store) *handlers.DevTools {
			a := alerts.New(alerts.Config{Recipients: []string{"ops@contoso.example"}, Thresholds: []int{30, 7, 0},
				PortalURL: "https://portal.contoso.example", Now: clock.Now, Outbox: outbox}, st)
			return &handlers.DevTools{Outbox: outbox, Clock: clock, RunAlerts: a.Run}
		},
	})
	browser := newBrowser(t)
	ctx, cancel := context.WithTimeout(browser, 5*time.Minute)
	defer cancel()

	// The world of the English layout test (a long unbroken application
	// name, a secret ending soon, an expired one), built in Dutch.
	now := time.Now()
	var soonKey string
	for i, name := range []string{"Legacy mail", "Exact-Globe-Plus-Production-Mailbox-Connector-For-Accounts-Payable-Department"} {
		app, err := env.Sim.CreateApplication(env.Other, entrasim.AppSpec{DisplayName: name, SignInAudience: "AzureADMyOrg", ApplicationPermissions: []string{"Mail.Send"}})
		must(t, err)
		key, err := env.Sim.AddSecret(app.ID, "secret-"+name, "", now.Add(-300*24*time.Hour), now.Add(time.Duration(5+40*i)*24*time.Hour))
		must(t, err)
		if i == 0 {
			soonKey = key
			_, err = env.Sim.AddSecret(app.ID, "gone", "", now.Add(-400*24*time.Hour), now.Add(-3*24*time.Hour))
			must(t, err)
		}
	}
	signIn(t, ctx, env, "oscar")
	must(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-testid="lang-nl"]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang="nl"] [data-testid="flash"]`))))
	connectByConsent(t, ctx, env)
	scanNow(t, ctx, env)
	runWizard(t, ctx, env, "exact-globe-mail", map[string]string{"sender_mailbox": "invoices@fabrikam.example"}, "fiona", false, false)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	must(t, err)
	u, err := url.Parse(loc)
	must(t, err)
	runID, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/registrations/"), "/")
	// A rotation's first page.
	must(t, chromedp.Do(ctx, chromedp.Navigate(env.Portal.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="rotate-`+soonKey+`"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="rotate-`+soonKey+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="rotation-next"]`))))
	loc, err = chromedp.Run(ctx, chromedp.Location())
	must(t, err)
	rotation, err := url.Parse(loc)
	must(t, err)
	creds, err := env.Store.ListCredentials(context.Background(), store.CredentialFilter{})
	must(t, err)
	if len(creds) == 0 {
		t.Fatal("no credential in the inventory to show")
	}
	// The credential with the long name, whose page has the most to fit.
	cred := creds[0]
	for _, c := range creds {
		if len(c.OwnerName) > len(cred.OwnerName) {
			cred = c
		}
	}

	viewer := []string{"/", "/?within=30", "/tenants", "/alerts", "/catalogue", "/catalogue/exact-globe-mail", "/catalogue/ibm-app-connect-exchange",
		"/registrations", "/calendar", "/credentials/" + strconv.FormatInt(cred.ID, 10), "/no-such-page"}
	operator := append(append([]string{}, viewer...), "/tenants/connect", "/catalogue/new", "/catalogue/exact-globe-mail/register",
		"/registrations/"+runID, "/registrations/"+runID+"/drift", "/adopt", rotation.Path, "/dev/outbox")
	pages := map[string][]string{
		"ada":   append(append([]string{}, operator...), "/audit", "/admin/users", "/admin/sessions"),
		"oscar": operator,
		"vera":  append(append([]string{}, viewer...), "/tenants/connect"),
		"nina":  {"/", "/tenants/connect", "/no-such-page"},
	}
	sizes := []struct{ w, h int64 }{{1366, 900}, {390, 844}}
	for _, user := range []string{"ada", "oscar", "vera", "nina"} {
		bctx := newBrowser(t)
		uctx, ucancel := context.WithTimeout(bctx, 3*time.Minute)
		must(t, chromedp.Do(uctx,
			chromedp.Navigate(env.Portal.URL+"/"),
			chromedp.Click(chromedp.CSS(`[data-testid="signin-user-`+env.Users[user]+`"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="current-user-name"], [data-testid="no-role"]`)),
		))
		switchLanguage(t, uctx, "nl")
		for _, sz := range sizes {
			must(t, chromedp.Do(uctx, chromedp.EmulateViewport(sz.w, sz.h)))
			for _, p := range pages[user] {
				err := chromedp.Do(uctx, chromedp.Navigate(env.Portal.URL+p), chromedp.WaitReady(chromedp.CSS("footer")))
				if err != nil && strings.Contains(err.Error(), "ERR_ABORTED") {
					// An htmx poll of the page before can abort the navigation on a busy machine.
					err = chromedp.Do(uctx, chromedp.Navigate(env.Portal.URL+p), chromedp.WaitReady(chromedp.CSS("footer")))
				}
				if err != nil {
					t.Fatalf("%s at %d px, %s: %v", user, sz.w, p, err)
				}
				if lang, err := chromedp.Run(uctx, chromedp.Evaluate[string](`document.documentElement.lang`)); err != nil || lang != "nl" {
					t.Fatalf("%s, %s: <html lang=%q> (%v), want nl", user, p, lang, err)
				}
				if sz.w < 768 {
					if n, _ := chromedp.Run(uctx, chromedp.Nodes(chromedp.CSS(`[data-testid="menu-toggle"]`), chromedp.AtLeast(0))); len(n) > 0 {
						must(t, chromedp.Do(uctx, chromedp.Click(chromedp.CSS(`[data-testid="menu-toggle"]`))))
					}
				}
				screenshot(t, uctx, fmt.Sprintf("nl-%s-%d%s", user, sz.w, strings.NewReplacer("/", "-", "?", "-", "=", "-").Replace(p)))
				raw, err := chromedp.Run(uctx, chromedp.Evaluate[string](overflowJS))
				must(t, err)
				var o overflow
				must(t, json.Unmarshal([]byte(raw), &o))
				if o.Width > o.Viewport || len(o.Over) > 0 {
					t.Errorf("%s at %d px, %s: page %d px wide; sticking out:\n  %s", user, sz.w, p, o.Width, strings.Join(o.Over, "\n  "))
				}
				if sz.w >= 1280 {
					scrolls, err := chromedp.Run(uctx, chromedp.Evaluate[[]string](tableScrollJS))
					must(t, err)
					if len(scrolls) > 0 {
						t.Errorf("%s at %d px, %s: tables scroll sideways:\n  %s", user, sz.w, p, strings.Join(scrolls, "\n  "))
					}
				}
				// A list inside a numbered step is not numbered as more steps.
				numbered, err := chromedp.Run(uctx, chromedp.Evaluate[int](`Array.from(document.querySelectorAll('main .steps li li')).filter(li => getComputedStyle(li, '::before').content !== 'none').length`))
				must(t, err)
				if numbered > 0 {
					t.Errorf("%s at %d px, %s: %d items of a list inside a step are numbered as steps", user, sz.w, p, numbered)
				}
				broken, err := chromedp.Run(uctx, chromedp.Evaluate[[]string](brokenWordsJS))
				must(t, err)
				if len(broken) > 0 {
					t.Errorf("%s at %d px, %s: words cut in two by a line break:\n  %s", user, sz.w, p, strings.Join(broken, "\n  "))
				}
			}
		}
		ucancel()
	}
}
