package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/appreg-portal/portal/internal/pgtest"
	"github.com/appreg-portal/portal/internal/store"
)

// countedDirectly is the summary counted straight from the credentials
// table, the way the dashboard did before the derived counts.
func countedDirectly(tb testing.TB, st *store.Store, tenantID int64, now time.Time) (store.ExpirySummary, []int) {
	tb.Helper()
	ctx := context.Background()
	var s store.ExpirySummary
	err := st.Pool().QueryRow(ctx, `
		SELECT count(*), count(*) FILTER (WHERE ends_at <= $1),
		       count(*) FILTER (WHERE ends_at > $1 AND ends_at <= $1 + interval '30 days'),
		       count(*) FILTER (WHERE ends_at > $1 AND ends_at <= $1 + interval '90 days')
		FROM credentials WHERE removed_at IS NULL AND ($2 = 0 OR tenant_id = $2)`, now, tenantID).Scan(&s.Total, &s.Expired, &s.Within30, &s.Within90)
	if err != nil {
		tb.Fatal(err)
	}
	var months []int
	rows, err := st.Pool().Query(ctx, `
		SELECT count(c.id)::int FROM generate_series(date_trunc('month', $1::timestamptz AT TIME ZONE 'UTC'),
		       date_trunc('month', $1::timestamptz AT TIME ZONE 'UTC') + interval '11 months', interval '1 month') AS m(month)
		LEFT JOIN credentials c ON c.removed_at IS NULL AND ($2 = 0 OR c.tenant_id = $2)
		     AND date_trunc('month', GREATEST(c.ends_at, $1::timestamptz) AT TIME ZONE 'UTC') = m.month
		GROUP BY m.month ORDER BY m.month`, now, tenantID)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			tb.Fatal(err)
		}
		months = append(months, n)
	}
	return s, months
}

// pagedCount walks the list page by page with the keyset cursor, as the
// dashboard does, and checks the order.
func pagedCount(tb testing.TB, st *store.Store, f store.CredentialFilter) int {
	tb.Helper()
	n, seen := 0, map[int64]bool{}
	var last store.Credential
	for {
		f.Limit = 7
		page, err := st.ListCredentials(context.Background(), f)
		if err != nil {
			tb.Fatal(err)
		}
		for _, c := range page {
			if seen[c.ID] {
				tb.Fatalf("credential %d listed twice", c.ID)
			}
			if n > 0 && (c.EndsAt.Before(last.EndsAt) || c.EndsAt.Equal(last.EndsAt) && c.ID < last.ID) {
				tb.Fatalf("list out of order: %d (%v) after %d (%v)", c.ID, c.EndsAt, last.ID, last.EndsAt)
			}
			seen[c.ID], last = true, c
			n++
		}
		if len(page) < f.Limit {
			return n
		}
		f.After = page[len(page)-1].ID
	}
}

func summaryOf(tb testing.TB, st *store.Store, tenantID int64, now time.Time) (store.ExpirySummary, []int) {
	tb.Helper()
	sum, months, err := st.CredentialSummary(context.Background(), tenantID, now)
	if err != nil {
		tb.Fatal(err)
	}
	counts := make([]int, len(months))
	for i, m := range months {
		counts[i] = m.Count
	}
	return sum, counts
}

// TestExpiryCountsAgree records scans that add, move and remove credentials
// in several tenants, and checks at many instants (some on a day's or a
// month's edge) that the derived counts equal a count of the credentials
// table, and that the list paged under each filter has as many rows as the
// counts say.
func TestExpiryCountsAgree(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	// Days are UTC days whatever the server's time zone: run this far from UTC.
	var db string
	if err := st.Pool().QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx, `ALTER DATABASE "`+db+`" SET timezone TO 'Pacific/Auckland'`); err != nil {
		t.Fatal(err)
	}
	st.Pool().Reset()
	base := time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	var tenants []int64
	for i := range 3 {
		tn, err := st.CreateTenant(ctx, store.Tenant{EntraTenantID: fmt.Sprintf("fab41c4e-2d3b-4a5c-8e6f-%012d", i), DisplayName: fmt.Sprintf("Tenant %d", i), Status: "connected"},
			store.AuditEvent{Action: "tenant.create"})
		if err != nil {
			t.Fatal(err)
		}
		tenants = append(tenants, tn.ID)
	}
	// Ends on the instants the summary cuts at, so the edges are exercised.
	edges := []time.Duration{0, time.Second, -time.Second, 30 * 24 * time.Hour, 90 * 24 * time.Hour, 90*24*time.Hour + time.Second, 30*time.Minute - time.Nanosecond*1000}
	scan := func(tenantID int64, n int, at time.Time) {
		creds := make([]store.Credential, n)
		for i := range creds {
			end := base.Add(time.Duration(rng.IntN(500*24)-100*24) * time.Hour).Add(time.Duration(rng.IntN(3600)) * time.Second)
			if i < len(edges) {
				end = base.Add(edges[i])
			}
			creds[i] = store.Credential{OwnerKind: "application", OwnerObjectID: fmt.Sprintf("0a0a0a0a-0000-4000-8000-%012d", i/2),
				OwnerName: fmt.Sprintf("App %d", i/2), KeyID: fmt.Sprintf("c0c0c0c0-0000-4000-8000-%012d", rng.IntN(n*2)), Kind: "password", EndsAt: end}
		}
		// Keys may repeat: keep the first of each.
		uniq, seen := creds[:0], map[string]bool{}
		for _, c := range creds {
			if !seen[c.OwnerObjectID+c.KeyID] {
				seen[c.OwnerObjectID+c.KeyID] = true
				uniq = append(uniq, c)
			}
		}
		if _, err := st.RecordScan(ctx, tenantID, uniq, at); err != nil {
			t.Fatal(err)
		}
	}
	check := func(stage string) {
		t.Helper()
		for _, now := range []time.Time{base, base.Add(31 * time.Minute), base.Add(-24 * time.Hour), base.Add(45 * 24 * time.Hour).Add(7 * time.Second)} {
			for _, tid := range append([]int64{0}, tenants...) {
				got, gotMonths := summaryOf(t, st, tid, now)
				want, wantMonths := countedDirectly(t, st, tid, now)
				if got != want {
					t.Errorf("%s: CredentialSummary(%d, %v) = %+v, want %+v (counted in credentials)", stage, tid, now, got, want)
				}
				if diff := cmp.Diff(wantMonths, gotMonths); diff != "" {
					t.Errorf("%s: months(%d, %v) (-counted +derived):\n%s", stage, tid, now, diff)
				}
				for _, f := range []struct {
					endsBy time.Time
					want   int
				}{{time.Time{}, got.Total}, {now.Add(30 * 24 * time.Hour), got.Expired + got.Within30}, {now.Add(90 * 24 * time.Hour), got.Expired + got.Within90}} {
					if n := pagedCount(t, st, store.CredentialFilter{TenantID: tid, EndsBy: f.endsBy}); n != f.want {
						t.Errorf("%s: paged list(%d, by %v) = %d rows, figures say %d", stage, tid, f.endsBy, n, f.want)
					}
				}
			}
		}
	}
	for i, tid := range tenants {
		scan(tid, 20+15*i, base.Add(-time.Hour))
	}
	check("first scans")
	// Re-scans: some keys stay, some go, some are new, and dates move.
	for _, tid := range tenants {
		scan(tid, 30, base)
	}
	scan(tenants[1], 0, base.Add(time.Minute)) // everything removed
	check("re-scans")
}

// TestExpiryCountsAfterRestore loads credentials straight into the table,
// as a restore does, and checks that the rebuild the portal runs at
// start-up counts them.
func TestExpiryCountsAfterRestore(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	tn, err := st.CreateTenant(ctx, store.Tenant{EntraTenantID: "fab41c4e-2d3b-4a5c-8e6f-7a8b9c0d1e2f", DisplayName: "Fabrikam", Status: "connected"}, store.AuditEvent{Action: "tenant.create"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	if _, err := st.RecordScan(ctx, tn.ID, []store.Credential{{OwnerKind: "application", OwnerObjectID: "0a0a0a0a-0000-4000-8000-000000000001",
		KeyID: "c0000000-0000-4000-8000-000000000001", Kind: "password", EndsAt: now.Add(24 * time.Hour)}}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx, `
		INSERT INTO credentials (tenant_id, owner_kind, owner_object_id, key_id, kind, ends_at, first_seen_at, last_seen_at)
		SELECT $1, 'application', gen_random_uuid(), gen_random_uuid(), 'password', $2::timestamptz + g * interval '1 day', $2, $2
		FROM generate_series(-20, 179) g`, tn.ID, now); err != nil {
		t.Fatal(err)
	}
	if err := st.RebuildExpiryCounts(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tid := range []int64{0, tn.ID} {
		got, gotMonths := summaryOf(t, st, tid, now)
		want, wantMonths := countedDirectly(t, st, tid, now)
		if got != want || want.Total != 201 {
			t.Errorf("after rebuild: CredentialSummary(%d) = %+v, want %+v (201 live)", tid, got, want)
		}
		if diff := cmp.Diff(wantMonths, gotMonths); diff != "" {
			t.Errorf("after rebuild: months (-counted +derived):\n%s", diff)
		}
	}
	// A scan after the rebuild keeps them right (it removes the bulk-loaded ones: the tenant no longer has them).
	if _, err := st.RecordScan(ctx, tn.ID, nil, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := summaryOf(t, st, 0, now); got != (store.ExpirySummary{}) {
		t.Errorf("after an empty scan: CredentialSummary = %+v, want zero", got)
	}
}
