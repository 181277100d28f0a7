package handlers_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"
	"time"

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
