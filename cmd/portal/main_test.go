package main

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/config"
	"github.com/appreg-portal/portal/internal/pgcluster"
	"github.com/appreg-portal/portal/internal/pgtest"
	"github.com/appreg-portal/portal/migrations"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestServeRefusesBadConfigurationWithEveryProblem(t *testing.T) {
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string {
		return map[string]string{"PORTAL_TENANT_ID": "nope", "PORTAL_DB_TIMEOUT": "soon"}[k]
	}
	err := run(context.Background(), []string{"serve"}, getenv, &stdout, &stderr)
	if err == nil {
		t.Fatal("run(serve) with a bad configuration = nil")
	}
	for _, want := range []string{"PORTAL_DATABASE_URL is required", "PORTAL_BASE_URL is required", "PORTAL_TENANT_ID \"nope\"", "PORTAL_DB_TIMEOUT \"soon\""} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestHelpDocumentsEveryVariable(t *testing.T) {
	var stdout, stderr bytes.Buffer
	_ = run(context.Background(), []string{"serve", "-h"}, func(string) string { return "" }, &stdout, &stderr)
	for _, v := range config.Vars {
		if !strings.Contains(stderr.String(), v.Name) {
			t.Errorf("portal serve -h does not document %s", v.Name)
		}
	}
}

func TestMigrateCommand(t *testing.T) {
	ctx := context.Background()
	url := pgtest.EmptyURL(t)
	getenv := func(k string) string { return map[string]string{"PORTAL_DATABASE_URL": url}[k] }
	files, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil || len(files) < 2 {
		t.Fatalf("migrations: %v, %v", files, err)
	}
	slices.Sort(files)
	latest := files[len(files)-1]
	for _, step := range []struct {
		args []string
		want string
	}{
		{[]string{"migrate", "status"}, "pending"},
		{[]string{"migrate"}, "applied  00001_create_tenants.sql"},
		{[]string{"migrate", "up"}, "nothing to apply"},
		{[]string{"migrate", "down"}, "rolled back  " + latest},
		{[]string{"migrate", "status"}, latest + " pending"},
	} {
		var out bytes.Buffer
		if err := run(ctx, step.args, getenv, &out, io.Discard); err != nil {
			t.Fatalf("portal %v = %v", step.args, err)
		}
		// Collapse tabwriter's padding: column widths change as migrations are added.
		if !strings.Contains(strings.Join(strings.Fields(out.String()), " "), strings.Join(strings.Fields(step.want), " ")) {
			t.Errorf("portal %v printed:\n%s\nwant it to contain %q", step.args, out.String(), step.want)
		}
	}
	if err := run(ctx, []string{"migrate", "sideways"}, getenv, io.Discard, io.Discard); err == nil {
		t.Error("portal migrate sideways = nil, want a usage error")
	}
}

// The portal must start while Postgres is down, say so on /readyz, and
// become ready by itself once the database comes up.
func TestServeRecoversWhenTheDatabaseComesUp(t *testing.T) {
	dir, err := os.MkdirTemp("", "portal-recover-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := pgcluster.New(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := c.Init(ctx); err != nil {
		t.Fatal(err)
	}

	cfg, err := config.Load(func(k string) string {
		return map[string]string{
			"PORTAL_ADDR": "127.0.0.1:0", "PORTAL_BASE_URL": "http://127.0.0.1:8080", "PORTAL_SEAL_KEY": testSealKey,
			"PORTAL_DATABASE_URL": c.URL("postgres"), "PORTAL_DB_TIMEOUT": "1s",
		}[k]
	}, config.Dev)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	addrc := make(chan string, 1)
	readyc := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, cfg, slog.New(slog.NewTextHandler(&logs, nil)), serveHooks{
			listening: func(addr string) { addrc <- addr },
			ready:     func(string) { close(readyc) },
		})
	}()
	addr := <-addrc

	code, body := get(t, "http://"+addr+"/readyz")
	if code != 503 || !strings.Contains(body, "unreachable") {
		t.Fatalf("/readyz with the database down = %d %s, want 503 unreachable", code, body)
	}
	if code, _ := get(t, "http://"+addr+"/healthz"); code != 200 {
		t.Errorf("/healthz with the database down = %d, want 200", code)
	}

	if err := c.Start(ctx, true); err != nil {
		t.Fatal(err)
	}
	defer c.Stop(true)
	select {
	case <-readyc:
	case <-time.After(45 * time.Second):
		t.Fatalf("portal did not become ready after the database came up; logs:\n%s", logs.String())
	}
	if code, body := get(t, "http://"+addr+"/readyz"); code != 200 {
		t.Errorf("/readyz after recovery = %d %s, want 200", code, body)
	}
	if !strings.Contains(logs.String(), "database not ready") {
		t.Errorf("no clear log line while the database was down:\n%s", logs.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve() after shutdown = %v", err)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestHealthcheckCommand(t *testing.T) {
	ready := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"status":"ready"}`)) }))
	defer ready.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer down.Close()
	if err := run(context.Background(), []string{"healthcheck", "-url", ready.URL}, nil, io.Discard, io.Discard); err != nil {
		t.Errorf("healthcheck against a ready portal = %v", err)
	}
	if err := run(context.Background(), []string{"healthcheck", "-url", down.URL}, nil, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("healthcheck against a 503 = %v, want an error naming 503", err)
	}
}

// serve exposes /metrics on PORTAL_METRICS_ADDR, separate from the portal.
func TestServeMetricsListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := ln.Addr().String()
	ln.Close()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"PORTAL_ADDR": "127.0.0.1:0", "PORTAL_BASE_URL": "http://127.0.0.1:8080", "PORTAL_SEAL_KEY": testSealKey,
			"PORTAL_DATABASE_URL": pgtest.URL(t), "PORTAL_METRICS_ADDR": metricsAddr}[k]
	}, config.Dev)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	readyc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), serveHooks{ready: func(a string) { readyc <- a }})
	}()
	addr := <-readyc
	get(t, "http://"+addr+"/healthz")
	code, body := get(t, "http://"+metricsAddr+"/metrics")
	if code != 200 || !strings.Contains(body, `appreg_http_requests_total{code="200",method="GET"}`) || !strings.Contains(body, "appreg_database_up 1") {
		t.Errorf("GET /metrics = %d:\n%.600s", code, body)
	}
	if code, _ := get(t, "http://"+addr+"/metrics"); code != 404 {
		t.Errorf("/metrics on the public listener = %d, want 404", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve() = %v", err)
	}
}

// testSealKey is a fixed PORTAL_SEAL_KEY for the tests (base64 of 32 bytes).
const testSealKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

// The Alerts page is told what serve configured: on, from whom, to whom and
// when (it said "Alerts are off" while alerts were being sent).
func TestServeHandsAlertSettingsToThePages(t *testing.T) {
	cfg, err := config.Load(func(k string) string {
		return map[string]string{
			"PORTAL_BASE_URL": "https://portal.example", "PORTAL_SEAL_KEY": testSealKey, "PORTAL_DATABASE_URL": "postgres://x@127.0.0.1/x",
			"PORTAL_SMTP_ADDR": "mail.example:587", "PORTAL_SMTP_FROM": "portal@example.com", "PORTAL_ALERT_RECIPIENTS": "ops@example.com",
		}[k]
	}, config.Dev)
	if err != nil {
		t.Fatal(err)
	}
	a := alerts.New(alerts.Config{SMTP: alerts.SMTP{Addr: cfg.Alerts.SMTPAddr, From: cfg.Alerts.SMTPFrom}, Recipients: cfg.Alerts.Recipients}, nil)
	got := alertSettings(cfg, a)
	if !got.Enabled || got.From != "portal@example.com" || len(got.Recipients) != 1 || got.Recipients[0] != "ops@example.com" || len(got.Thresholds) == 0 {
		t.Errorf("alert settings for the pages = %+v", got)
	}
	off := alertSettings(config.Config{}, alerts.New(alerts.Config{}, nil))
	if off.Enabled || len(off.Thresholds) == 0 {
		t.Errorf("alert settings without SMTP = %+v, want off with the default thresholds to explain", off)
	}
}
