package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func validServe() map[string]string {
	return map[string]string{
		"PORTAL_BASE_URL":      "https://portal.example.com",
		"PORTAL_DATABASE_URL":  "postgres://portal@db/portal",
		"PORTAL_TENANT_ID":     "72f988bf-86f1-41af-91ab-2d7cd011db47",
		"PORTAL_CLIENT_ID":     "11111111-2222-3333-4444-555555555555",
		"PORTAL_CLIENT_SECRET": "s3cr3t-value",
		"PORTAL_SEAL_KEY":      "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
	}
}

func TestLoadValid(t *testing.T) {
	c, err := Load(env(validServe()), Serve)
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	if c.Addr != ":8080" || c.BaseURL.String() != "https://portal.example.com" || c.DBTimeout != 5*time.Second ||
		c.Entra.Authority != "https://login.microsoftonline.com" || c.Session.IdleTimeout != time.Hour {
		t.Errorf("Load() defaults = %+v", c)
	}
	if len(c.Entra.AllowedTenants) != 1 || c.Entra.AllowedTenants[0] != "72f988bf-86f1-41af-91ab-2d7cd011db47" {
		t.Errorf("AllowedTenants = %v, want the operator tenant by default", c.Entra.AllowedTenants)
	}
}

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	_, err := Load(env(map[string]string{
		"PORTAL_BASE_URL":             "http://portal.example.com",
		"PORTAL_TENANT_ID":            "contoso",
		"PORTAL_DB_MAX_CONNS":         "0",
		"PORTAL_LOG_FORMAT":           "xml",
		"PORTAL_SESSION_IDLE_TIMEOUT": "48h",
		"PORTAL_ALLOWED_TENANTS":      "72f988bf-86f1-41af-91ab-2d7cd011db47, nope",
	}), Serve)
	p, ok := err.(Problems)
	if !ok {
		t.Fatalf("Load() error = %T %v, want Problems", err, err)
	}
	want := []string{
		"PORTAL_DB_MAX_CONNS",
		"PORTAL_LOG_FORMAT",
		"PORTAL_BASE_URL \"http://portal.example.com\" must use https",
		"PORTAL_DATABASE_URL is required",
		"PORTAL_CLIENT_SECRET (or PORTAL_CLIENT_SECRET_FILE) is required",
		"PORTAL_SEAL_KEY (or PORTAL_SEAL_KEY_FILE) is required",
		"PORTAL_TENANT_ID \"contoso\" is not a GUID",
		"PORTAL_CLIENT_ID is required",
		"PORTAL_ALLOWED_TENANTS: \"nope\"",
		"PORTAL_SESSION_IDLE_TIMEOUT (48h0m0s) must not be longer",
	}
	if len(p) != len(want) {
		t.Errorf("got %d problems, want %d:\n%v", len(p), len(want), err)
	}
	msg := err.Error()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error does not mention %q:\n%s", w, msg)
		}
	}
	if !strings.HasPrefix(msg, "configuration: 10 problems:") {
		t.Errorf("error starts %q", strings.SplitN(msg, "\n", 2)[0])
	}
}

func TestSecretFromFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "secret")
	if err := os.WriteFile(f, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := validServe()
	delete(m, "PORTAL_CLIENT_SECRET")
	m["PORTAL_CLIENT_SECRET_FILE"] = f
	c, err := Load(env(m), Serve)
	if err != nil || c.Entra.ClientSecret != "from-file" {
		t.Fatalf("Load() = %q, %v; want the file's contents without the newline", c.Entra.ClientSecret, err)
	}

	m["PORTAL_CLIENT_SECRET"] = "also-set"
	if _, err := Load(env(m), Serve); err == nil || !strings.Contains(err.Error(), "both set") {
		t.Errorf("both NAME and NAME_FILE: err = %v, want a 'both set' problem", err)
	}

	delete(m, "PORTAL_CLIENT_SECRET")
	m["PORTAL_CLIENT_SECRET_FILE"] = filepath.Join(dir, "missing")
	_, err = Load(env(m), Serve)
	if err == nil || !strings.Contains(err.Error(), "PORTAL_CLIENT_SECRET_FILE") {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestErrorsNeverEchoSecrets(t *testing.T) {
	m := validServe()
	m["PORTAL_CLIENT_SECRET_FILE"] = "/dev/null" // both set
	_, err := Load(env(m), Serve)
	if err == nil || strings.Contains(err.Error(), "s3cr3t-value") {
		t.Errorf("err = %v; must exist and must not contain the secret", err)
	}
}

func TestMigrateNeedsOnlyTheDatabase(t *testing.T) {
	if _, err := Load(env(map[string]string{"PORTAL_DATABASE_URL": "postgres://x@y/z"}), Migrate); err != nil {
		t.Errorf("Load(Migrate) = %v, want nil", err)
	}
	if _, err := Load(env(nil), Migrate); err == nil || !strings.Contains(err.Error(), "PORTAL_DATABASE_URL is required") {
		t.Errorf("Load(Migrate) without a database = %v", err)
	}
}

func TestTrustedProxies(t *testing.T) {
	m := validServe()
	m["PORTAL_TRUSTED_PROXIES"] = "10.0.0.0/8, 192.168.1.10, fd00::/8"
	c, err := Load(env(m), Serve)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range c.TrustedProxies {
		got = append(got, p.String())
	}
	if strings.Join(got, " ") != "10.0.0.0/8 192.168.1.10/32 fd00::/8" {
		t.Errorf("TrustedProxies = %v", got)
	}
	m["PORTAL_TRUSTED_PROXIES"] = "10.0.0.0/8, proxy.local"
	if _, err := Load(env(m), Serve); err == nil || !strings.Contains(err.Error(), `"proxy.local" is not an IP address or CIDR`) {
		t.Errorf("bad proxy: err = %v", err)
	}
}

func TestAlertSettings(t *testing.T) {
	m := validServe()
	c, err := Load(env(m), Serve)
	if err != nil || c.Alerts.SMTPAddr != "" || len(c.Alerts.Thresholds) != 6 || c.Alerts.Thresholds[0] != 60 || c.Alerts.SMTPTLS != "starttls" {
		t.Fatalf("defaults = %+v, %v", c.Alerts, err)
	}
	m["PORTAL_SMTP_ADDR"] = "smtp.example.com:587"
	m["PORTAL_SMTP_FROM"] = "portal@example.com"
	m["PORTAL_ALERT_RECIPIENTS"] = "Ops@Example.com, ada@example.com"
	m["PORTAL_ALERT_THRESHOLDS"] = "7, 30, 0, 30"
	c, err = Load(env(m), Serve)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Alerts.Recipients, " ") != "ops@example.com ada@example.com" || fmt.Sprint(c.Alerts.Thresholds) != "[30 7 0]" {
		t.Errorf("alerts = %+v", c.Alerts)
	}
	m["PORTAL_SMTP_ADDR"] = "smtp.example.com"
	m["PORTAL_SMTP_FROM"] = ""
	m["PORTAL_ALERT_RECIPIENTS"] = "not-an-address"
	m["PORTAL_ALERT_THRESHOLDS"] = "7,-1,soon"
	_, err = Load(env(m), Serve)
	for _, want := range []string{"must be host:port", "PORTAL_SMTP_FROM is required", `"not-an-address" is not an e-mail address`, `"-1" must be whole days`, `"soon" must be whole days`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func TestLoadSealKey(t *testing.T) {
	m := validServe()
	c, err := Load(env(m), Serve)
	if err != nil || string(c.SealKey) != "0123456789abcdef0123456789abcdef" {
		t.Fatalf("Load() SealKey = %q, %v", c.SealKey, err)
	}
	m["PORTAL_SEAL_KEY"] = "c2hvcnQ="
	_, err = Load(env(m), Serve)
	if err == nil || !strings.Contains(err.Error(), "PORTAL_SEAL_KEY: key must be 32 bytes") {
		t.Errorf("short key: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "c2hvcnQ") {
		t.Errorf("the error repeats the key: %v", err)
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST": true, "127.0.0.1": true, "127.8.9.10": true, "::1": true, "[::1]": true, "::ffff:127.0.0.1": true,
		"127.0.0.1.nip.io": false, "127.attacker.example": false, "10.0.0.1": false, "portal.example": false, "": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}
