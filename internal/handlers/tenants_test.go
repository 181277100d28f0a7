package handlers_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
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

	status, page := consent(t, e, link, "fiona")
	if status != 200 || !strings.Contains(page, `data-testid="onboarding-connected"`) || !strings.Contains(page, "Fabrikam is connected") {
		t.Fatalf("after consent: %d\n%.2000s", status, page)
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

	// The link works once.
	status, page = consent(t, e, link, "fiona")
	if status != 400 || !strings.Contains(page, "cannot be used") {
		t.Errorf("second use of the link = %d", status)
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
	if strings.Join(reasons, ",") != "consent_declined,link_unknown,not_confirmed,not_confirmed" {
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
	_ = io.Discard
}
