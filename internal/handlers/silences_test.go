package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/store"
)

// An operator snoozes a credential from its page, with a reason; the page
// then says who snoozed it until when and why, the audit log has it, a
// viewer sees it but cannot change it, and Resume ends it. A tenant is
// excluded and included again from the Tenants page.
func TestSilenceFromTheCredentialAndTenantsPages(t *testing.T) {
	e := newFlowEnv(t)
	ctx := context.Background()
	now := time.Now()
	tn, err := e.Store.CreateTenant(ctx, store.Tenant{EntraTenantID: "fab41c4e-2d3b-4a5c-8e6f-7a8b9c0d1e2f", DisplayName: "Fabrikam", Status: "connected"}, store.AuditEvent{Action: "tenant.create"})
	must(t, err)
	_, err = e.Store.RecordScan(ctx, tn.ID, []store.Credential{{OwnerKind: "application", OwnerObjectID: "0a0a0a0a-0000-4000-8000-000000000001",
		OwnerAppID: "app-1", OwnerName: "AFAS Profit", KeyID: "c0000000-0000-4000-8000-000000000001", Kind: "password", EndsAt: now.Add(5 * 24 * time.Hour)}}, now)
	must(t, err)
	creds, err := e.Store.ListCredentials(ctx, store.CredentialFilter{})
	must(t, err)
	path := "/credentials/" + itoa(creds[0].ID)

	op := e.browser()
	op.signIn("oscar")
	_, page := op.get(e.Portal.URL + path)
	for _, want := range []string{`data-testid="credential-alerts-on"`, `data-testid="credential-silence-form"`} {
		if !strings.Contains(page, want) {
			t.Errorf("credential page lacks %s", want)
		}
	}
	// Refused: no reason, a date in the past.
	resp, page := op.postForm(path+"/alerts", url.Values{"what": {"snooze"}, "until": {now.AddDate(0, 0, -1).Format(time.DateOnly)}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `data-testid="silence-reason-error"`) || !strings.Contains(page, "Choose a date after today.") {
		t.Fatalf("snooze without reason, past date = %d\n%.600s", resp.StatusCode, page)
	}
	until := now.AddDate(0, 0, 9).UTC().Format(time.DateOnly)
	resp, page = op.postForm(path+"/alerts", url.Values{"what": {"snooze"}, "until": {until}, "reason": {"Vendor will renew on the 14th"}})
	if resp.StatusCode != 200 || resp.Request.URL.Path != path {
		t.Fatalf("snooze = %d at %s", resp.StatusCode, resp.Request.URL.Path)
	}
	day, _ := time.Parse(time.DateOnly, until)
	wantSentence := "Snoozed until " + day.Format("2 Jan 2006") + " — set by "
	if !strings.Contains(page, wantSentence) || !strings.Contains(page, "Vendor will renew on the 14th") || !strings.Contains(page, `data-testid="credential-silence-lift"`) ||
		!strings.Contains(page, `Alerts quieted (acknowledged, snoozed or excluded). <span translate="no">Vendor will renew on the 14th</span>`) {
		t.Errorf("after snoozing, the page lacks %q and the reason\n%s", wantSentence, page)
	}
	events, err := e.Store.ListAudit(ctx, store.AuditFilter{})
	must(t, err)
	if events[0].Action != "alerts.silence" || events[0].Details["reason"] != "Vendor will renew on the 14th" || events[0].ActorName == "" ||
		events[0].Details["key_id"] != "c0000000-0000-4000-8000-000000000001" {
		t.Errorf("audit = %+v", events[0])
	}

	// A viewer sees it and cannot change it.
	v := e.browser()
	v.signIn("vera")
	_, page = v.get(e.Portal.URL + path)
	if !strings.Contains(page, wantSentence) || strings.Contains(page, `data-testid="credential-silence-form"`) || strings.Contains(page, `data-testid="credential-silence-lift"`) {
		t.Error("a viewer's credential page: the snooze is not shown, or the forms are")
	}
	sls, err := e.Store.SilencesForCredential(ctx, creds[0].ID)
	must(t, err)
	if resp, _ := v.postForm(path+"/alerts/"+itoa(sls[0].ID)+"/lift", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a viewer lifting a snooze = %d, want 403", resp.StatusCode)
	}

	// Resume.
	resp, page = op.postForm(path+"/alerts/"+itoa(sls[0].ID)+"/lift", nil)
	if resp.StatusCode != 200 || !strings.Contains(page, `data-testid="credential-alerts-on"`) {
		t.Errorf("resume = %d; the page does not say alerts go out", resp.StatusCode)
	}

	// The tenant, from the Tenants page.
	tp := "/tenants/" + itoa(tn.ID)
	if resp, page := op.postForm(tp+"/alerts/exclude", url.Values{"reason": {""}}); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `data-testid="tenant-exclude-error"`) {
		t.Errorf("exclude without a reason = %d", resp.StatusCode)
	}
	resp, page = op.postForm(tp+"/alerts/exclude", url.Values{"reason": {"Customer is offboarding"}})
	if resp.StatusCode != 200 || !strings.Contains(page, `data-testid="tenant-alerts-excluded"`) || !strings.Contains(page, "Customer is offboarding") {
		t.Fatalf("exclude tenant = %d", resp.StatusCode)
	}
	if _, page := op.get(e.Portal.URL + path); !strings.Contains(page, "Alerts for this tenant are excluded") {
		t.Error("the credential page does not say its tenant is excluded")
	}
	resp, page = op.postForm(tp+"/alerts/include", nil)
	if resp.StatusCode != 200 || strings.Contains(page, `data-testid="tenant-alerts-excluded"`) {
		t.Errorf("include tenant = %d", resp.StatusCode)
	}
	if resp, _ := op.postForm("/tenants/999999/alerts/exclude", url.Values{"reason": {"x"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("exclude an unknown tenant = %d, want 404", resp.StatusCode)
	}
}
