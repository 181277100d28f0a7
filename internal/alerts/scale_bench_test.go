package alerts_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/mailtest"
	"github.com/appreg-portal/portal/internal/metrics"
	"github.com/appreg-portal/portal/internal/pgtest"
)

// BenchmarkAlertRunAtScale is issue 15's alert run: 1,000 connected
// tenants with one contact each, 200,000 live credentials (80,000 expired),
// one portal-wide recipient, a mail server that refuses messages over
// 10 MB. It prints the run's time, deliveries, mails and the largest mail;
// then a second run with nothing new.
func BenchmarkAlertRunAtScale(b *testing.B) {
	ctx := context.Background()
	st := pgtest.NewStore(b)
	now := time.Now()
	pgtest.SeedInventory(b, st, pgtest.Inventory{Tenants: 1000, Live: 200, Expired: 80, Removed: 50, Now: now})
	mb := mailtest.StartLimited(b, "127.0.0.1:0", 10<<20)
	a := alerts.New(alerts.Config{SMTP: alerts.SMTP{Addr: mb.Addr, From: "portal@contoso.example", TLS: "none"},
		Recipients: []string{"ops@contoso.example"}, PortalURL: "https://portal.contoso.example"}, st)
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
		fmt.Printf("    alert %s: %s; queued %d, sent %d, failed %d, mails %d (recipients 1,001), largest mail %d KB\n",
			name, wall.Round(time.Millisecond), res.Queued, res.Sent, res.Failed, res.Mails, largest>>10)
		if i == 0 {
			b.ReportMetric(wall.Seconds(), "first-run-s")
			b.ReportMetric(float64(res.Mails), "mails")
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
