package handlers

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/web/static"
)

type fakeHealth struct {
	pingErr error
	current bool
}

func (f fakeHealth) Ping(context.Context) error                  { return f.pingErr }
func (f fakeHealth) SchemaCurrent(context.Context) (bool, error) { return f.current, nil }

func newTestHandler(tb testing.TB, d Deps) *Handler {
	tb.Helper()
	if d.Log == nil {
		d.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if d.BaseURL == nil {
		d.BaseURL, _ = url.Parse("https://portal.example.com")
	}
	return New(d)
}

func TestReadyz(t *testing.T) {
	tests := []struct {
		name       string
		health     fakeHealth
		wantStatus int
		wantBody   string
	}{
		{"ready", fakeHealth{current: true}, 200, `"status":"ready"`},
		{"database down", fakeHealth{pingErr: errors.New("dial tcp: refused")}, 503, `"database":"unreachable"`},
		{"migrations pending", fakeHealth{current: false}, 503, `migrations pending`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHandler(t, Deps{Health: tt.health})
			rec := httptest.NewRecorder()
			h.Routes().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
			if rec.Code != tt.wantStatus || !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("GET /readyz = %d %s, want %d containing %s", rec.Code, rec.Body, tt.wantStatus, tt.wantBody)
			}
			if strings.Contains(rec.Body.String(), "refused") {
				t.Errorf("readyz leaks the driver error: %s", rec.Body)
			}
		})
	}
}

func TestHealthzIgnoresTheDatabase(t *testing.T) {
	h := newTestHandler(t, Deps{Health: fakeHealth{pingErr: errors.New("down")}})
	rec := httptest.NewRecorder()
	h.Routes().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 || rec.Body.String() != "ok\n" {
		t.Errorf("GET /healthz = %d %q, want 200 ok", rec.Code, rec.Body)
	}
}

func TestSecurityHeaders(t *testing.T) {
	h := newTestHandler(t, Deps{Health: fakeHealth{current: true}, FormTargets: []string{"https://login.microsoftonline.com"}})
	rec := httptest.NewRecorder()
	h.Routes().ServeHTTP(rec, httptest.NewRequest("GET", "/no-such-page", nil))
	hdr := rec.Header()
	csp := hdr.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self' 'nonce-", "frame-ancestors 'none'", "object-src 'none'", "form-action 'self' https://login.microsoftonline.com"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows unsafe sources: %q", csp)
	}
	for k, want := range map[string]string{
		"X-Content-Type-Options":    "nosniff",
		"Referrer-Policy":           "same-origin",
		"Strict-Transport-Security": "max-age=63072000; includeSubDomains",
		"X-Frame-Options":           "DENY",
	} {
		if got := hdr.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if len(hdr.Get("X-Request-ID")) != 16 {
		t.Errorf("X-Request-ID = %q, want 16 hex characters", hdr.Get("X-Request-ID"))
	}

	// The nonce differs per request.
	rec2 := httptest.NewRecorder()
	h.Routes().ServeHTTP(rec2, httptest.NewRequest("GET", "/no-such-page", nil))
	if rec2.Header().Get("Content-Security-Policy") == csp {
		t.Error("two requests got the same CSP nonce")
	}
}

func TestNoHSTSOverPlainHTTP(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1:8080")
	h := newTestHandler(t, Deps{BaseURL: u, Health: fakeHealth{current: true}})
	rec := httptest.NewRecorder()
	h.Routes().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if got := rec.Header().Get("Strict-Transport-Security"); got != "" {
		t.Errorf("HSTS over http = %q, want none", got)
	}
}

func TestCrossOriginPostIsRefused(t *testing.T) {
	h := newTestHandler(t, Deps{Health: fakeHealth{current: true}})
	tests := []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"cross-site fetch metadata", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"foreign origin", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		// Same-origin requests get past the check and reach routing (405: no POST route here).
		{"same origin", map[string]string{"Sec-Fetch-Site": "same-origin"}, http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "https://portal.example.com/", strings.NewReader("x=1"))
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.Routes().ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("POST with %v = %d, want %d", tt.header, rec.Code, tt.want)
			}
			if tt.want == http.StatusForbidden && !strings.Contains(rec.Body.String(), "came from another site") {
				t.Errorf("403 page does not explain itself: %s", rec.Body)
			}
		})
	}
}

func TestNotFoundPageAndFragment(t *testing.T) {
	h := newTestHandler(t, Deps{Health: fakeHealth{current: true}})
	rec := httptest.NewRecorder()
	h.Routes().ServeHTTP(rec, httptest.NewRequest("GET", "/nope", nil))
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), `data-testid="error-page"`) || !strings.Contains(rec.Body.String(), "<html") {
		t.Errorf("GET /nope = %d, want a full 404 page", rec.Code)
	}
	req := httptest.NewRequest("GET", "/nope", nil)
	req.Header.Set("HX-Request", "true")
	rec = httptest.NewRecorder()
	h.Routes().ServeHTTP(rec, req)
	if rec.Code != 404 || strings.Contains(rec.Body.String(), "<html") || !strings.Contains(rec.Body.String(), `data-testid="error-fragment"`) {
		t.Errorf("htmx GET /nope = %d %s, want a 404 fragment", rec.Code, rec.Body)
	}
	// A history restore needs the whole page even though it carries HX-Request.
	req.Header.Set("HX-History-Restore-Request", "true")
	rec = httptest.NewRecorder()
	h.Routes().ServeHTTP(rec, req)
	if !strings.Contains(rec.Body.String(), "<html") {
		t.Error("history restore got a fragment, want the whole page")
	}
}

func TestInternalErrorsAreGenericAndLogged(t *testing.T) {
	var logs strings.Builder
	h := newTestHandler(t, Deps{Log: slog.New(slog.NewTextHandler(&logs, nil))})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/boom", nil)
	h.wrap(func(http.ResponseWriter, *http.Request) error {
		return errors.New("pq: password authentication failed for user hunter2")
	}).ServeHTTP(rec, req)
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "hunter2") {
		t.Errorf("500 page = %d and leaks the error: %v", rec.Code, strings.Contains(rec.Body.String(), "hunter2"))
	}
	if !strings.Contains(logs.String(), "hunter2") || !strings.Contains(logs.String(), "request failed") {
		t.Errorf("the error was not logged: %s", logs.String())
	}
}

func TestPanicsBecome500(t *testing.T) {
	h := newTestHandler(t, Deps{})
	rec := httptest.NewRecorder()
	h.recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("kaboom") })).
		ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "kaboom") {
		t.Errorf("panic = %d, leaked %v", rec.Code, strings.Contains(rec.Body.String(), "kaboom"))
	}
}

func TestStaticAssetsAreHashedAndCachedForever(t *testing.T) {
	h := newTestHandler(t, Deps{})
	p := static.Path("vendor/htmx-2.0.11.min.js")
	if !strings.HasPrefix(p, "/static/vendor/htmx-2.0.11.min.") || p == "/static/vendor/htmx-2.0.11.min.js" {
		t.Fatalf("Path() = %q, want a content-hashed name", p)
	}
	rec := httptest.NewRecorder()
	h.Routes().ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
	if rec.Code != 200 || rec.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" ||
		!strings.Contains(rec.Header().Get("Content-Type"), "javascript") || rec.Body.Len() < 40000 {
		t.Errorf("GET %s = %d %q %q (%d bytes)", p, rec.Code, rec.Header().Get("Cache-Control"), rec.Header().Get("Content-Type"), rec.Body.Len())
	}
	rec = httptest.NewRecorder()
	h.Routes().ServeHTTP(rec, httptest.NewRequest("GET", "/static/vendor/htmx-2.0.11.min.js", nil))
	if rec.Code != 404 {
		t.Errorf("unhashed name = %d, want 404", rec.Code)
	}
}

func TestClientIPBelievesOnlyTrustedProxies(t *testing.T) {
	h := newTestHandler(t, Deps{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"direct client, no header", "203.0.113.7:5000", nil, "203.0.113.7"},
		{"direct client spoofing the header", "203.0.113.7:5000", []string{"198.51.100.1"}, "203.0.113.7"},
		{"through the proxy", "10.1.2.3:443", []string{"198.51.100.9"}, "198.51.100.9"},
		{"client prepends a fake hop", "10.1.2.3:443", []string{"1.2.3.4, 198.51.100.9"}, "198.51.100.9"},
		{"two trusted proxies", "10.1.2.3:443", []string{"198.51.100.9, 10.9.9.9"}, "198.51.100.9"},
		{"several header lines", "10.1.2.3:443", []string{"1.2.3.4", "198.51.100.9"}, "198.51.100.9"},
		{"garbage in the header", "10.1.2.3:443", []string{"198.51.100.9, not-an-ip"}, "10.1.2.3"},
		{"proxy with no header", "10.1.2.3:443", nil, "10.1.2.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			h.realIP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = clientIP(r) })).ServeHTTP(httptest.NewRecorder(), req)
			if got != tt.want {
				t.Errorf("clientIP(remote %s, XFF %v) = %s, want %s", tt.remote, tt.xff, got, tt.want)
			}
		})
	}
}

func TestCredentialRowStates(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		ends      time.Duration
		wantDays  int
		wantState string
	}{
		{-72 * time.Hour, -3, "expired"},
		{-time.Hour, 0, "expired"},
		{time.Hour, 0, "soon"},
		{30 * 24 * time.Hour, 30, "soon"},
		{31*24*time.Hour + time.Minute, 31, "later"},
	}
	for _, tt := range tests {
		got := credentialRow(store.Credential{EndsAt: now.Add(tt.ends), Kind: "certificate", OwnerKind: "service_principal"}, now)
		if got.Days != tt.wantDays || got.State != tt.wantState || got.Kind != "Certificate" || got.OwnerKind != "Enterprise application" {
			t.Errorf("credentialRow(ends in %s) = %+v, want %d days, %s", tt.ends, got, tt.wantDays, tt.wantState)
		}
	}
}
