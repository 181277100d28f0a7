package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/pgtest"
	"github.com/appreg-portal/portal/internal/store"
)

// BenchmarkDashboardQueries times each of the dashboard's store calls
// alone, at concurrency 1, over 1,000 tenants and 200,000 live credentials.
func BenchmarkDashboardQueries(b *testing.B) {
	ctx := context.Background()
	st := pgtest.NewStore(b)
	now := time.Now()
	pgtest.SeedInventory(b, st, pgtest.Inventory{Tenants: 1000, Live: 200, Expired: 80, Removed: 50, Now: now})
	tenants, err := st.ListTenants(ctx)
	if err != nil {
		b.Fatal(err)
	}
	tid := tenants[500].ID
	for _, q := range []struct {
		name string
		fn   func() error
	}{
		{"TenantChoices", func() error { _, err := st.TenantChoices(ctx); return err }},
		{"TenantsVersion", func() error { _, _, err := st.TenantsVersion(ctx); return err }},
		{"CredentialSummary all", func() error { _, _, err := st.CredentialSummary(ctx, 0, time.Now()); return err }},
		{"CredentialSummary tenant", func() error { _, _, err := st.CredentialSummary(ctx, tid, time.Now()); return err }},
		{"ListCredentials first 51", func() error { _, err := st.ListCredentials(ctx, store.CredentialFilter{Limit: 51}); return err }},
		{"ListCredentials within 30", func() error {
			_, err := st.ListCredentials(ctx, store.CredentialFilter{Limit: 51, EndsBy: time.Now().Add(30 * 24 * time.Hour)})
			return err
		}},
		{"ListCredentials tenant", func() error {
			_, err := st.ListCredentials(ctx, store.CredentialFilter{Limit: 51, TenantID: tid})
			return err
		}},
		{"OpenRotations", func() error { _, err := st.OpenRotations(ctx); return err }},
	} {
		b.Run(q.name, func(b *testing.B) {
			for b.Loop() {
				if err := q.fn(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
