package entrasim_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/entrasim"
	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Source: https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc (tenant-specific metadata
// has the tenant's issuer) — go-oidc discovers it unchanged, by GUID.
func TestDiscoveryTenantIssuerWorksWithGoOIDC(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{})
	p, err := oidc.NewProvider(context.Background(), w.srv.URL+"/"+w.tenant+"/v2.0")
	if err != nil {
		t.Fatalf("oidc.NewProvider: %v", err)
	}
	if got, want := p.Endpoint().TokenURL, w.tokenURL(); got != want {
		t.Errorf("TokenURL = %q, want %q", got, want)
	}
}

// Source: https://learn.microsoft.com/entra/identity-platform/access-tokens ("Validate the issuer") and
// the live common document (testdata/openid-configuration-common.json): common and organizations publish
// the literal {tenantid} template; a domain resolves to the tenant.
func TestDiscoveryCommonPublishesIssuerTemplate(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{})
	for _, seg := range []string{"common", "organizations"} {
		r := call(t, "GET", w.srv.URL+"/"+seg+"/v2.0/.well-known/openid-configuration", "", nil)
		got := r.json(t)
		assertSameShape(t, seg, loadDoc(t, "openid-configuration-common.json"), got)
		if got["issuer"] != w.srv.URL+"/{tenantid}/v2.0" {
			t.Errorf("%s issuer = %v, want the {tenantid} template", seg, got["issuer"])
		}
		if got["token_endpoint"] != w.srv.URL+"/"+seg+"/oauth2/v2.0/token" {
			t.Errorf("%s token_endpoint = %v", seg, got["token_endpoint"])
		}
	}
	r := call(t, "GET", w.srv.URL+"/contoso.example/v2.0/.well-known/openid-configuration", "", nil)
	if got := r.json(t)["issuer"]; got != w.srv.URL+"/"+w.tenant+"/v2.0" {
		t.Errorf("issuer by domain = %v, want the tenant GUID issuer", got)
	}
}

// Source: https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc and
// https://learn.microsoft.com/entra/identity-platform/reference-error-codes — unknown tenants fail with
// AADSTS90002.
func TestDiscoveryUnknownTenant(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{})
	r := call(t, "GET", w.srv.URL+"/nosuch.example/v2.0/.well-known/openid-configuration", "", nil)
	if r.status != http.StatusBadRequest || !strings.HasPrefix(r.json(t)["error_description"].(string), "AADSTS90002") {
		t.Errorf("status %d body %s, want 400 AADSTS90002", r.status, r.body)
	}
}

// Source: https://learn.microsoft.com/entra/identity-platform/access-tokens — JWKS keys carry kid, x5t,
// x5c and a per-key issuer.
func TestJWKSKeysHaveKidAndIssuer(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{})
	keys := call(t, "GET", w.srv.URL+"/common/discovery/v2.0/keys", "", nil).json(t)["keys"].([]any)
	if len(keys) == 0 {
		t.Fatal("no keys")
	}
	k := keys[0].(map[string]any)
	for _, f := range []string{"kty", "use", "kid", "x5t", "n", "e", "x5c", "issuer"} {
		if _, ok := k[f]; !ok {
			t.Errorf("key lacks %q", f)
		}
	}
	if k["issuer"] != w.srv.URL+"/{tenantid}/v2.0" || k["kty"] != "RSA" {
		t.Errorf("issuer %v kty %v", k["issuer"], k["kty"])
	}
}

// Source: https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow and
// id-token-claims-reference — the whole flow with x/oauth2 (PKCE) and go-oidc, unchanged: state echoed,
// ID token with iss, aud, sub, oid, tid, nonce, name, preferred_username, email, roles, ver 2.0.
func TestAuthCodeFlowWithXOAuth2AndGoOIDC(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{AutoLogin: true})
	if err := w.sim.AssignAppRole(w.tenant, w.admin, w.app.AppID, "Portal.Admin"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, err := oidc.NewProvider(ctx, w.srv.URL+"/"+w.tenant+"/v2.0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := w.oauthConfig(oidc.ScopeOpenID, "profile", "email", "offline_access")
	cfg.Endpoint = p.Endpoint()
	verifier := oauth2.GenerateVerifier()
	loc, err := noFollow(cfg.AuthCodeURL("xyz-state", oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("nonce", "nonce-123"), oauth2.SetAuthURLParam("login_hint", adminUPN)))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(loc)
	if !strings.HasPrefix(loc, redirectURI+"?") || u.Query().Get("state") != "xyz-state" || u.Query().Get("code") == "" {
		t.Fatalf("redirect = %q, want %s?code=…&state=xyz-state", loc, redirectURI)
	}
	tok, err := cfg.Exchange(ctx, u.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := p.Verifier(&oidc.Config{ClientID: w.app.AppID}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("go-oidc Verify: %v", err)
	}
	var c struct {
		Nonce, Name, PreferredUsername, Email, OID, TID, Ver string
		Roles                                                []string
	}
	var m map[string]any
	if err := idt.Claims(&m); err != nil {
		t.Fatal(err)
	}
	c.Nonce, c.Name, c.PreferredUsername, c.Email = m["nonce"].(string), m["name"].(string), m["preferred_username"].(string), m["email"].(string)
	c.OID, c.TID, c.Ver = m["oid"].(string), m["tid"].(string), m["ver"].(string)
	for _, r := range m["roles"].([]any) {
		c.Roles = append(c.Roles, r.(string))
	}
	if c.Nonce != "nonce-123" || c.Name != "Ada Admin" || c.PreferredUsername != adminUPN || c.Email != adminUPN ||
		c.OID != w.admin || c.TID != w.tenant || c.Ver != "2.0" || !slices.Equal(c.Roles, []string{"Portal.Admin"}) {
		t.Errorf("ID token claims = %+v", c)
	}
	if idt.Issuer != w.srv.URL+"/"+w.tenant+"/v2.0" || idt.Subject == "" || idt.Subject == w.admin {
		t.Errorf("iss %q sub %q: want tenant issuer and a pairwise sub", idt.Issuer, idt.Subject)
	}
	if tok.RefreshToken == "" {
		t.Error("no refresh_token although offline_access was requested")
	}
	at := claims(t, tok.AccessToken)
	if at["aud"] != "https://graph.microsoft.com" || at["tid"] != w.tenant || at["oid"] != w.admin ||
		!strings.Contains(at["scp"].(string), "User.Read") || at["wids"] == nil {
		t.Errorf("access token claims = %v", at)
	}
}

// Source: v2-oauth2-auth-code-flow — the interactive pages: the sign-in page lists the tenant's users
// with a button each, picking one continues to consent (a first-time user consent), Accept redirects
// with the code.
func TestSignInAndConsentPages(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{})
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cfg := w.oauthConfig("openid", "profile", "Calendars.Read")
	resp, err := client.Get(cfg.AuthCodeURL("s1", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("login_hint", memberUPN)))
	if err != nil {
		t.Fatal(err)
	}
	page := readAll(t, resp)
	// login_hint preselects: the hinted account comes first and has the focus.
	if i, j := strings.Index(page, "signin-user-"+memberUPN), strings.Index(page, "signin-user-"+adminUPN); i < 0 || j < 0 || i > j || !strings.Contains(page[i:i+strings.Index(page[i:], ">")], "autofocus") {
		t.Errorf("login_hint did not preselect %s", memberUPN)
	}
	for _, want := range []string{`data-testid="signin-user-` + memberUPN + `"`, "Nina Norole", `<button type="submit"`, `lang="en"`} {
		if !strings.Contains(page, want) {
			t.Errorf("sign-in page lacks %q", want)
		}
	}
	req := regexp.MustCompile(`name="req" value="([^"]+)"`).FindStringSubmatch(page)
	if req == nil {
		t.Fatal("no req field")
	}
	resp, err = client.PostForm(w.srv.URL+"/"+w.tenant+"/login", url.Values{"req": {req[1]}, "user": {w.member}})
	if err != nil {
		t.Fatal(err)
	}
	page = readAll(t, resp)
	if !strings.Contains(page, `data-testid="consent-accept"`) || !strings.Contains(page, "Read user calendars") {
		t.Fatalf("want the consent page listing Calendars.Read, got:\n%s", page)
	}
	resp, err = client.PostForm(w.srv.URL+"/"+w.tenant+"/consent", url.Values{"req": {req[1]}, "user": {w.member}, "action": {"accept"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("code") == "" || loc.Query().Get("state") != "s1" {
		t.Errorf("after Accept: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return sb.String()
}

// Source: v2-oauth2-auth-code-flow "Error response" — errors go back to the redirect URI with error,
// error_description (AADSTS code) and state; an untrusted redirect URI gets an error page instead.
func TestAuthorizeErrors(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{AutoLogin: true})
	base := w.srv.URL + "/" + w.tenant + "/oauth2/v2.0/authorize?"
	q := func(mod func(url.Values)) string {
		v := url.Values{"client_id": {w.app.AppID}, "response_type": {"code"}, "redirect_uri": {redirectURI},
			"scope": {"openid"}, "state": {"st"}, "login_hint": {adminUPN}}
		mod(v)
		return base + v.Encode()
	}
	tests := []struct {
		name     string
		mod      func(url.Values)
		wantErr  string
		wantCode string
	}{
		{"unsupported response_type", func(v url.Values) { v.Set("response_type", "token") }, "unsupported_response_type", "AADSTS70005"},
		{"unknown scope", func(v url.Values) { v.Set("scope", "openid Nope.Nothing") }, "invalid_scope", "AADSTS70011"},
		{"plain PKCE", func(v url.Values) { v.Set("code_challenge", "abc"); v.Set("code_challenge_method", "plain") }, "invalid_request", "AADSTS501491"},
		{"admin-only scope by a non-admin", func(v url.Values) { v.Set("scope", "openid Application.ReadWrite.All"); v.Set("login_hint", memberUPN) }, "access_denied", "AADSTS90094"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, err := noFollow(q(tt.mod))
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(loc)
			if u.Query().Get("error") != tt.wantErr || !strings.HasPrefix(u.Query().Get("error_description"), tt.wantCode) || u.Query().Get("state") != "st" {
				t.Errorf("redirect = %s, want error=%s %s with state", loc, tt.wantErr, tt.wantCode)
			}
		})
	}
	for name, mod := range map[string]func(url.Values){
		"AADSTS50011":  func(v url.Values) { v.Set("redirect_uri", "https://evil.example/cb") },
		"AADSTS700016": func(v url.Values) { v.Set("client_id", "11111111-1111-1111-1111-111111111111") },
	} {
		r := call(t, "GET", q(mod), "", nil)
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), name) || r.header.Get("Location") != "" {
			t.Errorf("%s: status %d, want an error page", name, r.status)
		}
	}
}

// Source: v2-oauth2-auth-code-flow (PKCE; public clients) — a publicClient redirect URI requires
// code_challenge (AADSTS9002325); a wrong code_verifier fails (AADSTS501481).
func TestPKCE(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{AutoLogin: true})
	pub, err := w.sim.CreateApplication(w.tenant, entrasim.AppSpec{DisplayName: "CLI", PublicClientRedirectURIs: []string{"http://localhost"},
		DelegatedPermissions: []string{"openid", "User.Read"}})
	if err != nil {
		t.Fatal(err)
	}
	v := url.Values{"client_id": {pub.AppID}, "response_type": {"code"}, "redirect_uri": {"http://localhost"}, "scope": {"openid"}, "login_hint": {adminUPN}}
	loc, _ := noFollow(w.srv.URL + "/" + w.tenant + "/oauth2/v2.0/authorize?" + v.Encode())
	if !strings.Contains(loc, "AADSTS9002325") {
		t.Errorf("public client without PKCE: redirect %s, want AADSTS9002325", loc)
	}
	v.Set("code_challenge", s256("right-verifier-right-verifier-right-verifier"))
	v.Set("code_challenge_method", "S256")
	loc, _ = noFollow(w.srv.URL + "/" + w.tenant + "/oauth2/v2.0/authorize?" + v.Encode())
	u, _ := url.Parse(loc)
	r := postForm(t, w.tokenURL(), url.Values{"client_id": {pub.AppID}, "grant_type": {"authorization_code"}, "code": {u.Query().Get("code")},
		"redirect_uri": {"http://localhost"}, "code_verifier": {"wrong-verifier-wrong-verifier-wrong-verifier"}})
	if r.status != http.StatusBadRequest || r.json(t)["error"] != "invalid_grant" || !strings.HasPrefix(r.json(t)["error_description"].(string), "AADSTS501481") {
		t.Errorf("wrong verifier: %d %s", r.status, r.body)
	}
}

// Source: v2-oauth2-auth-code-flow ("codes are short lived… single use"; RFC 6749 §4.1.2) — a code works
// once (AADSTS54005), expires after 10 minutes (AADSTS70008) and is bound to the redirect URI.
func TestAuthorizationCodeRules(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{AutoLogin: true})
	getCode := func() (string, string) {
		cfg := w.oauthConfig("openid")
		ver := oauth2.GenerateVerifier()
		loc, err := noFollow(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(ver), oauth2.SetAuthURLParam("login_hint", adminUPN)))
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(loc)
		return u.Query().Get("code"), ver
	}
	redeem := func(code, ver, redirect string) response {
		return postForm(t, w.tokenURL(), url.Values{"client_id": {w.app.AppID}, "client_secret": {w.app.SecretText},
			"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "code_verifier": {ver}})
	}
	code, ver := getCode()
	if r := redeem(code, ver, redirectURI); r.status != 200 {
		t.Fatalf("first redemption: %d %s", r.status, r.body)
	}
	if r := redeem(code, ver, redirectURI); !strings.Contains(string(r.body), "AADSTS54005") {
		t.Errorf("second redemption: %s, want AADSTS54005", r.body)
	}
	code, ver = getCode()
	if r := redeem(code, ver, "http://127.0.0.1:9999/other"); !strings.Contains(string(r.body), "AADSTS500112") {
		t.Errorf("other redirect_uri: %s, want AADSTS500112", r.body)
	}
	code, ver = getCode()
	w.sim.Advance(11 * time.Minute)
	if r := redeem(code, ver, redirectURI); !strings.Contains(string(r.body), "AADSTS70008") {
		t.Errorf("after 11 minutes: %s, want AADSTS70008", r.body)
	}
}

// Source: v2-oauth2-auth-code-flow "Refresh the access token" (testdata/auth-code-token.json) and
// https://learn.microsoft.com/entra/identity-platform/refresh-tokens ("Refresh tokens replace themselves
// with a fresh token upon every use. The Microsoft identity platform doesn't revoke old refresh tokens when
// used to fetch new access tokens.") — a redemption yields a new refresh token, and the old one keeps
// working until it expires.
func TestRefreshTokenStaysValidAfterRedemption(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{AutoLogin: true})
	tok, err := w.authCode(adminUPN, "", "openid", "offline_access", "User.Read")
	if err != nil {
		t.Fatal(err)
	}
	refresh := func(rt string) response {
		return postForm(t, w.tokenURL(), url.Values{"client_id": {w.app.AppID}, "client_secret": {w.app.SecretText},
			"grant_type": {"refresh_token"}, "refresh_token": {rt}, "scope": {"openid offline_access User.Read"}})
	}
	r := refresh(tok.RefreshToken)
	m := r.json(t)
	assertSameShape(t, "token", loadDoc(t, "auth-code-token.json"), m)
	if r.status != 200 || m["refresh_token"] == nil || m["refresh_token"] == tok.RefreshToken || m["access_token"] == nil {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	if r := refresh(tok.RefreshToken); r.status != 200 || r.json(t)["access_token"] == nil {
		t.Errorf("reusing the old refresh token: %d %s, want new tokens (Entra does not revoke it)", r.status, r.body)
	}
	if r := refresh(m["refresh_token"].(string)); r.status != 200 {
		t.Errorf("the new refresh token: %d %s", r.status, r.body)
	}
	w.sim.Advance(91 * 24 * time.Hour) // default lifetime 90 days
	if r := refresh(tok.RefreshToken); r.status != 400 || r.json(t)["error"] != "invalid_grant" {
		t.Errorf("after 91 days: %d %s, want invalid_grant", r.status, r.body)
	}
}

// Source: v2-oauth2-client-creds-grant-flow — client_credentials with a secret; token response as in
// testdata/client-credentials-token.json; roles carry the app's application permissions.
func TestClientCredentialsWithSecret(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{}, "Application.Read.All", "Mail.Send")
	r := postForm(t, w.tokenURL(), url.Values{"client_id": {w.app.AppID}, "client_secret": {w.app.SecretText},
		"grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"}})
	got := r.json(t)
	assertSameShape(t, "token", loadDoc(t, "client-credentials-token.json"), got)
	c := claims(t, got["access_token"].(string))
	roles := c["roles"].([]any)
	if c["aud"] != "https://graph.microsoft.com" || c["tid"] != w.tenant || c["idtyp"] != "app" || len(roles) != 2 || c["scp"] != nil {
		t.Errorf("claims = %v", c)
	}
}

// Source: https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow (token error body,
// testdata/token-error.json) and https://learn.microsoft.com/entra/identity-platform/reference-error-codes
// (AADSTS7000215 wrong secret, AADSTS7000222 expired secret) — secrets are checked against
// passwordCredentials.
func TestClientCredentialsSecretErrors(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{}, "Application.Read.All")
	form := func(secret string) url.Values {
		return url.Values{"client_id": {w.app.AppID}, "client_secret": {secret}, "grant_type": {"client_credentials"},
			"scope": {"https://graph.microsoft.com/.default"}}
	}
	r := postForm(t, w.tokenURL(), form("not-the-secret"))
	assertSameShape(t, "error", loadDoc(t, "token-error.json"), r.json(t))
	if r.status != http.StatusUnauthorized || r.json(t)["error"] != "invalid_client" || r.json(t)["error_codes"].([]any)[0] != float64(7000215) {
		t.Errorf("wrong secret: %d %s", r.status, r.body)
	}
	r = postForm(t, w.tokenURL(), url.Values{"client_id": {w.app.AppID}, "client_secret": {w.app.SecretText}, "grant_type": {"client_credentials"}, "scope": {"User.Read"}})
	if !strings.Contains(string(r.body), "AADSTS1002012") {
		t.Errorf("scope without /.default: %s, want AADSTS1002012", r.body)
	}
	w.sim.Advance(3 * 365 * 24 * time.Hour) // default lifetime is two years
	r = postForm(t, w.tokenURL(), form(w.app.SecretText))
	if r.status != http.StatusUnauthorized || r.json(t)["error_codes"].([]any)[0] != float64(7000222) {
		t.Errorf("expired secret: %d %s, want AADSTS7000222", r.status, r.body)
	}
}

// Source: https://learn.microsoft.com/entra/identity-platform/certificate-credentials — client_credentials
// with a client assertion signed by a certificate in the app's keyCredentials.
func TestClientCredentialsWithCertificate(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{}, "Application.Read.All")
	now := time.Now()
	der, key, err := entrasim.NewCertificate("portal-cert", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.sim.AddCertificate(w.app.ID, der, "", time.Time{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	assertion := func(k *rsa.PrivateKey) string {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k}, (&jose.SignerOptions{}).WithType("JWT"))
		if err != nil {
			t.Fatal(err)
		}
		s, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: w.app.AppID, Subject: w.app.AppID, Audience: jwt.Audience{w.tokenURL()},
			ID: "jti-1", Expiry: jwt.NewNumericDate(now.Add(5 * time.Minute)), NotBefore: jwt.NewNumericDate(now)}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	form := func(a string) url.Values {
		return url.Values{"client_id": {w.app.AppID}, "grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}}
	}
	if r := postForm(t, w.tokenURL(), form(assertion(key))); r.status != 200 || claims(t, r.json(t)["access_token"].(string))["appidacr"] != "2" {
		t.Errorf("certificate assertion: %d %s", r.status, r.body)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	if r := postForm(t, w.tokenURL(), form(assertion(other))); r.status != 401 || !strings.Contains(string(r.body), "AADSTS700027") {
		t.Errorf("assertion signed by another key: %d %s, want 401 AADSTS700027", r.status, r.body)
	}
	w.sim.Advance(400 * 24 * time.Hour) // past the certificate's end; the assertion itself is fresh
	now = w.sim.Now()
	if r := postForm(t, w.tokenURL(), form(assertion(key))); r.status != 401 || !strings.Contains(string(r.body), "expired") {
		t.Errorf("assertion with an expired certificate: %d %s", r.status, r.body)
	}
}

// publicApp registers an app that allows public client flows (isFallbackPublicClient), as the device code
// flow without a client credential needs.
func (w *world) publicApp(tb testing.TB) entrasim.AppCreated {
	tb.Helper()
	app, err := w.sim.CreateApplication(w.tenant, entrasim.AppSpec{DisplayName: "CLI", SignInAudience: "AzureADMyOrg",
		IsFallbackPublicClient: true, DelegatedPermissions: []string{"openid", "profile", "email", "offline_access", "User.Read"}})
	if err != nil {
		tb.Fatalf("CreateApplication: %v", err)
	}
	return app
}

// Source: https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code
// (testdata/device-code.json) — polling gets authorization_pending until the user approves; the success
// response lists Microsoft Graph's scopes in short form ("scope": "User.Read profile openid email").
func TestDeviceCodeFlow(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{DeviceCodeInterval: time.Second})
	app := w.publicApp(t)
	r := postForm(t, w.srv.URL+"/"+w.tenant+"/oauth2/v2.0/devicecode", url.Values{"client_id": {app.AppID}, "scope": {"openid User.Read"}})
	dc := r.json(t)
	assertSameShape(t, "devicecode", loadDoc(t, "device-code.json"), dc)
	for _, f := range []string{"device_code", "user_code", "verification_uri", "expires_in", "interval", "message"} {
		if dc[f] == nil {
			t.Errorf("devicecode response lacks %s", f)
		}
	}
	poll := func() response {
		return postForm(t, w.tokenURL(), url.Values{"client_id": {app.AppID}, "grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {dc["device_code"].(string)}})
	}
	if got := poll().json(t)["error"]; got != "authorization_pending" {
		t.Errorf("before approval: %v, want authorization_pending", got)
	}
	if err := w.sim.ApproveDeviceCode(dc["user_code"].(string), adminUPN); err != nil {
		t.Fatal(err)
	}
	r = poll()
	if r.status != 200 || r.json(t)["access_token"] == nil {
		t.Fatalf("after approval: %d %s", r.status, r.body)
	}
	for _, sc := range strings.Fields(r.json(t)["scope"].(string)) {
		if strings.Contains(sc, "/") {
			t.Errorf("scope %q is resource-qualified; Graph scopes come back in short form: %s", sc, r.json(t)["scope"])
		}
	}
	if !strings.Contains(" "+r.json(t)["scope"].(string)+" ", " User.Read ") {
		t.Errorf("scope = %q, want User.Read among them", r.json(t)["scope"])
	}
}

// Source: https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code (grant_type
// urn:ietf:params:oauth:grant-type:device_code) — Entra also accepts the short grant_type=device_code that
// MSAL sends (https://learn.microsoft.com/entra/msal/go/, microsoft-authentication-library-for-go
// apps/internal/oauth/ops/internal/grant: DeviceCode = "device_code").
func TestDeviceCodeShortGrantType(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{DeviceCodeInterval: time.Second})
	app := w.publicApp(t)
	dc := postForm(t, w.srv.URL+"/"+w.tenant+"/oauth2/v2.0/devicecode", url.Values{"client_id": {app.AppID}, "scope": {"User.Read"}}).json(t)
	if err := w.sim.ApproveDeviceCode(dc["user_code"].(string), memberUPN); err != nil {
		t.Fatal(err)
	}
	r := postForm(t, w.tokenURL(), url.Values{"client_id": {app.AppID}, "grant_type": {"device_code"}, "device_code": {dc["device_code"].(string)}})
	if r.status != 200 || claims(t, r.json(t)["access_token"].(string))["oid"] != w.member {
		t.Errorf("grant_type=device_code: %d %s", r.status, r.body)
	}
	if r := postForm(t, w.tokenURL(), url.Values{"client_id": {app.AppID}, "grant_type": {"devicecode"}, "device_code": {"x"}}); !strings.Contains(string(r.body), "AADSTS70003") {
		t.Errorf("an unknown grant type: %d %s, want AADSTS70003", r.status, r.body)
	}
}

// Source: https://learn.microsoft.com/troubleshoot/entra/entra-id/app-integration/confidential-client-application-authentication-error-aadsts7000218
// — a confidential app (isFallbackPublicClient unset) that redeems a device code without client_secret or
// client_assertion gets invalid_client AADSTS7000218; with its secret, or once public client flows are
// allowed, it gets its tokens.
func TestDeviceCodeConfidentialClientNeedsCredential(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{AutoLogin: true, DeviceCodeInterval: time.Second})
	start := func() map[string]any {
		dc := postForm(t, w.srv.URL+"/"+w.tenant+"/oauth2/v2.0/devicecode", url.Values{"client_id": {w.app.AppID}, "scope": {"openid User.Read"}}).json(t)
		if err := w.sim.ApproveDeviceCode(dc["user_code"].(string), adminUPN); err != nil {
			t.Fatal(err)
		}
		return dc
	}
	dc := start()
	form := url.Values{"client_id": {w.app.AppID}, "grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {dc["device_code"].(string)}}
	r := postForm(t, w.tokenURL(), form)
	if r.status != http.StatusUnauthorized || r.json(t)["error"] != "invalid_client" || r.json(t)["error_codes"].([]any)[0] != float64(7000218) {
		t.Errorf("confidential app without a credential: %d %s, want 401 invalid_client AADSTS7000218", r.status, r.body)
	}
	form.Set("client_secret", w.app.SecretText)
	if r := postForm(t, w.tokenURL(), form); r.status != 200 {
		t.Errorf("confidential app with its secret: %d %s", r.status, r.body)
	}
	// Allow public client flows (the portal's switch is isFallbackPublicClient).
	tok := w.delegatedToken(t, adminUPN, "Application.ReadWrite.All")
	if r := call(t, "PATCH", w.graph("/applications(appId='"+w.app.AppID+"')"), tok, map[string]any{"isFallbackPublicClient": true}); r.status != 204 {
		t.Fatalf("PATCH isFallbackPublicClient: %d %s", r.status, r.body)
	}
	dc = start()
	if r := postForm(t, w.tokenURL(), url.Values{"client_id": {w.app.AppID}, "grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {dc["device_code"].(string)}}); r.status != 200 {
		t.Errorf("after allowing public client flows: %d %s", r.status, r.body)
	}
}

// Source: https://learn.microsoft.com/entra/identity-platform/v2-admin-consent and grant-admin-consent.md —
// admin consent redirects with admin_consent=True, tenant and state; Microsoft Graph application
// permissions need a Global or Privileged Role Administrator, other APIs' also an Application
// Administrator.
func TestAdminConsent(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{AutoLogin: true})
	customer, _ := w.sim.CreateTenant("Fabrikam", "fabrikam.example")
	ga, _ := w.sim.CreateUser(customer, entrasim.User{DisplayName: "Fiona", UserPrincipalName: "fiona@fabrikam.example", DirectoryRoles: []string{"Global Administrator"}})
	w.sim.CreateUser(customer, entrasim.User{DisplayName: "Frank", UserPrincipalName: "frank@fabrikam.example", DirectoryRoles: []string{"Application Administrator"}})
	_ = ga
	scanner, err := w.sim.CreateApplication(w.tenant, entrasim.AppSpec{DisplayName: "Scanner", SignInAudience: "AzureADMultipleOrgs",
		RedirectURIs: []string{redirectURI}, ApplicationPermissions: []string{"Application.Read.All"}, Secret: true})
	if err != nil {
		t.Fatal(err)
	}
	consentURL := func(path, upn string, extra url.Values) string {
		v := url.Values{"client_id": {scanner.AppID}, "redirect_uri": {redirectURI}, "state": {"onb-1"}, "login_hint": {upn}}
		for k, x := range extra {
			v[k] = x
		}
		return w.srv.URL + "/organizations/" + path + "?" + v.Encode()
	}
	// An Application Administrator cannot grant a Microsoft Graph application permission.
	loc, _ := noFollow(consentURL("adminconsent", "frank@fabrikam.example", nil))
	if !strings.Contains(loc, "error=access_denied") || !strings.Contains(loc, "state=onb-1") {
		t.Errorf("app admin consent: %s, want access_denied", loc)
	}
	loc, _ = noFollow(consentURL("v2.0/adminconsent", "fiona@fabrikam.example", url.Values{"scope": {"https://graph.microsoft.com/.default"}}))
	u, _ := url.Parse(loc)
	if u.Query().Get("admin_consent") != "True" || u.Query().Get("tenant") != customer || u.Query().Get("state") != "onb-1" {
		t.Fatalf("v2 admin consent redirect = %s", loc)
	}
	tok := appTokenFor(t, w.srv.URL, customer, scanner.AppID, scanner.SecretText)
	if roles := claims(t, tok)["roles"].([]any); len(roles) != 1 || roles[0] != "Application.Read.All" {
		t.Errorf("roles in the customer tenant = %v", roles)
	}
	// v2 admin consent must not use /common.
	r := call(t, "GET", strings.Replace(consentURL("v2.0/adminconsent", "fiona@fabrikam.example", url.Values{"scope": {"https://graph.microsoft.com/.default"}}), "/organizations/", "/common/", 1), "", nil)
	if r.status != 400 || !strings.Contains(string(r.body), "AADSTS90130") {
		t.Errorf("v2 adminconsent at /common: %d", r.status)
	}
	// Exchange app roles can be granted by an Application Administrator.
	ews, _ := w.sim.CreateApplication(w.tenant, entrasim.AppSpec{DisplayName: "EWS", SignInAudience: "AzureADMultipleOrgs",
		RedirectURIs: []string{redirectURI}, ApplicationPermissions: []string{"https://outlook.office365.com/full_access_as_app"}})
	v := url.Values{"client_id": {ews.AppID}, "redirect_uri": {redirectURI}, "state": {"s"}, "login_hint": {"frank@fabrikam.example"}}
	loc, _ = noFollow(w.srv.URL + "/" + customer + "/adminconsent?" + v.Encode())
	if !strings.Contains(loc, "admin_consent=True") {
		t.Errorf("app admin consenting full_access_as_app: %s", loc)
	}
}

// Source: https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow (v1 admin
// consent redirect) via base64 check of the v1 route and the cancel path "error=permission_denied".
func TestAdminConsentV1CancelledByAdmin(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{}, "Application.Read.All")
	v := url.Values{"client_id": {w.app.AppID}, "redirect_uri": {redirectURI}, "state": {"s9"}}
	page := string(call(t, "GET", w.srv.URL+"/"+w.tenant+"/adminconsent?"+v.Encode(), "", nil).body)
	req := regexp.MustCompile(`name="req" value="([^"]+)"`).FindStringSubmatch(page)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(w.srv.URL+"/"+w.tenant+"/login", url.Values{"req": {req[1]}, "user": {w.admin}})
	if err != nil {
		t.Fatal(err)
	}
	page = readAll(t, resp)
	if !strings.Contains(page, "Read all applications") {
		t.Fatalf("admin consent page lacks the permission: %s", page)
	}
	resp, _ = client.PostForm(w.srv.URL+"/"+w.tenant+"/consent", url.Values{"req": {req[1]}, "user": {w.admin}, "action": {"cancel"}})
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); !strings.Contains(loc, "error=permission_denied") || !strings.Contains(loc, "state=s9") {
		t.Errorf("cancel: %s", loc)
	}
}

// Source: consent revocation (an admin removes the grants) — refresh tokens stop working and new
// app-only tokens carry no roles.
func TestRevokeConsent(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{AutoLogin: true}, "Application.Read.All")
	tok, err := w.authCode(adminUPN, "", "openid", "offline_access", "User.Read")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.sim.RevokeConsent(w.tenant, w.app.AppID); err != nil {
		t.Fatal(err)
	}
	_, err = w.oauthConfig("openid", "offline_access", "User.Read").TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err == nil {
		t.Error("refresh after revocation succeeded")
	}
	if c := claims(t, w.appToken(t)); c["roles"] != nil {
		t.Errorf("roles after revocation = %v", c["roles"])
	}
	if _, err := w.authCode(memberUPN, "", "openid", "User.Read"); err != nil {
		t.Errorf("a user can consent again after revocation: %v", err)
	}
}

// Source: https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow and the
// discovery document's token_endpoint_auth_methods_supported (client_secret_post, client_secret_basic);
// x/oauth2 sends client credentials with HTTP Basic, URL-encoded — the
// clientcredentials package works unchanged, whichever auth style it picks.
func TestClientCredentialsAuthStyles(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{}, "Application.Read.All")
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		cc := clientcredentials.Config{ClientID: w.app.AppID, ClientSecret: w.app.SecretText, TokenURL: w.tokenURL(),
			Scopes: []string{"https://graph.microsoft.com/.default"}, AuthStyle: style}
		if _, err := cc.Token(context.Background()); err != nil {
			t.Errorf("auth style %d: %v", style, err)
		}
	}
}

var _ = base64.StdEncoding

// Source: https://learn.microsoft.com/entra/identity-platform/reference-error-codes — client credentials
// need a tenant (AADSTS9001023 at /common), a code is redeemed at the tenant it was issued for
// (AADSTS700005), and scopes may name only one resource (AADSTS700022).
func TestTokenEndpointTenantRules(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{AutoLogin: true}, "Application.Read.All")
	r := postForm(t, w.srv.URL+"/common/oauth2/v2.0/token", url.Values{"client_id": {w.app.AppID}, "client_secret": {w.app.SecretText},
		"grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"}})
	if r.status != 400 || r.json(t)["error_codes"].([]any)[0] != float64(9001023) {
		t.Errorf("client credentials at /common: %d %s", r.status, r.body)
	}
	other, _ := w.sim.CreateTenant("Other", "other.example")
	cfg := w.oauthConfig("openid")
	ver := oauth2.GenerateVerifier()
	loc, _ := noFollow(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(ver), oauth2.SetAuthURLParam("login_hint", adminUPN)))
	u, _ := url.Parse(loc)
	r = postForm(t, w.srv.URL+"/"+other+"/oauth2/v2.0/token", url.Values{"client_id": {w.app.AppID}, "client_secret": {w.app.SecretText},
		"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")}, "redirect_uri": {redirectURI}, "code_verifier": {ver}})
	if r.status != 400 || r.json(t)["error_codes"].([]any)[0] != float64(700005) {
		t.Errorf("code at another tenant: %d %s", r.status, r.body)
	}
	v := url.Values{"client_id": {w.app.AppID}, "response_type": {"code"}, "redirect_uri": {redirectURI}, "state": {"s"},
		"scope": {"openid https://graph.microsoft.com/User.Read https://outlook.office365.com/EWS.AccessAsUser.All"}}
	loc, _ = noFollow(w.srv.URL + "/" + w.tenant + "/oauth2/v2.0/authorize?" + v.Encode())
	if !strings.Contains(loc, "AADSTS700022") {
		t.Errorf("two resources: %s", loc)
	}
}

// SignJWT produces tokens that verify against the published JWKS, so relying-party tests can alter claims.
func TestSignJWTUsesPublishedKey(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{})
	raw, err := w.sim.SignJWT(map[string]any{"iss": w.srv.URL + "/" + w.tenant + "/v2.0", "aud": w.app.AppID, "sub": "s",
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()})
	if err != nil {
		t.Fatal(err)
	}
	p, err := oidc.NewProvider(context.Background(), w.srv.URL+"/"+w.tenant+"/v2.0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Verifier(&oidc.Config{ClientID: w.app.AppID}).Verify(context.Background(), raw); err != nil {
		t.Errorf("go-oidc rejects a SignJWT token: %v", err)
	}
}

// Source: v2-oauth2-device-code — the user opens verification_uri, enters the code, signs in; the polling
// client then gets its tokens.
func TestDeviceCodeThroughPages(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{DeviceCodeInterval: time.Second})
	dc := postForm(t, w.srv.URL+"/"+w.tenant+"/oauth2/v2.0/devicecode", url.Values{"client_id": {w.app.AppID}, "scope": {"openid User.Read"}}).json(t)
	if page := string(call(t, "GET", dc["verification_uri"].(string), "", nil).body); !strings.Contains(page, `data-testid="device-code"`) || !strings.Contains(page, `<label for="otc">`) {
		t.Fatalf("verification page lacks the labelled code field:\n%s", page)
	}
	if page := string(postForm(t, dc["verification_uri"].(string), url.Values{"otc": {"WRONGCODE"}}).body); !strings.Contains(page, `role="alert"`) {
		t.Errorf("wrong code accepted")
	}
	page := string(postForm(t, dc["verification_uri"].(string), url.Values{"otc": {strings.ToLower(dc["user_code"].(string))}}).body)
	req := regexp.MustCompile(`name="req" value="([^"]+)"`).FindStringSubmatch(page)
	if req == nil {
		t.Fatalf("no sign-in page after the code:\n%s", page)
	}
	if done := string(postForm(t, w.srv.URL+"/"+w.tenant+"/login", url.Values{"req": {req[1]}, "user": {w.admin}}).body); !strings.Contains(done, `data-testid="device-done"`) {
		t.Fatalf("after sign-in:\n%s", done)
	}
	r := postForm(t, w.tokenURL(), url.Values{"client_id": {w.app.AppID}, "client_secret": {w.app.SecretText}, "grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {dc["device_code"].(string)}})
	if r.status != 200 || claims(t, r.json(t)["access_token"].(string))["oid"] != w.admin {
		t.Errorf("token after device sign-in: %d %s", r.status, r.body)
	}
}

// Source: v2-oauth2-auth-code-flow (response_mode query | fragment | form_post) — form_post answers with a
// page that posts code and state to the redirect URI; fragment puts them after '#'.
func TestResponseModes(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{AutoLogin: true})
	v := url.Values{"client_id": {w.app.AppID}, "response_type": {"code"}, "redirect_uri": {redirectURI}, "scope": {"openid"},
		"state": {"st-fp"}, "login_hint": {adminUPN}, "response_mode": {"form_post"}}
	r := call(t, "GET", w.srv.URL+"/"+w.tenant+"/oauth2/v2.0/authorize?"+v.Encode(), "", nil)
	page := string(r.body)
	if r.status != 200 || !strings.Contains(page, `<form method="post" action="`+redirectURI+`">`) || !strings.Contains(page, `name="code"`) || !strings.Contains(page, `value="st-fp"`) {
		t.Errorf("form_post page:\n%s", page)
	}
	v.Set("response_mode", "fragment")
	loc, err := noFollow(w.srv.URL + "/" + w.tenant + "/oauth2/v2.0/authorize?" + v.Encode())
	if err != nil || !strings.HasPrefix(loc, redirectURI+"#") || !strings.Contains(loc, "code=") {
		t.Errorf("fragment redirect = %q, %v", loc, err)
	}
}

// Source: https://learn.microsoft.com/entra/identity-platform/scopes-oidc (OpenID Connect scopes are
// Microsoft Graph permissions) and
// https://learn.microsoft.com/exchange/client-developer/exchange-web-services/how-to-authenticate-an-ews-application-by-using-oauth
// (EWS.AccessAsUser.All) — a sign-in asking for Exchange Online's EWS.AccessAsUser.All and openid
// consents each
// on its own resource; the access token is for Exchange, the ID token still comes.
func TestConsentForAnotherResource(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{AutoLogin: true})
	tok, err := w.authCode(adminUPN, "consent", "openid", "https://outlook.office365.com/EWS.AccessAsUser.All")
	if err != nil {
		t.Fatal(err)
	}
	if c := claims(t, tok.AccessToken); c["aud"] != "https://outlook.office365.com" || c["scp"] != "EWS.AccessAsUser.All" {
		t.Errorf("access token claims = %v", c)
	}
	if tok.Extra("id_token") == nil {
		t.Error("no ID token")
	}
	var exoScope, graphScope string
	for _, g := range w.sim.State().Tenants[0].OAuth2PermissionGrants {
		for _, sp := range w.sim.State().Tenants[0].ServicePrincipals {
			if sp.ID == g.ResourceID && sp.AppID == entrasim.ExchangeAppID {
				exoScope = g.Scope
			}
			if sp.ID == g.ResourceID && sp.AppID == entrasim.GraphAppID {
				graphScope = g.Scope
			}
		}
	}
	if exoScope != "EWS.AccessAsUser.All" || !strings.Contains(graphScope, "openid") {
		t.Errorf("grants: Exchange %q, Graph %q", exoScope, graphScope)
	}
}

// Source: https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow (scope is
// "the resource identifier … affixed with the .default suffix") and
// https://learn.microsoft.com/entra/identity-platform/scopes-oidc (openid, profile, offline_access are
// OpenID Connect scopes) — MSAL and azidentity send "https://graph.microsoft.com/.default openid
// offline_access profile"; Entra ignores the OpenID scopes beside the one /.default and issues an app token
// (no refresh or ID token). Two resources' .default are still refused.
func TestClientCredentialsIgnoresOIDCScopes(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{}, "Application.Read.All")
	form := func(scope string) url.Values {
		return url.Values{"client_id": {w.app.AppID}, "client_secret": {w.app.SecretText}, "grant_type": {"client_credentials"}, "scope": {scope}}
	}
	r := postForm(t, w.tokenURL(), form("https://graph.microsoft.com/.default openid offline_access profile"))
	m := r.json(t)
	if r.status != 200 || m["access_token"] == nil || m["refresh_token"] != nil || m["id_token"] != nil {
		t.Fatalf(".default with OIDC scopes: %d %s", r.status, r.body)
	}
	if c := claims(t, m["access_token"].(string)); c["idtyp"] != "app" || c["aud"] != "https://graph.microsoft.com" {
		t.Errorf("claims = %v", c)
	}
	if r := postForm(t, w.tokenURL(), form("openid profile")); !strings.Contains(string(r.body), "AADSTS1002012") {
		t.Errorf("only OIDC scopes: %d %s, want AADSTS1002012", r.status, r.body)
	}
	if r := postForm(t, w.tokenURL(), form("https://graph.microsoft.com/.default https://outlook.office365.com/.default")); !strings.Contains(string(r.body), "AADSTS1002012") {
		t.Errorf("two .default scopes: %d %s, want AADSTS1002012", r.status, r.body)
	}
}

// Source: https://learn.microsoft.com/javascript/api/@azure/msal-common/clientinfo (client info: uid = user
// id, utid = tenant id) — with client_info=1 the token response carries client_info, base64url JSON
// {"uid": <oid>, "utid": <tid>}; without it, none. MSAL derives the home account ID <uid>.<utid> from it.
func TestClientInfo(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{AutoLogin: true})
	tok, err := w.authCode(adminUPN, "", "openid", "offline_access", "User.Read")
	if err != nil {
		t.Fatal(err)
	}
	if ci := tok.Extra("client_info"); ci != nil {
		t.Errorf("client_info without client_info=1: %v", ci)
	}
	r := postForm(t, w.tokenURL(), url.Values{"client_id": {w.app.AppID}, "client_secret": {w.app.SecretText}, "client_info": {"1"},
		"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "scope": {"openid offline_access User.Read"}})
	ci, _ := r.json(t)["client_info"].(string)
	b, err := base64.RawURLEncoding.DecodeString(ci)
	if err != nil {
		t.Fatalf("client_info %q is not base64url: %v (%s)", ci, err, r.body)
	}
	var got map[string]string
	if err := json.Unmarshal(b, &got); err != nil || got["uid"] != w.admin || got["utid"] != w.tenant {
		t.Errorf("client_info = %s, want uid %s utid %s", b, w.admin, w.tenant)
	}
	cc := postForm(t, w.tokenURL(), url.Values{"client_id": {w.app.AppID}, "client_secret": {w.app.SecretText}, "client_info": {"1"},
		"grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"}})
	if cc.json(t)["client_info"] != nil {
		t.Errorf("app token with client_info: %s", cc.body)
	}
}

// Source: https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference (header: "x5t
// … Functions the same (in use and value) as kid. x5t is a legacy claim emitted only in v1.0 access tokens")
// — Graph's v1.0 access tokens carry x5t equal to kid; v2.0 ID tokens carry only kid.
func TestAccessTokenHeaderX5t(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{AutoLogin: true}, "Application.Read.All")
	header := func(jwt string) map[string]any {
		b, err := base64.RawURLEncoding.DecodeString(strings.Split(jwt, ".")[0])
		if err != nil {
			t.Fatal(err)
		}
		var h map[string]any
		if err := json.Unmarshal(b, &h); err != nil {
			t.Fatal(err)
		}
		return h
	}
	if h := header(w.appToken(t)); h["x5t"] == nil || h["x5t"] != h["kid"] || h["alg"] != "RS256" || h["typ"] != "JWT" {
		t.Errorf("app token header = %v", h)
	}
	tok, err := w.authCode(adminUPN, "", "openid", "User.Read")
	if err != nil {
		t.Fatal(err)
	}
	if h := header(tok.AccessToken); h["x5t"] == nil || h["x5t"] != h["kid"] {
		t.Errorf("delegated access token header = %v", h)
	}
	if h := header(tok.Extra("id_token").(string)); h["x5t"] != nil || h["kid"] == nil {
		t.Errorf("ID token header = %v, want kid only", h)
	}
}
