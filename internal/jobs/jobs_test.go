package jobs_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/entrasim"
	"github.com/appreg-portal/portal/internal/inventory"
	"github.com/appreg-portal/portal/internal/jobs"
	"github.com/appreg-portal/portal/internal/mailtest"
	"github.com/appreg-portal/portal/internal/pgtest"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/internal/testenv"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// A scan of all tenants (what the periodic job queues every 6 hours) scans
// every connected tenant and leaves the others alone. The job is queued
// directly: which replica is elected to run periodic jobs, and when, is
// River's business and too slow to wait for on a busy CI machine.
func TestScanAllScansConnectedTenants(t *testing.T) {
	ctx := context.Background()
	env := testenv.New(t, testenv.Options{})
	// The operator tenant hosts the portal app, which may read it app-only.
	app, err := env.Sim.CreateApplication(env.TenantID, entrasim.AppSpec{DisplayName: "Payroll export"})
	must(t, err)
	_, err = env.Sim.AddSecret(app.ID, "payroll", "", time.Now().Add(-time.Hour), time.Now().Add(20*24*time.Hour))
	must(t, err)
	tn, err := env.Store.CreateTenant(ctx, store.Tenant{EntraTenantID: env.TenantID, DisplayName: "Contoso Consulting", Status: "connected"}, store.AuditEvent{Action: "tenant.create"})
	must(t, err)
	_, err = env.Store.CreateTenant(ctx, store.Tenant{EntraTenantID: "0f0f0f0f-0000-4000-8000-00000000abcd", DisplayName: "Pending Ltd"}, store.AuditEvent{Action: "tenant.create"})
	must(t, err)
	must(t, env.Jobs.EnqueueScanAll(ctx))

	deadline := time.Now().Add(15 * time.Second)
	for {
		creds, err := env.Store.ListCredentials(ctx, store.CredentialFilter{TenantID: tn.ID})
		must(t, err)
		found := false
		for _, c := range creds {
			found = found || c.OwnerName == "Payroll export"
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scan of all tenants did not record the operator tenant's credentials: %+v", creds)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Only connected tenants are scanned: the pending one was never touched.
	ts, err := env.Store.ListTenants(ctx)
	must(t, err)
	for _, x := range ts {
		if x.Status != "connected" && x.LastScanAt != nil {
			t.Errorf("tenant %s (%s) was scanned", x.DisplayName, x.Status)
		}
	}
}

func TestEnqueueScanTwiceQueuesOne(t *testing.T) {
	ctx := context.Background()
	env := testenv.New(t, testenv.Options{})
	must(t, env.Jobs.Stop(ctx)) // keep the job waiting
	must(t, env.Jobs.EnqueueScan(ctx, 42))
	must(t, env.Jobs.EnqueueScan(ctx, 42))
	must(t, env.Jobs.EnqueueScan(ctx, 43))
	var n int
	must(t, env.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'scan_tenant'`).Scan(&n))
	if n != 2 {
		t.Errorf("scan jobs queued = %d, want 2 (one per tenant)", n)
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// A scan that finds a secret about to expire sends the alert right away,
// without waiting for the hourly run.
func TestScanThatFindsDueSecretsAlertsAtOnce(t *testing.T) {
	ctx := context.Background()
	env := testenv.New(t, testenv.Options{})
	must(t, env.Jobs.Stop(ctx))
	app, err := env.Sim.CreateApplication(env.TenantID, entrasim.AppSpec{DisplayName: "Exact Globe+ mail"})
	must(t, err)
	_, err = env.Sim.AddSecret(app.ID, "globe", "", time.Now().Add(-300*24*time.Hour), time.Now().Add(5*24*time.Hour))
	must(t, err)
	tn, err := env.Store.CreateTenant(ctx, store.Tenant{EntraTenantID: env.TenantID, DisplayName: "Contoso Consulting", Status: "connected"}, store.AuditEvent{Action: "tenant.create"})
	must(t, err)

	mb := mailtest.Start(t, "127.0.0.1:0")
	secret, _ := env.PortalSecret()
	runner, err := jobs.New(jobs.Config{
		Pool: env.Store.Pool(), Tenants: env.Store, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), PollInterval: 50 * time.Millisecond,
		Scanner: inventory.New(inventory.Config{Authority: env.Entra.URL, GraphURL: env.Entra.URL + "/v1.0", ClientID: env.AppID, ClientSecret: secret}, env.Store),
		Alerter: alerts.New(alerts.Config{SMTP: alerts.SMTP{Addr: mb.Addr, From: "portal@contoso.example", TLS: "none"}, Recipients: []string{"ops@contoso.example"}}, env.Store),
	})
	must(t, err)
	must(t, runner.Start(ctx))
	defer runner.Stop(ctx)
	must(t, runner.EnqueueScan(ctx, tn.ID))

	deadline := time.Now().Add(15 * time.Second)
	for len(mb.Mails()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no alert e-mail after the scan")
		}
		time.Sleep(100 * time.Millisecond)
	}
	m := mb.Mails()[0]
	if !strings.Contains(m.Subject, "Exact Globe+ mail expires in") || m.To[0] != "ops@contoso.example" {
		t.Errorf("alert = %q to %v", m.Subject, m.To)
	}
}
