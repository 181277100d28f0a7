package main

import (
	"bufio"
	"context"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/entrasim"
	"github.com/appreg-portal/portal/internal/graph"
	"github.com/appreg-portal/portal/internal/pgtest"
)

// `portal setup` against the emulator: the operator signs in with a device
// code (as the Microsoft Graph Command Line Tools), setup creates the
// portal's app with its redirect URIs, roles, permissions, consent and
// secret, and writes the configuration; `portal serve` with it signs in.
// Running setup again leaves one app and one secret.
func TestSetupThenServeSignsIn(t *testing.T) {
	sim := entrasim.New(entrasim.Options{DeviceCodeInterval: time.Second})
	entra := httptest.NewServer(sim)
	defer entra.Close()
	sim.SetBaseURL(entra.URL)
	tid, err := sim.CreateTenant("Contoso", "contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	const admin = "gina@contoso.example"
	if _, err := sim.CreateUser(tid, entrasim.User{DisplayName: "Gina Global", UserPrincipalName: admin, DirectoryRoles: []string{"Global Administrator"}}); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	base := "http://" + addr
	out := filepath.Join(t.TempDir(), "cfg")
	entraEnv := map[string]string{"PORTAL_ENTRA_AUTHORITY": entra.URL, "PORTAL_GRAPH_URL": entra.URL + "/v1.0"}

	first := runSetup(t, entra.URL, admin, entraEnv, "-base-url", base, "-out", out)
	for _, want := range []string{"created: client ID", "Admin consent granted", "New client secret"} {
		if !strings.Contains(first, want) {
			t.Errorf("setup's output lacks %q:\n%s", want, first)
		}
	}
	env := readEnvFile(t, filepath.Join(out, "portal.env"))
	for _, f := range []string{"portal.env", "client-secret", "seal-key"} {
		fi, err := os.Stat(filepath.Join(out, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v, want 0600", f, err, fi.Mode().Perm())
		}
	}
	if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o700 {
		t.Errorf("config folder mode %v, want 0700", fi.Mode().Perm())
	}
	secret, _ := os.ReadFile(env["PORTAL_CLIENT_SECRET_FILE"])
	envText, _ := os.ReadFile(filepath.Join(out, "portal.env"))
	if len(strings.TrimSpace(string(secret))) < 8 || strings.Contains(string(envText), strings.TrimSpace(string(secret))) ||
		strings.Contains(first, strings.TrimSpace(string(secret))) {
		t.Errorf("the secret must be in its file only (not in portal.env, not printed)")
	}
	if env["PORTAL_TENANT_ID"] != tid || env["PORTAL_BASE_URL"] != base || env["PORTAL_CLIENT_ID"] == "" || env["PORTAL_BOOTSTRAP_ADMINS"] != "" {
		t.Fatalf("portal.env = %v", env)
	}

	// portal serve with what setup wrote, plus the database.
	env["PORTAL_DATABASE_URL"], env["PORTAL_ADDR"], env["PORTAL_LOG_FORMAT"] = pgtest.URL(t), addr, "text"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, &logs, &logs) }()
	waitReady(t, base, done, &logs)
	c := newSignInClient(t)
	dash := c.signIn(t, base, admin)
	if !strings.Contains(dash, "Gina Global") || !strings.Contains(dash, `href="/audit"`) {
		t.Errorf("signed in, but not with the Portal.Admin role setup assigned:\n%.2000s", dash)
	}
	cancel()
	<-done

	app := portalApps(t, entra.URL, tid, env)
	// Again: the same app, the same secret.
	second := runSetup(t, entra.URL, admin, entraEnv, "-base-url", base, "-out", out)
	if !strings.Contains(second, "updated: client ID "+env["PORTAL_CLIENT_ID"]) || !strings.Contains(second, "still valid: kept") {
		t.Errorf("second setup:\n%s", second)
	}
	again := portalApps(t, entra.URL, tid, env)
	if len(again.Credentials) != 1 || again.Credentials[0].KeyID != app.Credentials[0].KeyID {
		t.Errorf("after a second setup the app has %d secrets (%v), want the one it had (%v)", len(again.Credentials), again.Credentials, app.Credentials)
	}
	// -new-secret replaces the secret and removes the old one.
	runSetup(t, entra.URL, admin, entraEnv, "-base-url", base, "-out", out, "-new-secret")
	newEnv := readEnvFile(t, filepath.Join(out, "portal.env"))
	newEnv["PORTAL_DATABASE_URL"] = env["PORTAL_DATABASE_URL"]
	third := portalApps(t, entra.URL, tid, newEnv)
	if len(third.Credentials) != 1 || third.Credentials[0].KeyID == app.Credentials[0].KeyID {
		t.Errorf("after -new-secret the app has %v, want one new secret", third.Credentials)
	}
}

// runSetup runs `portal setup` and approves its device code in the
// emulator's pages as admin, as a person in a browser would.
func runSetup(t *testing.T, entraURL, admin string, env map[string]string, args ...string) string {
	t.Helper()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), append([]string{"setup"}, args...), func(k string) string { return env[k] }, &stdout, &stderr)
	}()
	codeRE := regexp.MustCompile(`open (\S+) and enter the code (\S+)`)
	var m []string
	deadline := time.After(30 * time.Second)
	for m == nil {
		select {
		case err := <-done:
			t.Fatalf("setup ended before the sign-in: %v\n%s\n%s", err, stdout.String(), stderr.String())
		case <-deadline:
			t.Fatalf("setup printed no device code:\n%s\n%s", stdout.String(), stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		m = codeRE.FindStringSubmatch(stdout.String())
	}
	if !strings.HasPrefix(m[1], entraURL) {
		t.Errorf("verification URI %s is not the emulator's", m[1])
	}
	approveDeviceCode(t, m[1], m[2], admin)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("setup = %v\n%s\n%s", err, stdout.String(), stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("setup did not finish:\n%s\n%s", stdout.String(), stderr.String())
	}
	return stdout.String()
}

var (
	consentUserRE = regexp.MustCompile(`name="user" value="([^"]+)"`)
)

// approveDeviceCode enters the code, picks the account and accepts the
// consent (on behalf of the organisation).
func approveDeviceCode(t *testing.T, verificationURI, code, upn string) {
	t.Helper()
	c := newSignInClient(t)
	resp, page := c.get(t, verificationURI+"?otc="+url.QueryEscape(code))
	action, req := formActionRE.FindStringSubmatch(page), reqRE.FindStringSubmatch(page)
	user := regexp.MustCompile(`value="([^"]+)" data-testid="signin-user-` + regexp.QuoteMeta(upn) + `"`).FindStringSubmatch(page)
	if action == nil || req == nil || user == nil {
		t.Fatalf("the device login did not show the account picker:\n%.2000s", page)
	}
	target, _ := resp.Request.URL.Parse(html.UnescapeString(action[1]))
	resp, err := c.PostForm(target.String(), url.Values{"req": {html.UnescapeString(req[1])}, "user": {user[1]}})
	if err != nil {
		t.Fatal(err)
	}
	page = readBody(resp)
	if strings.Contains(page, `data-testid="consent-accept"`) {
		action, req, user := formActionRE.FindStringSubmatch(page), reqRE.FindStringSubmatch(page), consentUserRE.FindStringSubmatch(page)
		if action == nil || req == nil || user == nil {
			t.Fatalf("cannot read the consent page:\n%.2000s", page)
		}
		target, _ := resp.Request.URL.Parse(html.UnescapeString(action[1]))
		resp, err = c.PostForm(target.String(), url.Values{"req": {html.UnescapeString(req[1])}, "user": {user[1]}, "org": {"on"}, "action": {"accept"}})
		if err != nil {
			t.Fatal(err)
		}
		page = readBody(resp)
	}
	if !strings.Contains(page, `data-testid="device-done"`) {
		t.Fatalf("device sign-in not done:\n%.2000s", page)
	}
}

func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			env[k] = v
		}
	}
	return env
}

func waitReady(t *testing.T, base string, done chan error, logs *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("portal serve stopped: %v\n%s", err, logs.String())
		default:
		}
		if resp, err := newSignInClient(t).Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("portal serve not ready:\n%s", logs.String())
}

// portalApps returns the one app with setup's uniqueName, read app-only with
// the configuration setup wrote (which also proves the secret and consent).
func portalApps(t *testing.T, entraURL, tid string, env map[string]string) graph.Application {
	t.Helper()
	secret, err := os.ReadFile(env["PORTAL_CLIENT_SECRET_FILE"])
	if err != nil {
		t.Fatal(err)
	}
	g, err := graph.NewAppOnlyClient(context.Background(), graph.AppOnly{LoginBase: entraURL, GraphURL: entraURL + "/v1.0",
		ClientID: env["PORTAL_CLIENT_ID"], ClientSecret: strings.TrimSpace(string(secret))}, tid)
	if err != nil {
		t.Fatalf("app-only token with setup's configuration: %v", err)
	}
	apps, err := g.ListApplications(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var found []graph.Application
	for _, a := range apps {
		if a.UniqueName == setupUniqueName {
			found = append(found, a)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d apps with uniqueName %s, want 1: %+v", len(found), setupUniqueName, found)
	}
	return found[0]
}

func readBody(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
