package e2e

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/entrasim"
	"github.com/appreg-portal/portal/internal/handlers"
	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/seal"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/internal/testenv"
)

// pageCheck sits in front of the portal and reads every HTML page and
// fragment it serves, rendered with marked messages: text that did not come
// from a catalogue, and message IDs missing in the page's language, are
// problems.
type pageCheck struct {
	mu       sync.Mutex
	problems map[string][]string // "GET /path [lang]" → untranslated text
	missing  map[string]bool     // "lang: id"
	checked  map[string]int      // route pattern → pages checked
}

func newPageCheck() *pageCheck {
	return &pageCheck{problems: map[string][]string{}, missing: map[string]bool{}, checked: map[string]int{}}
}

func (c *pageCheck) localizer(l i18n.Lang) *i18n.Localizer {
	return i18n.For(l, i18n.Marked(), i18n.OnMissing(func(id string, err error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.missing[string(l)+": "+id+" ("+err.Error()+")"] = true
	}))
}

type teeWriter struct {
	http.ResponseWriter
	buf    bytes.Buffer
	status int
}

func (w *teeWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }
func (w *teeWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	return w.ResponseWriter.Write(p)
}
func (w *teeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// pattern names a page by its route: IDs and tokens become {id}.
func pattern(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if _, err := strconv.Atoi(s); err == nil && s != "" || len(s) >= 20 {
			parts[i] = "{id}"
		}
	}
	return strings.Join(parts, "/")
}

func (c *pageCheck) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &teeWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(tw, r)
		// A redirect's body is Go's "See Other" link, which no browser shows.
		if !strings.HasPrefix(tw.Header().Get("Content-Type"), "text/html") || tw.buf.Len() == 0 || tw.status >= 300 && tw.status < 400 {
			return
		}
		body := tw.buf.String()
		lang := "fragment"
		if _, after, ok := strings.Cut(body, `<html lang="`); ok {
			lang, _, _ = strings.Cut(after, `"`)
		}
		key := r.Method + " " + pattern(r.URL.Path)
		bad := i18n.Untranslated(body)
		c.mu.Lock()
		defer c.mu.Unlock()
		c.checked[key+" ["+lang+"]"]++
		if len(bad) > 0 {
			k := key + " [" + lang + "]"
			for _, b := range bad {
				if !slices.Contains(c.problems[k], b) {
					c.problems[k] = append(c.problems[k], b)
				}
			}
		}
	})
}

func (c *pageCheck) report(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]string, 0, len(c.problems))
	for k := range c.problems {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Errorf("%s: text not from a catalogue:\n  %s", k, strings.Join(c.problems[k], "\n  "))
	}
	var missing []string
	for m := range c.missing {
		missing = append(missing, m)
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("messages missing from a catalogue:\n  %s", strings.Join(missing, "\n  "))
	}
}

// Every page, as each role, in English and in Dutch, with every message
// marked: nothing on a page may bypass the catalogues (names, Microsoft's
// permission names and vendor quotes are marked translate="no"), and no
// message may be missing in the page's language. The world is built in
// Dutch through the real flows (connect, scan, the wizard with a share link,
// a rotation), so the pages only those flows reach are read too.
func TestEveryPageInBothLanguagesInChromium(t *testing.T) {
	check := newPageCheck()
	key, err := seal.ParseKey(seal.NewKey())
	must(t, err)
	sealer, err := seal.New(key)
	must(t, err)
	outbox, clock := alerts.NewOutbox(20), &alerts.Clock{}
	env := testenv.New(t, testenv.Options{
		Localizer:  check.localizer,
		WrapPortal: check.wrap,
		Alerts:     handlers.AlertSettings{Enabled: true, From: "portal@contoso.example", Recipients: []string{"ops@contoso.example"}, Thresholds: []int{30, 7, 0}},
		AlertChannels: func(st *store.Store) handlers.AlertChannels {
			return alerts.New(alerts.Config{Sealer: sealer, PortalURL: "https://portal.contoso.example"}, st)
		},
		Dev: func(st *store.Store) *handlers.DevTools {
			a := alerts.New(alerts.Config{Recipients: []string{"ops@contoso.example"}, Thresholds: []int{30, 7, 0},
				PortalURL: "https://portal.contoso.example", Now: clock.Now, Outbox: outbox}, st)
			return &handlers.DevTools{Outbox: outbox, Clock: clock, RunAlerts: a.Run}
		},
	})
	now := time.Now()
	app, err := env.Sim.CreateApplication(env.Other, entrasim.AppSpec{DisplayName: "Legacy mail", SignInAudience: "AzureADMyOrg", ApplicationPermissions: []string{"Mail.Send"}})
	must(t, err)
	oldKey, err := env.Sim.AddSecret(app.ID, "legacy", "", now.Add(-355*24*time.Hour), now.Add(10*24*time.Hour))
	must(t, err)
	_, err = env.Sim.AddSecret(app.ID, "gone", "", now.Add(-400*24*time.Hour), now.Add(-3*24*time.Hour))
	must(t, err)

	browser := newBrowser(t)
	ctx, cancel := context.WithTimeout(browser, 6*time.Minute)
	defer cancel()
	signIn(t, ctx, env, "oscar")
	must(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-testid="lang-nl"]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang="nl"] [data-testid="flash"]`))))
	connectByConsent(t, ctx, env)
	scanNow(t, ctx, env)
	res := runWizard(t, ctx, env, "exact-globe-mail", map[string]string{"sender_mailbox": "invoices@fabrikam.example"}, "fiona", false, true)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	must(t, err)
	u, err := url.Parse(loc)
	must(t, err)
	runID, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/registrations/"), "/")
	// The customer's share page, in Dutch too.
	customer := newBrowser(t)
	cctx, ccancel := context.WithTimeout(customer, time.Minute)
	defer ccancel()
	must(t, chromedp.Do(cctx, acceptLanguage("nl-NL,nl;q=0.9"), chromedp.Navigate(res.shareLink), chromedp.WaitReady(chromedp.CSS("footer"))))

	// A rotation up to its secret page.
	must(t, chromedp.Do(ctx, chromedp.Navigate(env.Portal.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="rotate-`+oldKey+`"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="rotate-`+oldKey+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="rotation-next"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="rotation-next"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-user-`+env.Users["fiona"]+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="consent-accept"], [data-testid="rotation-new-name"]`))))
	if n, _ := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS(`[data-testid="consent-accept"]`), chromedp.AtLeast(0))); len(n) > 0 {
		must(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-testid="consent-accept"]`))))
	}
	must(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="rotation-new-name"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="rotation-next"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="secret-value"]`))))
	rloc, err := chromedp.Run(ctx, chromedp.Location())
	must(t, err)
	// The alert run of the dev clock fills the Outbox.
	must(t, chromedp.Do(ctx, chromedp.Navigate(env.Portal.URL+"/dev/outbox"), chromedp.WaitReady(chromedp.CSS("footer"))))

	creds, err := env.Store.ListCredentials(context.Background(), store.CredentialFilter{})
	must(t, err)
	if len(creds) == 0 {
		t.Fatal("no credential in the inventory to show")
	}
	rotation, _ := url.Parse(rloc)
	pages := []string{"/", "/?within=30", "/?within=90&tenant=1", "/tenants", "/alerts", "/catalogue", "/catalogue/exact-globe-mail",
		"/catalogue/ibm-app-connect-exchange", "/catalogue/afas-profit-mail", "/registrations", "/calendar",
		"/credentials/" + strconv.FormatInt(creds[0].ID, 10), "/no-such-page", "/signed-out",
		// Operators.
		"/tenants/connect", "/catalogue/new", "/catalogue/exact-globe-mail/register", "/registrations/" + runID,
		"/registrations/" + runID + "/drift", "/adopt", rotation.Path, "/dev/outbox", "/registrations/consented",
		// Admins.
		"/audit", "/admin/users", "/admin/sessions"}
	for _, user := range []string{"ada", "oscar", "vera", "nina"} {
		bctx := newBrowser(t)
		uctx, ucancel := context.WithTimeout(bctx, 3*time.Minute)
		must(t, chromedp.Do(uctx,
			chromedp.Navigate(env.Portal.URL+"/"),
			chromedp.Click(chromedp.CSS(`[data-testid="signin-user-`+env.Users[user]+`"]`)),
			chromedp.WaitReady(chromedp.CSS(`footer`)),
		))
		for _, lang := range []string{"nl", "en"} {
			// The switch is on every page but those showing a secret.
			must(t, chromedp.Do(uctx, chromedp.Navigate(env.Portal.URL+"/no-such-page"), chromedp.WaitReady(chromedp.CSS("footer"))))
			switchLanguage(t, uctx, lang)
			for _, p := range pages {
				err := chromedp.Do(uctx, chromedp.Navigate(env.Portal.URL+p), chromedp.WaitReady(chromedp.CSS("footer")))
				if err != nil && strings.Contains(err.Error(), "ERR_ABORTED") {
					// A request of the page before (an htmx poll) can abort the
					// navigation on a busy machine; the page itself is fine.
					err = chromedp.Do(uctx, chromedp.Navigate(env.Portal.URL+p), chromedp.WaitReady(chromedp.CSS("footer")))
				}
				if err != nil {
					t.Fatalf("%s, %s, %s: %v", user, lang, p, err)
				}
				got, err := chromedp.Run(uctx, chromedp.Evaluate[string](`document.documentElement.lang`))
				must(t, err)
				if got != lang {
					t.Errorf("%s, %s: <html lang=%q>, want %q", user, p, got, lang)
				}
			}
			// Refused input gets its error in the page's language too.
			_, err := chromedp.Run(uctx, chromedp.Evaluate[bool](`fetch('/language', {method: 'POST', body: new URLSearchParams({lang: 'xx'})}).then(r => r.ok)`, chromedp.EvalAwaitPromise))
			must(t, err)
		}
		ucancel()
	}
	check.report(t)
	// The check read what it should: each page in both languages, and the
	// pages only the flows reach.
	check.mu.Lock()
	defer check.mu.Unlock()
	for _, want := range []string{"GET / [nl]", "GET / [en]", "GET /tenants [nl]", "GET /catalogue/exact-globe-mail [nl]", "GET /registrations/{id} [nl]",
		"GET /rotations/{id} [nl]", "GET /share/{id} [nl]", "GET /onboarding/callback [en]", "POST /registrations/{id}/apply [nl]",
		"GET /admin/users [en]", "GET /dev/outbox [nl]", "POST /language [nl]", "GET /no-such-page [nl]"} {
		if check.checked[want] == 0 {
			var seen []string
			for k := range check.checked {
				seen = append(seen, k)
			}
			sort.Strings(seen)
			t.Errorf("no page checked for %s; checked:\n  %s", want, strings.Join(seen, "\n  "))
		}
	}
}
