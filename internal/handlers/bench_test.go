package handlers_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/internal/testenv"
)

// BenchmarkSignedInPage measures one signed-in page view end to end over
// loopback: session load from Postgres, session check, the page's query and
// rendering. It reports requests per second.
func BenchmarkSignedInPage(b *testing.B) {
	for _, page := range []struct{ name, path string }{{"dashboard", "/"}, {"catalogue", "/catalogue"}, {"audit", "/audit"}} {
		path := page.path
		b.Run(page.name, func(b *testing.B) {
			env := testenv.New(b, testenv.Options{AutoLogin: true})
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
			resp, err := c.Get(env.Portal.URL + "/login?login_hint=" + url.QueryEscape(env.Users["ada"]))
			if err != nil || resp.StatusCode != 200 {
				b.Fatalf("sign-in: %v %v", err, resp)
			}
			resp.Body.Close()
			start := time.Now()
			n := 0
			for b.Loop() {
				resp, err := c.Get(env.Portal.URL + path)
				if err != nil || resp.StatusCode != 200 {
					b.Fatalf("GET %s: %v %v", path, err, resp)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				n++
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "req/s")
		})
	}
}

// BenchmarkSignIn measures a whole sign-in: the portal's redirect, the
// emulator's authorize and token endpoints, ID token checks and the session
// and audit writes.
func BenchmarkSignIn(b *testing.B) {
	env := testenv.New(b, testenv.Options{AutoLogin: true})
	start := time.Now()
	n := 0
	for b.Loop() {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
		resp, err := c.Get(env.Portal.URL + "/login?login_hint=" + url.QueryEscape(env.Users["vera"]))
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("sign-in: %v %v", err, resp)
		}
		resp.Body.Close()
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "signins/s")
}

// BenchmarkDashboardWithInventory is the dashboard over 5,000 tracked
// credentials in one tenant: summary, 12-month timeline and the first 500 rows.
func BenchmarkDashboardWithInventory(b *testing.B) {
	ctx := context.Background()
	env := testenv.New(b, testenv.Options{AutoLogin: true})
	tn, err := env.Store.CreateTenant(ctx, store.Tenant{EntraTenantID: env.Other, DisplayName: "Fabrikam", Status: "connected"}, store.AuditEvent{Action: "tenant.create"})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	creds := make([]store.Credential, 5000)
	for i := range creds {
		creds[i] = store.Credential{OwnerKind: "application", OwnerObjectID: fmt.Sprintf("0a0a0a0a-0000-4000-8000-%012d", i/2), OwnerName: fmt.Sprintf("App %d", i/2),
			KeyID: fmt.Sprintf("c0c0c0c0-0000-4000-8000-%012d", i), Kind: "password", EndsAt: now.Add(time.Duration(i%400-30) * 24 * time.Hour)}
	}
	if _, err := env.Store.RecordScan(ctx, tn.ID, creds, now); err != nil {
		b.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.Get(env.Portal.URL + "/login?login_hint=" + url.QueryEscape(env.Users["ada"]))
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("sign-in: %v %v", err, resp)
	}
	resp.Body.Close()
	start, n := time.Now(), 0
	for b.Loop() {
		resp, err := c.Get(env.Portal.URL + "/")
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("GET /: %v %v", err, resp)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "req/s")
}
