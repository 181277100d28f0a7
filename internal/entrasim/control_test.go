package entrasim_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/entrasim"
	"golang.org/x/oauth2"
)

// The control API routes of issue 3, exactly.
func TestControlAPI(t *testing.T) {
	sim, srv := entrasim.NewTestServer(t, entrasim.Options{})
	ctl := func(method, path string, body any) response { return call(t, method, srv.URL+path, "", body) }
	r := ctl("POST", "/_sim/tenants", map[string]any{"displayName": "Contoso", "domain": "contoso.example"})
	tid, _ := r.json(t)["id"].(string)
	if r.status != 201 || tid == "" {
		t.Fatalf("POST /_sim/tenants: %d %s", r.status, r.body)
	}
	r = ctl("POST", "/_sim/tenants/"+tid+"/users", map[string]any{"displayName": "Ada", "userPrincipalName": "ada@contoso.example", "directoryRoles": []string{"Global Administrator"}})
	uid, _ := r.json(t)["id"].(string)
	if r.status != 201 || uid == "" {
		t.Fatalf("POST users: %d %s", r.status, r.body)
	}
	r = ctl("POST", "/_sim/tenants/"+tid+"/applications", map[string]any{"displayName": "Portal", "signInAudience": "AzureADMultipleOrgs",
		"redirectUris": []string{redirectURI}, "applicationPermissions": []string{"Application.ReadWrite.All", "Mail.Send"},
		"delegatedPermissions": []string{"openid", "profile", "User.Read"}, "secret": true,
		"appRoles": []any{map[string]any{"value": "Portal.Admin", "displayName": "Admin", "description": "d"}}})
	app := r.json(t)
	if r.status != 201 || app["id"] == nil || app["appId"] == nil || app["secretText"] == nil {
		t.Fatalf("POST applications: %d %s", r.status, r.body)
	}
	if r := ctl("POST", "/_sim/tenants/"+tid+"/applications/"+app["appId"].(string)+"/roleAssignments", map[string]any{"userId": uid, "role": "Portal.Admin"}); r.status != 201 {
		t.Errorf("POST roleAssignments: %d %s", r.status, r.body)
	}
	if r := ctl("POST", "/_sim/faults", map[string]any{"method": "GET", "path": "/v1.0/organization", "status": 503, "retryAfter": 2, "count": 1}); r.status != 201 {
		t.Errorf("POST faults: %d %s", r.status, r.body)
	}
	if r := ctl("DELETE", "/_sim/faults", nil); r.status != 204 {
		t.Errorf("DELETE faults: %d", r.status)
	}
	if r := ctl("POST", "/_sim/clock", map[string]any{"now": "2030-01-02T03:04:05Z"}); r.status != 200 || !sim.Now().After(time.Date(2030, 1, 2, 3, 4, 4, 0, time.UTC)) {
		t.Errorf("POST clock now: %d %v", r.status, sim.Now())
	}
	before := sim.Now()
	if r := ctl("POST", "/_sim/clock", map[string]any{"advance": "720h"}); r.status != 200 || sim.Now().Sub(before) < 720*time.Hour {
		t.Errorf("POST clock advance: %d", r.status)
	}
	if r := ctl("GET", "/_sim/tenants/"+tid+"/outbox", nil); r.status != 200 || r.json(t)["value"] == nil {
		t.Errorf("GET outbox: %d %s", r.status, r.body)
	}
	st := ctl("GET", "/_sim/state", nil)
	var ws entrasim.WorldState
	if err := jsonUnmarshal(st.body, &ws); err != nil || len(ws.Tenants) != 1 || len(ws.Tenants[0].Applications) != 1 || len(ws.Tenants[0].Users) != 1 {
		t.Errorf("GET state: %v %s", err, st.body)
	}
	if r := ctl("POST", "/_sim/tenants/00000000-0000-0000-0000-00000000abcd/users", map[string]any{"displayName": "x", "userPrincipalName": "x@y"}); r.status != 404 {
		t.Errorf("unknown tenant: %d", r.status)
	}
	if r := ctl("POST", "/_sim/tenants", "not an object"); r.status != 400 {
		t.Errorf("bad JSON: %d", r.status)
	}
	if r := ctl("POST", "/_sim/tenants/"+tid+"/applications", map[string]any{"displayName": "X", "applicationPermissions": []string{"No.Such.Permission"}}); r.status != 400 {
		t.Errorf("unknown permission: %d", r.status)
	}
}

// The curl flow of issue 3, with plain HTTP requests only: control API → app-only token with the secret
// → create an application through Graph → addPassword → a token with the new secret.
func TestCurlFlow(t *testing.T) {
	_, srv := entrasim.NewTestServer(t, entrasim.Options{})
	tid := call(t, "POST", srv.URL+"/_sim/tenants", "", map[string]any{"displayName": "Contoso", "domain": "contoso.example"}).json(t)["id"].(string)
	app := call(t, "POST", srv.URL+"/_sim/tenants/"+tid+"/applications", "", map[string]any{"displayName": "Automation",
		"applicationPermissions": []string{"Application.ReadWrite.All"}, "secret": true}).json(t)
	token := func(clientID, secret string) string {
		r := postForm(t, srv.URL+"/"+tid+"/oauth2/v2.0/token", url.Values{"client_id": {clientID}, "client_secret": {secret},
			"grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"}})
		tok, _ := r.json(t)["access_token"].(string)
		if r.status != 200 || tok == "" {
			t.Fatalf("token: %d %s", r.status, r.body)
		}
		return tok
	}
	tok := token(app["appId"].(string), app["secretText"].(string))
	created := call(t, "POST", srv.URL+"/v1.0/applications", tok, map[string]any{"displayName": "Created by curl"})
	if created.status != 201 {
		t.Fatalf("create: %d %s", created.status, created.body)
	}
	c := created.json(t)
	call(t, "POST", srv.URL+"/v1.0/servicePrincipals", tok, map[string]any{"appId": c["appId"]})
	pw := call(t, "POST", srv.URL+"/v1.0/applications/"+c["id"].(string)+"/addPassword", tok, map[string]any{"passwordCredential": map[string]any{"displayName": "curl"}})
	if pw.status != 200 {
		t.Fatalf("addPassword: %d %s", pw.status, pw.body)
	}
	token(c["appId"].(string), pw.json(t)["secretText"].(string))
}

// The demo world `portal dev` loads: fixed portal app ID and secret, users with their roles, customer
// tenants whose credentials expire at various dates.
func TestDemoSeed(t *testing.T) {
	sim, srv := entrasim.NewTestServer(t, entrasim.Options{AutoLogin: true})
	res, err := sim.LoadSeed(bytes.NewReader(entrasim.DemoSeed))
	if err != nil {
		t.Fatal(err)
	}
	portal := res.Applications["portal"]
	if portal.AppID != entrasim.DemoPortalAppID || portal.SecretText != entrasim.DemoPortalSecret || res.Tenants["contoso"] != entrasim.DemoOperatorTenantID ||
		res.Tenants["fabrikam"] != entrasim.DemoFabrikamTenantID || res.Tenants["northwind"] != entrasim.DemoNorthwindTenantID {
		t.Errorf("portal app = %+v, tenants %v: want the Demo* constants", portal, res.Tenants)
	}
	contoso, fabrikam, northwind := res.Tenants["contoso"], res.Tenants["fabrikam"], res.Tenants["northwind"]
	for _, tid := range []string{contoso, fabrikam} {
		if roles := claims(t, appTokenFor(t, srv.URL, tid, portal.AppID, portal.SecretText))["roles"]; roles == nil {
			t.Errorf("portal app has no roles in %s", tid)
		}
	}
	r := postForm(t, srv.URL+"/"+northwind+"/oauth2/v2.0/token", url.Values{"client_id": {portal.AppID}, "client_secret": {portal.SecretText},
		"grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"}})
	if r.status != 400 {
		t.Errorf("northwind is not onboarded yet: %d %s", r.status, r.body)
	}
	w := &world{sim: sim, srv: srv, tenant: contoso, app: portal}
	for user, want := range map[string]string{"ada": "Portal.Admin", "oscar": "Portal.Operator", "vera": "Portal.Viewer", "nina": ""} {
		cfg := w.oauthConfig("openid", "profile", "email")
		cfg.RedirectURL = entrasim.DemoPortalRedirectURI
		ver := oauth2.GenerateVerifier()
		loc, err := noFollow(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(ver), oauth2.SetAuthURLParam("login_hint", res.UserPrincipalNames[user])))
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(loc)
		tok, err := cfg.Exchange(context.Background(), u.Query().Get("code"), oauth2.VerifierOption(ver))
		if err != nil {
			t.Fatalf("%s: %v", user, err)
		}
		var roles []string
		if rs, ok := claims(t, tok.Extra("id_token").(string))["roles"].([]any); ok {
			for _, r := range rs {
				roles = append(roles, r.(string))
			}
		}
		if strings.Join(roles, ",") != want {
			t.Errorf("%s roles = %v, want %q", user, roles, want)
		}
	}
	now := sim.Now()
	var expired, soon, certs int
	for _, ts := range sim.State().Tenants {
		if ts.ID == contoso {
			continue
		}
		for _, a := range ts.Applications {
			for _, p := range a.PasswordCredentials {
				end, _ := time.Parse(time.RFC3339, p.EndDateTime)
				switch {
				case end.Before(now):
					expired++
				case end.Before(now.AddDate(0, 0, 30)):
					soon++
				}
			}
			certs += len(a.KeyCredentials)
		}
	}
	if expired < 1 || soon < 3 || certs < 2 {
		t.Errorf("customer credentials: %d expired, %d within 30 days, %d certificates", expired, soon, certs)
	}
	if !slices.Contains(strings.Split(res.Summary(), "\n")[0:3], "tenant contoso      "+contoso) {
		t.Errorf("Summary() = %q", res.Summary())
	}
}

// A seed with a typo fails instead of loading half a world silently.
func TestLoadSeedRejectsInvalid(t *testing.T) {
	sim := entrasim.New(entrasim.Options{})
	for name, seed := range map[string]string{
		"unknown field": `{"tenants":[{"key":"a","displayName":"A","domain":"a.example","userz":[]}]}`,
		"unknown app":   `{"tenants":[{"key":"a","displayName":"A","domain":"a.example","users":[{"key":"u","displayName":"U","userPrincipalName":"u@a.example","appRoles":[{"application":"nope","role":"R"}]}]}]}`,
	} {
		if _, err := sim.LoadSeed(strings.NewReader(seed)); !errors.Is(err, entrasim.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}

// Source: https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc (send a sign-out request)
// — post_logout_redirect_uri is followed only when registered.
func TestLogout(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{})
	base := w.srv.URL + "/" + w.tenant + "/oauth2/v2.0/logout?"
	if loc, err := noFollow(base + url.Values{"post_logout_redirect_uri": {redirectURI}}.Encode()); err != nil || loc != redirectURI {
		t.Errorf("registered: %q %v", loc, err)
	}
	if r := call(t, "GET", base+url.Values{"post_logout_redirect_uri": {"https://evil.example/"}}.Encode(), "", nil); r.status != http.StatusOK || r.header.Get("Location") != "" {
		t.Errorf("unregistered: %d %q", r.status, r.header.Get("Location"))
	}
}

// The demo portal app is the multi-tenant app customers consent to with ".default": it carries only the
// two scan permissions, so a customer's consent grants nothing more. Mail.Send for the home tenant is on a
// separate single-tenant app (issue 13).
func TestDemoSeedPortalAppAsksOnlyScanPermissions(t *testing.T) {
	sim, srv := entrasim.NewTestServer(t, entrasim.Options{AutoLogin: true})
	res, err := sim.LoadSeed(bytes.NewReader(entrasim.DemoSeed))
	if err != nil {
		t.Fatal(err)
	}
	portal := res.Applications["portal"]
	var roles []string
	for _, r := range claims(t, appTokenFor(t, srv.URL, res.Tenants["fabrikam"], portal.AppID, portal.SecretText))["roles"].([]any) {
		roles = append(roles, r.(string))
	}
	slices.Sort(roles)
	if strings.Join(roles, ",") != "Application.Read.All,Organization.Read.All" {
		t.Errorf("the portal app's roles in a customer tenant = %v, want only the two scan permissions", roles)
	}
	mail, ok := res.Applications["portal-mail"]
	if !ok || res.TenantOf["portal-mail"] != res.Tenants["contoso"] {
		t.Fatalf("the demo world has no home-tenant mail app: %+v", res.Applications)
	}
	found := false
	for _, ts := range sim.State().Tenants {
		for _, a := range ts.Applications {
			if a.AppID == mail.AppID {
				found = true
				if a.SignInAudience != "AzureADMyOrg" {
					t.Errorf("the mail app's audience = %q, want AzureADMyOrg (single tenant)", a.SignInAudience)
				}
			}
		}
	}
	if !found {
		t.Error("the mail app is not in the world's state")
	}
}
