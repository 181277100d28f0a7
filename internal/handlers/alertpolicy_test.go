package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/appreg-portal/portal/internal/handlers"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/internal/testenv"
)

// Admins set the portal-wide thresholds and recipients on the Alerts page
// (the environment's are the default); operators set a tenant's own on the
// Tenants page; both are stored and audited, and refused input is re-shown
// with the reason.
func TestAlertPolicyForms(t *testing.T) {
	e := newFlowEnvWith(t, testenv.Options{Alerts: handlers.AlertSettings{Enabled: true, From: "portal@contoso.example",
		Recipients: []string{"ops@contoso.example"}, Thresholds: []int{30, 7, 0}}})
	ctx := context.Background()
	admin := e.browser()
	admin.signIn("ada")
	_, page := admin.get(e.Portal.URL + "/alerts")
	if !strings.Contains(page, "Set by the environment") || !strings.Contains(page, `data-testid="alerts-policy-edit"`) {
		t.Fatalf("alerts page for an admin lacks the source or the form")
	}
	resp, page := admin.postForm("/admin/alert-policy", url.Values{"thresholds": {"14, soon"}, "recipients": {"sec@contoso.example"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `data-testid="policy-thresholds-error"`) || !strings.Contains(page, "14, soon") {
		t.Errorf("bad thresholds = %d", resp.StatusCode)
	}
	resp, page = admin.postForm("/admin/alert-policy", url.Values{"thresholds": {"0, 14 3 14"}, "recipients": {"SEC@contoso.example\nops@contoso.example"}})
	if resp.StatusCode != 200 || !strings.Contains(page, "14 and 3 days before expiry, and on the day of expiry") || !strings.Contains(page, "sec@contoso.example") ||
		!strings.Contains(page, "Set in the portal by") {
		t.Fatalf("save policy = %d\n%s", resp.StatusCode, page)
	}
	p, err := e.Store.AlertPolicy(ctx, 0)
	must(t, err)
	if !slices.Equal(p.Thresholds, []int{14, 3, 0}) || !slices.Equal(p.Recipients, []string{"sec@contoso.example", "ops@contoso.example"}) || p.UpdatedBy == "" {
		t.Errorf("stored policy = %+v", p)
	}

	// Operators cannot change the portal-wide policy, nor see its form.
	op := e.browser()
	op.signIn("oscar")
	if resp, _ := op.postForm("/admin/alert-policy", url.Values{"thresholds": {"1"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("operator setting the portal-wide policy = %d, want 403", resp.StatusCode)
	}
	if _, page := op.get(e.Portal.URL + "/alerts"); strings.Contains(page, `data-testid="alerts-policy-edit"`) {
		t.Error("an operator sees the portal-wide policy form")
	}

	// A tenant's own.
	tn, err := e.Store.CreateTenant(ctx, store.Tenant{EntraTenantID: "fab41c4e-2d3b-4a5c-8e6f-7a8b9c0d1e2f", DisplayName: "Fabrikam", Status: "connected"}, store.AuditEvent{Action: "tenant.create"})
	must(t, err)
	tp := "/tenants/" + itoa(tn.ID) + "/alerts/policy"
	if resp, page := op.postForm(tp, url.Values{"recipients": {"not an address"}}); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `data-testid="tenant-policy-recipients-error"`) {
		t.Errorf("bad tenant recipients = %d", resp.StatusCode)
	}
	resp, page = op.postForm(tp, url.Values{"thresholds": {"7, 0"}, "recipients": {"fab-team@contoso.example"}})
	if resp.StatusCode != 200 || !strings.Contains(page, "Own thresholds: 7 days before expiry, and on the day of expiry; own recipients: fab-team@contoso.example.") {
		t.Errorf("save tenant policy = %d", resp.StatusCode)
	}
	resp, page = op.postForm(tp, url.Values{"thresholds": {""}, "recipients": {""}})
	if resp.StatusCode != 200 || strings.Contains(page, `data-testid="tenant-alert-policy"`) {
		t.Errorf("clear tenant policy = %d", resp.StatusCode)
	}
	events, err := e.Store.ListAudit(ctx, store.AuditFilter{})
	must(t, err)
	n := 0
	for _, ev := range events {
		if ev.Action == "alerts.policy" {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d alerts.policy audit events, want 3", n)
	}
}
