package main

import (
	"context"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/entrasim"
)

// freeAddr is a loopback address nobody listens on (not 8080/8081: the
// point is that any address works).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// `portal dev -addr A -entra-addr B` signs in (the demo portal app had the
// redirect URIs for 127.0.0.1:8080 only: AADSTS50011), and the first
// sign-in lands on a full dashboard: Fabrikam connected and scanned, the
// Alerts page with the digest the dev mail sink received.
func TestDevOnAnyAddressSignsInToAFullDemoWorld(t *testing.T) {
	data, err := os.MkdirTemp("", "portal-dev-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(data)
	if err := os.Chmod(data, 0o755); err != nil { // as root the cluster runs as postgres
		t.Fatal(err)
	}
	addr, entraAddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"dev", "-addr", addr, "-entra-addr", entraAddr, "-smtp-addr", "127.0.0.1:0", "-data", filepath.Join(data, "d")},
			func(string) string { return "" }, &stdout, &stderr)
	}()
	deadline := time.After(90 * time.Second)
	for !strings.Contains(stdout.String(), "AppReg Portal is running") {
		select {
		case err := <-done:
			t.Fatalf("portal dev stopped: %v\n%s\n%s", err, stdout.String(), stderr.String())
		case <-deadline:
			t.Fatalf("portal dev not ready after 90s:\n%s\n%s", stdout.String(), stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	out := stdout.String()
	for _, want := range []string{"http://" + addr, "oscar@contoso-consulting.example", "start here", "Fabrikam is connected and scanned", "Try first"} {
		if !strings.Contains(out, want) {
			t.Errorf("the console lacks %q:\n%s", want, out)
		}
	}

	c := newSignInClient(t)
	dash := c.signIn(t, "http://"+addr, "oscar@contoso-consulting.example")
	for _, want := range []string{`data-testid="credential-row"`, "Exact Globe+ (server EXG01)", `data-testid="expiry-timeline"`} {
		if !strings.Contains(dash, want) {
			t.Errorf("the dashboard at first sign-in lacks %q:\n%.3000s", want, dash)
		}
	}
	_, alertsPage := c.get(t, "http://"+addr+"/alerts")
	if !strings.Contains(alertsPage, `data-testid="delivery-row"`) || !strings.Contains(alertsPage, "it@fabrikam.example") {
		t.Errorf("the Alerts page at first sign-in shows no delivery to Fabrikam's contact:\n%.3000s", alertsPage)
	}
	// The Outbox shows the demo world's digest to Fabrikam's contact, as sent.
	_, outbox := c.get(t, "http://"+addr+"/dev/outbox")
	if !strings.Contains(outbox, `data-testid="outbox-message"`) || !strings.Contains(outbox, "e-mail → it@fabrikam.example</span> · sent") ||
		!strings.Contains(outbox, `data-testid="dev-clock-7"`) {
		t.Errorf("the Outbox at first sign-in lacks the digest to it@fabrikam.example or the clock:\n%.3000s", outbox)
	}
	// Fabrikam is a Dutch customer: its contact's digest is in Dutch.
	if !strings.Contains(outbox, "verloopt") {
		t.Errorf("the digest to Fabrikam's contact is not in Dutch:\n%.6000s", outbox)
	}
	_, tenantsPage := c.get(t, "http://"+addr+"/tenants")
	if n := strings.Count(tenantsPage, `data-testid="tenant-row"`); n != 1 || !strings.Contains(tenantsPage, "Fabrikam") {
		t.Errorf("the Tenants page should list Fabrikam alone (%d rows), leaving Northwind to connect:\n%.3000s", n, tenantsPage)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("portal dev after Ctrl+C = %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Error("portal dev did not stop")
	}
}

// dev names the problem with a non-loopback -addr itself.
func TestDevRefusesANonLoopbackAddress(t *testing.T) {
	for _, addr := range []string{":8080", "0.0.0.0:8080", "192.0.2.1:8080", "127.0.0.1", "127.0.0.1:0"} {
		err := run(context.Background(), []string{"dev", "-addr", addr}, func(string) string { return "" }, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "loopback only") {
			t.Errorf("portal dev -addr %s = %v, want a loopback-only explanation", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:18480", "localhost:18480", "[::1]:18480"} {
		if err := checkDevAddr(addr); err != nil {
			t.Errorf("checkDevAddr(%s) = %v", addr, err)
		}
	}
}

// The demo portal app gets the redirect URIs of whatever address dev serves.
func TestDemoSeedForRegistersTheChosenAddress(t *testing.T) {
	base, _ := url.Parse("http://127.0.0.1:18480")
	b, err := demoSeedFor(base)
	if err != nil {
		t.Fatal(err)
	}
	sim := entrasim.New(entrasim.Options{})
	res, err := sim.LoadSeed(strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("the rewritten seed does not load: %v", err)
	}
	if res.Applications["portal"].SecretText != entrasim.DemoPortalSecret || len(res.Users) != len(mustSeedUsers(t)) {
		t.Errorf("the rewritten seed lost something: %+v", res)
	}
	got := portalRedirectURIs(base)
	for _, want := range []string{"http://127.0.0.1:18480/auth/callback", "http://localhost:18480/signed-out",
		"http://127.0.0.1:18480/onboarding/callback", "http://localhost:18480/registrations/callback"} {
		if !strings.Contains(strings.Join(got, " "), want) || !strings.Contains(string(b), want) {
			t.Errorf("redirect URIs for %s lack %s: %v", base, want, got)
		}
	}
	prod, _ := url.Parse("https://portal.example.com/")
	if got := portalRedirectURIs(prod); len(got) != 4 || got[0] != "https://portal.example.com/auth/callback" {
		t.Errorf("redirect URIs for %s = %v", prod, got)
	}
}

func mustSeedUsers(t *testing.T) map[string]bool {
	t.Helper()
	users := map[string]bool{}
	for _, m := range regexp.MustCompile(`"userPrincipalName": "([^"]+)"`).FindAllStringSubmatch(string(entrasim.DemoSeed), -1) {
		users[m[1]] = true
	}
	return users
}

// signInClient is a cookie-keeping HTTP client that signs in through the
// emulator's account picker, as a person clicking would.
type signInClient struct{ *http.Client }

func newSignInClient(t *testing.T) *signInClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &signInClient{&http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

func (c *signInClient) get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var (
	formActionRE = regexp.MustCompile(`<form method="post" action="([^"]+)">`)
	reqRE        = regexp.MustCompile(`name="req" value="([^"]+)"`)
)

// signIn opens the portal, picks upn on the emulator's page and returns the
// page the portal lands on.
func (c *signInClient) signIn(t *testing.T, portal, upn string) string {
	t.Helper()
	resp, page := c.get(t, portal+"/")
	if !strings.Contains(page, `data-testid="signin-user-`+upn+`"`) {
		t.Fatalf("opening %s did not reach the emulator's account picker (at %s, %d):\n%.2000s", portal, resp.Request.URL, resp.StatusCode, page)
	}
	action, req := formActionRE.FindStringSubmatch(page), reqRE.FindStringSubmatch(page)
	user := regexp.MustCompile(`value="([^"]+)" data-testid="signin-user-` + regexp.QuoteMeta(upn) + `"`).FindStringSubmatch(page)
	if action == nil || req == nil || user == nil {
		t.Fatalf("cannot read the account picker:\n%.2000s", page)
	}
	target, err := resp.Request.URL.Parse(html.UnescapeString(action[1]))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = c.PostForm(target.String(), url.Values{"req": {html.UnescapeString(req[1])}, "user": {user[1]}})
	if err != nil {
		t.Fatalf("pick %s: %v", upn, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.String(), portal) || !strings.Contains(string(b), `data-testid="current-user-name"`) {
		t.Fatalf("signing in as %s ended at %s (%d), not signed in to the portal:\n%.3000s", upn, resp.Request.URL, resp.StatusCode, b)
	}
	return string(b)
}
