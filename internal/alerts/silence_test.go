package alerts_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/mailtest"
	"github.com/appreg-portal/portal/internal/pgtest"
	"github.com/appreg-portal/portal/internal/store"
)

// clock is a settable alert clock.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

// mustCredentials returns the seeded credentials by application name, and
// the tenant's ID.
func mustCredentials(t *testing.T, st *store.Store) (map[string]store.Credential, int64) {
	t.Helper()
	creds, err := st.ListCredentials(context.Background(), store.CredentialFilter{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.Credential{}
	var tenantID int64
	for _, c := range creds {
		out[c.OwnerName] = c
		tenantID = c.TenantID
	}
	return out, tenantID
}

func mustSilence(t *testing.T, st *store.Store, sl store.AlertSilence) store.AlertSilence {
	t.Helper()
	sl.CreatedBy = "Oscar Operator"
	got, err := st.SetAlertSilence(context.Background(), sl, store.AuditEvent{Action: "alerts.silence"})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// mailedAbout counts, among mails from index from on, those naming owner.
func mailedAbout(mb *mailtest.Server, from int, owner string) int {
	n := 0
	for _, m := range mb.Mails()[from:] {
		if strings.Contains(m.Body, owner) {
			n++
		}
	}
	return n
}

// Snoozed, acknowledged and excluded credentials stay quiet and speak again
// when the snooze ends, on expiry after an acknowledgement, and when an
// exclusion is lifted; every change is in the audit log with who and why.
func TestSilencedCredentialsStayQuietAndResume(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	start := time.Now().UTC().Truncate(time.Second)
	seed(t, st, start)
	creds, tenantID := mustCredentials(t, st)
	globe, afas := creds["Exact Globe+"], creds["AFAS Profit"] // ends in 5 days; expired
	mb := mailtest.Start(t, "127.0.0.1:0")
	clk := &clock{start}
	a := alerts.New(alerts.Config{SMTP: alerts.SMTP{Addr: mb.Addr, From: "portal@contoso.example", TLS: "none"},
		Recipients: []string{"ops@contoso.example"}, PortalURL: "https://portal.contoso.example", Now: clk.Now}, st)

	snoozeEnd := start.Add(2 * 24 * time.Hour)
	mustSilence(t, st, store.AlertSilence{TenantID: tenantID, Scope: store.SilenceCredential, CredentialID: &globe.ID, Kind: store.SilenceSnooze,
		Until: &snoozeEnd, Reason: "vendor will renew on the 14th"})
	excl := mustSilence(t, st, store.AlertSilence{TenantID: tenantID, Scope: store.SilenceApplication, OwnerAppID: afas.OwnerAppID, Kind: store.SilenceExclude,
		Reason: "test tenant app, not in use"})

	for day := 0; day < 2; day++ {
		clk.t = start.Add(time.Duration(day) * 24 * time.Hour)
		res, err := a.Run(ctx)
		if err != nil || res.Queued != 0 || len(mb.Mails()) != 0 {
			t.Fatalf("day %d: run = %+v, %v, %d mails; want quiet (snoozed and excluded)", day, res, err, len(mb.Mails()))
		}
	}
	// The snooze ends: Exact Globe+ is alerted once; AFAS Profit stays excluded.
	clk.t = snoozeEnd.Add(time.Minute)
	res, err := a.Run(ctx)
	if err != nil || res.Queued != 1 || res.Mails != 1 {
		t.Fatalf("after the snooze: run = %+v, %v; want Exact Globe+ alone", res, err)
	}
	if mailedAbout(mb, 0, "Exact Globe+") != 1 || mailedAbout(mb, 0, "AFAS Profit") != 0 {
		t.Errorf("after the snooze: mails = %+v", mb.Mails())
	}
	// Lifting the exclusion: AFAS Profit is alerted at the next run, once.
	if _, err := st.LiftAlertSilence(ctx, excl.ID, store.AuditEvent{Action: "alerts.silence.lift", ActorName: "Oscar Operator"}); err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(time.Hour)
	before := len(mb.Mails())
	if res, err := a.Run(ctx); err != nil || res.Queued != 1 || mailedAbout(mb, before, "AFAS Profit") != 1 {
		t.Fatalf("after lifting the exclusion: run = %+v, %v", res, err)
	}

	// Acknowledged until it expires: quiet at the 1-day threshold, alerted on expiry.
	globeEnd := globe.EndsAt
	mustSilence(t, st, store.AlertSilence{TenantID: tenantID, Scope: store.SilenceCredential, CredentialID: &globe.ID, Kind: store.SilenceAcknowledge,
		Until: &globeEnd, Reason: "known, vendor is on it"})
	clk.t = globeEnd.Add(-12 * time.Hour)
	before = len(mb.Mails())
	if res, err := a.Run(ctx); err != nil || res.Queued != 0 || len(mb.Mails()) != before {
		t.Fatalf("acknowledged, a day before expiry: run = %+v, %v", res, err)
	}
	clk.t = globeEnd.Add(time.Minute)
	if res, err := a.Run(ctx); err != nil || res.Queued != 1 || mailedAbout(mb, before, "Exact Globe+") != 1 {
		t.Fatalf("acknowledged, on expiry: run = %+v, %v; want the expiry alert", res, err)
	}

	events, err := st.ListAudit(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, e := range events {
		if strings.HasPrefix(e.Action, "alerts.silence") {
			reasons = append(reasons, e.Action+":"+e.Details["kind"]+":"+e.Details["reason"])
		}
	}
	want := "alerts.silence:snooze:vendor will renew on the 14th alerts.silence:exclude:test tenant app, not in use " +
		"alerts.silence.lift:exclude:test tenant app, not in use alerts.silence:acknowledge:known, vendor is on it"
	if got := strings.Join(reverse(reasons), " "); got != want {
		t.Errorf("audit = %q\nwant %q", got, want)
	}
}

func reverse(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[len(s)-1-i] = x
	}
	return out
}

// A delivery that could not be sent before a snooze is held through it; when
// the snooze ends only the most urgent alert reached goes out, once.
func TestHeldThroughSnoozeThenMostUrgentOnce(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	start := time.Now().UTC().Truncate(time.Second)
	seed(t, st, start)
	creds, tenantID := mustCredentials(t, st)
	globe := creds["Exact Globe+"] // ends in 5 days and an hour: the 7-day alert is due
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	clk := &clock{start}
	a := alerts.New(alerts.Config{SMTP: alerts.SMTP{Addr: addr, From: "portal@contoso.example", TLS: "none"},
		Recipients: []string{"ops@contoso.example"}, Now: clk.Now}, st)
	if res, _ := a.Run(ctx); res.Failed != 2 {
		t.Fatalf("run with the mail server down = %+v, want 2 failed", res)
	}
	until := start.Add(4*24*time.Hour + 12*time.Hour) // past the 1-day threshold
	mustSilence(t, st, store.AlertSilence{TenantID: tenantID, Scope: store.SilenceCredential, CredentialID: &globe.ID, Kind: store.SilenceSnooze,
		Until: &until, Reason: "renewal booked"})
	mb := mailtest.Start(t, addr)
	clk.t = start.Add(time.Hour)
	res, err := a.Run(ctx)
	if err != nil || res.Held != 1 || res.Sent != 1 || mailedAbout(mb, 0, "Exact Globe+") != 0 {
		t.Fatalf("snoozed: run = %+v, %v; want Exact Globe+ held, AFAS Profit sent", res, err)
	}
	clk.t = until.Add(time.Minute)
	res, err = a.Run(ctx)
	if err != nil || res.Queued != 1 || res.Sent != 1 || mailedAbout(mb, 0, "Exact Globe+") != 1 {
		t.Fatalf("after the snooze: run = %+v, %v; want one alert (1 day) for Exact Globe+", res, err)
	}
	recent, err := st.RecentDeliveries(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range recent {
		if d.OwnerName == "Exact Globe+" {
			got[strconv.Itoa(d.ThresholdDays)] = d.Status
		}
	}
	if got["7"] != "resolved" || got["1"] != "sent" || len(got) != 2 {
		t.Errorf("Exact Globe+ deliveries by threshold = %v, want 7 resolved, 1 sent", got)
	}
	if res, err := a.Run(ctx); err != nil || res.Queued+res.Sent != 0 {
		t.Errorf("next run = %+v, %v; want nothing", res, err)
	}
}

// An alert resolves by itself when its credential is rotated (a newer one on
// the same application) or removed; excluded tenants stay quiet.
func TestAlertsResolveOnRotationAndRemoval(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	start := time.Now().UTC().Truncate(time.Second)
	seed(t, st, start)
	creds, tenantID := mustCredentials(t, st)
	globe := creds["Exact Globe+"]
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	a := alerts.New(alerts.Config{SMTP: alerts.SMTP{Addr: addr, From: "portal@contoso.example", TLS: "none"}, Recipients: []string{"ops@contoso.example"}}, st)
	if res, _ := a.Run(ctx); res.Failed != 2 {
		t.Fatalf("run with the mail server down = %+v, want 2 failed", res)
	}
	// The next scan finds Exact Globe+ with a newer secret beside it, and AFAS Profit's secret gone.
	newer := globe
	newer.KeyID, newer.DisplayName = "c0000000-0000-4000-8000-000000000009", "Exact Globe+ 2027"
	later := start.Add(time.Hour)
	newer.StartsAt, newer.EndsAt = &later, start.AddDate(1, 0, 0)
	if _, err := st.RecordScan(ctx, tenantID, []store.Credential{globe, newer, creds["ResourceXpress"]}, start.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	mb := mailtest.Start(t, addr)
	res, err := a.Run(ctx)
	if err != nil || res.Resolved != 2 || res.Queued != 0 || len(mb.Mails()) != 0 {
		t.Fatalf("after rotation and removal: run = %+v, %v, %d mails; want both resolved, nothing sent", res, err, len(mb.Mails()))
	}

	// A tenant excluded from alerts is quiet however much is due.
	mustSilence(t, st, store.AlertSilence{TenantID: tenantID, Scope: store.SilenceTenant, Kind: store.SilenceExclude, Reason: "customer offboarding"})
	if _, err := st.RecordScan(ctx, tenantID, []store.Credential{creds["AFAS Profit"]}, start.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if res, err := a.Run(ctx); err != nil || res.Queued != 0 || len(mb.Mails()) != 0 {
		t.Errorf("excluded tenant: run = %+v, %v; want quiet", res, err)
	}
}
