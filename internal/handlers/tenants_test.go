package handlers_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/appreg-portal/portal/internal/store"
)

var consentLinkRE = regexp.MustCompile(`data-testid="consent-link">([^<]+)<`)

// makeConsentLink has an operator make a consent link and returns it.
func makeConsentLink(t *testing.T, e *flowEnv, label, expected string) string {
	t.Helper()
	op := e.browser()
	op.signIn("oscar")
	resp, page := op.postForm("/tenants/connect", url.Values{"label": {label}, "expected": {expected}})
	m := consentLinkRE.FindStringSubmatch(page)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("make consent link = %d:\n%.1500s", resp.StatusCode, page)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("consent link page Cache-Control = %q", resp.Header.Get("Cache-Control"))
	}
	return strings.ReplaceAll(m[1], "&amp;", "&")
}

// consent opens the link as a customer's administrator (auto sign-in by
// login_hint) and returns the page the portal shows at the end.
func consent(t *testing.T, e *flowEnv, link, user string) (int, string) {
	t.Helper()
	b := e.browser()
	resp, page := b.get(link + "&login_hint=" + url.QueryEscape(e.Users[user]))
	if strings.Contains(page, `data-testid="consent-accept"`) {
		t.Fatalf("the emulator asked for consent interactively; the test expects auto sign-in to consent")
	}
	return resp.StatusCode, page
}

func TestConnectTenantWithAdminConsent(t *testing.T) {
	e := newFlowEnv(t)
	link := makeConsentLink(t, e, "Fabrikam", "fabrikam.example")
	u, err := url.Parse(link)
	must(t, err)
	state := u.Query().Get("state")
	if !strings.HasPrefix(link, e.Entra.URL+"/fabrikam.example/v2.0/adminconsent?") || len(state) < 40 ||
		u.Query().Get("scope") != "https://graph.microsoft.com/.default" {
		t.Fatalf("consent link = %s", link)
	}
	// Only a hash of the state is stored.
	var leaks int
	must(t, e.Store.Pool().QueryRow(context.Background(),
		`SELECT count(*) FROM tenant_onboardings WHERE position($1 in label || expected_tenant || encode(state_hash, 'escape')) > 0`, state).Scan(&leaks))
	if leaks != 0 {
		t.Error("the consent link's state is stored in plaintext")
	}

	customer := e.browser()
	resp, page := customer.get(link + "&login_hint=" + url.QueryEscape(e.Users["fiona"]))
	if resp.StatusCode != 200 || !strings.Contains(page, `data-testid="onboarding-connected"`) || !strings.Contains(page, "Fabrikam is connected") {
		t.Fatalf("after consent: %d\n%.2000s", resp.StatusCode, page)
	}
	callback := resp.Request.URL.String()
	if !strings.HasPrefix(callback, e.Portal.URL+"/onboarding/callback?") {
		t.Fatalf("consent ended at %s, want the portal's callback", callback)
	}
	tenants, err := e.Store.ListTenants(context.Background())
	must(t, err)
	if len(tenants) != 1 || tenants[0].EntraTenantID != e.Other || tenants[0].Status != "connected" || tenants[0].DefaultDomain != "fabrikam.example" {
		t.Fatalf("tenants after consent = %+v", tenants)
	}
	if ev, _ := e.Store.ListAudit(context.Background(), store.AuditFilter{Action: "tenant.connect"}); len(ev) != 1 || ev[0].TenantID == nil || *ev[0].TenantID != e.Other ||
		!strings.HasPrefix(ev[0].ActorName, "Administrator of ") || ev[0].Details["consent_link_by"] == "" {
		t.Errorf("audit tenant.connect = %+v, want the tenant's administrator as actor and the link's maker", ev)
	}

	// The link works once: reloading the result page, or opening the link
	// again, says plainly that the tenant is connected, and changes nothing.
	for name, open := range map[string]func() (int, string){
		"reload":     func() (int, string) { r, p := customer.get(callback); return r.StatusCode, p },
		"link again": func() (int, string) { return consent(t, e, link, "fiona") },
	} {
		status, page := open()
		if status != 200 || !strings.Contains(page, "Fabrikam is already connected through this link") || strings.Contains(page, "cannot be used") ||
			strings.Contains(page, "did not work") || strings.Contains(page, `data-testid="onboarding-consent-recorded"`) {
			t.Errorf("%s of the used link = %d\n%.1500s", name, status, page)
		}
	}
	connects := 0
	for _, ev := range e.auditEvents("tenant.connect") {
		if ev.Action == "tenant.connect" {
			connects++
		}
	}
	if connects != 1 {
		t.Errorf("audit tenant.connect after reloads = %d rows, want 1", connects)
	}
	if ev := e.auditEvents("tenant.connect.refused"); len(ev) != 1 || ev[0].Details["reason"] != "link_used" {
		t.Errorf("reloads audited as %+v, want one link_used row (coalesced)", ev)
	}

	// The operator sees the tenant.
	op := e.browser()
	op.signIn("oscar")
	if _, list := op.get(e.Portal.URL + "/tenants"); !strings.Contains(list, e.Other) || strings.Contains(list, "pending-onboardings") {
		t.Errorf("tenants page does not list the connected tenant (or still lists the link as pending)")
	}
}

func TestConsentFromAnotherTenantIsRefused(t *testing.T) {
	e := newFlowEnv(t)
	link := makeConsentLink(t, e, "Northwind", "northwind.example")
	// The link names Northwind, but Fabrikam's administrator uses it at the organizations endpoint.
	link = strings.Replace(link, "/northwind.example/", "/organizations/", 1)
	status, page := consent(t, e, link, "fiona")
	if status != http.StatusForbidden || !strings.Contains(page, "This link is for another tenant") {
		t.Fatalf("consent from the wrong tenant = %d\n%.1500s", status, page)
	}
	if tenants, _ := e.Store.ListTenants(context.Background()); len(tenants) != 0 {
		t.Errorf("a tenant was connected: %+v", tenants)
	}
	if ev, _ := e.Store.ListAudit(context.Background(), store.AuditFilter{Action: "tenant.connect.refused"}); len(ev) != 1 || ev[0].Details["reason"] != "wrong_tenant" {
		t.Errorf("audit = %+v", ev)
	}
}

func TestForgedOnboardingCallbacks(t *testing.T) {
	e := newFlowEnv(t)
	// The operator tenant never consented to anything through the link; a forged
	// callback naming it must not connect it.
	link := makeConsentLink(t, e, "Anyone", "")
	state := mustParse(t, link).Query().Get("state")
	b := e.browser()
	// A tenant that exists but never consented: the portal waits for
	// replication (2s in tests), then refuses.
	northwind, err := e.Sim.CreateTenant("Northwind", "northwind.example")
	must(t, err)
	forged := e.Portal.URL + "/onboarding/callback?" + url.Values{"admin_consent": {"True"}, "tenant": {northwind}, "state": {state}}.Encode()
	resp, page := b.get(forged)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(page, "could not read the tenant") {
		t.Errorf("forged tenant = %d\n%.1000s", resp.StatusCode, page)
	}
	// A tenant that does not exist is refused at once.
	link3 := makeConsentLink(t, e, "Nobody", "")
	forged = e.Portal.URL + "/onboarding/callback?" + url.Values{"admin_consent": {"True"}, "tenant": {"0f0f0f0f-0000-4000-8000-00000000abcd"},
		"state": {mustParse(t, link3).Query().Get("state")}}.Encode()
	if resp, page := b.get(forged); resp.StatusCode != http.StatusBadGateway || !strings.Contains(page, "could not read the tenant") {
		t.Errorf("non-existent tenant = %d\n%.1000s", resp.StatusCode, page)
	}
	if tenants, _ := e.Store.ListTenants(context.Background()); len(tenants) != 0 {
		t.Errorf("a forged callback connected %+v", tenants)
	}
	// Unknown state.
	resp, page = b.get(e.Portal.URL + "/onboarding/callback?admin_consent=True&tenant=" + e.Other + "&state=guessed")
	if resp.StatusCode != 400 || !strings.Contains(page, "cannot be used") {
		t.Errorf("unknown state = %d", resp.StatusCode)
	}
	// Declined consent closes the link.
	link2 := makeConsentLink(t, e, "Fabrikam", "")
	state2 := mustParse(t, link2).Query().Get("state")
	resp, page = b.get(e.Portal.URL + "/onboarding/callback?" + url.Values{"error": {"access_denied"}, "error_description": {"AADSTS65004: User declined to consent"}, "state": {state2}}.Encode())
	if resp.StatusCode != 400 || !strings.Contains(page, "declined") {
		t.Errorf("declined = %d\n%.800s", resp.StatusCode, page)
	}
	if status, _ := consent(t, e, link2, "fiona"); status != 400 {
		t.Errorf("link after a declined consent = %d, want it closed", status)
	}
	ev, _ := e.Store.ListAudit(context.Background(), store.AuditFilter{Action: "tenant.connect.refused"})
	var reasons []string
	for _, a := range ev {
		reasons = append(reasons, a.Details["reason"])
	}
	// The second unknown link from the same address within ten minutes is
	// coalesced into the first's row (the next row written says how many).
	if strings.Join(reasons, ",") != "link_used,consent_declined,link_unknown,not_confirmed,not_confirmed" {
		t.Errorf("refusals audited = %v", reasons)
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	must(t, err)
	return u
}

func TestConnectTenantFormAndRoles(t *testing.T) {
	e := newFlowEnv(t)
	op := e.browser()
	op.signIn("oscar")
	resp, page := op.postForm("/tenants/connect", url.Values{"label": {""}, "expected": {"not a domain!"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Name the customer") || !strings.Contains(page, "Enter a domain") {
		t.Errorf("bad form = %d", resp.StatusCode)
	}
	v := e.browser()
	v.signIn("vera")
	resp, _ = v.postForm("/tenants/connect", url.Values{"label": {"X"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer POST /tenants/connect = %d, want 403", resp.StatusCode)
	}
	if _, list := v.get(e.Portal.URL + "/tenants"); strings.Contains(list, `data-testid="connect-tenant"`) {
		t.Error("a viewer is offered 'Connect a tenant'")
	}
	// Registering an app is an operator's job: a viewer is not sent to a
	// catalogue without a register button; both see the registrations.
	_, err := e.Store.CreateTenant(context.Background(), store.Tenant{EntraTenantID: e.Other, DisplayName: "Fabrikam", DefaultDomain: "fabrikam.example", Status: "connected"},
		store.AuditEvent{Action: "tenant.create"})
	must(t, err)
	for _, tt := range []struct {
		name         string
		b            *browser
		wantRegister bool
	}{
		{"viewer", v, false},
		{"operator", op, true},
	} {
		_, list := tt.b.get(e.Portal.URL + "/tenants")
		if !strings.Contains(list, `data-testid="tenant-row"`) || !strings.Contains(list, `data-testid="tenant-registrations"`) {
			t.Errorf("%s: the tenants page lacks the tenant or its registrations link", tt.name)
		}
		if got := strings.Contains(list, `data-testid="tenant-register"`); got != tt.wantRegister {
			t.Errorf("%s: Register an app shown = %v, want %v", tt.name, got, tt.wantRegister)
		}
	}
	_ = io.Discard
}

// QA: Nils declines the consent, opens the same link again and accepts in
// Entra. Entra records the grant and sends admin_consent=True, but the link
// is closed: the portal connects nothing, audits link_used (the link is
// known), and tells him that Entra may have recorded the consent and how to
// remove it, never that nothing in his tenant changed. Once the tenant is
// connected through a new link, the declined one is marked superseded.
func TestConsentOnADeclinedLink(t *testing.T) {
	e := newFlowEnv(t)
	link := makeConsentLink(t, e, "Fabrikam", "fabrikam.example")
	state := mustParse(t, link).Query().Get("state")
	b := e.browser()
	// Entra's v2 error answers carry admin_consent=True as well; the error says nothing was granted.
	resp, page := b.get(e.Portal.URL + "/onboarding/callback?" + url.Values{"admin_consent": {"True"}, "error": {"access_denied"},
		"error_description": {"AADSTS65004: User declined to consent"}, "state": {state}}.Encode())
	if resp.StatusCode != 400 || !strings.Contains(page, "Nothing in your tenant was changed") || strings.Contains(page, `data-testid="onboarding-consent-recorded"`) {
		t.Fatalf("declined = %d\n%.1500s", resp.StatusCode, page)
	}

	status, page := consent(t, e, link, "fiona")
	for _, want := range []string{`data-testid="onboarding-failed"`, "was declined on", "connected nothing", `data-testid="onboarding-consent-recorded"`,
		"may still have recorded your consent", "Microsoft Entra admin center → Enterprise applications → the portal's application", "Delete", "names your tenant"} {
		if !strings.Contains(html.UnescapeString(page), want) {
			t.Errorf("accepting on the declined link: page lacks %q", want)
		}
	}
	for _, bad := range []string{"Nothing in your tenant was changed", "cannot be used", "not made by this portal"} {
		if strings.Contains(page, bad) {
			t.Errorf("accepting on the declined link: page says %q", bad)
		}
	}
	if status != http.StatusBadRequest {
		t.Errorf("accepting on the declined link = %d, want 400", status)
	}
	if ts, _ := e.Store.ListTenants(context.Background()); len(ts) != 0 {
		t.Fatalf("a declined link connected %+v", ts)
	}
	var reasons []string
	for _, ev := range e.auditEvents("tenant.connect.refused") {
		reasons = append(reasons, ev.Details["reason"])
	}
	if strings.Join(reasons, ",") != "link_used,consent_declined" {
		t.Errorf("refusals audited = %v, want link_used after consent_declined", reasons)
	}

	op := e.browser()
	op.signIn("oscar")
	if _, list := op.get(e.Portal.URL + "/tenants"); !strings.Contains(list, `data-state="declined"`) || !strings.Contains(list, `data-testid="onboarding-new-link"`) {
		t.Errorf("before Fabrikam is connected, the declined link is not offered a new link:\n%.3000s", list)
	}
	// A new link that names the tenant connects it with the consent given.
	if status, page := consent(t, e, makeConsentLink(t, e, "Fabrikam again", "fabrikam.example"), "fiona"); status != 200 || !strings.Contains(page, `data-testid="onboarding-connected"`) {
		t.Fatalf("new link = %d\n%.1000s", status, page)
	}
	_, list := op.get(e.Portal.URL + "/tenants")
	if !strings.Contains(list, `data-state="superseded"`) || !strings.Contains(list, "Superseded: Fabrikam is connected") ||
		strings.Contains(list, `data-state="declined"`) || strings.Contains(list, `data-testid="onboarding-new-link"`) {
		t.Errorf("after Fabrikam connected, the declined link still asks for follow-up:\n%.3000s", list)
	}
}

// A callback for a link that ended says how it ended, audits link_used (or
// link_expired), connects nothing, and speaks of a recorded consent exactly
// when Entra's answer says consent was granted.
func TestCallbackOnEndedLinks(t *testing.T) {
	e := newFlowEnv(t)
	ctx := context.Background()
	op := e.browser()
	op.signIn("oscar")
	stateOf := func(link string) string { return mustParse(t, link).Query().Get("state") }

	withdrawn := makeConsentLink(t, e, "Withdrawn", "northwind.example")
	list, err := e.Store.ListOnboardings(ctx)
	must(t, err)
	if resp, _ := op.postForm("/tenants/links/"+itoa(list[0].ID)+"/withdraw", nil); resp.StatusCode != 200 {
		t.Fatalf("withdraw = %d", resp.StatusCode)
	}
	expired := makeConsentLink(t, e, "Expired", "northwind.example")
	_, err = e.Store.Pool().Exec(ctx, `UPDATE tenant_onboardings SET expires_at = now() - interval '1 hour' WHERE label = 'Expired'`)
	must(t, err)
	connected := makeConsentLink(t, e, "Fabrikam", "")
	if status, page := consent(t, e, connected, "fiona"); status != 200 {
		t.Fatalf("consent = %d\n%.800s", status, page)
	}
	granted := func(link, tenant string) string {
		return e.Portal.URL + "/onboarding/callback?" + url.Values{"admin_consent": {"True"}, "tenant": {tenant}, "state": {stateOf(link)}}.Encode()
	}
	declined := func(link string) string {
		// As Entra's v2 endpoint sends errors: with admin_consent=True.
		return e.Portal.URL + "/onboarding/callback?" + url.Values{"admin_consent": {"True"}, "error": {"access_denied"}, "state": {stateOf(link)}}.Encode()
	}
	tests := []struct {
		name        string
		url         string
		wantStatus  int
		wantText    string
		wantConsent bool // the page speaks of a recorded consent
		wantReason  string
	}{
		{"withdrawn, consent granted", granted(withdrawn, e.TenantID), 400, "was withdrawn by the person who sent it", true, "link_used"},
		{"withdrawn, declined", declined(withdrawn), 400, "was withdrawn by the person who sent it", false, "link_used"},
		{"expired, consent granted", granted(expired, e.TenantID), 400, "This link expired on", true, "link_expired"},
		{"connected, same tenant", granted(connected, e.Other), 200, "Fabrikam is already connected through this link", false, "link_used"},
		{"connected, another tenant", granted(connected, e.TenantID), 400, "already connected another tenant, so", true, "link_used"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, page := e.browser().get(tt.url)
			if resp.StatusCode != tt.wantStatus || !strings.Contains(page, tt.wantText) {
				t.Errorf("callback = %d, want %d with %q\n%.1500s", resp.StatusCode, tt.wantStatus, tt.wantText, page)
			}
			if got := strings.Contains(page, `data-testid="onboarding-consent-recorded"`); got != tt.wantConsent {
				t.Errorf("speaks of a recorded consent = %v, want %v", got, tt.wantConsent)
			}
			if tt.wantConsent && strings.Contains(page, "Nothing in your tenant was changed") {
				t.Error(`says "Nothing in your tenant was changed" after Entra reported the consent granted`)
			}
			// Refusals with the same reason from one address are coalesced
			// (one row per ten minutes), so look for the reason, not a new row.
			var reasons []string
			for _, ev := range e.auditEvents("tenant.connect.refused") {
				reasons = append(reasons, ev.Details["reason"])
			}
			if !slices.Contains(reasons, tt.wantReason) || slices.Contains(reasons, "link_unknown") {
				t.Errorf("refusals audited = %v, want %s and no link_unknown", reasons, tt.wantReason)
			}
		})
	}
	if ts, _ := e.Store.ListTenants(ctx); len(ts) != 1 || ts[0].EntraTenantID != e.Other {
		t.Errorf("tenants = %+v, want Fabrikam alone", ts)
	}
}
