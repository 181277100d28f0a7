package metrics_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/metrics"
	"github.com/appreg-portal/portal/internal/pgtest"
	"github.com/appreg-portal/portal/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestMetricsReportTheInventory(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	tn, err := st.CreateTenant(ctx, store.Tenant{EntraTenantID: "fab41c4e-2d3b-4a5c-8e6f-7a8b9c0d1e2f", DisplayName: "Fabrikam", Status: "connected"}, store.AuditEvent{Action: "tenant.create"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	c := func(key string, endsIn time.Duration) store.Credential {
		return store.Credential{OwnerKind: "application", OwnerObjectID: "0a0a0a0a-0000-4000-8000-000000000001", OwnerName: "Secret App Name",
			KeyID: key, Kind: "password", EndsAt: now.Add(endsIn)}
	}
	if _, err := st.RecordScan(ctx, tn.ID, []store.Credential{
		c("c0000000-0000-4000-8000-000000000001", -time.Hour), c("c0000000-0000-4000-8000-000000000002", 10*24*time.Hour),
	}, now); err != nil {
		t.Fatal(err)
	}
	m := metrics.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	m.Observe("GET", 200, 5*time.Millisecond)
	m.Observe("POST", 403, time.Millisecond)

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", rec.Code)
	}
	for _, want := range []string{
		`appreg_credentials{state="expired"} 1`,
		`appreg_credentials{state="within_30d"} 1`,
		`appreg_credentials{state="total"} 2`,
		`appreg_tenants{status="connected"} 1`,
		`appreg_alert_deliveries{status="pending"} 0`,
		`appreg_database_up 1`,
		`appreg_http_requests_total{code="403",method="POST"} 1`,
		`appreg_http_request_duration_seconds_count{method="GET"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// Counts only: nothing names a tenant or an application.
	if strings.Contains(body, "Fabrikam") || strings.Contains(body, "Secret App Name") {
		t.Error("metrics name a tenant or application")
	}

	// With the database gone, the scrape still answers and says so.
	st.Close()
	rec = httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), "appreg_database_up 0") {
		t.Errorf("metrics with the database closed lack appreg_database_up 0")
	}
}
