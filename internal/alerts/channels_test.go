package alerts_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/pgtest"
	"github.com/appreg-portal/portal/internal/seal"
	"github.com/appreg-portal/portal/internal/store"
)

// receiver is a real HTTP webhook receiver on loopback that keeps what it
// gets and answers with status (200 unless set).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	status int
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{status: http.StatusOK}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if rc.status == http.StatusOK {
			rc.got = append(rc.got, received{header: r.Header.Clone(), body: body})
		}
		w.WriteHeader(rc.status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) received() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func (rc *receiver) setStatus(s int) { rc.mu.Lock(); rc.status = s; rc.mu.Unlock() }

func newTestSealer(t *testing.T) *seal.Sealer {
	t.Helper()
	key, err := seal.ParseKey(seal.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	s, err := seal.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const hookSecret = "whsec-0123456789abcdef0123456789abcdef"

// Teams, Slack and a signed JSON webhook each get exactly one message per
// due digest, in their format, with the rotate links; the JSON's HMAC
// verifies; the URLs are sealed in Postgres; a tenant's channel gets only
// its tenant's alerts.
func TestChannelsReceiveOneMessageEach(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	now := time.Now()
	seed(t, st, now)
	creds, fabrikam := mustCredentials(t, st)
	other, err := st.CreateTenant(ctx, store.Tenant{EntraTenantID: "0e0e0e0e-2d3b-4a5c-8e6f-7a8b9c0d1e2f", DisplayName: "Northwind", Status: "connected"}, store.AuditEvent{Action: "tenant.create"})
	if err != nil {
		t.Fatal(err)
	}
	teams, slack, hook, otherHook := newReceiver(t), newReceiver(t), newReceiver(t), newReceiver(t)
	a := alerts.New(alerts.Config{PortalURL: "https://portal.contoso.example", Sealer: newTestSealer(t)}, st)
	add := func(kind, url, secret string, tenant *int64) store.AlertChannel {
		t.Helper()
		ch, err := a.AddChannel(ctx, alerts.NewChannel{Kind: kind, Name: kind + " channel", URL: url, Secret: secret, TenantID: tenant, CreatedBy: "Ada Admin"},
			store.AuditEvent{Action: "alerts.channel.add"})
		if err != nil {
			t.Fatal(err)
		}
		return ch
	}
	add(alerts.ChannelTeams, teams.URL+"/workflows/abc?sig=teamskey", "", nil)
	add(alerts.ChannelSlack, slack.URL+"/services/T0/B0/slackkey", "", nil)
	add(alerts.ChannelWebhook, hook.URL+"/hook?token=hookkey", hookSecret, &fabrikam)
	add(alerts.ChannelWebhook, otherHook.URL+"/hook", hookSecret, &other.ID) // Northwind has nothing due

	res, err := a.Run(ctx)
	if err != nil || res.Mails != 3 || res.Sent != 6 {
		t.Fatalf("run = %+v, %v; want 3 messages with 2 credentials each", res, err)
	}
	if res, err := a.Run(ctx); err != nil || res.Sent+res.Queued != 0 {
		t.Errorf("second run = %+v, %v; want nothing", res, err)
	}
	if len(teams.received()) != 1 || len(slack.received()) != 1 || len(hook.received()) != 1 || len(otherHook.received()) != 0 {
		t.Fatalf("received teams %d, slack %d, hook %d, other tenant's hook %d; want 1, 1, 1, 0",
			len(teams.received()), len(slack.received()), len(hook.received()), len(otherHook.received()))
	}
	rotate := func(name string) string {
		return "https://portal.contoso.example/credentials/" + strconv.FormatInt(creds[name].ID, 10)
	}

	// The signed JSON.
	r := hook.received()[0]
	ts, err := strconv.ParseInt(r.header.Get(alerts.HeaderTimestamp), 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)) > time.Minute {
		t.Errorf("timestamp header %q", r.header.Get(alerts.HeaderTimestamp))
	}
	if want := alerts.Sign([]byte(hookSecret), time.Unix(ts, 0), r.body); !hmac.Equal([]byte(r.header.Get(alerts.HeaderSignature)), []byte(want)) {
		t.Errorf("signature %q does not verify (want %q)", r.header.Get(alerts.HeaderSignature), want)
	}
	var p alerts.Payload
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("payload does not match schema %s: %v", alerts.PayloadSchema, err)
	}
	if p.Schema != "appreg-portal.alerts.v1" || p.Total != 2 || p.Expired != 1 || len(p.Items) != 2 || p.MessageID == "" || p.MessageID != r.header.Get(alerts.HeaderMessageID) {
		t.Errorf("payload = %+v", p)
	}
	if p.Items[0].Application != "AFAS Profit" || !p.Items[0].Expired || p.Items[0].RotateURL != rotate("AFAS Profit") || p.Items[0].Tenant != "Fabrikam" ||
		p.Items[1].Application != "Exact Globe+" || p.Items[1].Expired || p.Items[1].ThresholdDays != 7 || p.Items[1].RotateURL != rotate("Exact Globe+") ||
		!strings.HasPrefix(p.Items[1].Message, "Exact Globe+ stops signing in to tenant Fabrikam in 5 days") {
		t.Errorf("payload items = %+v", p.Items)
	}

	// The Adaptive Card.
	var card struct {
		Type        string
		Attachments []struct {
			ContentType string
			Content     struct {
				Type, Version string
				Body          []struct {
					Type    string
					Inlines []struct{ Type, Text string }
				}
				Actions []struct{ Type, Title, URL string }
			}
		}
	}
	if err := json.Unmarshal(teams.received()[0].body, &card); err != nil {
		t.Fatal(err)
	}
	if card.Type != "message" || len(card.Attachments) != 1 || card.Attachments[0].ContentType != "application/vnd.microsoft.card.adaptive" ||
		card.Attachments[0].Content.Type != "AdaptiveCard" || card.Attachments[0].Content.Version != "1.4" {
		t.Fatalf("Teams message = %s", teams.received()[0].body)
	}
	c := card.Attachments[0].Content
	if len(c.Body) != 3 || c.Body[2].Type != "RichTextBlock" || len(c.Body[2].Inlines) != 1 || c.Body[2].Inlines[0].Type != "TextRun" ||
		!strings.Contains(c.Body[2].Inlines[0].Text, "Exact Globe+ stops signing in") || len(c.Actions) != 2 ||
		c.Actions[0].Type != "Action.OpenUrl" || c.Actions[0].URL != rotate("AFAS Profit") || c.Actions[1].URL != rotate("Exact Globe+") {
		t.Errorf("card = %+v", c)
	}

	// Slack.
	var sm struct {
		Text   string
		Blocks []struct {
			Type string
			Text struct{ Type, Text string }
		}
	}
	if err := json.Unmarshal(slack.received()[0].body, &sm); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sm.Text, "1 expired") || len(sm.Blocks) != 3 || sm.Blocks[2].Text.Type != "mrkdwn" ||
		!strings.Contains(sm.Blocks[2].Text.Text, "<"+rotate("Exact Globe+")+"|Rotate it>") {
		t.Errorf("Slack message = %s", slack.received()[0].body)
	}

	// Sealed at rest: no URL, key or secret in Postgres, only the host.
	var dump string
	if err := st.Pool().QueryRow(ctx, `SELECT string_agg(encode(url_sealed, 'escape') || coalesce(encode(secret_sealed, 'escape'), '') || url_hint, ' ') FROM alert_channels`).Scan(&dump); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"teamskey", "slackkey", "hookkey", "whsec-", "/workflows", "/services"} {
		if strings.Contains(dump, secret) {
			t.Errorf("Postgres holds %q in clear", secret)
		}
	}
	var audit string
	if err := st.Pool().QueryRow(ctx, `SELECT string_agg(details::text, ' ') FROM audit_events`).Scan(&audit); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(audit, "teamskey") || strings.Contains(audit, "hookkey") || strings.Contains(audit, "slackkey") {
		t.Error("the audit log holds a webhook URL")
	}
}

// A webhook that fails for a (simulated) day is retried, then delivered
// once; Send a test reports the failure in words.
func TestChannelOutageThenRecovery(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	now := time.Now()
	seed(t, st, now)
	hook := newReceiver(t)
	clk := &clock{now}
	a := alerts.New(alerts.Config{PortalURL: "https://portal.contoso.example", Sealer: newTestSealer(t), Now: clk.Now}, st)
	ch, err := a.AddChannel(ctx, alerts.NewChannel{Kind: alerts.ChannelWebhook, Name: "SOC", URL: hook.URL + "/h", Secret: hookSecret}, store.AuditEvent{Action: "alerts.channel.add"})
	if err != nil {
		t.Fatal(err)
	}
	hook.setStatus(http.StatusServiceUnavailable)
	if reason, err := a.TestChannel(ctx, ch.ID); err != nil || reason != alerts.ReasonWebhookBusy {
		t.Errorf("TestChannel during the outage = %q, %v; want webhook-busy", reason, err)
	}
	for hour := 0; hour < 3; hour++ { // hourly runs during the outage
		clk.t = now.Add(time.Duration(hour) * time.Hour)
		res, _ := a.Run(ctx)
		if res.Sent != 0 || (hour == 0 && res.Failed != 2) {
			t.Fatalf("hour %d of the outage: run = %+v", hour, res)
		}
	}
	recent, err := st.RecentDeliveries(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range recent {
		if d.Status != "failed" || d.Failure != string(alerts.ReasonWebhookBusy) {
			t.Errorf("delivery during the outage = %+v", d)
		}
	}
	hook.setStatus(http.StatusOK)
	clk.t = now.Add(24 * time.Hour)
	res, err := a.Run(ctx)
	if err != nil || res.Sent != 2 || len(hook.received()) != 1 {
		t.Fatalf("after recovery: run = %+v, %v, %d received", res, err, len(hook.received()))
	}
	if res, _ := a.Run(ctx); res.Sent != 0 || len(hook.received()) != 1 {
		t.Errorf("after delivery: run = %+v, %d received; want none again", res, len(hook.received()))
	}
	if reason, err := a.TestChannel(ctx, ch.ID); err != nil || reason != alerts.ReasonNone || len(hook.received()) != 2 {
		t.Errorf("TestChannel after recovery = %q, %v", reason, err)
	}
	hook.Close()
	if reason, _ := a.TestChannel(ctx, ch.ID); reason != alerts.ReasonWebhookUnreachable {
		t.Errorf("TestChannel with the receiver gone = %q, want webhook-unreachable", reason)
	}
}

func TestCheckChannelURL(t *testing.T) {
	for _, tt := range []struct {
		url string
		ok  bool
	}{
		{"https://prod-01.westeurope.logic.azure.com/workflows/x", true},
		{"http://127.0.0.1:8080/hook", true},
		{"http://hooks.example.com/x", false},
		{"https://user:pw@hooks.example.com/x", false},
		{"hooks.example.com/x", false},
		{"ftp://x/y", false},
	} {
		if got := alerts.CheckChannelURL(tt.url) == ""; got != tt.ok {
			t.Errorf("CheckChannelURL(%q) ok = %v, want %v", tt.url, got, tt.ok)
		}
		// The same check as a message, in Dutch for a Dutch page.
		id := alerts.CheckChannelURLID(tt.url)
		if nl := i18n.For(i18n.NL).T(id); (id == "") != tt.ok || (!tt.ok && !strings.Contains(nl, "webhook")) || (!tt.ok && nl == alerts.CheckChannelURL(tt.url)) {
			t.Errorf("CheckChannelURLID(%q) = %q, in Dutch %q", tt.url, id, nl)
		}
	}
}

// A name chosen by a customer tenant's administrator cannot become a link
// in Slack (mrkdwn is escaped) or Teams (plain TextRuns, no Markdown).
func TestChannelMessagesKeepNamesPlain(t *testing.T) {
	now := time.Now()
	evil := "Payroll <https://evil.example|click> [here](https://evil.example)"
	dg := store.AlertDigest{Recipient: "channel:1", Total: 1, Items: []store.AlertDelivery{{TenantName: "Fabrikam", OwnerName: evil, Kind: "password",
		KeyID: "c0000000-0000-4000-8000-000000000001", EndsAt: now.Add(3 * 24 * time.Hour), CredentialID: 7}}}
	raw, err := json.Marshal(alerts.SlackMessage(i18n.For(i18n.EN), dg, now, "https://portal.contoso.example"))
	if err != nil {
		t.Fatal(err)
	}
	var slack struct {
		Text   string
		Blocks []struct {
			Type string
			Text struct{ Type, Text string }
		}
	}
	if err := json.Unmarshal(raw, &slack); err != nil {
		t.Fatal(err)
	}
	// mrkdwn fields: the top-level text and the sections (the header is plain_text).
	mrkdwn := []string{slack.Text}
	for _, b := range slack.Blocks {
		if b.Text.Type == "mrkdwn" {
			mrkdwn = append(mrkdwn, b.Text.Text)
		}
	}
	for _, m := range mrkdwn {
		if strings.Contains(m, "<https://evil.example") || !strings.Contains(m, "&lt;https://evil.example|click&gt;") {
			t.Errorf("Slack mrkdwn lets the name through as a link: %s", m)
		}
	}
	teams, err := json.Marshal(alerts.TeamsMessage(i18n.For(i18n.EN), dg, now, "https://portal.contoso.example"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(teams), `"TextBlock"`) || !strings.Contains(string(teams), `"TextRun"`) {
		t.Errorf("Teams card renders names as Markdown: %s", teams)
	}
}
