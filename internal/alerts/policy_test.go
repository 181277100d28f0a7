package alerts_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/mailtest"
	"github.com/appreg-portal/portal/internal/pgtest"
	"github.com/appreg-portal/portal/internal/store"
)

// The portal-wide policy set in the portal replaces the environment's; a
// tenant's own thresholds and recipients replace the portal-wide ones for
// that tenant alone; contacts always get their tenant's alerts.
func TestAlertPolicies(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	now := time.Now()
	seed(t, st, now) // Fabrikam: Exact Globe+ in 5 days, AFAS Profit expired
	nw, err := st.CreateTenant(ctx, store.Tenant{EntraTenantID: "0e0e0e0e-2d3b-4a5c-8e6f-7a8b9c0d1e2f", DisplayName: "Northwind", Status: "connected"}, store.AuditEvent{Action: "tenant.create"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.RecordScan(ctx, nw.ID, []store.Credential{{OwnerKind: "application", OwnerObjectID: "0b0b0b0b-0000-4000-8000-000000000001", OwnerAppID: "app-nw",
		OwnerName: "Northwind HR", KeyID: "d0000000-0000-4000-8000-000000000001", Kind: "password", EndsAt: now.Add(5*24*time.Hour + time.Hour)}}, now); err != nil {
		t.Fatal(err)
	}
	_, fabrikam := mustCredentials(t, st)
	if err := st.SetTenantContacts(ctx, fabrikam, []string{"it@fabrikam.example"}, store.AuditEvent{Action: "tenant.contacts"}); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.SetAlertPolicy(ctx, store.AlertPolicy{Recipients: []string{"security@contoso.example"}, UpdatedBy: "Ada Admin"}, store.AuditEvent{Action: "alerts.policy"}))
	must(st.SetAlertPolicy(ctx, store.AlertPolicy{TenantID: fabrikam, Thresholds: []int{3, 0}, Recipients: []string{"fab-team@contoso.example"}, UpdatedBy: "Ada Admin"},
		store.AuditEvent{Action: "alerts.policy"}))

	mb := mailtest.Start(t, "127.0.0.1:0")
	a := alerts.New(alerts.Config{SMTP: alerts.SMTP{Addr: mb.Addr, From: "portal@contoso.example", TLS: "none"},
		Recipients: []string{"ops@contoso.example"}, Thresholds: []int{30, 7, 0}}, st)
	if _, err := a.Run(ctx); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, m := range mb.Mails() {
		for _, owner := range []string{"Exact Globe+", "AFAS Profit", "Northwind HR"} {
			if strings.Contains(m.Body, owner) {
				got[m.To[0]] = append(got[m.To[0]], owner)
			}
		}
	}
	for _, v := range got {
		slices.Sort(v)
	}
	want := map[string][]string{
		// Fabrikam's own recipients and its contact, at its own thresholds (3 days, on expiry): AFAS Profit only.
		"fab-team@contoso.example": {"AFAS Profit"},
		"it@fabrikam.example":      {"AFAS Profit"},
		// Northwind inherits the portal-wide policy set in the portal, not the environment's ops@.
		"security@contoso.example": {"Northwind HR"},
	}
	if len(got) != len(want) {
		t.Errorf("mailed %v, want %v", got, want)
	}
	for k, v := range want {
		if !slices.Equal(got[k], v) {
			t.Errorf("mail to %s about %v, want %v", k, got[k], v)
		}
	}
	// Removing both overrides: the environment's recipients and thresholds again.
	must(st.SetAlertPolicy(ctx, store.AlertPolicy{}, store.AuditEvent{Action: "alerts.policy"}))
	th, rc, err := a.PortalPolicy(ctx)
	if err != nil || !slices.Equal(th, []int{30, 7, 0}) || !slices.Equal(rc, []string{"ops@contoso.example"}) {
		t.Errorf("PortalPolicy() after reset = %v, %v, %v", th, rc, err)
	}
}
