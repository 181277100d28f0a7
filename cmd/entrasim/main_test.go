package main

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/entrasim"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// startRun runs the command with args and returns the lines it prints until "listening on".
func startRun(t *testing.T, args ...string) (base string, lines []string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, pw); pw.Close() }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	sc := bufio.NewScanner(pr)
	deadline := time.After(20 * time.Second)
	got := make(chan string)
	go func() {
		for sc.Scan() {
			got <- sc.Text()
		}
		close(got)
	}()
	for {
		select {
		case l, ok := <-got:
			if !ok {
				t.Fatalf("output ended before the base URL: %v", lines)
			}
			lines = append(lines, l)
			if b, ok := strings.CutPrefix(l, "entrasim listening on "); ok {
				go func() {
					for range got {
					}
				}()
				return b, lines
			}
		case <-deadline:
			t.Fatalf("no base URL printed: %v", lines)
		}
	}
}

// `entrasim -tls -seed demo` serves HTTPS with a generated certificate, writes the CA certificate, and
// prints what the seed created.
func TestRunTLSWithDemoSeed(t *testing.T) {
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	base, lines := startRun(t, "-addr", "127.0.0.1:0", "-tls", "-ca-out", caFile, "-seed", "demo", "-auto-login")
	if !strings.HasPrefix(base, "https://127.0.0.1:") {
		t.Fatalf("base = %q", base)
	}
	if !strings.Contains(strings.Join(lines, "\n"), "app    portal       appId 5e7a1c2d-8b3f-4d6e-9a0b-1c2d3e4f5a6b") {
		t.Errorf("output lacks the portal app:\n%s", strings.Join(lines, "\n"))
	}
	b, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	ca, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := entrasim.TLSClient(ca).Get(base + "/organizations/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatalf("HTTPS with the written CA: %v", err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	json.NewDecoder(resp.Body).Decode(&doc)
	if doc["issuer"] != base+"/{tenantid}/v2.0" {
		t.Errorf("issuer = %v", doc["issuer"])
	}
	if _, err := http.Get(base + "/organizations/v2.0/.well-known/openid-configuration"); err == nil {
		t.Error("a client without the CA trusted the generated certificate")
	}
	// go-oidc and x/oauth2 work over HTTPS with the CA, unchanged.
	ctx := oidc.ClientContext(context.Background(), entrasim.TLSClient(ca))
	p, err := oidc.NewProvider(ctx, base+"/"+entrasim.DemoOperatorTenantID+"/v2.0")
	if err != nil {
		t.Fatalf("go-oidc over HTTPS: %v", err)
	}
	cc := clientcredentials.Config{ClientID: entrasim.DemoPortalAppID, ClientSecret: entrasim.DemoPortalSecret,
		TokenURL: p.Endpoint().TokenURL, Scopes: []string{"https://graph.microsoft.com/.default"}}
	tok, err := cc.Token(context.WithValue(context.Background(), oauth2.HTTPClient, entrasim.TLSClient(ca)))
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("x/oauth2 client credentials over HTTPS: %v", err)
	}
	req, _ := http.NewRequest("GET", base+"/v1.0/applications?$top=1", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = entrasim.TLSClient(ca).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("Graph over HTTPS: %d", resp.StatusCode)
	}
}

func TestRunHTTP(t *testing.T) {
	base, _ := startRun(t, "-addr", "127.0.0.1:0")
	resp, err := http.Post(base+"/_sim/tenants", "application/json", strings.NewReader(`{"displayName":"T","domain":"t.example"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Errorf("POST /_sim/tenants: %d", resp.StatusCode)
	}
}

// The curl flow, run with curl itself against the command over
// HTTP and HTTPS: create a tenant and an app with the control API, get an
// app-only token, create an application through Graph, add a password, get
// a token with the new secret.
func TestCurlFlow(t *testing.T) {
	for _, prog := range []string{"sh", "curl", "jq"} {
		if _, err := exec.LookPath(prog); err != nil {
			t.Fatalf("the curl flow needs %s: install it (make test does, as root on Debian)", prog)
		}
	}
	script, err := filepath.Abs("testdata/curl-flow.sh")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("http", func(t *testing.T) {
		base, _ := startRun(t, "-addr", "127.0.0.1:0")
		runCurlFlow(t, script, base, nil)
	})
	t.Run("tls", func(t *testing.T) {
		ca := filepath.Join(t.TempDir(), "ca.pem")
		base, _ := startRun(t, "-addr", "127.0.0.1:0", "-tls", "-ca-out", ca)
		runCurlFlow(t, script, base, []string{"CURL_CA_BUNDLE=" + ca})
	})
}

func runCurlFlow(t *testing.T, script, base string, env []string) {
	t.Helper()
	cmd := exec.Command("sh", script, base)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("curl flow against %s: %v\n%s", base, err, out)
	}
	if !strings.Contains(string(out), "token with the new secret obtained: OK") {
		t.Fatalf("curl flow did not finish:\n%s", out)
	}
}
