package alerts_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/mailtest"
	"github.com/appreg-portal/portal/internal/pgtest"
	"github.com/appreg-portal/portal/internal/store"
)

// flakyProxy forwards TCP to a real server on loopback, or, while down,
// drops every connection at once: a mail server outage.
type flakyProxy struct {
	ln     net.Listener
	target string
	down   atomic.Bool
}

func newFlakyProxy(t *testing.T, target string) *flakyProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &flakyProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if p.down.Load() {
				c.Close()
				continue
			}
			go func() {
				defer c.Close()
				s, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer s.Close()
				go func() { _, _ = io.Copy(s, c); s.(*net.TCPConn).CloseWrite() }() //nolint:errcheck // test plumbing
				_, _ = io.Copy(c, s)
			}()
		}
	}()
	return p
}

// simDelivery is the model's state of one delivery.
type simKey struct {
	cred      int
	threshold int
	recipient string
}

// TestNinetyDaysOfAlerts simulates 90 days with credentials at every
// threshold, one alert run a day on each of two portal processes against
// one database, a day-long outage of the mail server and the webhook, and
// snoozed, acknowledged and excluded credentials. A model computes what
// must be sent; the mails and webhook calls that arrive are parsed and
// compared with it: none missed, none twice.
func TestNinetyDaysOfAlerts(t *testing.T) {
	if testing.Short() {
		t.Skip("90-day simulation: not in -short")
	}
	ctx := context.Background()
	url := pgtest.URL(t)
	stA, err := store.Open(ctx, url, store.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer stA.Close()
	stB, err := store.Open(ctx, url, store.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer stB.Close()

	start := time.Date(2027, 3, 1, 6, 0, 0, 0, time.UTC)
	tn, err := stA.CreateTenant(ctx, store.Tenant{EntraTenantID: "fab41c4e-2d3b-4a5c-8e6f-7a8b9c0d1e2f", DisplayName: "Fabrikam", Status: "connected"}, store.AuditEvent{Action: "tenant.create"})
	if err != nil {
		t.Fatal(err)
	}
	if err := stA.SetTenantContacts(ctx, tn.ID, []string{"it@fabrikam.example"}, store.AuditEvent{Action: "tenant.contacts"}); err != nil {
		t.Fatal(err)
	}
	// 120 credentials ending every 0.9 days from 5 days ago to 102 days ahead: every threshold is crossed by several.
	const n = 120
	ends := make([]time.Time, n)
	var creds []store.Credential
	for k := range n {
		ends[k] = start.Add(time.Duration(float64(k-6)*0.9*24)*time.Hour + 3*time.Hour)
		creds = append(creds, store.Credential{OwnerKind: "application", OwnerObjectID: fmt.Sprintf("0a0a0a0a-0000-4000-8000-%012d", k), OwnerAppID: fmt.Sprintf("app-%d", k),
			OwnerName: fmt.Sprintf("App %d", k), KeyID: fmt.Sprintf("c0000000-0000-4000-8000-%012d", k), Kind: "password", EndsAt: ends[k]})
	}
	if _, err := stA.RecordScan(ctx, tn.ID, creds, start); err != nil {
		t.Fatal(err)
	}
	live, err := stA.ListCredentials(ctx, store.CredentialFilter{})
	if err != nil {
		t.Fatal(err)
	}
	idOf := map[int]int64{}
	for _, c := range live {
		var k int
		fmt.Sscanf(c.OwnerName, "App %d", &k)
		idOf[k] = c.ID
	}

	mb := mailtest.Start(t, "127.0.0.1:0")
	proxy := newFlakyProxy(t, mb.Addr)
	hook := newReceiver(t)
	sealer := newTestSealer(t)
	clk := &clock{start}
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clk.t }
	cfg := alerts.Config{SMTP: alerts.SMTP{Addr: proxy.ln.Addr().String(), From: "portal@contoso.example", TLS: "none"},
		Recipients: []string{"ops@contoso.example"}, PortalURL: "https://portal.contoso.example", DigestLimit: 500, Now: now, Sealer: sealer}
	a, b := alerts.New(cfg, stA), alerts.New(cfg, stB)
	if _, err := a.AddChannel(ctx, alerts.NewChannel{Kind: alerts.ChannelWebhook, Name: "SOC", URL: hook.URL + "/h", Secret: hookSecret}, store.AuditEvent{Action: "alerts.channel.add"}); err != nil {
		t.Fatal(err)
	}
	hookRecipient := "channel:1"

	// Silences: App 30 snoozed to day 20, App 40 acknowledged, App 50's application excluded throughout,
	// App 60 excluded until day 15.
	day := func(d int) time.Time { return start.Add(time.Duration(d) * 24 * time.Hour) }
	snoozeEnd := day(20)
	ptr := func(k int) *int64 { id := idOf[k]; return &id }
	for _, sl := range []store.AlertSilence{
		{Scope: store.SilenceCredential, CredentialID: ptr(30), Kind: store.SilenceSnooze, Until: &snoozeEnd, Reason: "vendor renews on day 20"},
		{Scope: store.SilenceCredential, CredentialID: ptr(40), Kind: store.SilenceAcknowledge, Until: &ends[40], Reason: "known"},
		{Scope: store.SilenceApplication, OwnerAppID: "app-50", Kind: store.SilenceExclude, Reason: "not in use"},
		{Scope: store.SilenceCredential, CredentialID: ptr(60), Kind: store.SilenceExclude, Reason: "until day 15"},
	} {
		sl.TenantID, sl.CreatedBy = tn.ID, "Oscar"
		if _, err := stA.SetAlertSilence(ctx, sl, store.AuditEvent{Action: "alerts.silence"}); err != nil {
			t.Fatal(err)
		}
	}
	silenced := func(k int, at time.Time) bool {
		switch k {
		case 30:
			return at.Before(snoozeEnd)
		case 40:
			return at.Before(ends[40])
		case 50:
			return true
		case 60:
			return at.Before(day(15))
		}
		return false
	}

	// The model.
	thresholds := alerts.DefaultThresholds
	recipients := []string{"it@fabrikam.example", "ops@contoso.example", hookRecipient}
	state := map[simKey]string{}
	wantSent := map[simKey]int{}
	modelRun := func(at time.Time, up bool) {
		for k := range n {
			for _, r := range recipients {
				if silenced(k, at) {
					for key, s := range state {
						if key.cred == k && key.recipient == r && (s == "pending" || s == "failed") {
							state[key] = "held"
						}
					}
					continue
				}
				for key, s := range state {
					if key.cred == k && key.recipient == r && s == "held" {
						state[key] = "pending"
					}
				}
				th := -1
				for _, t := range thresholds {
					if !ends[k].After(at.Add(time.Duration(t)*24*time.Hour)) && (th < 0 || t < th) {
						th = t
					}
				}
				if th < 0 {
					continue
				}
				if _, ok := state[simKey{k, th, r}]; !ok {
					state[simKey{k, th, r}] = "pending"
					for key, s := range state {
						if key.cred == k && key.recipient == r && key.threshold > th && (s == "pending" || s == "failed" || s == "held") {
							state[key] = "resolved"
						}
					}
				}
			}
		}
		for key, s := range state {
			if s == "pending" || s == "failed" {
				if up {
					state[key] = "sent"
					wantSent[key]++
				} else {
					state[key] = "failed"
				}
			}
		}
	}

	const outageDay = 45
	for d := 0; d <= 90; d++ {
		mu.Lock()
		clk.t = day(d)
		mu.Unlock()
		if d == 15 {
			sls, err := stA.SilencesForCredential(ctx, idOf[60])
			if err != nil || len(sls) != 1 {
				t.Fatalf("silences of App 60 = %v, %v", sls, err)
			}
			if _, err := stA.LiftAlertSilence(ctx, sls[0].ID, store.AuditEvent{Action: "alerts.silence.lift"}); err != nil {
				t.Fatal(err)
			}
		}
		up := d != outageDay
		proxy.down.Store(!up)
		if up {
			hook.setStatus(http.StatusOK)
		} else {
			hook.setStatus(http.StatusServiceUnavailable)
		}
		// Both processes run at once; one holds the run's lock, the other finds it busy or nothing left.
		var wg sync.WaitGroup
		for _, al := range []*alerts.Alerter{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := al.Run(ctx); err != nil && !errors.Is(err, alerts.ErrRunBusy) && up {
					t.Errorf("day %d: run = %v", d, err)
				}
			}()
		}
		wg.Wait()
		modelRun(day(d), up)
	}

	// Postgres agrees with the model.
	rows, err := stA.Pool().Query(ctx, `SELECT c.owner_name, a.threshold_days, a.recipient, a.status FROM alert_deliveries a JOIN credentials c ON c.id = a.credential_id`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[simKey]string{}
	var name, rcpt, status string
	var th int
	if _, err := pgx.ForEachRow(rows, []any{&name, &th, &rcpt, &status}, func() error {
		var k int
		fmt.Sscanf(name, "App %d", &k)
		got[simKey{k, th, rcpt}] = status
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	diff := 0
	for key, s := range state {
		if got[key] != s {
			diff++
			if diff < 10 {
				t.Errorf("delivery %+v: status %q, model %q", key, got[key], s)
			}
		}
	}
	if len(got) != len(state) {
		t.Errorf("%d deliveries in Postgres, model %d", len(got), len(state))
	}

	// What arrived: each (credential, recipient) as often as the model sent it, no Message-ID twice.
	itemRe := regexp.MustCompile(`(?m)^- Fabrikam — App (\d+)\r?$`)
	arrived := map[[2]string]int{}
	ids := map[string]bool{}
	mails := mb.Mails()
	for _, m := range mails {
		if ids[m.MessageID] {
			t.Errorf("Message-ID %s arrived twice", m.MessageID)
		}
		ids[m.MessageID] = true
		for _, x := range itemRe.FindAllStringSubmatch(m.Body, -1) {
			arrived[[2]string{x[1], m.To[0]}]++
		}
	}
	hookItems := map[simKey]int{}
	for _, r := range hook.received() {
		var p alerts.Payload
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatal(err)
		}
		for _, it := range p.Items {
			var k int
			fmt.Sscanf(it.Application, "App %d", &k)
			hookItems[simKey{k, it.ThresholdDays, hookRecipient}]++
			arrived[[2]string{fmt.Sprint(k), hookRecipient}]++
		}
	}
	want := map[[2]string]int{}
	sentTotal := 0
	for key, c := range wantSent {
		want[[2]string{fmt.Sprint(key.cred), key.recipient}] += c
		sentTotal += c
	}
	missed, extra := 0, 0
	for key, w := range want {
		if arrived[key] < w {
			missed += w - arrived[key]
		}
	}
	for key, g := range arrived {
		if g > want[key] {
			extra += g - want[key]
		}
	}
	for key, c := range hookItems {
		if c != 1 || wantSent[key] != 1 {
			extra++
			t.Errorf("webhook item %+v arrived %d times, model %d", key, c, wantSent[key])
		}
	}
	for _, k := range []int{50} {
		for _, r := range recipients {
			if arrived[[2]string{fmt.Sprint(k), r}] != 0 {
				t.Errorf("excluded App %d reached %s", k, r)
			}
		}
	}
	for _, k := range []int{30, 40, 60} {
		if arrived[[2]string{fmt.Sprint(k), "ops@contoso.example"}] == 0 {
			t.Errorf("App %d never alerted after its silence ended", k)
		}
	}
	fmt.Printf("    90 days, %d credentials, 3 recipients (2 e-mail, 1 webhook), 2 processes, outage on day %d: expected %d deliveries, arrived %d mails + %d webhook calls; missed %d, duplicated %d\n",
		n, outageDay, sentTotal, len(mails), len(hook.received()), missed, extra)
	if missed != 0 || extra != 0 || sentTotal == 0 {
		t.Errorf("missed %d, duplicated %d; want 0 and 0", missed, extra)
	}
}
