package pgtest

import (
	"context"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/store"
)

// Inventory is a data set of connected tenants and their credentials for
// load tests, written with generate_series in a few statements, not
// through scans.
type Inventory struct {
	Tenants int
	// Per tenant: Live credentials, of which Expired have ended; Removed
	// more that scans no longer found.
	Live, Expired, Removed int
	Now                    time.Time
}

// SeedInventory writes inv into st's database and then rebuilds the
// derived counts, as the portal does at start-up. Expiry dates spread over
// two years before and after Now, to the second (those still to come at
// least an hour after Now, so none expires while a test runs); a tenth of the
// credentials belong to enterprise applications, a seventh are
// certificates. Each tenant has one alert contact.
func SeedInventory(tb testing.TB, st *store.Store, inv Inventory) {
	tb.Helper()
	ctx := context.Background()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO tenants (entra_tenant_id, display_name, default_domain, status, contacts)
		  SELECT gen_random_uuid(), 'Tenant ' || lpad(g::text, 5, '0'), 'tenant' || g || '.example', 'connected', ARRAY['it@tenant' || g || '.example']
		  FROM generate_series(1, $1) g`, []any{inv.Tenants}},
		{`INSERT INTO credentials (tenant_id, owner_kind, owner_object_id, owner_app_id, owner_name, key_id, kind, display_name, hint,
		                          starts_at, ends_at, first_seen_at, last_seen_at, removed_at)
		  SELECT t.id, CASE WHEN k % 10 = 9 THEN 'service_principal' ELSE 'application' END, gen_random_uuid(), gen_random_uuid()::text,
		         'Application ' || t.id || '-' || k / 2, gen_random_uuid(), CASE WHEN k % 7 = 3 THEN 'certificate' ELSE 'password' END,
		         'secret ' || k, 'a' || k % 10, $1::timestamptz - interval '800 days',
		         CASE WHEN k < $2 THEN $1::timestamptz - (1 + (k * 7919 + t.id * 104729) % 730) * interval '1 day'
		              ELSE $1::timestamptz + interval '1 hour' + ((k * 7919 + t.id * 104729) % 730) * interval '1 day' END
		           + ((k * 31 + t.id * 17) % 86400) * interval '1 second',
		         $1::timestamptz - interval '30 days', $1::timestamptz, CASE WHEN k >= $3 THEN $1::timestamptz - interval '1 day' END
		  FROM tenants t CROSS JOIN generate_series(0, $4 - 1) k WHERE t.status = 'connected'`, []any{inv.Now, inv.Expired, inv.Live, inv.Live + inv.Removed}},
		{`VACUUM ANALYZE credentials`, nil},
		{`ANALYZE tenants`, nil},
	} {
		if _, err := st.Pool().Exec(ctx, q.sql, q.args...); err != nil {
			tb.Fatalf("pgtest: seed inventory: %v", err)
		}
	}
	if err := st.RebuildExpiryCounts(ctx); err != nil {
		tb.Fatalf("pgtest: seed inventory: %v", err)
	}
}
