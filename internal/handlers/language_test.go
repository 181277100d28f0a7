package handlers_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func getWithLanguage(t *testing.T, b *browser, u, acceptLanguage string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	if acceptLanguage != "" {
		req.Header.Set("Accept-Language", acceptLanguage)
	}
	resp, err := b.client.Do(req)
	must(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// The language: the browser's Accept-Language until the person chooses;
// the choice is stored with their user and in a cookie; nonsense is refused
// and changes nothing; the way back never leaves the portal.
func TestLanguageFollowsBrowserThenChoice(t *testing.T) {
	e := newFlowEnv(t)
	b := e.browser()
	b.signIn("oscar")

	_, page := getWithLanguage(t, b, e.Portal.URL+"/", "nl-BE,nl;q=0.9,en;q=0.5")
	if !strings.Contains(page, `<html lang="nl"`) || !strings.Contains(page, ">Afmelden<") {
		t.Errorf("Dutch browser, no choice: page not in Dutch:\n%.600s", page)
	}
	_, page = getWithLanguage(t, b, e.Portal.URL+"/", "en-US,en;q=0.9")
	if !strings.Contains(page, `<html lang="en"`) || !strings.Contains(page, ">Sign out<") {
		t.Errorf("English browser, no choice: page not in English")
	}

	post := func(form url.Values) *http.Response {
		t.Helper()
		c := *b.client
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := c.PostForm(e.Portal.URL+"/language", form)
		must(t, err)
		resp.Body.Close()
		return resp
	}
	if resp := post(url.Values{"lang": {"fr"}, "return_to": {"/tenants"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("lang=fr: %d, want 400", resp.StatusCode)
	}
	var stored *string
	must(t, e.Store.Pool().QueryRow(context.Background(), `SELECT language FROM users WHERE email = $1`, e.Users["oscar"]).Scan(&stored))
	if stored != nil {
		t.Errorf("a refused choice was stored: %q", *stored)
	}
	for _, evil := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example"} {
		resp := post(url.Values{"lang": {"nl"}, "return_to": {evil}})
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/" {
			t.Errorf("return_to %q: %d to %q, want 303 to /", evil, resp.StatusCode, loc)
		}
	}
	resp := post(url.Values{"lang": {"nl"}, "return_to": {"/tenants?x=1"}})
	if loc := resp.Header.Get("Location"); loc != "/tenants?x=1" {
		t.Errorf("the switch went to %q, want back to /tenants?x=1", loc)
	}
	must(t, e.Store.Pool().QueryRow(context.Background(), `SELECT language FROM users WHERE email = $1`, e.Users["oscar"]).Scan(&stored))
	if stored == nil || *stored != "nl" {
		t.Errorf("choice not stored with the user: %v", stored)
	}
	// The choice beats the browser's language.
	_, page = getWithLanguage(t, b, e.Portal.URL+"/", "en-US,en;q=0.9")
	if !strings.Contains(page, `<html lang="nl"`) {
		t.Errorf("after choosing Dutch, an English browser still gets English")
	}

	// Signed out, the cookie keeps the choice; without it, the browser decides.
	anon := e.browser()
	_, page = getWithLanguage(t, anon, e.Portal.URL+"/signed-out", "nl")
	if !strings.Contains(page, `<html lang="nl"`) {
		t.Errorf("signed-out page for a Dutch browser is not Dutch")
	}
	c := *anon.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.PostForm(e.Portal.URL+"/language", url.Values{"lang": {"en"}, "return_to": {"/signed-out"}})
	must(t, err)
	resp.Body.Close()
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "portal_lang" {
			cookie = ck
		}
	}
	if cookie == nil || cookie.Value != "en" || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("language cookie = %+v", cookie)
	}
	_, page = getWithLanguage(t, anon, e.Portal.URL+"/signed-out", "nl")
	if !strings.Contains(page, `<html lang="en"`) {
		t.Errorf("a chosen English does not beat a Dutch browser when signed out")
	}

	// Cross-site, the switch is refused like every POST.
	req, _ := http.NewRequest("POST", e.Portal.URL+"/language", strings.NewReader("lang=en"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	resp, err = b.client.Do(req)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site language switch: %d, want 403", resp.StatusCode)
	}
}
