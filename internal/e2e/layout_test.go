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

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/appreg-portal/portal/internal/entrasim"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/internal/testenv"
)

// overflowJS lists what sticks out of the viewport: the page's own width and
// each element whose right edge passes the viewport's, unless an ancestor
// scrolls or clips it (a table scrolling inside its container is fine).
const overflowJS = `(() => {
  const vw = document.documentElement.clientWidth;
  const out = {width: document.documentElement.scrollWidth, viewport: vw, over: []};
  const clipped = el => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden' || o === 'clip') return true;
    }
    return false;
  };
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (r.right > vw + 1 && !clipped(el)) {
      const id = el.getAttribute('data-testid') || el.id || el.className || '';
      out.over.push(el.tagName.toLowerCase() + (id ? '[' + id + ']' : '') + ' ' + Math.round(r.right) + 'px: ' + (el.textContent || '').trim().slice(0, 60));
    }
  }
  out.over = out.over.slice(0, 8);
  return JSON.stringify(out);
})()`

type overflow struct {
	Width, Viewport int
	Over            []string
}

// Every page, as each role, at a laptop's and a phone's width: the page is no
// wider than the viewport and nothing sticks out of it; a viewer is offered no
// form that only operators may send.
func TestEveryPageFitsEveryScreenInChromium(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	browser := newBrowser(t)
	ctx, cancel := context.WithTimeout(browser, 5*time.Minute)
	defer cancel()

	// A world with something on every page: a connected, scanned tenant (with a long
	// unbroken name, as real ones have) and a registration.
	now := time.Now()
	for i, name := range []string{"Legacy mail", "Exact-Globe-Plus-Production-Mailbox-Connector-For-Accounts-Payable-Department"} {
		app, err := env.Sim.CreateApplication(env.Other, entrasim.AppSpec{DisplayName: name})
		must(t, err)
		_, err = env.Sim.AddSecret(app.ID, "secret-"+name, "", now.Add(-300*24*time.Hour), now.Add(time.Duration(5+40*i)*24*time.Hour))
		must(t, err)
	}
	signIn(t, ctx, env, "oscar")
	connectByConsent(t, ctx, env)
	scanNow(t, ctx, env)
	runWizard(t, ctx, env, "exact-globe-mail", map[string]string{"sender_mailbox": "invoices@fabrikam.example"}, "fiona", false, false)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	must(t, err)
	u, err := url.Parse(loc)
	must(t, err)
	runID, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/registrations/"), "/")

	pages := []string{"/", "/?within=30", "/tenants", "/tenants/connect", "/alerts", "/catalogue", "/catalogue/exact-globe-mail",
		"/catalogue/ibm-app-connect-exchange", "/catalogue/new", "/catalogue/exact-globe-mail/register", "/registrations",
		"/registrations/" + runID, "/registrations/" + runID + "/drift", "/audit", "/admin/users", "/admin/sessions", "/no-such-page", "/calendar"}
	// A credential's page, with its alerts section (acknowledge, snooze, exclude).
	creds, err := env.Store.ListCredentials(context.Background(), store.CredentialFilter{})
	must(t, err)
	if len(creds) == 0 {
		t.Fatal("no credential in the inventory to show")
	}
	pages = append(pages, "/credentials/"+strconv.FormatInt(creds[0].ID, 10))
	sizes := []struct{ w, h int64 }{{1366, 900}, {390, 844}}
	for _, user := range []string{"ada", "oscar", "vera", "nina"} {
		bctx := newBrowser(t)
		uctx, ucancel := context.WithTimeout(bctx, 3*time.Minute)
		must(t, chromedp.Do(uctx,
			chromedp.Navigate(env.Portal.URL+"/"),
			chromedp.Click(chromedp.CSS(`[data-testid="signin-user-`+env.Users[user]+`"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="current-user-name"], [data-testid="no-role"]`)),
		))
		for _, sz := range sizes {
			must(t, chromedp.Do(uctx, chromedp.EmulateViewport(sz.w, sz.h)))
			for _, p := range pages {
				must(t, chromedp.Do(uctx, chromedp.Navigate(env.Portal.URL+p), chromedp.WaitReady(chromedp.CSS("footer"))))
				screenshot(t, uctx, fmt.Sprintf("layout-%s-%d%s", user, sz.w, strings.NewReplacer("/", "-", "?", "-", "=", "-").Replace(p)))
				raw, err := chromedp.Run(uctx, chromedp.Evaluate[string](overflowJS))
				must(t, err)
				var o overflow
				must(t, json.Unmarshal([]byte(raw), &o))
				if o.Width > o.Viewport || len(o.Over) > 0 {
					t.Errorf("%s at %d px, %s: page %d px wide; sticking out:\n  %s", user, sz.w, p, o.Width, strings.Join(o.Over, "\n  "))
				}
				// Navigation: nothing to follow without a role; on a phone the sections open from Menu.
				links, err := chromedp.Run(uctx, chromedp.Evaluate[int](`document.querySelectorAll('#main-nav a').length`))
				must(t, err)
				if (user == "nina") != (links == 0) {
					t.Errorf("%s, %s: %d navigation links", user, p, links)
				}
				if user != "nina" && sz.w < 768 {
					const shown = `document.getElementById('main-nav').offsetParent !== null`
					before, err := chromedp.Run(uctx, chromedp.Evaluate[bool](shown))
					must(t, err)
					must(t, chromedp.Do(uctx, chromedp.Click(chromedp.CSS(`[data-testid="menu-toggle"]`))))
					after, err := chromedp.Run(uctx, chromedp.Evaluate[bool](shown))
					must(t, err)
					if before || !after {
						t.Errorf("%s, %s at %d px: navigation shown before Menu %v, after %v; want hidden, then shown", user, p, sz.w, before, after)
					}
				}
				if user == "vera" || user == "nina" {
					// Sign-out is the one form every signed-in user may send, besides their own calendar subscription.
					forms, err := chromedp.Run(uctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('main form[method=post]')).map(f => f.getAttribute('action')).filter(a => !a.startsWith('/calendar/feed'))`))
					must(t, err)
					if len(forms) > 0 {
						t.Errorf("%s, %s: offered forms only operators may send: %v", user, p, forms)
					}
					// Nor links to pages only operators may open.
					links, err := chromedp.Run(uctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('main a[href]')).map(a => a.getAttribute('href')).filter(h => /^\/(catalogue\/new|tenants\/connect|adopt|rotations)|\/register(\?|$)|^\/registrations\/[0-9a-f-]{36}/.test(h))`))
					must(t, err)
					if len(links) > 0 {
						t.Errorf("%s, %s: offered links only operators may follow: %v", user, p, links)
					}
				}
			}
		}
		ucancel()
	}
}

// contrastJS measures the page's text against its background, and the
// state tags (expired, ending soon) against theirs: WCAG contrast ratios.
const contrastJS = `(() => {
  const rgb = s => s.match(/[\d.]+/g).slice(0, 3).map(Number);
  const lum = c => { const [r, g, b] = c.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  // A background counts when it is (nearly) opaque; a faint tint such as a striped row does not.
  const opaque = el => { const c = getComputedStyle(el).backgroundColor; const m = c.match(/rgba\(.*,\s*([\d.]+)\)$/); return c === 'transparent' || (m && Number(m[1]) < 0.9) ? null : c; };
  const bg = rgb(opaque(document.body) || opaque(document.documentElement) || 'rgb(255, 255, 255)');
  const out = {background: lum(bg), text: ratio(rgb(getComputedStyle(document.body).color), bg), worst: 21, worstWhat: ''};
  for (const el of document.querySelectorAll('main a, main .tag, main small, main .muted, main th, main td, .flash')) {
    if (!el.getClientRects().length) continue;
    let own = null;
    for (let p = el; p && !own; p = p.parentElement) own = opaque(p);
    const r = ratio(rgb(getComputedStyle(el).color), own ? rgb(own) : bg);
    if (r < out.worst) { out.worst = r; out.worstWhat = el.tagName + '.' + el.className + ': ' + el.textContent.trim().slice(0, 40); }
  }
  return JSON.stringify(out);
})()`

// The portal follows the system's dark mode, and text stays readable in
// both: every text on the page against the page's background.
func TestDarkModeFollowsTheSystemInChromium(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	now := time.Now()
	app, err := env.Sim.CreateApplication(env.Other, entrasim.AppSpec{DisplayName: "Legacy mail"})
	must(t, err)
	_, err = env.Sim.AddSecret(app.ID, "old", "", now.Add(-400*24*time.Hour), now.Add(-2*24*time.Hour))
	must(t, err)
	_, err = env.Sim.AddSecret(app.ID, "soon", "", now.Add(-300*24*time.Hour), now.Add(9*24*time.Hour))
	must(t, err)
	browser := newBrowser(t)
	ctx, cancel := context.WithTimeout(browser, 2*time.Minute)
	defer cancel()
	signIn(t, ctx, env, "oscar")
	connectByConsent(t, ctx, env)
	scanNow(t, ctx, env)
	for _, scheme := range []string{"light", "dark"} {
		must(t, chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
			return err
		})))
		for _, p := range []string{"/", "/tenants", "/catalogue/exact-globe-mail", "/alerts"} {
			must(t, chromedp.Do(ctx, chromedp.Navigate(env.Portal.URL+p), chromedp.WaitReady(chromedp.CSS("footer"))))
			screenshot(t, ctx, "scheme-"+scheme+strings.ReplaceAll(p, "/", "-"))
			raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](contrastJS))
			must(t, err)
			var c struct {
				Background, Text, Worst float64
				WorstWhat               string
			}
			must(t, json.Unmarshal([]byte(raw), &c))
			if dark := c.Background < 0.2; dark != (scheme == "dark") {
				t.Errorf("%s, %s: background luminance %.2f, want a %s page", scheme, p, c.Background, scheme)
			}
			if c.Text < 7 || c.Worst < 3 {
				t.Errorf("%s, %s: text contrast %.1f (want ≥ 7), weakest %.1f (want ≥ 3) at %s", scheme, p, c.Text, c.Worst, c.WorstWhat)
			}
		}
	}
}
