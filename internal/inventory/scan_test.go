package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/entrasim"
	"github.com/appreg-portal/portal/internal/inventory"
	"github.com/appreg-portal/portal/internal/pgtest"
	"github.com/appreg-portal/portal/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// scanWorld is a customer tenant in the emulator with apps, the portal app
// consented there, and the tenant in the portal's database.
type scanWorld struct {
	sim     *entrasim.Sim
	st      *store.Store
	scanner *inventory.Scanner
	tenant  store.Tenant
	apps    []entrasim.AppCreated
}

func newScanWorld(tb testing.TB, apps int, o entrasim.Options) *scanWorld {
	tb.Helper()
	w := &scanWorld{sim: entrasim.New(o), st: pgtest.NewStore(tb)}
	srv := httptest.NewServer(w.sim)
	tb.Cleanup(srv.Close)
	w.sim.SetBaseURL(srv.URL)
	tid, err := w.sim.CreateTenant("Fabrikam", "fabrikam.example")
	if err != nil {
		tb.Fatal(err)
	}
	portal, err := w.sim.CreateApplication(tid, entrasim.AppSpec{DisplayName: "Scanner", ApplicationPermissions: []string{"Application.Read.All"}, Secret: true})
	if err != nil {
		tb.Fatal(err)
	}
	for i := range apps {
		a, err := w.sim.CreateApplication(tid, entrasim.AppSpec{DisplayName: fmt.Sprintf("App %d", i), Secret: true})
		if err != nil {
			tb.Fatal(err)
		}
		w.apps = append(w.apps, a)
	}
	w.scanner = inventory.New(inventory.Config{Authority: srv.URL, GraphURL: srv.URL + "/v1.0", ClientID: portal.AppID, ClientSecret: portal.SecretText}, w.st)
	if w.tenant, err = w.st.CreateTenant(context.Background(), store.Tenant{EntraTenantID: tid, DisplayName: "Fabrikam", Status: "connected"},
		store.AuditEvent{Action: "tenant.create"}); err != nil {
		tb.Fatal(err)
	}
	return w
}

func (w *scanWorld) scan(tb testing.TB) store.ScanResult {
	tb.Helper()
	res, err := w.scanner.Scan(context.Background(), w.tenant)
	if err != nil {
		tb.Fatalf("Scan() = %+v, %v", res, err)
	}
	return res
}

// The first scan lists everything in pages of 999; a re-scan of an
// unchanged tenant reads one delta page; a changed application is read
// from the delta and recorded; an expired delta link makes the scan list
// everything again. The counts derived for the dashboard follow.
func TestRescansReadOnlyChanges(t *testing.T) {
	ctx := context.Background()
	w := newScanWorld(t, 1500, entrasim.Options{})
	// Every scan also checks what the portal holds in the tenant: its own service principal, its
	// app role assignments and Microsoft Graph's service principal (3 requests).
	const grantedCheck = 3
	first := w.scan(t)
	// 2 latest delta links + 2 pages of applications + 2 of service principals (one per app, and the portal's).
	if first.Delta || first.Requests != 6+grantedCheck || first.Found != 1501 || first.New != 1501 {
		t.Errorf("first scan = %+v, want a full listing in 6+%d requests finding 1,501 secrets", first, grantedCheck)
	}
	again := w.scan(t)
	// 1 delta page of applications + 1 of service principals.
	if !again.Delta || again.Requests != 2+grantedCheck || again.Found != 1501 || again.New != 0 || again.Removed != 0 {
		t.Errorf("unchanged re-scan = %+v, want a delta scan in 2 requests changing nothing", again)
	}
	// One app gets a second secret, ending in 5 days.
	if _, err := w.sim.AddSecret(w.apps[7].ID, "second", "", time.Now(), time.Now().Add(5*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	changed := w.scan(t)
	if !changed.Delta || changed.Requests != 2+grantedCheck || changed.Found != 1502 || changed.New != 1 {
		t.Errorf("re-scan after a change = %+v, want a delta scan in 2 requests finding 1 new", changed)
	}
	sum, _, err := w.st.CredentialSummary(ctx, w.tenant.ID, time.Now())
	if err != nil || sum.Total != 1502 || sum.Within30 != 1 {
		t.Errorf("CredentialSummary() after the delta scan = %+v, %v; want 1,502 live, 1 within 30 days", sum, err)
	}
	// A new application, with its service principal and a secret; a service principal deleted.
	if _, err := w.sim.CreateApplication(w.tenant.EntraTenantID, entrasim.AppSpec{DisplayName: "Newcomer", Secret: true}); err != nil {
		t.Fatal(err)
	}
	if err := w.sim.RemoveServicePrincipal(w.tenant.EntraTenantID, w.apps[9].AppID); err != nil {
		t.Fatal(err)
	}
	if res := w.scan(t); !res.Delta || res.Requests != 2+grantedCheck || res.Found != 1503 || res.New != 1 || res.Removed != 0 {
		t.Errorf("re-scan after a new app and a deleted service principal = %+v, want a delta scan in 2 requests finding 1 new", res)
	}
	// Delta links last 7 days; after that Graph answers 410 and the scan starts over.
	w.sim.Advance(8 * 24 * time.Hour)
	over := w.scan(t)
	if over.Delta || over.Found != 1503 || over.New != 0 || over.Removed != 0 {
		t.Errorf("scan after the delta link expired = %+v, want a full listing changing nothing", over)
	}
	if after := w.scan(t); !after.Delta || after.Requests != 2+grantedCheck {
		t.Errorf("scan after starting over = %+v, want a delta scan again", after)
	}
}

// A tenant being scanned (by another replica, or from the page) is not
// scanned again meanwhile: the second scan says so and changes nothing.
func TestOneScanPerTenantAtATime(t *testing.T) {
	ctx := context.Background()
	w := newScanWorld(t, 3, entrasim.Options{})
	if err := w.st.StartScan(ctx, w.tenant.ID, time.Minute); err != nil {
		t.Fatal(err)
	}
	if res, err := w.scanner.Scan(ctx, w.tenant); !errors.Is(err, inventory.ErrScanRunning) || res.Requests != 0 {
		t.Errorf("Scan() while another holds the tenant = %+v, %v; want ErrScanRunning and no request", res, err)
	}
	if n, _, _ := w.st.CredentialSummary(ctx, w.tenant.ID, time.Now()); n.Total != 0 {
		t.Errorf("the refused scan recorded %d credentials", n.Total)
	}
	if err := w.st.EndScan(ctx, w.tenant.ID); err != nil {
		t.Fatal(err)
	}
	if res := w.scan(t); res.Found != 4 {
		t.Errorf("Scan() after the other ended = %+v, want 4 credentials", res)
	}
	// The lease was given back: the next scan runs too.
	if res := w.scan(t); !res.Delta {
		t.Errorf("the following scan = %+v, want a delta scan", res)
	}
}
