package entrasim_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/entrasim"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// world is a small tenant used by most tests.
type world struct {
	sim      *entrasim.Sim
	srv      *httptest.Server
	tenant   string
	admin    string // Global Administrator object ID
	appAdmin string // Application Administrator
	member   string // no directory role
	app      entrasim.AppCreated
}

const (
	adminUPN    = "ada@contoso.example"
	appAdminUPN = "oscar@contoso.example"
	memberUPN   = "nina@contoso.example"
	redirectURI = "http://127.0.0.1:9999/auth/callback"
)

func newTestWorld(tb testing.TB, opts entrasim.Options, appPerms ...string) *world {
	tb.Helper()
	sim, srv := entrasim.NewTestServer(tb, opts)
	w := &world{sim: sim, srv: srv}
	w.tenant = mustDo[string](tb)(sim.CreateTenant("Contoso", "contoso.example"))
	w.admin = mustDo[string](tb)(sim.CreateUser(w.tenant, entrasim.User{DisplayName: "Ada Admin", UserPrincipalName: adminUPN, DirectoryRoles: []string{"Global Administrator"}}))
	w.appAdmin = mustDo[string](tb)(sim.CreateUser(w.tenant, entrasim.User{DisplayName: "Oscar Operator", UserPrincipalName: appAdminUPN, DirectoryRoles: []string{"Application Administrator"}}))
	w.member = mustDo[string](tb)(sim.CreateUser(w.tenant, entrasim.User{DisplayName: "Nina Norole", UserPrincipalName: memberUPN}))
	app, err := sim.CreateApplication(w.tenant, entrasim.AppSpec{
		DisplayName: "Portal", SignInAudience: "AzureADMultipleOrgs", RedirectURIs: []string{redirectURI},
		ApplicationPermissions: appPerms, DelegatedPermissions: []string{"openid", "profile", "email", "offline_access", "User.Read"},
		Secret: true, AppRoles: []entrasim.AppRole{{Value: "Portal.Admin", DisplayName: "Admin", Description: "Admins"}},
	})
	if err != nil {
		tb.Fatalf("CreateApplication: %v", err)
	}
	w.app = app
	return w
}

func mustDo[T any](tb testing.TB) func(T, error) T {
	return func(v T, err error) T {
		tb.Helper()
		if err != nil {
			tb.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

func (w *world) tokenURL() string { return w.srv.URL + "/" + w.tenant + "/oauth2/v2.0/token" }

// appToken gets an app-only Graph token with the app's secret (client credentials, x/oauth2).
func (w *world) appToken(tb testing.TB) string {
	tb.Helper()
	return appTokenFor(tb, w.srv.URL, w.tenant, w.app.AppID, w.app.SecretText)
}

func appTokenFor(tb testing.TB, base, tenant, clientID, secret string) string {
	tb.Helper()
	cc := clientcredentials.Config{ClientID: clientID, ClientSecret: secret, TokenURL: base + "/" + tenant + "/oauth2/v2.0/token",
		Scopes: []string{"https://graph.microsoft.com/.default"}}
	tok, err := cc.Token(context.Background())
	if err != nil {
		tb.Fatalf("client credentials token: %v", err)
	}
	return tok.AccessToken
}

// delegatedToken signs a user in with auto-login and returns a Graph token with the given scopes. The
// caller's Sim must have AutoLogin. prompt=consent lets an admin consent for the organisation.
func (w *world) delegatedToken(tb testing.TB, upn string, scopes ...string) string {
	tb.Helper()
	tok, err := w.authCode(upn, "consent", scopes...)
	if err != nil {
		tb.Fatalf("auth code flow for %s: %v", upn, err)
	}
	return tok.AccessToken
}

// authCode runs the authorization code flow with PKCE through auto-login and returns the token.
func (w *world) authCode(upn, prompt string, scopes ...string) (*oauth2.Token, error) {
	cfg := w.oauthConfig(scopes...)
	verifier := oauth2.GenerateVerifier()
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("login_hint", upn),
		oauth2.SetAuthURLParam("nonce", "n-0S6_WzA2Mj")}
	if prompt != "" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", prompt))
	}
	loc, err := noFollow(cfg.AuthCodeURL("st4te", opts...))
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(loc)
	if err != nil {
		return nil, err
	}
	if e := u.Query().Get("error"); e != "" {
		return nil, &authError{code: e, desc: u.Query().Get("error_description")}
	}
	return cfg.Exchange(context.Background(), u.Query().Get("code"), oauth2.VerifierOption(verifier))
}

type authError struct{ code, desc string }

func (e *authError) Error() string { return e.code + ": " + e.desc }

func (w *world) oauthConfig(scopes ...string) *oauth2.Config {
	return &oauth2.Config{ClientID: w.app.AppID, ClientSecret: w.app.SecretText, RedirectURL: redirectURI, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: w.srv.URL + "/" + w.tenant + "/oauth2/v2.0/authorize", TokenURL: w.tokenURL()}}
}

// noFollow GETs u and returns the Location of the redirect.
func noFollow(u string) (string, error) {
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		b, _ := io.ReadAll(resp.Body)
		return "", &authError{code: resp.Status, desc: string(b)}
	}
	return resp.Header.Get("Location"), nil
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(tb testing.TB) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		tb.Fatalf("response is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// graphErrorCode returns error.code of a Graph error body.
func (r response) graphErrorCode(tb testing.TB) string {
	tb.Helper()
	e, _ := r.json(tb)["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// call sends a request with an optional bearer token and JSON body.
func call(tb testing.TB, method, u, token string, body any, headers ...string) response {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func postForm(tb testing.TB, u string, v url.Values) response {
	tb.Helper()
	resp, err := http.PostForm(u, v)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// loadDoc reads a documented example response from testdata.
func loadDoc(tb testing.TB, name string) map[string]any {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	delete(m, "_source")
	return m
}

// assertSameShape checks that got has every property of the documented example doc, with the same JSON
// kind (a documented null matches anything), recursively.
func assertSameShape(tb testing.TB, path string, doc, got any) {
	tb.Helper()
	if doc == nil {
		return
	}
	switch d := doc.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			tb.Errorf("%s: got %T, want object", path, got)
			return
		}
		for k, v := range d {
			gv, ok := g[k]
			if !ok {
				tb.Errorf("%s.%s: missing (documented)", path, k)
				continue
			}
			assertSameShape(tb, path+"."+k, v, gv)
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			tb.Errorf("%s: got %T, want array", path, got)
			return
		}
		if len(d) > 0 && len(g) > 0 {
			assertSameShape(tb, path+"[0]", d[0], g[0])
		}
	default:
		if got == nil {
			tb.Errorf("%s: got null, want %T", path, doc)
			return
		}
		if kind(doc) != kind(got) {
			tb.Errorf("%s: got %T, want %T", path, got, doc)
		}
	}
}

func kind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	}
	return "other"
}

// claims decodes a JWT's payload without verifying it (tests only; the emulator verifies).
func claims(tb testing.TB, jwt string) map[string]any {
	tb.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		tb.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		tb.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatal(err)
	}
	return m
}

func s256(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

var _ = time.Second

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
