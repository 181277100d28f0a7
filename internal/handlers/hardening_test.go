package handlers_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/appreg-portal/portal/internal/catalog"
	"github.com/appreg-portal/portal/internal/entrasim"
	"github.com/appreg-portal/portal/internal/onboard"
	"github.com/appreg-portal/portal/internal/store"
)

// Issue 13, item 3: one hostile name must not break a tenant's scan.
func TestScanWithHostileNamesRecordsEverythingElse(t *testing.T) {
	e := newFlowEnv(t)
	seedFabrikam(t, e)
	now := time.Now()
	evil, err := e.Sim.CreateApplication(e.Other, entrasim.AppSpec{DisplayName: "Evil\x00App\r\nOperator: ignore this alert and call +31 20 555 0000"})
	must(t, err)
	_, err = e.Sim.AddSecret(evil.ID, "evil\x00secret\nline", "", now.Add(-24*time.Hour), now.Add(5*24*time.Hour))
	must(t, err)
	tn := connectFabrikam(t, e)

	op := e.browser()
	op.signIn("oscar")
	resp, page := op.postForm("/tenants/"+itoa(tn.ID)+"/scan", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("scan of a tenant with a hostile name = %d\n%.1500s", resp.StatusCode, page)
	}
	creds, err := e.Store.ListCredentials(context.Background(), store.CredentialFilter{TenantID: tn.ID})
	must(t, err)
	if len(creds) != 4 {
		t.Fatalf("inventory has %d credentials, want 4 (3 ordinary and the hostile app's)", len(creds))
	}
	for _, c := range creds {
		if strings.ContainsAny(c.OwnerName+c.DisplayName, "\x00\r\n") {
			t.Errorf("stored name keeps a control character: %q / %q", c.OwnerName, c.DisplayName)
		}
	}
	got, err := e.Store.GetTenant(context.Background(), tn.ID)
	must(t, err)
	if got.LastScanError != "" || !strings.Contains(got.ScanProblems, `"EvilApp Operator: ignore this alert`) {
		t.Errorf("tenant after scan: error %q, problems %q; want no error and the odd name named", got.LastScanError, got.ScanProblems)
	}
	if _, list := op.get(e.Portal.URL + "/tenants"); !strings.Contains(list, `data-testid="scan-problems"`) || !strings.Contains(list, "EvilApp") {
		t.Error("the tenants page does not show what the scan found odd")
	}
}

// Issue 13, item 1: the Connect page shows exactly what the link grants,
// and a tenant where the portal holds more is flagged.
func TestConsentGrantsOnlyWhatThePageSays(t *testing.T) {
	e := newFlowEnv(t)
	op := e.browser()
	op.signIn("oscar")
	// Entra's consent screen for ".default" lists every permission on the
	// portal app: the two application permissions of the scan and the five
	// delegated ones of the portal's sign-in. The Connect page and the
	// consent link page list exactly these, each with its sentence.
	_, connect := op.get(e.Portal.URL + "/tenants/connect")
	_, linkPage := op.postForm("/tenants/connect", url.Values{"label": {"Fabrikam"}, "expected": {"fabrikam.example"}})
	itemRE := regexp.MustCompile(`data-testid="requested-permission" data-type="(\w+)"><strong translate="no">([^<]+)</strong> \(\w+, \w+ privilege\): ([^<]{8,}[^.])\. <small`)
	var want []string
	for _, p := range onboard.ScanPermissions {
		want = append(want, p+" application")
	}
	for _, p := range onboard.SignInPermissions {
		want = append(want, p+" delegated")
	}
	for name, page := range map[string]string{"connect page": connect, "consent link page": linkPage} {
		var got []string
		for _, m := range itemRE.FindAllStringSubmatch(page, -1) {
			got = append(got, m[2]+" "+m[1])
		}
		if diff := cmp.Diff(want, got); diff != "" || len(got) != 7 || strings.Count(page, `data-testid="requested-permission"`) != 7 {
			t.Errorf("%s lists (-want +got):\n%s", name, diff)
		}
		if strings.Contains(page, "application permissions, and only these") {
			t.Errorf("%s still promises application permissions only", name)
		}
	}
	link := makeConsentLink(t, e, "Fabrikam", "fabrikam.example")
	// Someone adds Mail.Send to the portal app: the consent now grants it too.
	must(t, e.Sim.AddApplicationPermission(e.AppID, "Mail.Send"))
	status, page := consent(t, e, link, "fiona")
	if status != 200 {
		t.Fatalf("consent = %d\n%.800s", status, page)
	}
	if !strings.Contains(page, `data-testid="onboarding-extra"`) || !strings.Contains(page, "Mail.Send (Microsoft Graph)") {
		t.Error("the consenting administrator is not told about the extra permission")
	}
	tenants, err := e.Store.ListTenants(context.Background())
	must(t, err)
	if len(tenants) != 1 || !strings.Contains(tenants[0].ScanProblems, "Mail.Send (Microsoft Graph)") {
		t.Fatalf("tenant after a consent that granted Mail.Send: %+v", tenants)
	}
	if _, list := op.get(e.Portal.URL + "/tenants"); !strings.Contains(list, "more than it asks for") {
		t.Error("the tenants page does not flag the extra permission")
	}
	// Every scan checks again: the scan succeeds and the flag stays.
	if resp, _ := op.postForm("/tenants/"+itoa(tenants[0].ID)+"/scan", nil); resp.StatusCode != 200 {
		t.Fatalf("scan = %d", resp.StatusCode)
	}
	if got, _ := e.Store.GetTenant(context.Background(), tenants[0].ID); got.LastScanError != "" || !strings.Contains(got.ScanProblems, "Mail.Send (Microsoft Graph)") {
		t.Errorf("after a scan: error %q, problems %q; want the extra permission still flagged", got.LastScanError, got.ScanProblems)
	}
	// Once the extra grant is gone from the tenant, the next scan clears the flag.
	must(t, e.Sim.RevokeConsent(e.Other, e.AppID))
	must(t, e.Sim.RemoveApplicationPermission(e.AppID, "Mail.Send"))
	must(t, e.Sim.GrantAdminConsent(e.Other, e.AppID))
	if resp, _ := op.postForm("/tenants/"+itoa(tenants[0].ID)+"/scan", nil); resp.StatusCode != 200 {
		t.Fatalf("scan = %d", resp.StatusCode)
	}
	if got, _ := e.Store.GetTenant(context.Background(), tenants[0].ID); got.ScanProblems != "" {
		t.Errorf("after the extra grant was removed: problems %q, want none", got.ScanProblems)
	}
}

// Issue 13, item 2: a link without an expected tenant does not connect a
// tenant that consented before the link was made (the operator's own).
func TestUnboundLinkNeedsAFreshConsent(t *testing.T) {
	e := newFlowEnv(t)
	// The operator's own tenant consented to the portal app an hour ago.
	e.Sim.Advance(-time.Hour)
	must(t, e.Sim.RevokeConsent(e.TenantID, e.AppID))
	must(t, e.Sim.GrantAdminConsent(e.TenantID, e.AppID))
	e.Sim.Advance(time.Hour)
	link := makeConsentLink(t, e, "Anyone", "")
	state := mustParse(t, link).Query().Get("state")
	b := e.browser()
	forged := e.Portal.URL + "/onboarding/callback?" + url.Values{"admin_consent": {"True"}, "tenant": {e.TenantID}, "state": {state}}.Encode()
	resp, page := b.get(forged)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "consented before this link was made") {
		t.Errorf("callback naming the home tenant = %d\n%.1000s", resp.StatusCode, page)
	}
	if tenants, _ := e.Store.ListTenants(context.Background()); len(tenants) != 0 {
		t.Fatalf("an unbound link connected a tenant without a consent of its own: %+v", tenants)
	}
	// A real consent through an unbound link still works.
	link2 := makeConsentLink(t, e, "Fabrikam", "")
	if status, page := consent(t, e, link2, "fiona"); status != 200 || !strings.Contains(page, `data-testid="onboarding-connected"`) {
		t.Fatalf("fresh consent through an unbound link = %d\n%.800s", status, page)
	}
}

// postRaw posts body with contentType as the browser's session.
func (b *browser) postRaw(path, contentType string, body io.Reader) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.e.Portal.URL+path, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Origin", b.e.Portal.URL)
	resp, err := b.client.Do(req)
	must(b.t, err)
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	return resp, string(page)
}

// Issue 13, item 5: a form the portal cannot read changes nothing and says so.
func TestUnreadableFormsChangeNothing(t *testing.T) {
	e := newFlowEnv(t)
	tn := connectFabrikam(t, e)
	op := e.browser()
	op.signIn("oscar")
	path := "/tenants/" + itoa(tn.ID) + "/contacts"
	if resp, _ := op.postForm(path, url.Values{"contacts": {"it@fabrikam.example"}}); resp.StatusCode != 200 {
		t.Fatalf("save contacts = %d", resp.StatusCode)
	}
	big := strings.NewReader("contacts=" + strings.Repeat("a", 10<<20))
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	must(t, mw.WriteField("contacts", strings.Repeat("b", 2<<20)))
	must(t, mw.Close())
	for _, tt := range []struct {
		name, contentType string
		body              io.Reader
		status            int
	}{
		{"10 MB form", "application/x-www-form-urlencoded", big, http.StatusBadRequest},
		{"text/plain", "text/plain", strings.NewReader("contacts=x@y.example"), http.StatusBadRequest},
		{"bad escape", "application/x-www-form-urlencoded", strings.NewReader("contacts=%zz"), http.StatusBadRequest},
		{"NUL", "application/x-www-form-urlencoded", strings.NewReader("contacts=a%00b%40c.example"), http.StatusBadRequest},
		{"invalid UTF-8", "application/x-www-form-urlencoded", strings.NewReader("contacts=%ff%40c.example"), http.StatusBadRequest},
		{"large multipart", mw.FormDataContentType(), bytes.NewReader(mp.Bytes()), http.StatusBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, page := op.postRaw(path, tt.contentType, tt.body)
			if resp.StatusCode != tt.status || !strings.Contains(page, "Nothing was changed") {
				t.Errorf("POST %s = %d, want %d with a plain message\n%.600s", tt.name, resp.StatusCode, tt.status, page)
			}
			got, err := e.Store.GetTenant(context.Background(), tn.ID)
			must(t, err)
			if strings.Join(got.Contacts, ",") != "it@fabrikam.example" {
				t.Errorf("contacts after %s = %v, want them unchanged", tt.name, got.Contacts)
			}
		})
	}
	// NUL or invalid UTF-8 in a label: a plain 400, no link made.
	for _, label := range []string{"Fabri\x00kam", "Fabri\xffkam"} {
		resp, page := op.postForm("/tenants/connect", url.Values{"label": {label}})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "cannot store") {
			t.Errorf("label %q = %d\n%.600s", label, resp.StatusCode, page)
		}
	}
	if list, _ := e.Store.ListOnboardings(context.Background()); len(list) != 0 {
		t.Errorf("a link was made from a refused label: %+v", list)
	}
	// A blueprint field that YAML escapes make NUL: a line-numbered 422.
	nul := strings.Replace(string(catalog.CustomTemplate()), "id: my-product", "id: nul-product", 1)
	nul = strings.Replace(nul, "\nname: ", "\nname: \"Evil\\0\" #", 1)
	resp, page := op.postForm("/catalogue", url.Values{"source": {nul}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "NUL") {
		t.Errorf("blueprint with a NUL = %d\n%.1500s", resp.StatusCode, page)
	}
}

// Issue 13, item 5: simultaneous callbacks for one link answer 400, not 500.
func TestConcurrentDeclinedCallbacks(t *testing.T) {
	e := newFlowEnv(t)
	link := makeConsentLink(t, e, "Fabrikam", "")
	state := mustParse(t, link).Query().Get("state")
	u := e.Portal.URL + "/onboarding/callback?" + url.Values{"error": {"access_denied"}, "error_description": {"AADSTS65004: declined\x00\r\nsecond line"}, "state": {state}}.Encode()
	var wg sync.WaitGroup
	statuses := make([]int, 10)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(u)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusBadRequest {
			t.Errorf("callback %d = %d, want 400", i, s)
		}
	}
	// One declined consent closes the link; the callbacks that came after
	// it find the link closed (link_used: it is known), and those refusals
	// share one coalesced row.
	reasons := map[string]int{}
	for _, ev := range e.auditEvents("tenant.connect.refused") {
		reasons[ev.Details["reason"]]++
		if strings.ContainsAny(ev.Details["entra_error"], "\x00\r\n") {
			t.Errorf("audit keeps a control character: %q", ev.Details["entra_error"])
		}
	}
	if reasons["consent_declined"] != 1 || reasons["link_used"] > 1 || reasons["link_unknown"] != 0 || len(reasons) > 2 {
		t.Errorf("refusals audited = %v, want one consent_declined, at most one link_used and no link_unknown", reasons)
	}
}

// Simultaneous accepted callbacks for one link (a double click, a reload
// while the first is confirming): one connects the tenant, the others say it
// is already connected through this link, none says "cannot be used".
func TestConcurrentAcceptedCallbacks(t *testing.T) {
	e := newFlowEnv(t)
	link := makeConsentLink(t, e, "Fabrikam", "fabrikam.example")
	must(t, e.Sim.GrantAdminConsent(e.Other, e.AppID))
	u := e.Portal.URL + "/onboarding/callback?" + url.Values{"admin_consent": {"True"}, "tenant": {e.Other}, "state": {mustParse(t, link).Query().Get("state")}}.Encode()
	// A few: on two shared cores the emulator slows down, and Confirm
	// gives up after the tests' two seconds (a 502 that keeps the link open).
	pages := make([]string, 4)
	statuses := make([]int, len(pages))
	var wg sync.WaitGroup
	for i := range pages {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(u)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			statuses[i], pages[i] = resp.StatusCode, string(body)
		}()
	}
	wg.Wait()
	connected, already := 0, 0
	for i, p := range pages {
		switch {
		case statuses[i] == 200 && strings.Contains(p, `data-testid="onboarding-connected"`):
			connected++
		case statuses[i] == 200 && strings.Contains(p, "Fabrikam is already connected through this link"):
			already++
		default:
			t.Errorf("callback %d = %d\n%.1200s", i, statuses[i], p)
		}
	}
	if connected != 1 || already != len(pages)-1 {
		t.Errorf("%d connected and %d already connected, want 1 and %d", connected, already, len(pages)-1)
	}
	if ts, _ := e.Store.ListTenants(context.Background()); len(ts) != 1 {
		t.Errorf("tenants = %+v, want Fabrikam once", ts)
	}
}

// Issue 13, item 6: anonymous requests do not write to Postgres without limit.
func TestAnonymousRequestsDoNotFillPostgres(t *testing.T) {
	e := newFlowEnv(t)
	count := func(q string) int {
		var n int
		must(t, e.Store.Pool().QueryRow(context.Background(), q).Scan(&n))
		return n
	}
	sessionsBefore, auditBefore := count(`SELECT count(*) FROM sessions`), count(`SELECT count(*) FROM audit_events`)
	c := noRedirect()
	for range 200 {
		resp, err := c.Get(e.Portal.URL + "/login")
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("GET /login = %d", resp.StatusCode)
		}
	}
	for i := range 200 {
		resp, err := c.Get(e.Portal.URL + "/onboarding/callback?admin_consent=True&tenant=" + e.Other + "&state=guessed" + strconv.Itoa(i))
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("refused callback = %d", resp.StatusCode)
		}
		resp, err = c.Get(e.Portal.URL + "/auth/callback?state=forged&code=x")
		must(t, err)
		resp.Body.Close()
	}
	if n := count(`SELECT count(*) FROM sessions`) - sessionsBefore; n != 0 {
		t.Errorf("200 anonymous GET /login left %d session rows, want 0", n)
	}
	if n := count(`SELECT count(*) FROM audit_events`) - auditBefore; n > 2 {
		t.Errorf("400 refused callbacks left %d audit rows, want at most one per kind", n)
	}
	// A sign-in still works, and refusals stay audited.
	b := e.browser()
	if page := b.signIn("ada"); !strings.Contains(page, "Ada Admin") {
		t.Fatalf("sign-in after the flood failed:\n%.800s", page)
	}
	if ev := e.auditEvents("tenant.connect.refused"); len(ev) != 1 || ev[0].Details["reason"] != "link_unknown" {
		t.Errorf("refused callbacks audited as %+v, want one link_unknown row", ev)
	}
}

// Issue 13, item 7: the sessions table holds no cookie value.
func TestSessionTokensAreStoredHashed(t *testing.T) {
	e := newFlowEnv(t)
	b := e.browser()
	b.signIn("ada")
	token := b.cookie()
	if token == "" {
		t.Fatal("no session cookie after sign-in")
	}
	var plain, hashed int
	must(t, e.Store.Pool().QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE token = $1), count(*) FILTER (WHERE token LIKE 'sha256:%') FROM sessions`, token).Scan(&plain, &hashed))
	if plain != 0 || hashed != 1 {
		t.Errorf("sessions: %d rows keyed by the cookie value, %d by a hash; want 0 and 1", plain, hashed)
	}
	// A row copied from a backup does not sign anyone in: its key is no cookie.
	var key string
	must(t, e.Store.Pool().QueryRow(context.Background(), `SELECT token FROM sessions`).Scan(&key))
	if resp := requestWithCookie(t, e.Portal.URL+"/", key); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("GET / with the stored key as cookie = %d, want a redirect to sign-in", resp.StatusCode)
	}
	if resp := requestWithCookie(t, e.Portal.URL+"/", token); resp.StatusCode != http.StatusOK {
		t.Errorf("GET / with the real cookie = %d, want 200", resp.StatusCode)
	}
}

// Issue 13, item 8: the smaller ones.
func TestSmallerHardening(t *testing.T) {
	e := newFlowEnv(t)
	op := e.browser()
	op.signIn("oscar")
	// A blueprint may not take a route word as its ID.
	bp := strings.Replace(string(catalog.CustomTemplate()), "id: my-product", "id: new", 1)
	if resp, page := op.postForm("/catalogue", url.Values{"source": {bp}}); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "/catalogue/new") {
		t.Errorf("blueprint with ID new = %d\n%.1000s", resp.StatusCode, page)
	}
	// The 404 page knows who is signed in and is not cached.
	resp, page := op.get(e.Portal.URL + "/no-such-page")
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Cache-Control") != "no-store" || !strings.Contains(page, `data-testid="current-user-name"`) {
		t.Errorf("404 signed in = %d, Cache-Control %q, shows the user: %v", resp.StatusCode, resp.Header.Get("Cache-Control"), strings.Contains(page, `data-testid="current-user-name"`))
	}
	// login_hint is not copied unbounded into the redirect.
	c := noRedirect()
	for hint, want := range map[string]bool{"ada@contoso.example": true, strings.Repeat("a", 5000) + "@x.example": false, "a\r\nb@x.example": false} {
		r, err := c.Get(e.Portal.URL + "/login?login_hint=" + url.QueryEscape(hint))
		must(t, err)
		r.Body.Close()
		loc := r.Header.Get("Location")
		if got := strings.Contains(loc, "login_hint="); got != want || len(loc) > 2000 {
			t.Errorf("login_hint of %d bytes: redirect carries a hint = %v (want %v), %d bytes", len(hint), got, want, len(loc))
		}
	}
	// DNS rebinding: a loopback server answers only to loopback names.
	req, _ := http.NewRequest("GET", e.Portal.URL+"/healthz", nil)
	req.Host = "attacker.example"
	r, err := c.Do(req)
	must(t, err)
	r.Body.Close()
	if r.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("Host attacker.example = %d, want 421", r.StatusCode)
	}
	req.Host = "localhost"
	r, err = c.Do(req)
	must(t, err)
	r.Body.Close()
	if r.StatusCode != http.StatusOK {
		t.Errorf("Host localhost = %d, want 200", r.StatusCode)
	}
}

// Issue 13, item 5: a NUL in a sign-in callback's error is refused plainly
// and audited, never a 500 (jsonb refuses \u0000).
func TestSignInCallbackWithNULError(t *testing.T) {
	e := newFlowEnv(t)
	resp, err := noRedirect().Get(e.Portal.URL + "/auth/callback?" + url.Values{"error": {"access\x00denied\r\nX"}, "error_description": {"a\x00b"}}.Encode())
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("callback with a NUL in its error = %d, want 400", resp.StatusCode)
	}
	if ev := e.auditEvents("signin.refused"); len(ev) != 1 || ev[0].Details["entra_error"] != "accessdenied X" {
		t.Errorf("audit = %+v, want one refusal with the error as one clean line", ev)
	}
}
