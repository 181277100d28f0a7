package store_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5"

	"github.com/appreg-portal/portal/internal/pgtest"
	"github.com/appreg-portal/portal/internal/store"
)

// TestQueueDueAlertsCoversEveryTenantOnce queues over inventories that
// QueueDueAlerts splits into ranges of tenants queued side by side — many
// tenants, a single one (every range but one empty), none due — and
// compares the deliveries with what a model computes from the credentials:
// each due credential once per recipient, at its most urgent threshold,
// whichever range its tenant fell in; a second call queues nothing.
func TestQueueDueAlertsCoversEveryTenantOnce(t *testing.T) {
	tests := []struct {
		name       string
		inv        pgtest.Inventory
		thresholds []int
		wantNone   bool
	}{
		{name: "many tenants", inv: pgtest.Inventory{Tenants: 40, Live: 30, Expired: 8, Removed: 3}, thresholds: []int{60, 30, 14, 7, 1, 0}},
		{name: "one tenant", inv: pgtest.Inventory{Tenants: 1, Live: 50, Expired: 5}, thresholds: []int{30, 0}},
		{name: "nothing due", inv: pgtest.Inventory{Tenants: 5, Live: 10}, thresholds: []int{0}, wantNone: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			st := pgtest.NewStore(t)
			now := time.Now()
			tt.inv.Now = now
			pgtest.SeedInventory(t, st, tt.inv)
			want := modelDeliveries(t, st, now, tt.thresholds, "ops@contoso.example")
			if (len(want) == 0) != tt.wantNone {
				t.Fatalf("the model expects %d deliveries; the inventory does not fit the case", len(want))
			}
			n, err := st.QueueDueAlerts(ctx, now, tt.thresholds, []string{"Ops@Contoso.example"}, true)
			if err != nil {
				t.Fatalf("QueueDueAlerts() = %v", err)
			}
			rows, err := st.Pool().Query(ctx, `SELECT credential_id || '/' || threshold_days || '/' || recipient FROM alert_deliveries WHERE status = 'pending'`)
			if err != nil {
				t.Fatal(err)
			}
			got, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			if n != len(want) {
				t.Errorf("QueueDueAlerts() = %d, want %d", n, len(want))
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("deliveries (-want +got):\n%s", diff)
			}
			if n, err := st.QueueDueAlerts(ctx, now, tt.thresholds, []string{"ops@contoso.example"}, true); n != 0 || err != nil {
				t.Errorf("QueueDueAlerts() again = %d, %v; want 0, nil", n, err)
			}
		})
	}
}

// modelDeliveries is what QueueDueAlerts must queue for the seeded
// inventory, as sorted "credential/threshold/recipient" keys: every live
// credential that reached a threshold, at the lowest it reached, for the
// portal-wide recipient and its tenant's contacts.
func modelDeliveries(tb testing.TB, st *store.Store, now time.Time, thresholds []int, recipient string) []string {
	tb.Helper()
	ctx := context.Background()
	rows, err := st.Pool().Query(ctx, `SELECT c.id, c.ends_at, t.contacts FROM credentials c JOIN tenants t ON t.id = c.tenant_id WHERE c.removed_at IS NULL`)
	if err != nil {
		tb.Fatal(err)
	}
	var (
		id       int64
		endsAt   time.Time
		contacts []string
		out      []string
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &endsAt, &contacts}, func() error {
		threshold := -1
		for _, days := range thresholds {
			if !endsAt.After(now.AddDate(0, 0, days)) && (threshold < 0 || days < threshold) {
				threshold = days
			}
		}
		if threshold < 0 {
			return nil
		}
		for _, r := range append([]string{recipient}, contacts...) {
			out = append(out, fmt.Sprintf("%d/%d/%s", id, threshold, strings.ToLower(r)))
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// TestConcurrentDigestOutcomesKeepCounts records many digests' outcomes at
// once, as an alert run's send workers do — some sent, some failed, each
// over pending and failed deliveries, so each statement moves rows between
// three statuses — round after round: none is aborted as a deadlock on the
// per-status counts (migration 00029 locks them in order), and the counts
// /metrics reads match the table.
func TestConcurrentDigestOutcomesKeepCounts(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	now := time.Now()
	pgtest.SeedInventory(t, st, pgtest.Inventory{Tenants: 4, Live: 30, Expired: 10, Now: now})
	var recipients []string
	for i := range 12 {
		recipients = append(recipients, fmt.Sprintf("r%02d@contoso.example", i))
	}
	if _, err := st.QueueDueAlerts(ctx, now, []int{60, 0}, recipients, true); err != nil {
		t.Fatal(err)
	}
	for round := range 15 {
		// Every recipient with some deliveries failed before and some new.
		if _, err := st.Pool().Exec(ctx, `UPDATE alert_deliveries SET status = CASE WHEN id % 3 = 0 THEN 'failed' ELSE 'pending' END, attempts = 0`); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, len(recipients))
		for i, r := range recipients {
			failure := ""
			if (i+round)%2 == 1 {
				failure = "unreachable"
			}
			wg.Go(func() { errs[i] = st.MarkDigest(ctx, r, math.MaxInt64, 5, failure, now) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("round %d: MarkDigest() = %v", round, err)
		}
		counts, err := st.DeliveryCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var table map[string]int
		rows, err := st.Pool().Query(ctx, `SELECT status, count(*)::int FROM alert_deliveries GROUP BY status`)
		if err != nil {
			t.Fatal(err)
		}
		table = map[string]int{}
		var (
			status string
			n      int
		)
		if _, err := pgx.ForEachRow(rows, []any{&status, &n}, func() error { table[status] = n; return nil }); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(table, counts, cmpopts.EquateEmpty(), cmpopts.IgnoreMapEntries(func(_ string, n int) bool { return n == 0 })); diff != "" {
			t.Fatalf("round %d: DeliveryCounts() differs from the table (-table +counts):\n%s", round, diff)
		}
	}
}

// TestQueueDueAlertsAfterAnalyzingEmptyTable queues tens of thousands of
// deliveries into an alert_deliveries that was analyzed while empty (after
// a restore, or deliveries deleted with their tenants): the planner then
// checks each new delivery against the table by scanning it. Were the
// checks interleaved with the inserts, each scan would cover the rows
// inserted so far, and this one would take about 40 s, not 1.5 s.
func TestQueueDueAlertsAfterAnalyzingEmptyTable(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	now := time.Now()
	pgtest.SeedInventory(t, st, pgtest.Inventory{Tenants: 250, Live: 160, Expired: 150, Now: now})
	if _, err := st.Pool().Exec(ctx, `ANALYZE alert_deliveries`); err != nil {
		t.Fatal(err)
	}
	want := modelDeliveries(t, st, now, []int{0}, "ops@contoso.example")
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	start := time.Now()
	n, err := st.QueueDueAlerts(ctx, now, []int{0}, []string{"ops@contoso.example"}, true)
	if err != nil || n != len(want) {
		t.Fatalf("QueueDueAlerts() = %d, %v after %s; want %d", n, err, time.Since(start).Round(time.Millisecond), len(want))
	}
	t.Logf("%d deliveries queued in %s", n, time.Since(start).Round(time.Millisecond))
}
