package alerts_test

import (
	"context"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/pgtest"
)

// BenchmarkAlertLanguagesAtScale is what reading the languages adds to an
// alert run at the scale of BenchmarkAlertRunAtScale: 1,000 tenants, half
// of them Dutch, each with a contact, 1,000 portal users, and a digest for
// every contact plus a portal-wide recipient, asked in one call.
func BenchmarkAlertLanguagesAtScale(b *testing.B) {
	ctx := context.Background()
	st := pgtest.NewStore(b)
	pgtest.SeedInventory(b, st, pgtest.Inventory{Tenants: 1000, Live: 1, Now: time.Now()})
	if _, err := st.Pool().Exec(ctx, `
		UPDATE tenants SET language = 'nl' WHERE id % 2 = 0;
		INSERT INTO users (entra_tenant_id, object_id, display_name, email, role, language)
		SELECT '11111111-0000-4000-8000-000000000000', gen_random_uuid(), 'User ' || i, 'user' || i || '@contoso.example', 'viewer',
		       CASE WHEN i % 3 = 0 THEN 'nl' END
		FROM generate_series(1, 1000) i`); err != nil {
		b.Fatal(err)
	}
	var recipients []string
	if err := st.Pool().QueryRow(ctx, `SELECT array_agg(DISTINCT lower(x)) FROM tenants, unnest(contacts) x`).Scan(&recipients); err != nil {
		b.Fatal(err)
	}
	recipients = append(recipients, "ops@contoso.example", "user3@contoso.example")
	b.ResetTimer()
	for b.Loop() {
		ls, err := st.AlertLanguages(ctx, recipients, nil)
		if err != nil {
			b.Fatal(err)
		}
		if len(ls.Contacts) != len(recipients)-2 || ls.Users["user3@contoso.example"] != "nl" {
			b.Fatalf("languages of %d contacts, user3 %q; want %d and nl", len(ls.Contacts), ls.Users["user3@contoso.example"], len(recipients)-2)
		}
	}
	b.ReportMetric(float64(len(recipients)), "recipients")
}
