package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/pgtest"
	"github.com/appreg-portal/portal/internal/store"
)

// BenchmarkRecordScan records a scan of a tenant with 5,000 credentials, the
// steady state: every credential known already, refreshed in one statement.
func BenchmarkRecordScan(b *testing.B) {
	ctx := context.Background()
	st := pgtest.NewStore(b)
	tn, err := st.CreateTenant(ctx, store.Tenant{EntraTenantID: "fab41c4e-2d3b-4a5c-8e6f-7a8b9c0d1e2f", DisplayName: "Fabrikam", Status: "connected"}, store.AuditEvent{Action: "tenant.create"})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	creds := make([]store.Credential, 5000)
	for i := range creds {
		creds[i] = store.Credential{OwnerKind: "application", OwnerObjectID: fmt.Sprintf("0a0a0a0a-0000-4000-8000-%012d", i/2), OwnerName: fmt.Sprintf("App %d", i/2),
			KeyID: fmt.Sprintf("c0c0c0c0-0000-4000-8000-%012d", i), Kind: "password", EndsAt: now.Add(time.Duration(i) * time.Hour)}
	}
	at := now
	for b.Loop() {
		at = at.Add(time.Second)
		if _, err := st.RecordScan(ctx, tn.ID, creds, at); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(creds)*b.N)/b.Elapsed().Seconds(), "credentials/s")
}
