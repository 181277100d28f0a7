package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/handlers"
	"github.com/appreg-portal/portal/internal/mailtest"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/internal/testenv"
)

// In portal dev, the Outbox shows the alert mails as sent, and advancing
// the demo clock makes a due alert fire; outside dev the pages do not exist.
func TestDevOutboxAndClock(t *testing.T) {
	mb := mailtest.Start(t, "127.0.0.1:0")
	outbox, clock := alerts.NewOutbox(50), &alerts.Clock{}
	e := newFlowEnvWith(t, testenv.Options{
		Alerts: handlers.AlertSettings{Enabled: true, From: "portal@contoso.example", Recipients: []string{"ops@contoso.example"}, Thresholds: []int{7, 0}},
		Dev: func(st *store.Store) *handlers.DevTools {
			a := alerts.New(alerts.Config{SMTP: alerts.SMTP{Addr: mb.Addr, From: "portal@contoso.example", TLS: "none"}, Recipients: []string{"ops@contoso.example"},
				Thresholds: []int{7, 0}, PortalURL: "https://portal.contoso.example", Now: clock.Now, Outbox: outbox}, st)
			return &handlers.DevTools{Outbox: outbox, Clock: clock, RunAlerts: a.Run}
		}})
	ctx := context.Background()
	tn, err := e.Store.CreateTenant(ctx, store.Tenant{EntraTenantID: "fab41c4e-2d3b-4a5c-8e6f-7a8b9c0d1e2f", DisplayName: "Fabrikam", Status: "connected"}, store.AuditEvent{Action: "tenant.create"})
	must(t, err)
	_, err = e.Store.RecordScan(ctx, tn.ID, []store.Credential{{OwnerKind: "application", OwnerObjectID: "0a0a0a0a-0000-4000-8000-000000000001",
		OwnerAppID: "app-1", OwnerName: "AFAS Profit", KeyID: "c0000000-0000-4000-8000-000000000001", Kind: "password", EndsAt: time.Now().Add(10 * 24 * time.Hour)}}, time.Now())
	must(t, err)

	admin := e.browser()
	admin.signIn("ada")
	if _, page := admin.get(e.Portal.URL + "/alerts"); !strings.Contains(page, `data-testid="dev-outbox-link"`) {
		t.Error("the Alerts page does not link the Outbox in dev")
	}
	_, page := admin.postForm("/dev/clock", url.Values{"days": {"0"}})
	if !strings.Contains(page, `data-testid="outbox-empty"`) {
		t.Fatal("an alert went out 10 days before expiry with thresholds 7 and 0")
	}
	_, page = admin.postForm("/dev/clock", url.Values{"days": {"7"}})
	if strings.Count(page, `data-testid="outbox-message"`) != 1 || !strings.Contains(page, "AFAS Profit expires in 2 days") ||
		!strings.Contains(page, "e-mail → ops@contoso.example</span> · sent") || !strings.Contains(page, "7 days ahead of real time") {
		t.Errorf("Outbox after +7 days:\n%s", page)
	}
	if len(mb.Mails()) != 1 {
		t.Errorf("%d mails at the mail server, want 1", len(mb.Mails()))
	}

	plain := newFlowEnv(t)
	b := plain.browser()
	b.signIn("ada")
	if resp, _ := b.get(plain.Portal.URL + "/dev/outbox"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/dev/outbox outside dev = %d, want 404", resp.StatusCode)
	}
}
