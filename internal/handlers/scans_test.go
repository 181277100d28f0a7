package handlers_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/entrasim"
	"github.com/appreg-portal/portal/internal/handlers"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/internal/testenv"
)

// seedFabrikam gives the customer tenant apps with secrets and a certificate
// at known distances from now.
func seedFabrikam(t *testing.T, e *flowEnv) {
	t.Helper()
	now := time.Now()
	globe, err := e.Sim.CreateApplication(e.Other, entrasim.AppSpec{DisplayName: "Exact Globe+ mail"})
	must(t, err)
	_, err = e.Sim.AddSecret(globe.ID, "globe 2025", "", now.Add(-700*24*time.Hour), now.Add(-3*24*time.Hour))
	must(t, err)
	_, err = e.Sim.AddSecret(globe.ID, "globe 2026", "", now.Add(-300*24*time.Hour), now.Add(12*24*time.Hour))
	must(t, err)
	afas, err := e.Sim.CreateApplication(e.Other, entrasim.AppSpec{DisplayName: "AFAS Profit sync"})
	must(t, err)
	der, _, err := entrasim.NewCertificate("afas", now.Add(-24*time.Hour), now.Add(200*24*time.Hour))
	must(t, err)
	_, err = e.Sim.AddCertificate(afas.ID, der, "afas cert", now.Add(-24*time.Hour), now.Add(200*24*time.Hour))
	must(t, err)
}

func connectFabrikam(t *testing.T, e *flowEnv) store.Tenant {
	t.Helper()
	link := makeConsentLink(t, e, "Fabrikam", "fabrikam.example")
	if status, page := consent(t, e, link, "fiona"); status != 200 {
		t.Fatalf("consent = %d\n%.800s", status, page)
	}
	tenants, err := e.Store.ListTenants(context.Background())
	must(t, err)
	return tenants[0]
}

func TestScanFillsTheDashboard(t *testing.T) {
	e := newFlowEnv(t)
	seedFabrikam(t, e)
	tn := connectFabrikam(t, e)

	// Connecting starts a first scan in the background.
	deadline := time.Now().Add(10 * time.Second)
	for {
		creds, err := e.Store.ListCredentials(context.Background(), store.CredentialFilter{TenantID: tn.ID})
		must(t, err)
		if len(creds) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after connecting, the background scan found %d credentials, want 3", len(creds))
		}
		time.Sleep(100 * time.Millisecond)
	}

	op := e.browser()
	op.signIn("oscar")
	resp, page := op.postForm("/tenants/"+itoa(tn.ID)+"/scan", nil)
	if resp.StatusCode != 200 || resp.Request.URL.RequestURI() != "/?tenant="+itoa(tn.ID) {
		t.Fatalf("scan now = %d at %s", resp.StatusCode, resp.Request.URL)
	}
	for _, want := range []string{
		`data-testid="stat-expired">1<`, `data-testid="stat-within30">1<`, `data-testid="stat-tracked">3<`,
		"Exact Globe+ mail", "AFAS Profit sync", "expired 3 days ago", "in 11 days", `data-testid="expiry-timeline"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if strings.Count(page, `data-testid="credential-row"`) != 3 {
		t.Errorf("dashboard shows %d rows, want 3", strings.Count(page, `data-testid="credential-row"`))
	}
	// Operators may rotate the two secrets; the certificate says plainly that it is renewed elsewhere.
	if n := strings.Count(page, `data-testid="rotate-`); n != 2 {
		t.Errorf("dashboard offers Rotate on %d credentials, want the 2 secrets", n)
	}
	if strings.Count(page, `data-testid="not-rotated-`) != 1 || !strings.Contains(page, "A certificate is not rotated here") {
		t.Error("the certificate row does not say it is not rotated here")
	}
	// Filters.
	if _, p := op.get(e.Portal.URL + "/?within=30"); strings.Count(p, `data-testid="credential-row"`) != 2 {
		t.Errorf("within 30 days shows %d rows, want 2 (expired + 12 days)", strings.Count(p, `data-testid="credential-row"`))
	}
	if r, _ := op.get(e.Portal.URL + "/?within=7000"); r.StatusCode != http.StatusBadRequest {
		t.Errorf("bad filter = %d, want 400", r.StatusCode)
	}
	// The CSV export carries the same rows, and no column for a secret's hint.
	resp, csvBody := op.get(e.Portal.URL + "/credentials.csv?within=30")
	lines := strings.Split(strings.TrimSpace(csvBody), "\n")
	if resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" || len(lines) != 3 || !strings.HasPrefix(lines[0], "tenant,application,") || strings.Contains(lines[0], "hint") ||
		!strings.Contains(csvBody, "Exact Globe+ mail") || !strings.Contains(lines[1], ",expired") {
		t.Errorf("credentials.csv = %q", csvBody)
	}
	// days_left is a number a spreadsheet can sort: negative for the expired one, never quoted as text.
	if rec, err := csv.NewReader(strings.NewReader(csvBody)).ReadAll(); err != nil || len(rec) < 2 || !strings.HasPrefix(rec[1][10], "-") {
		t.Errorf("days_left of the expired credential = %q (%v)", rec, err)
	} else if _, err := strconv.Atoi(rec[1][10]); err != nil {
		t.Errorf("days_left %q is not a number", rec[1][10])
	}
	// JSON for scripts.
	resp, jsonBody := op.get(e.Portal.URL + "/credentials.json")
	var exported struct {
		Credentials []struct {
			Application string `json:"application"`
			State       string `json:"state"`
			DaysLeft    int    `json:"daysLeft"`
		} `json:"credentials"`
	}
	if err := json.Unmarshal([]byte(jsonBody), &exported); err != nil || resp.Header.Get("Content-Type") != "application/json" || len(exported.Credentials) != 3 ||
		exported.Credentials[0].State != "expired" || exported.Credentials[2].Application != "AFAS Profit sync" {
		t.Errorf("credentials.json = %v %+v", err, exported)
	}
	// iCalendar: an all-day event with reminders for each credential still to expire.
	resp, ics := op.get(e.Portal.URL + "/credentials.ics")
	if resp.Header.Get("Content-Type") != "text/calendar; charset=utf-8" || strings.Count(ics, "BEGIN:VEVENT") != 2 ||
		strings.Count(ics, "TRIGGER:-P14D") != 2 || !strings.HasPrefix(ics, "BEGIN:VCALENDAR\r\n") || !strings.Contains(ics, "SUMMARY:Client secret expires: Exact Globe+ mail (Fabrikam)") {
		t.Errorf("credentials.ics =\n%s", ics)
	}
	for _, l := range strings.Split(ics, "\r\n") {
		if len(l) > 75 {
			t.Errorf("unfolded iCalendar line of %d octets: %q", len(l), l)
		}
	}
	if ev, _ := e.Store.ListAudit(context.Background(), store.AuditFilter{Action: "tenant.scan"}); len(ev) != 1 || ev[0].Details["found"] != "3" {
		t.Errorf("audit tenant.scan = %+v", ev)
	}
	// Viewers may look but not scan.
	v := e.browser()
	v.signIn("vera")
	if r, _ := v.postForm("/tenants/"+itoa(tn.ID)+"/scan", nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("viewer scan = %d, want 403", r.StatusCode)
	}
	if _, p := v.get(e.Portal.URL + "/"); strings.Count(p, `data-testid="credential-row"`) != 3 || strings.Contains(p, `data-testid="rotate-`) || strings.Contains(p, `data-testid="not-rotated-`) {
		t.Error("a viewer's dashboard offers rotation (or explains why not)")
	}
}

func TestScanAfterConsentRevokedKeepsTheInventory(t *testing.T) {
	e := newFlowEnv(t)
	seedFabrikam(t, e)
	tn := connectFabrikam(t, e)
	op := e.browser()
	op.signIn("oscar")
	if r, _ := op.postForm("/tenants/"+itoa(tn.ID)+"/scan", nil); r.StatusCode != 200 {
		t.Fatalf("first scan = %d", r.StatusCode)
	}
	must(t, e.Sim.RevokeConsent(e.Other, e.AppID))
	resp, page := op.postForm("/tenants/"+itoa(tn.ID)+"/scan", nil)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(page, "The scan did not finish") {
		t.Fatalf("scan after revocation = %d\n%.800s", resp.StatusCode, page)
	}
	if _, list := op.get(e.Portal.URL + "/tenants"); !strings.Contains(list, "consent may have been revoked") {
		t.Error("the tenants page does not say why the scan failed")
	}
	if creds, _ := e.Store.ListCredentials(context.Background(), store.CredentialFilter{TenantID: tn.ID}); len(creds) != 3 {
		t.Errorf("a failed scan changed the inventory: %d credentials, want 3", len(creds))
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestAlertsPage(t *testing.T) {
	e := newFlowEnv(t)
	b := e.browser()
	b.signIn("vera")
	if _, page := b.get(e.Portal.URL + "/alerts"); !strings.Contains(page, `data-testid="alerts-not-configured"`) || !strings.Contains(page, "PORTAL_SMTP_ADDR") {
		t.Errorf("alerts page without SMTP does not say how to turn alerts on")
	}

	on := newFlowEnvWith(t, testenv.Options{Alerts: handlers.AlertSettings{Enabled: true, From: "portal@contoso.example",
		Recipients: []string{"ops@contoso.example"}, Thresholds: []int{30, 7, 0}}})
	b = on.browser()
	b.signIn("vera")
	_, page := b.get(on.Portal.URL + "/alerts")
	for _, want := range []string{`data-testid="alerts-policy"`, "ops@contoso.example", "30 and 7 days before expiry, and on the day of expiry", `data-testid="deliveries-empty"`} {
		if !strings.Contains(page, want) {
			t.Errorf("alerts page lacks %q", want)
		}
	}
	// A failed delivery shows why in plain words, never the mail server's reply.
	ctx := context.Background()
	now := time.Now()
	tn, err := on.Store.CreateTenant(ctx, store.Tenant{EntraTenantID: "fab41c4e-2d3b-4a5c-8e6f-7a8b9c0d1e2f", DisplayName: "Fabrikam", Status: "connected"}, store.AuditEvent{Action: "tenant.create"})
	must(t, err)
	_, err = on.Store.RecordScan(ctx, tn.ID, []store.Credential{{OwnerKind: "application", OwnerObjectID: "0a0a0a0a-0000-4000-8000-000000000001",
		OwnerAppID: "app-1", OwnerName: "AFAS Profit", KeyID: "c0000000-0000-4000-8000-000000000001", Kind: "password", EndsAt: now.Add(48 * time.Hour)}}, now)
	must(t, err)
	_, err = on.Store.QueueDueAlerts(ctx, now, []int{7}, []string{"ops@contoso.example"}, true)
	must(t, err)
	dgs, err := on.Store.OpenDigests(ctx, 5, 50, now)
	must(t, err)
	if len(dgs) != 1 {
		t.Fatalf("open digests = %d, want 1", len(dgs))
	}
	must(t, on.Store.MarkDigest(ctx, dgs[0].Recipient, dgs[0].LastID, 5, string(alerts.ReasonAuth), now))
	_, page = b.get(on.Portal.URL + "/alerts")
	want := `data-testid="delivery-reason">The mail server refused the portal&#39;s user name or password.</small>`
	if !strings.Contains(page, want) {
		t.Errorf("alerts page lacks the failure reason %s", want)
	}
}

func TestTenantContacts(t *testing.T) {
	e := newFlowEnv(t)
	tn := connectFabrikam(t, e)
	op := e.browser()
	op.signIn("oscar")
	path := "/tenants/" + itoa(tn.ID) + "/contacts"
	resp, page := op.postForm(path, url.Values{"contacts": {"IT@fabrikam.example\nsecurity@fabrikam.example, it@fabrikam.example"}})
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/tenants" || !strings.Contains(page, "security@fabrikam.example") {
		t.Fatalf("save contacts = %d at %s", resp.StatusCode, resp.Request.URL.Path)
	}
	got, err := e.Store.GetTenant(context.Background(), tn.ID)
	must(t, err)
	if strings.Join(got.Contacts, " ") != "it@fabrikam.example security@fabrikam.example" {
		t.Errorf("contacts = %v, want both, lower case, once each", got.Contacts)
	}
	if resp, page := op.postForm(path, url.Values{"contacts": {"it@fabrikam.example\nBob <bob@x.example>"}}); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "is not an e-mail address") || !strings.Contains(page, "Bob &lt;bob@x.example&gt;") {
		t.Errorf("bad address = %d", resp.StatusCode)
	}
	if ev, _ := e.Store.ListAudit(context.Background(), store.AuditFilter{Action: "tenant.contacts"}); len(ev) != 1 {
		t.Errorf("audit tenant.contacts = %d rows, want 1 (the refused change is not applied)", len(ev))
	}
	v := e.browser()
	v.signIn("vera")
	if resp, _ := v.postForm(path, url.Values{"contacts": {"x@y.example"}}); resp.StatusCode != 403 {
		t.Errorf("viewer sets contacts = %d, want 403", resp.StatusCode)
	}
}
