package alerts_test

import (
	"context"
	"html"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/mailtest"
	"github.com/appreg-portal/portal/internal/pgtest"
	"github.com/appreg-portal/portal/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// hrefRe finds the links of an HTML part.
var hrefRe = regexp.MustCompile(`<a href="([^"]*)"`)

func seed(t *testing.T, st *store.Store, now time.Time) {
	t.Helper()
	ctx := context.Background()
	tn, err := st.CreateTenant(ctx, store.Tenant{EntraTenantID: "fab41c4e-2d3b-4a5c-8e6f-7a8b9c0d1e2f", DisplayName: "Fabrikam", Status: "connected"}, store.AuditEvent{Action: "tenant.create"})
	if err != nil {
		t.Fatal(err)
	}
	c := func(key, owner string, endsIn time.Duration) store.Credential {
		return store.Credential{OwnerKind: "application", OwnerObjectID: "0a0a0a0a-0000-4000-8000-00000000000" + key[len(key)-1:], OwnerAppID: "app-" + owner,
			OwnerName: owner, KeyID: key, Kind: "password", DisplayName: owner + " secret", Hint: "Xy~", EndsAt: now.Add(endsIn)}
	}
	if _, err := st.RecordScan(ctx, tn.ID, []store.Credential{
		c("c0000000-0000-4000-8000-000000000001", "Exact Globe+", 5*24*time.Hour+time.Hour), // 7-day threshold
		c("c0000000-0000-4000-8000-000000000002", "AFAS Profit", -2*24*time.Hour),           // expired: threshold 0
		c("c0000000-0000-4000-8000-000000000003", "ResourceXpress", 200*24*time.Hour),       // nothing due
	}, now); err != nil {
		t.Fatal(err)
	}
}

func TestAlertRunSendsOneDigestPerRecipientOnce(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	now := time.Now()
	seed(t, st, now)
	mb := mailtest.Start(t, "127.0.0.1:0")
	a := alerts.New(alerts.Config{
		SMTP:       alerts.SMTP{Addr: mb.Addr, From: "portal@contoso.example", TLS: "none"},
		Recipients: []string{"ops@contoso.example", "ada@contoso.example"},
		PortalURL:  "https://portal.contoso.example",
	}, st)

	ids := map[string]int64{}
	creds, err := st.ListCredentials(ctx, store.CredentialFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range creds {
		ids[c.OwnerName] = c.ID
	}
	msgIDs := map[string]bool{}
	res, err := a.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts(res) != (alerts.RunResult{Queued: 4, Sent: 4, Mails: 2}) {
		t.Errorf("first run = %+v, want 2 due credentials × 2 recipients in 2 digests", res)
	}
	mails := mb.Mails()
	if len(mails) != 2 {
		t.Fatalf("mails = %d, want 2", len(mails))
	}
	for _, m := range mails {
		if m.Subject != "[AppReg Portal] 1 expired: AFAS Profit and 1 more need attention" {
			t.Errorf("subject = %q", m.Subject)
		}
		for _, want := range []string{"Exact Globe+", "AFAS Profit", "Fabrikam",
			"c0000000-0000-4000-8000-000000000001", "https://portal.contoso.example/?within=30"} {
			if !strings.Contains(m.Body, want) {
				t.Errorf("mail to %v lacks %q:\n%s", m.To, want, m.Body)
			}
		}
		if strings.Contains(m.Body, "ResourceXpress") || strings.Contains(m.HTML, "ResourceXpress") {
			t.Error("a credential with nothing due was mailed")
		}
		if m.ContentType != "multipart/alternative" {
			t.Errorf("Content-Type = %q, want multipart/alternative", m.ContentType)
		}
		for _, want := range []string{"Exact Globe+ stops signing in to tenant Fabrikam in 5 days", "AFAS Profit has stopped signing in to tenant Fabrikam",
			"Rotate it: https://portal.contoso.example/credentials/" + strconv.FormatInt(ids["Exact Globe+"], 10),
			"Rotate it: https://portal.contoso.example/credentials/" + strconv.FormatInt(ids["AFAS Profit"], 10)} {
			if !strings.Contains(m.Body, want) {
				t.Errorf("text part lacks %q:\n%s", want, m.Body)
			}
		}
		var links []string
		for _, m := range hrefRe.FindAllStringSubmatch(m.HTML, -1) {
			links = append(links, html.UnescapeString(m[1]))
		}
		wantLinks := []string{"https://portal.contoso.example/credentials/" + strconv.FormatInt(ids["AFAS Profit"], 10),
			"https://portal.contoso.example/credentials/" + strconv.FormatInt(ids["Exact Globe+"], 10), "https://portal.contoso.example/?within=30"}
		if !slices.Equal(links, wantLinks) {
			t.Errorf("HTML links = %q, want %q", links, wantLinks)
		}
		if !strings.Contains(html.UnescapeString(m.HTML), "Exact Globe+ stops signing in to tenant Fabrikam") {
			t.Errorf("HTML part lacks the sentence:\n%s", m.HTML)
		}
		if !regexp.MustCompile(`^<alert-\d+\.[0-9a-f]{16}@portal\.contoso\.example>$`).MatchString(m.MessageID) {
			t.Errorf("Message-ID = %q", m.MessageID)
		}
		msgIDs[m.MessageID] = true
		if strings.Contains(m.Raw, "Xy~") {
			t.Error("the mail carries part of a secret (its hint)")
		}
	}

	if len(msgIDs) != 2 {
		t.Errorf("Message-IDs %v, want one per recipient", msgIDs)
	}
	// Not repeated.
	if res, err := a.Run(ctx); err != nil || counts(res) != (alerts.RunResult{}) {
		t.Errorf("second run = %+v, %v; want nothing to do", res, err)
	}
	if len(mb.Mails()) != 2 {
		t.Errorf("mails after the second run = %d, want still 2", len(mb.Mails()))
	}
}

func TestAlertsSurviveAnSMTPOutage(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	now := time.Now()
	seed(t, st, now)
	// Reserve an address, then leave it closed: the mail server is down.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	a := alerts.New(alerts.Config{SMTP: alerts.SMTP{Addr: addr, From: "portal@contoso.example", TLS: "none"}, Recipients: []string{"ops@contoso.example"}}, st)
	res, err := a.Run(ctx)
	if err == nil || res.Failed != 2 || res.Sent != 0 {
		t.Fatalf("run with SMTP down = %+v, %v; want 2 failed and an error", res, err)
	}
	recent, _ := st.RecentDeliveries(ctx, 10)
	for _, d := range recent {
		if d.Status != "failed" || d.Attempts != 1 || d.Failure != string(alerts.ReasonUnreachable) {
			t.Errorf("delivery after the outage = %+v, want failed once, reason %q", d, alerts.ReasonUnreachable)
		}
	}
	// The server comes back on the same address: the next run delivers.
	mb := mailtest.Start(t, addr)
	res, err = a.Run(ctx)
	if err != nil || res.Sent != 2 || res.Mails != 1 || len(mb.Mails()) != 1 {
		t.Fatalf("run after the outage = %+v, %v, %d mails", res, err, len(mb.Mails()))
	}
	if got := mb.Mails()[0].MessageID; !strings.HasPrefix(got, "<alert-") || !strings.HasSuffix(got, "@contoso.example>") {
		t.Errorf("Message-ID = %q, want <alert-…@contoso.example>", got)
	}
}

func TestDisabledWithoutServer(t *testing.T) {
	st := pgtest.NewStore(t)
	a := alerts.New(alerts.Config{Recipients: []string{"ops@contoso.example"}}, st)
	if a.Enabled() {
		t.Error("Enabled() without an SMTP server = true")
	}
	if res, err := a.Run(context.Background()); err != nil || counts(res) != (alerts.RunResult{}) {
		t.Errorf("Run() disabled = %+v, %v", res, err)
	}
}

func TestTenantContactsGetTheirTenantsAlerts(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	now := time.Now()
	seed(t, st, now)
	ts, err := st.ListTenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The portal-wide list also names the contact, in other letters: one mail, not two.
	if err := st.SetTenantContacts(ctx, ts[0].ID, []string{"it@fabrikam.example", "ops@contoso.example"}, store.AuditEvent{Action: "tenant.contacts"}); err != nil {
		t.Fatal(err)
	}
	mb := mailtest.Start(t, "127.0.0.1:0")
	a := alerts.New(alerts.Config{SMTP: alerts.SMTP{Addr: mb.Addr, From: "portal@contoso.example", TLS: "none"}, Recipients: []string{"OPS@contoso.example"}}, st)
	res, err := a.Run(ctx)
	if err != nil || res.Mails != 2 || res.Sent != 4 {
		t.Fatalf("run = %+v, %v; want 2 mails (ops, it@fabrikam) with 2 items each", res, err)
	}
	var to []string
	for _, m := range mb.Mails() {
		to = append(to, m.To...)
	}
	slices.Sort(to)
	if strings.Join(to, " ") != "it@fabrikam.example ops@contoso.example" {
		t.Errorf("mailed %v", to)
	}
}

// A secret whose rotation has added its successor gets no more alerts: the
// admin's next step is to confirm, not to be told it expires. A rotation
// still waiting for the sign-in does not silence it.
func TestRotatedSecretsStopAlerting(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	now := time.Now()
	seed(t, st, now)
	creds, err := st.ListCredentials(ctx, store.CredentialFilter{})
	if err != nil {
		t.Fatal(err)
	}
	rotate := func(c store.Credential, id string) string {
		r, err := st.CreateRotation(ctx, store.Rotation{ID: id, TenantID: "fab41c4e-2d3b-4a5c-8e6f-7a8b9c0d1e2f", AppObjectID: c.OwnerObjectID,
			ClientID: c.OwnerAppID, AppName: c.OwnerName, OldKeyID: c.KeyID, NewName: c.DisplayName + " (rotated)"}, c.ID, "", store.AuditEvent{Action: "rotation.start"})
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	var globe, afas store.Credential
	for _, c := range creds {
		switch c.OwnerName {
		case "Exact Globe+":
			globe = c
		case "AFAS Profit":
			afas = c
		}
	}
	rotate(afas, "22222222-0000-4000-8000-000000000001") // still at sign-in
	id := rotate(globe, "22222222-0000-4000-8000-000000000002")
	if _, err := st.BeginRotationStep(ctx, id, []string{store.RotSignIn}, store.RotApplying, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordRotationSecret(ctx, id, "d0000000-0000-4000-8000-000000000001", "Ab~", now.AddDate(1, 0, 0), store.AuditEvent{Action: "rotation.secret"}); err != nil {
		t.Fatal(err)
	}
	mb := mailtest.Start(t, "127.0.0.1:0")
	a := alerts.New(alerts.Config{SMTP: alerts.SMTP{Addr: mb.Addr, From: "portal@contoso.example", TLS: "none"},
		Recipients: []string{"ops@contoso.example"}, PortalURL: "https://portal.contoso.example"}, st)
	res, err := a.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Queued != 1 {
		t.Errorf("queued %d alerts, want 1 (AFAS only; Exact Globe+ is being rotated)", res.Queued)
	}
	for _, m := range mb.Mails() {
		if strings.Contains(m.Body, "Exact Globe+") {
			t.Error("the secret in rotation overlap was alerted")
		}
	}
}

// Remind mails each address once: the portal's recipients and the tenant's contacts.
func TestRemindMailsEveryRecipientOnce(t *testing.T) {
	st := pgtest.NewStore(t)
	mb := mailtest.Start(t, "127.0.0.1:0")
	a := alerts.New(alerts.Config{SMTP: alerts.SMTP{Addr: mb.Addr, From: "portal@contoso.example", TLS: "none"},
		Recipients: []string{"ops@contoso.example"}, PortalURL: "https://portal.contoso.example"}, st)
	if err := a.Remind(context.Background(), 0, []string{"it@fabrikam.example", "OPS@contoso.example"}, func(*i18n.Localizer) (string, string) {
		return "[AppReg Portal] Tomorrow", "The old secret goes."
	}); err != nil {
		t.Fatal(err)
	}
	mails := mb.Mails()
	if len(mails) != 2 {
		t.Fatalf("%d mails, want 2 (ops once, it@fabrikam once)", len(mails))
	}
	for _, m := range mails {
		if m.Subject != "[AppReg Portal] Tomorrow" || !strings.Contains(m.Body, "https://portal.contoso.example") {
			t.Errorf("mail %q: %s", m.Subject, m.Body)
		}
	}
}

// counts is a run's result without its timing, for comparing.
func counts(r alerts.RunResult) alerts.RunResult {
	r.Selection = 0
	return r
}
