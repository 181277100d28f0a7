package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/entrasim"
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
	_, page := op.get(e.Portal.URL + "/tenants/connect")
	for _, want := range []string{`data-testid="requested-permission"`, "Application.Read.All", "Organization.Read.All"} {
		if !strings.Contains(page, want) {
			t.Errorf("connect page lacks %q", want)
		}
	}
	if n := strings.Count(page, `data-testid="requested-permission"`); n != 2 {
		t.Errorf("connect page lists %d permissions, want 2", n)
	}
	link := makeConsentLink(t, e, "Fabrikam", "fabrikam.example")
	// Someone adds Mail.Send to the portal app: the consent now grants it too.
	must(t, e.Sim.AddApplicationPermission(e.AppID, "Mail.Send"))
	if status, page := consent(t, e, link, "fiona"); status != 200 {
		t.Fatalf("consent = %d\n%.800s", status, page)
	}
	tenants, err := e.Store.ListTenants(context.Background())
	must(t, err)
	if len(tenants) != 1 || !strings.Contains(tenants[0].ScanProblems, "Mail.Send (Microsoft Graph)") {
		t.Fatalf("tenant after a consent that granted Mail.Send: %+v", tenants)
	}
	if _, list := op.get(e.Portal.URL + "/tenants"); !strings.Contains(list, "more than it asks for") {
		t.Error("the tenants page does not flag the extra permission")
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
