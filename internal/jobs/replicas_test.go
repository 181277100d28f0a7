package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/jobs"
	"github.com/appreg-portal/portal/internal/mailtest"
	"github.com/appreg-portal/portal/internal/pgtest"
	"github.com/appreg-portal/portal/internal/store"
)

// overlapScanner records how many scans of each tenant run at once, takes
// a while, and records one credential due in three days per tenant.
type overlapScanner struct {
	st *store.Store
	mu sync.Mutex
	// running and most are per tenant; scans counts every scan.
	running, most, scans map[int64]int
}

func (s *overlapScanner) Scan(ctx context.Context, t store.Tenant) (store.ScanResult, error) {
	s.mu.Lock()
	s.running[t.ID]++
	s.most[t.ID] = max(s.most[t.ID], s.running[t.ID])
	s.scans[t.ID]++
	s.mu.Unlock()
	defer func() { s.mu.Lock(); s.running[t.ID]--; s.mu.Unlock() }()
	time.Sleep(150 * time.Millisecond)
	return s.st.RecordScan(ctx, t.ID, []store.Credential{{OwnerKind: "application", OwnerObjectID: fmt.Sprintf("0a0a0a0a-0000-4000-8000-%012d", t.ID),
		OwnerName: fmt.Sprintf("App of tenant %d", t.ID), KeyID: fmt.Sprintf("c0c0c0c0-0000-4000-8000-%012d", t.ID), Kind: "password",
		EndsAt: time.Now().Add(3 * 24 * time.Hour)}}, time.Now())
}

// Two portal replicas (two River clients on one database) asked to scan
// every tenant, each tenant several times from both: no tenant is scanned
// by both at once, and each due credential reaches each recipient once.
func TestTwoReplicasShareScansAndAlerts(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	pgtest.SeedInventory(t, st, pgtest.Inventory{Tenants: 6, Now: time.Now()}) // tenants only, one contact each
	tenants, err := st.ListTenants(ctx)
	must(t, err)
	sc := &overlapScanner{st: st, running: map[int64]int{}, most: map[int64]int{}, scans: map[int64]int{}}
	mb := mailtest.Start(t, "127.0.0.1:0")
	var replicas []*jobs.Runner
	var alerters []*alerts.Alerter
	for range 2 {
		a := alerts.New(alerts.Config{SMTP: alerts.SMTP{Addr: mb.Addr, From: "portal@contoso.example", TLS: "none"}, Recipients: []string{"ops@contoso.example"}}, st)
		alerters = append(alerters, a)
		r, err := jobs.New(jobs.Config{Pool: st.Pool(), Tenants: st, Scanner: sc, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), PollInterval: 50 * time.Millisecond,
			Alerter: a})
		must(t, err)
		must(t, r.Start(ctx))
		t.Cleanup(func() { _ = r.Stop(context.Background()) })
		replicas = append(replicas, r)
	}
	for round := range 3 {
		for _, r := range replicas {
			must(t, r.EnqueueScanAll(ctx))
			for _, tn := range tenants {
				must(t, r.EnqueueScan(ctx, tn.ID))
			}
		}
		if round < 2 {
			time.Sleep(200 * time.Millisecond)
		}
	}
	// Wait until every job is done, then run the hourly alert run on both replicas at once: a
	// scan that found due credentials during a run has them sent by the next one.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var open int
		must(t, st.Pool().QueryRow(ctx, `SELECT count(*) FROM river_job WHERE state IN ('available', 'running', 'retryable', 'scheduled', 'pending')`).Scan(&open))
		if open == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replicas did not finish: %d jobs open", open)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var wg sync.WaitGroup
	for _, a := range alerters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := a.Run(ctx); err != nil && !errors.Is(err, alerts.ErrRunBusy) {
				t.Errorf("alert run = %v", err)
			}
		}()
	}
	wg.Wait()
	if _, err := alerters[0].Run(ctx); err != nil {
		t.Fatal(err)
	}
	var unsent int
	must(t, st.Pool().QueryRow(ctx, `SELECT count(*) FROM alert_deliveries WHERE status <> 'sent'`).Scan(&unsent))
	if unsent != 0 {
		t.Errorf("%d deliveries unsent after the alert runs", unsent)
	}
	sc.mu.Lock()
	for _, tn := range tenants {
		if sc.most[tn.ID] != 1 || sc.scans[tn.ID] < 1 {
			t.Errorf("tenant %d: scanned %d times, at most %d at once; want ≥ 1, never 2 at once", tn.ID, sc.scans[tn.ID], sc.most[tn.ID])
		}
	}
	sc.mu.Unlock()
	// Each recipient hears of each credential once: ops of all 6, each tenant's contact of its own.
	keyRe := regexp.MustCompile(`key ID (c0c0c0c0-[0-9a-f-]+)`)
	seen := map[string]int{}
	for _, m := range mb.Mails() {
		for _, k := range keyRe.FindAllStringSubmatch(m.Body, -1) {
			seen[m.To[0]+" "+k[1]]++
		}
	}
	if len(seen) != 12 {
		t.Errorf("%d (recipient, credential) alerts, want 12 (ops × 6, each contact × 1): %v", len(seen), seen)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s alerted %d times", k, n)
		}
	}
}

// The periodic scan of every tenant spreads the scans over its period,
// in tenant order; asking for one tenant's scan brings it forward.
func TestScanAllSpreadsOverThePeriod(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	pgtest.SeedInventory(t, st, pgtest.Inventory{Tenants: 4, Now: time.Now()})
	tenants, err := st.ListTenants(ctx)
	must(t, err)
	sc := &overlapScanner{st: st, running: map[int64]int{}, most: map[int64]int{}, scans: map[int64]int{}}
	r, err := jobs.New(jobs.Config{Pool: st.Pool(), Tenants: st, Scanner: sc, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), PollInterval: 50 * time.Millisecond})
	must(t, err)
	must(t, r.Start(ctx))
	t.Cleanup(func() { _ = r.Stop(context.Background()) })
	must(t, r.EnqueueScanAllSpread(ctx, 4*time.Hour))
	var offsets []time.Duration
	deadline := time.Now().Add(15 * time.Second)
	for len(offsets) != 4 {
		if time.Now().After(deadline) {
			t.Fatalf("scan jobs scheduled: %v, want 4", offsets)
		}
		time.Sleep(100 * time.Millisecond)
		offsets = offsets[:0]
		rows, err := st.Pool().Query(ctx, `SELECT scheduled_at - (SELECT min(scheduled_at) FROM river_job WHERE kind = 'scan_tenant') FROM river_job WHERE kind = 'scan_tenant' ORDER BY (args->>'tenant_id')::bigint`)
		must(t, err)
		for rows.Next() {
			var d time.Duration
			must(t, rows.Scan(&d))
			offsets = append(offsets, d)
		}
		must(t, rows.Err())
	}
	for i, d := range offsets {
		if want := time.Duration(i) * time.Hour; d < want-time.Second || d > want+time.Second {
			t.Errorf("tenant %d's scan at +%s, want +%s", i, d, want)
		}
	}
	// "Scan now" on the last one runs it now, not in 3 hours.
	must(t, r.EnqueueScan(ctx, tenants[3].ID))
	for {
		sc.mu.Lock()
		n := sc.scans[tenants[3].ID]
		sc.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the scan brought forward did not run")
		}
		time.Sleep(50 * time.Millisecond)
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.scans[tenants[1].ID] != 0 || sc.scans[tenants[2].ID] != 0 {
		t.Errorf("scans of tenants later in the period ran early: %v", sc.scans)
	}
}
