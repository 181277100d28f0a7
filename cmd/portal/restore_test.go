package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/appreg-portal/portal/internal/config"
	"github.com/appreg-portal/portal/internal/pgtest"
	"github.com/appreg-portal/portal/internal/store"
)

// Credentials loaded straight into the table (a restore, a bulk load: no
// scan recorded them) are counted as soon as the portal has started: the
// dashboard's and /metrics' counts are derived afresh at start-up.
func TestServeCountsCredentialsLoadedWhileItWasDown(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.URL(t)
	st, err := store.Open(ctx, dbURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, q := range []string{
		`INSERT INTO tenants (entra_tenant_id, display_name, status) VALUES (gen_random_uuid(), 'Restored Ltd', 'connected')`,
		`INSERT INTO credentials (tenant_id, owner_kind, owner_object_id, key_id, kind, ends_at, first_seen_at, last_seen_at)
		 SELECT (SELECT id FROM tenants), 'application', gen_random_uuid(), gen_random_uuid(), 'password', now() + g * interval '1 day', now(), now()
		 FROM generate_series(-10, 289) g`,
		// A derived row that no longer matches anything (a restore of another day's counts).
		`INSERT INTO credential_expiry_totals (ends_on, credentials) VALUES ('2020-01-01', 5000)`,
	} {
		if _, err := st.Pool().Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := ln.Addr().String()
	ln.Close()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"PORTAL_ADDR": "127.0.0.1:0", "PORTAL_BASE_URL": "http://127.0.0.1:8080", "PORTAL_SEAL_KEY": testSealKey,
			"PORTAL_DATABASE_URL": dbURL, "PORTAL_METRICS_ADDR": metricsAddr}[k]
	}, config.Dev)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	readyc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), serveHooks{ready: func(a string) { readyc <- a }})
	}()
	<-readyc
	code, body := get(t, "http://"+metricsAddr+"/metrics")
	for _, want := range []string{`appreg_credentials{state="total"} 300`, `appreg_credentials{state="expired"} 11`, `appreg_tenants{status="connected"} 1`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("after start-up, /metrics lacks %s (%d):\n%.800s", want, code, body)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve() = %v", err)
	}
}
