package main

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/entrasim"
	"github.com/appreg-portal/portal/internal/graph"
	"github.com/appreg-portal/portal/internal/pgtest"
	"github.com/appreg-portal/portal/internal/store"
)

// Without an SMTP relay, alerts go out with Graph sendMail from a mailbox
// in the operator's tenant (against the emulator): one message per
// recipient, the HTML digest with the rotate links. Without Mail.Send the
// delivery fails with the reason in words, not Graph's error.
func TestAlertsThroughGraphSendMail(t *testing.T) {
	ctx := context.Background()
	sim := entrasim.New(entrasim.Options{})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	sim.SetBaseURL(srv.URL)
	tenant, err := sim.CreateTenant("Contoso", "contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	sim.CreateUser(tenant, entrasim.User{DisplayName: "Alerts", UserPrincipalName: "alerts@contoso.example"})
	withSend, err := sim.CreateApplication(tenant, entrasim.AppSpec{DisplayName: "Portal", ApplicationPermissions: []string{"Mail.Send"}, Secret: true})
	if err != nil {
		t.Fatal(err)
	}
	without, err := sim.CreateApplication(tenant, entrasim.AppSpec{DisplayName: "Portal (no mail)", ApplicationPermissions: []string{"Application.Read.All"}, Secret: true})
	if err != nil {
		t.Fatal(err)
	}

	run := func(app entrasim.AppCreated) (*store.Store, alerts.RunResult, error) {
		st := pgtest.NewStore(t)
		now := time.Now()
		tn, err := st.CreateTenant(ctx, store.Tenant{EntraTenantID: "fab41c4e-2d3b-4a5c-8e6f-7a8b9c0d1e2f", DisplayName: "Fabrikam", Status: "connected",
			Contacts: []string{"it@fabrikam.example"}}, store.AuditEvent{Action: "tenant.create"})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.SetTenantContacts(ctx, tn.ID, []string{"it@fabrikam.example"}, store.AuditEvent{Action: "tenant.contacts"}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.RecordScan(ctx, tn.ID, []store.Credential{{OwnerKind: "application", OwnerObjectID: "0a0a0a0a-0000-4000-8000-000000000001",
			OwnerAppID: "app-1", OwnerName: "AFAS Profit", KeyID: "c0000000-0000-4000-8000-000000000001", Kind: "password", EndsAt: now.Add(3 * 24 * time.Hour)}}, now); err != nil {
			t.Fatal(err)
		}
		a := alerts.New(alerts.Config{Recipients: []string{"ops@contoso.example"}, PortalURL: "https://portal.contoso.example", GraphSender: "alerts@contoso.example",
			Graph: &graphMailer{tenant: tenant, app: graph.AppOnly{LoginBase: srv.URL, GraphURL: srv.URL + "/v1.0", ClientID: app.AppID, ClientSecret: app.SecretText}}}, st)
		res, err := a.Run(ctx)
		return st, res, err
	}

	_, res, err := run(withSend)
	if err != nil || res.Mails != 2 || res.Sent != 2 {
		t.Fatalf("run through Graph = %+v, %v; want 2 messages", res, err)
	}
	out := sim.Outbox(tenant)
	if len(out) != 2 {
		t.Fatalf("outbox = %d messages, want 2", len(out))
	}
	var to []string
	for _, m := range out {
		to = append(to, m.To...)
		if m.ContentType != "HTML" || !strings.Contains(m.Content, `href="https://portal.contoso.example/credentials/`) ||
			!strings.Contains(m.Subject, "AFAS Profit") || m.SaveToSentItems {
			t.Errorf("Graph message = %+v", m)
		}
	}
	if strings.Join(to, " ") != "it@fabrikam.example ops@contoso.example" && strings.Join(to, " ") != "ops@contoso.example it@fabrikam.example" {
		t.Errorf("sent to %v", to)
	}

	st, res, _ := run(without)
	if res.Failed != 2 {
		t.Fatalf("run without Mail.Send = %+v, want 2 failed", res)
	}
	ds, err := st.RecentDeliveries(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Failure != string(alerts.ReasonGraphDenied) {
			t.Errorf("failure = %q, want %q", d.Failure, alerts.ReasonGraphDenied)
		}
	}
}
