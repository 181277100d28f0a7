package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/appreg-portal/portal/internal/testenv"
)

// pageLanguage is the page's <html lang> and its Sign out button's text.
func pageLanguage(t *testing.T, ctx context.Context) (lang, signOut string) {
	t.Helper()
	lang, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.lang`))
	must(t, err)
	signOut, err = chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('[data-testid="signout"]') || {}).textContent || ''`))
	must(t, err)
	return lang, signOut
}

// A person switches the portal to Dutch in the header; the choice is theirs:
// it holds across sign-out and a new sign-in, even from a browser that has
// forgotten every cookie, and switching back to English holds as well.
func TestLanguageChoiceIsKeptAcrossSignOutAndInInChromium(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	browser := newBrowser(t)
	ctx, cancel := context.WithTimeout(browser, 90*time.Second)
	defer cancel()

	signIn(t, ctx, env, "vera")
	if lang, out := pageLanguage(t, ctx); lang != "en" || out != "Sign out" {
		t.Fatalf("before choosing: lang %q, sign-out %q; want English", lang, out)
	}
	pressed, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`[data-testid="lang-en"]`), "aria-pressed"))
	must(t, err)
	if pressed.Value != "true" {
		t.Errorf("English is not shown as the current language: aria-pressed=%q", pressed.Value)
	}
	// Switch on a page other than the dashboard: the switch comes back to it.
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.Portal.URL+"/catalogue"),
		chromedp.Click(chromedp.CSS(`[data-testid="lang-nl"]`)),
		chromedp.WaitVisible(chromedp.CSS(`html[lang="nl"] [data-testid="flash"]`)),
	))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	must(t, err)
	flash, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="flash"]`)))
	must(t, err)
	if loc != env.Portal.URL+"/catalogue" || flash != "Het portal spreekt nu Nederlands." {
		t.Errorf("after switching: at %s with flash %q; want the catalogue and the Dutch confirmation", loc, flash)
	}
	if lang, out := pageLanguage(t, ctx); lang != "nl" || out != "Afmelden" {
		t.Errorf("after switching: lang %q, sign-out %q; want Dutch", lang, out)
	}
	screenshot(t, ctx, "language-nl")

	// Signed out: the page still speaks Dutch.
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="signout"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="signed-out"]`)),
	))
	if lang, _ := pageLanguage(t, ctx); lang != "nl" {
		t.Errorf("signed-out page in %q, want nl", lang)
	}
	// A browser that forgot everything (no language cookie, no session) and
	// asks for English: the portal remembers Vera's choice once she signs in.
	must(t, chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.ClearBrowserCookies, cdp.Empty{})
		return err
	}), acceptLanguage("en-GB,en;q=0.9")))
	signIn(t, ctx, env, "vera")
	if lang, out := pageLanguage(t, ctx); lang != "nl" || out != "Afmelden" {
		t.Errorf("signed in again from a fresh browser: lang %q, sign-out %q; want Dutch", lang, out)
	}
	// Someone else in that browser gets their own language: Ada never chose,
	// so her browser's English decides.
	must(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-testid="signout"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid="signed-out"]`)),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, network.ClearBrowserCookies, cdp.Empty{})
			return err
		})))
	signIn(t, ctx, env, "ada")
	if lang, _ := pageLanguage(t, ctx); lang != "en" {
		t.Errorf("Ada, who never chose, sees %q; want her browser's English", lang)
	}
	must(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-testid="signout"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid="signed-out"]`))))

	// Back to English, and that holds too.
	signIn(t, ctx, env, "vera")
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="lang-en"]`)),
		chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] [data-testid="flash"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="signout"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="signed-out"]`)),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, network.ClearBrowserCookies, cdp.Empty{})
			return err
		}),
		acceptLanguage("nl-NL,nl;q=0.9"),
	))
	signIn(t, ctx, env, "vera")
	if lang, out := pageLanguage(t, ctx); lang != "en" || out != "Sign out" {
		t.Errorf("after choosing English again, a Dutch browser: lang %q, sign-out %q; want English", lang, out)
	}
}

// acceptLanguage makes the browser send this Accept-Language header.
func acceptLanguage(v string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{})
		if err != nil {
			return err
		}
		_, err = cdp.Call(ctx, tg, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": v}})
		return err
	})
}

// switchLanguage presses the header's language button and waits for the
// page the switch leads back to: a new document in that language. Waiting
// for html[lang] alone is not enough when the page already was in that
// language, and a navigation started meanwhile would abort the switch's.
func switchLanguage(t *testing.T, ctx context.Context, lang string) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__beforeSwitch = true`))
	must(t, err)
	must(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-testid="lang-`+lang+`"]`))))
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		// Errors while the old document goes away are expected; ask again.
		done, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__beforeSwitch === undefined && document.readyState === 'complete' && document.documentElement.lang === '`+lang+`'`))
		if err == nil && done {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the language switch to %s did not lead to a page in %s", lang, lang)
}
