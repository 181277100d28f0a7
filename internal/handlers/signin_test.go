package handlers_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/appreg-portal/portal/internal/auth"
	"github.com/appreg-portal/portal/internal/entrasim"
	"github.com/appreg-portal/portal/internal/pgtest"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/internal/testenv"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// flowEnv is a portal wired to a real Postgres and the Entra emulator. The
// emulator sits behind a transparent proxy (its public base URL is the
// proxy's) so a test can play the attacker in the middle: rewrite the
// authorize request or the ID token the token endpoint returns.
type flowEnv struct {
	*testenv.Env
	t *testing.T

	mu          sync.Mutex
	tamperToken func(claims map[string]any) (raw string, replace bool)
	tamperAuthz func(q url.Values)
}

func newFlowEnv(t *testing.T) *flowEnv { return newFlowEnvWith(t, testenv.Options{}) }

// newFlowEnvWith is newFlowEnv with options; sign-in by login_hint and the
// tampering proxy are always on.
func newFlowEnvWith(t *testing.T, o testenv.Options) *flowEnv {
	t.Helper()
	e := &flowEnv{t: t}
	o.AutoLogin = true
	o.WrapEntra = func(*entrasim.Sim) http.Handler { return http.HandlerFunc(e.proxy) }
	e.Env = testenv.New(t, o)
	return e
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// proxy forwards to the emulator, applying any tampering the test set.
func (e *flowEnv) proxy(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	tamperToken, tamperAuthz := e.tamperToken, e.tamperAuthz
	e.mu.Unlock()
	if tamperAuthz != nil && strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/authorize") {
		q := r.URL.Query()
		tamperAuthz(q)
		r.URL.RawQuery = q.Encode()
	}
	if tamperToken == nil || !strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
		e.Sim.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	e.Sim.ServeHTTP(rec, r)
	var body map[string]any
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body["id_token"] == nil {
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		return
	}
	claims := decodeClaims(e.t, body["id_token"].(string))
	if raw, replace := tamperToken(claims); replace {
		body["id_token"] = raw
	} else {
		signed, err := e.Sim.SignJWT(claims)
		must(e.t, err)
		body["id_token"] = signed
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(body)
}

func decodeClaims(t testing.TB, raw string) map[string]any {
	parts := strings.Split(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	must(t, err)
	var m map[string]any
	must(t, json.Unmarshal(b, &m))
	return m
}

// browser is a cookie-keeping HTTP client, like one browser profile.
type browser struct {
	t      *testing.T
	e      *flowEnv
	client *http.Client
}

func (e *flowEnv) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, e: e, client: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

func (b *browser) get(u string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.client.Get(u)
	must(b.t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// startLogin follows the portal to Entra and Entra (auto sign-in via
// login_hint) back, stopping before the callback; it returns the callback URL.
func (b *browser) startLogin(user string) string {
	b.t.Helper()
	c := *b.client
	var callback string
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), b.e.Portal.URL+"/auth/callback") {
			callback = req.URL.String()
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := c.Get(b.e.Portal.URL + "/login?login_hint=" + url.QueryEscape(b.e.Users[user]) + "&return_to=/")
	must(b.t, err)
	resp.Body.Close()
	if callback == "" {
		b.t.Fatalf("sign-in as %s never reached the callback (last status %d at %s)", user, resp.StatusCode, resp.Request.URL)
	}
	return callback
}

func (b *browser) signIn(user string) string {
	b.t.Helper()
	_, body := b.get(b.startLogin(user))
	return body
}

func (b *browser) cookie() string {
	u, _ := url.Parse(b.e.Portal.URL)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == "portal_session" {
			return c.Value
		}
	}
	return ""
}

func (e *flowEnv) auditEvents(action string) []store.AuditEvent {
	e.t.Helper()
	ev, err := e.Store.ListAudit(context.Background(), store.AuditFilter{Action: action})
	must(e.t, err)
	return ev
}

func TestSignInLandsOnDashboardWithNameAndRole(t *testing.T) {
	e := newFlowEnv(t)
	b := e.browser()
	body := b.signIn("ada")
	if !strings.Contains(body, `data-testid="current-user-name" translate="no">Ada Admin</strong>`) || !strings.Contains(body, `data-testid="current-user-role">Admin<`) {
		t.Fatalf("after sign-in the page does not show Ada as Admin:\n%.2000s", body)
	}
	if resp, _ := b.get(e.Portal.URL + "/"); resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("signed-in page Cache-Control = %q, want no-store", resp.Header.Get("Cache-Control"))
	}
	ev := e.auditEvents("signin")
	if len(ev) != 1 || ev[0].Action != "signin" || ev[0].ActorName != "Ada Admin" || ev[0].Details["role"] != "admin" {
		t.Errorf("audit after sign-in = %+v, want one signin by Ada as admin", ev)
	}
	for _, v := range ev[0].Details {
		if strings.Contains(v, "eyJ") { // a JWT
			t.Errorf("audit details carry a token: %v", ev[0].Details)
		}
	}
}

func TestSessionTokenIsRenewedAtSignInAndSignOut(t *testing.T) {
	e := newFlowEnv(t)
	b := e.browser()
	// A token planted in the browser before sign-in (session fixation).
	u, _ := url.Parse(e.Portal.URL)
	const planted = "planted-by-an-attacker-0123456789abcdef"
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: "portal_session", Value: planted, Path: "/"}})
	callback := b.startLogin("oscar")
	before := b.cookie()
	if before != planted {
		t.Fatalf("session cookie before the callback = %q, want the planted one untouched (the pre-login state lives in its own sealed cookie)", before)
	}
	b.get(callback)
	after := b.cookie()
	if after == "" || after == before {
		t.Fatalf("session token before sign-in %q, after %q: want a new one", before, after)
	}
	// The pre-login token is no signed-in session.
	if resp := requestWithCookie(t, e.Portal.URL+"/", before); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("old token: GET / = %d %s, want a redirect to sign-in", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := requestWithCookie(t, e.Portal.URL+"/", after); resp.StatusCode != http.StatusOK {
		t.Errorf("new token: GET / = %d, want 200", resp.StatusCode)
	}

	// Sign-out ends the session for good and sends the browser to Entra's end-session endpoint.
	req, _ := http.NewRequest("POST", e.Portal.URL+"/logout", nil)
	req.Header.Set("Origin", e.Portal.URL)
	req.AddCookie(&http.Cookie{Name: "portal_session", Value: after})
	resp, err := noRedirect().Do(req)
	must(t, err)
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "/oauth2/v2.0/logout?post_logout_redirect_uri=") {
		t.Errorf("POST /logout = %d %s, want 303 to the end-session endpoint", resp.StatusCode, loc)
	}
	if resp := requestWithCookie(t, e.Portal.URL+"/", after); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("token after sign-out: GET / = %d, want a redirect to sign-in", resp.StatusCode)
	}
	if ev := e.auditEvents("signout"); len(ev) != 1 || ev[0].ActorName != "Oscar Operator" {
		t.Errorf("audit signout = %+v", ev)
	}
}

func noRedirect() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 10 * time.Second}
}

func requestWithCookie(t *testing.T, u, token string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.AddCookie(&http.Cookie{Name: "portal_session", Value: token})
	resp, err := noRedirect().Do(req)
	must(t, err)
	resp.Body.Close()
	return resp
}

// Each refused sign-in shows a clear page, writes an audit entry with the
// reason, and leaves the browser signed out.
func TestRefusedSignIns(t *testing.T) {
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	must(t, err)
	tests := []struct {
		name   string
		user   string
		setup  func(e *flowEnv)
		drive  func(e *flowEnv, b *browser) (int, string) // default: sign in normally
		reason string
		status int
	}{
		{name: "wrong issuer", user: "ada", reason: "issuer_mismatch", status: 400, setup: func(e *flowEnv) {
			e.tamperToken = func(c map[string]any) (string, bool) {
				c["iss"] = "https://login.microsoftonline.com/" + c["tid"].(string) + "/v2.0" // another authority
				return "", false
			}
		}},
		{name: "issuer of another tenant", user: "ada", reason: "issuer_mismatch", status: 400, setup: func(e *flowEnv) {
			e.tamperToken = func(c map[string]any) (string, bool) {
				c["iss"] = e.Sim.BaseURL() + "/" + e.Other + "/v2.0"
				return "", false
			}
		}},
		{name: "wrong audience", user: "ada", reason: "audience_mismatch", status: 400, setup: func(e *flowEnv) {
			e.tamperToken = func(c map[string]any) (string, bool) {
				c["aud"] = "00000003-0000-0000-c000-000000000000"
				return "", false
			}
		}},
		{name: "two audiences", user: "ada", reason: "audience_mismatch", status: 400, setup: func(e *flowEnv) {
			e.tamperToken = func(c map[string]any) (string, bool) {
				c["aud"] = []any{c["aud"], "00000003-0000-0000-c000-000000000000"}
				return "", false
			}
		}},
		{name: "authorized party is another app", user: "ada", reason: "audience_mismatch", status: 400, setup: func(e *flowEnv) {
			e.tamperToken = func(c map[string]any) (string, bool) {
				c["azp"] = "11111111-1111-1111-1111-111111111111"
				return "", false
			}
		}},
		{name: "issued long ago", user: "ada", reason: "token_stale", status: 400, setup: func(e *flowEnv) {
			e.tamperToken = func(c map[string]any) (string, bool) {
				c["iat"] = time.Now().Add(-auth.MaxTokenAge - auth.ClockSkew - time.Minute).Unix()
				return "", false
			}
		}},
		{name: "tenant not allowed", user: "fiona", reason: "tenant_not_allowed", status: 403},
		{name: "expired token", user: "ada", reason: "token_expired", status: 400, setup: func(e *flowEnv) {
			e.tamperToken = func(c map[string]any) (string, bool) {
				c["exp"] = time.Now().Add(-auth.ClockSkew - time.Minute).Unix()
				return "", false
			}
		}},
		{name: "bad signature", user: "ada", reason: "token_invalid", status: 400, setup: func(e *flowEnv) {
			e.tamperToken = func(c map[string]any) (string, bool) {
				c["name"] = "Mallory"
				raw, err := e.Sim.SignJWT(c)
				must(e.t, err)
				parts := strings.Split(raw, ".")
				// Keep the genuine signature but change the payload it covers.
				c["name"] = "Ada"
				good, _ := e.Sim.SignJWT(c)
				return parts[0] + "." + parts[1] + "." + strings.Split(good, ".")[2], true
			}
		}},
		{name: "alg none", user: "ada", reason: "token_invalid", status: 400, setup: func(e *flowEnv) {
			e.tamperToken = func(c map[string]any) (string, bool) {
				hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
				p, _ := json.Marshal(c)
				return hdr + "." + base64.RawURLEncoding.EncodeToString(p) + ".", true
			}
		}},
		{name: "unknown kid", user: "ada", reason: "token_invalid", status: 400, setup: func(e *flowEnv) {
			e.tamperToken = func(c map[string]any) (string, bool) {
				s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: otherKey, KeyID: "not-a-published-kid"}}, (&jose.SignerOptions{}).WithType("JWT"))
				must(e.t, err)
				raw, err := jwt.Signed(s).Claims(c).Serialize()
				must(e.t, err)
				return raw, true
			}
		}},
		{name: "nonce mismatch", user: "ada", reason: "nonce_mismatch", status: 400, setup: func(e *flowEnv) {
			e.tamperToken = func(c map[string]any) (string, bool) { c["nonce"] = "attacker-nonce"; return "", false }
		}},
		{name: "PKCE mismatch", user: "ada", reason: "code_rejected", status: 400, setup: func(e *flowEnv) {
			// An attacker swaps the code challenge: the code is then bound to a verifier the portal does not hold.
			e.tamperAuthz = func(q url.Values) {
				sum := sha256.Sum256([]byte("attacker-verifier-attacker-verifier-attacker-verifier"))
				q.Set("code_challenge", base64.RawURLEncoding.EncodeToString(sum[:]))
			}
		}},
		{name: "replayed state", user: "ada", reason: "state_missing", status: 400, drive: func(e *flowEnv, b *browser) (int, string) {
			cb := b.startLogin("ada")
			b.get(cb) // genuine: signs in
			must(e.t, signOut(e, b))
			resp, body := b.get(cb) // the same answer again
			return resp.StatusCode, body
		}},
		{name: "replayed code", user: "ada", reason: "code_rejected", status: 400, drive: func(e *flowEnv, b *browser) (int, string) {
			first := b.startLogin("ada")
			b.get(first)
			must(e.t, signOut(e, b))
			second := b.startLogin("ada")
			// The old code with the new, valid state: the code must be single-use at Entra.
			u1, _ := url.Parse(first)
			u2, _ := url.Parse(second)
			q := u2.Query()
			q.Set("code", u1.Query().Get("code"))
			u2.RawQuery = q.Encode()
			resp, body := b.get(u2.String())
			return resp.StatusCode, body
		}},
		{name: "callback swapped between browser sessions", user: "ada", reason: "state_mismatch", status: 400, drive: func(e *flowEnv, b *browser) (int, string) {
			victim := e.browser()
			_ = victim.startLogin("ada") // the victim has a sign-in of their own pending
			cb := b.startLogin("ada")    // the attacker's answer...
			resp, body := victim.get(cb) // ...delivered to the victim's browser
			return resp.StatusCode, body
		}},
		{name: "callback in a browser with no sign-in pending", user: "ada", reason: "state_missing", status: 400, drive: func(e *flowEnv, b *browser) (int, string) {
			cb := b.startLogin("ada")
			resp, body := e.browser().get(cb)
			return resp.StatusCode, body
		}},
		{name: "error from Entra", user: "ada", reason: "entra_error", status: 400, drive: func(e *flowEnv, b *browser) (int, string) {
			cb, _ := url.Parse(b.startLogin("ada"))
			q := url.Values{"error": {"access_denied"}, "error_description": {"AADSTS65004: User declined to consent."}, "state": {cb.Query().Get("state")}}
			resp, body := b.get(e.Portal.URL + "/auth/callback?" + q.Encode())
			return resp.StatusCode, body
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newFlowEnv(t)
			if tt.setup != nil {
				tt.setup(e)
			}
			b := e.browser()
			var status int
			var body string
			if tt.drive != nil {
				status, body = tt.drive(e, b)
			} else {
				resp, bd := b.get(b.startLogin(tt.user))
				status, body = resp.StatusCode, bd
			}
			if status != tt.status || !strings.Contains(body, `data-testid="signin-refused"`) || !strings.Contains(body, `data-reason="`+tt.reason+`"`) {
				t.Fatalf("status %d, want %d with reason %s; page:\n%.1500s", status, tt.status, tt.reason, body)
			}
			if !strings.Contains(body, "Sign in again") {
				t.Error("the refusal page offers no way forward")
			}
			refused := e.auditEvents("signin.refused")
			if len(refused) == 0 || refused[0].Details["reason"] != tt.reason || refused[0].Outcome != store.OutcomeDenied {
				t.Fatalf("audit signin.refused = %+v, want reason %s", refused, tt.reason)
			}
			// Still signed out.
			if resp, _ := b.get(e.Portal.URL + "/audit"); !strings.HasPrefix(resp.Request.URL.Path, "/auth/callback") && strings.Contains(resp.Request.URL.Path, "/audit") {
				t.Errorf("after a refused sign-in the browser reached /audit")
			}
		})
	}
}

func signOut(e *flowEnv, b *browser) error {
	req, _ := http.NewRequest("POST", e.Portal.URL+"/logout", nil)
	req.Header.Set("Origin", e.Portal.URL)
	c := *b.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

func TestRolesAreEnforcedOnTheServer(t *testing.T) {
	e := newFlowEnv(t)
	viewer := e.browser()
	viewer.signIn("vera")
	// A viewer may look...
	if resp, _ := viewer.get(e.Portal.URL + "/"); resp.StatusCode != 200 {
		t.Errorf("viewer GET / = %d, want 200", resp.StatusCode)
	}
	// ...but not use admin pages or actions, whatever the page showed.
	if resp, _ := viewer.get(e.Portal.URL + "/audit"); resp.StatusCode != 403 {
		t.Errorf("viewer GET /audit = %d, want 403", resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", e.Portal.URL+"/admin/sessions/whatever/end", nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := viewer.client.Do(req)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("viewer POST to an admin action = %d, want 403", resp.StatusCode)
	}

	// Someone with no role sees a clear page, not an error.
	nobody := e.browser()
	body := nobody.signIn("nina")
	if !strings.Contains(body, `data-testid="no-role"`) || !strings.Contains(body, "Portal.Viewer") {
		t.Errorf("user without a role sees:\n%.1500s", body)
	}
}

func TestCrossSitePostIsRefusedEvenWhenSignedIn(t *testing.T) {
	e := newFlowEnv(t)
	b := e.browser()
	b.signIn("ada")
	req, _ := http.NewRequest("POST", e.Portal.URL+"/logout", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	resp, err := b.client.Do(req)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("cross-site POST /logout = %d, want 403", resp.StatusCode)
	}
	if r, _ := b.get(e.Portal.URL + "/"); r.StatusCode != 200 {
		t.Errorf("the refused cross-site POST signed the user out (GET / = %d)", r.StatusCode)
	}
}

func TestAdminCanEndAnotherSession(t *testing.T) {
	e := newFlowEnv(t)
	admin, oscar := e.browser(), e.browser()
	admin.signIn("ada")
	oscar.signIn("oscar")
	sessions, err := e.Store.ListSessions(context.Background(), 0)
	must(t, err)
	var oscarSID string
	for _, s := range sessions {
		if s.UserName == "Oscar Operator" {
			oscarSID = s.ID
		}
	}
	if len(sessions) != 2 || oscarSID == "" {
		t.Fatalf("ListSessions() = %+v, want Ada's and Oscar's", sessions)
	}
	_, page := admin.get(e.Portal.URL + "/admin/sessions")
	if !strings.Contains(page, "/admin/sessions/"+oscarSID+"/end") {
		t.Fatalf("sessions page has no end button for Oscar:\n%.1500s", page)
	}
	req, _ := http.NewRequest("POST", e.Portal.URL+"/admin/sessions/"+oscarSID+"/end", nil)
	req.Header.Set("Origin", e.Portal.URL)
	resp, err := admin.client.Do(req)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/admin/sessions" {
		t.Errorf("end session = %d at %s", resp.StatusCode, resp.Request.URL.Path)
	}
	// Oscar's next request finds his session gone.
	req2, _ := http.NewRequest("GET", e.Portal.URL+"/", nil)
	c := *oscar.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp2, err := c.Do(req2)
	must(t, err)
	resp2.Body.Close()
	// He is told why, and the page leads him to sign in again.
	if resp2.StatusCode != http.StatusSeeOther || resp2.Header.Get("Location") != "/signed-out?ended=admin" {
		t.Errorf("Oscar after his session was ended: GET / = %d %s, want the page that says an administrator ended it", resp2.StatusCode, resp2.Header.Get("Location"))
	}
	resp3, err := c.Do(req2)
	must(t, err)
	resp3.Body.Close()
	if resp3.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp3.Header.Get("Location"), "/login") {
		t.Errorf("Oscar's request after that: GET / = %d %s, want a redirect to sign-in", resp3.StatusCode, resp3.Header.Get("Location"))
	}
	if ev := e.auditEvents("session.end"); len(ev) != 1 || ev[0].ActorName != "Ada Admin" || ev[0].Target != "Oscar Operator" {
		t.Errorf("audit session.end = %+v", ev)
	}
}

func TestHtmxRequestWithoutSessionGetsHXRedirect(t *testing.T) {
	e := newFlowEnv(t)
	req, _ := http.NewRequest("GET", e.Portal.URL+"/audit?x=1", nil)
	req.Header.Set("HX-Request", "true")
	req.Header.Set("HX-Current-URL", e.Portal.URL+"/audit?action=signin")
	resp, err := noRedirect().Do(req)
	must(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := resp.Header.Get("HX-Redirect"); got != "/login?return_to="+url.QueryEscape("/audit?action=signin") {
		t.Errorf("HX-Redirect = %q, want sign-in returning to the current page", got)
	}
	if bytes.Contains(body, []byte("<html")) || resp.Header.Get("Location") != "" {
		t.Errorf("htmx request got a page or a Location redirect (status %d)", resp.StatusCode)
	}
}

func TestReturnToSurvivesSignIn(t *testing.T) {
	e := newFlowEnv(t)
	b := e.browser()
	first, err := noRedirect().Get(e.Portal.URL + "/audit?action=signin")
	must(t, err)
	first.Body.Close()
	loc := first.Header.Get("Location")
	if first.StatusCode != http.StatusSeeOther || loc != "/login?return_to="+url.QueryEscape("/audit?action=signin") {
		t.Fatalf("GET /audit signed out = %d %s", first.StatusCode, loc)
	}
	resp, _ := b.get(e.Portal.URL + loc + "&login_hint=" + url.QueryEscape(e.Users["ada"]))
	if resp.Request.URL.Path != "/audit" || resp.Request.URL.Query().Get("action") != "signin" {
		t.Errorf("after sign-in the browser is at %s, want /audit?action=signin", resp.Request.URL)
	}
}

func TestEveryNavigationEntryAnswers(t *testing.T) {
	e := newFlowEnv(t)
	b := e.browser()
	b.signIn("ada")
	for _, path := range []string{"/", "/tenants", "/catalogue", "/alerts", "/audit", "/admin/sessions", "/admin/users", "/audit.csv"} {
		if resp, _ := b.get(e.Portal.URL + path); resp.StatusCode != 200 {
			t.Errorf("GET %s as admin = %d, want 200", path, resp.StatusCode)
		}
	}
}

func TestAuditCSVExport(t *testing.T) {
	e := newFlowEnv(t)
	b := e.browser()
	b.signIn("ada")
	// A value crafted to run as a spreadsheet formula.
	must(t, e.Store.RecordAudit(context.Background(), store.AuditEvent{ActorName: "=HYPERLINK(\"http://evil\")", Action: "test.csv"}))
	resp, body := b.get(e.Portal.URL + "/audit.csv?action=test")
	if resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("CSV headers = %v", resp.Header)
	}
	lines := strings.Split(strings.TrimSpace(body), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "id,occurred_at,") || !strings.Contains(lines[1], `'=HYPERLINK`) {
		t.Errorf("CSV = %q, want a header and one defused row", body)
	}
	if _, page := b.get(e.Portal.URL + "/audit?since=yesterday"); !strings.Contains(page, "is not a date") {
		t.Error("a bad date filter is not explained")
	}
}

func TestIdleAndAbsoluteTimeoutsEndSessions(t *testing.T) {
	for _, tt := range []struct {
		name           string
		idle, lifetime time.Duration
		keepAlive      bool // request every 400ms: only the absolute lifetime can end it
	}{
		{"idle", time.Second, time.Hour, false},
		{"absolute", time.Hour, 2 * time.Second, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newFlowEnvWith(t, testenv.Options{IdleTimeout: tt.idle, Lifetime: tt.lifetime})
			b := e.browser()
			b.signIn("vera")
			deadline := time.Now().Add(2500 * time.Millisecond)
			for time.Now().Before(deadline) {
				if tt.keepAlive {
					requestWithCookie(t, e.Portal.URL+"/", b.cookie())
				}
				time.Sleep(400 * time.Millisecond)
			}
			resp := requestWithCookie(t, e.Portal.URL+"/", b.cookie())
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
				t.Errorf("after the %s timeout GET / = %d %s, want a redirect to sign-in", tt.name, resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
}
