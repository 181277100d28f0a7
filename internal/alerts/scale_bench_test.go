package alerts_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/mailtest"
	"github.com/appreg-portal/portal/internal/metrics"
	"github.com/appreg-portal/portal/internal/pgtest"
	"github.com/appreg-portal/portal/internal/seal"
	"github.com/appreg-portal/portal/internal/store"
)

// BenchmarkAlertRunAtScale is issue 15's alert run: 1,000 connected
// tenants with one contact each, 200,000 live credentials (80,000 expired),
// one portal-wide recipient and one portal-wide signed webhook, a mail
// server that refuses messages over 10 MB, 100 tenants excluded from
// alerts and 2,000 credentials snoozed. Messages must equal recipients. It prints the run's time, deliveries, mails and the largest mail;
// then a second run with nothing new.
func BenchmarkAlertRunAtScale(b *testing.B) {
	ctx := context.Background()
	st := pgtest.NewStore(b)
	now := time.Now()
	pgtest.SeedInventory(b, st, pgtest.Inventory{Tenants: 1000, Live: 200, Expired: 80, Removed: 50, Now: now})
	mb := mailtest.StartLimited(b, "127.0.0.1:0", 10<<20)
	// A portal-wide signed webhook too: it gets every alert, like ops@.
	var hooks atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		hooks.Add(1)
	}))
	defer hook.Close()
	key, err := seal.ParseKey(seal.NewKey())
	if err != nil {
		b.Fatal(err)
	}
	sealer, err := seal.New(key)
	if err != nil {
		b.Fatal(err)
	}
	a := alerts.New(alerts.Config{SMTP: alerts.SMTP{Addr: mb.Addr, From: "portal@contoso.example", TLS: "none"},
		Recipients: []string{"ops@contoso.example"}, PortalURL: "https://portal.contoso.example", Sealer: sealer}, st)
	if _, err := a.AddChannel(ctx, alerts.NewChannel{Kind: alerts.ChannelWebhook, Name: "SOC", URL: hook.URL, Secret: "whsec-0123456789abcdef0123456789abcdef"},
		store.AuditEvent{Action: "alerts.channel.add"}); err != nil {
		b.Fatal(err)
	}
	// Quiet ones, as a real portal has them: 100 tenants excluded, 2,000 credentials snoozed a month.
	if _, err := st.Pool().Exec(ctx, `
		INSERT INTO alert_silences (tenant_id, scope, kind, reason, created_by)
		SELECT id, 'tenant', 'exclude', 'bench', 'bench' FROM tenants ORDER BY id LIMIT 100;
		INSERT INTO alert_silences (tenant_id, scope, credential_id, kind, until, reason, created_by)
		SELECT tenant_id, 'credential', id, 'snooze', now() + interval '30 days', 'bench', 'bench'
		FROM credentials WHERE removed_at IS NULL AND tenant_id > (SELECT id FROM tenants ORDER BY id OFFSET 99 LIMIT 1) ORDER BY id LIMIT 2000`); err != nil {
		b.Fatal(err)
	}
	const recipients = 902 // ops@, one contact for each of the 900 tenants not excluded, the webhook
	for i, name := range []string{"first run", "second run"} {
		start := time.Now()
		res, err := a.Run(ctx)
		if err != nil {
			b.Fatalf("%s = %+v, %v", name, res, err)
		}
		wall := time.Since(start)
		largest := 0
		for _, m := range mb.Mails() {
			largest = max(largest, len(m.Raw))
		}
		fmt.Printf("    alert %s: %s (selection %s); queued %d, sent %d, failed %d, messages %d (recipients %d: %d mails, %d webhook calls), largest mail %d KB\n",
			name, wall.Round(time.Millisecond), res.Selection.Round(time.Millisecond), res.Queued, res.Sent, res.Failed, res.Mails, recipients,
			len(mb.Mails()), hooks.Load(), largest>>10)
		if i == 0 {
			if res.Mails != recipients || int(hooks.Load())+len(mb.Mails()) != recipients {
				b.Errorf("first run sent %d messages (%d mails, %d webhook calls), want one per recipient: %d", res.Mails, len(mb.Mails()), hooks.Load(), recipients)
			}
			b.ReportMetric(wall.Seconds(), "first-run-s")
			b.ReportMetric(res.Selection.Seconds(), "selection-s")
			b.ReportMetric(float64(res.Mails), "messages")
		} else {
			b.ReportMetric(wall.Seconds(), "second-run-s")
		}
	}
	// /metrics with the deliveries of that run in the table.
	m := metrics.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var lat []time.Duration
	for range 50 {
		t0 := time.Now()
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		lat = append(lat, time.Since(t0))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "appreg_database_up 1") {
			b.Fatalf("/metrics = %d", rec.Code)
		}
	}
	slices.Sort(lat)
	fmt.Printf("    /metrics after the run: p50 %s, p95 %s\n", lat[25].Round(10*time.Microsecond), lat[47].Round(10*time.Microsecond))
}
