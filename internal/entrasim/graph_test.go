package entrasim_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/entrasim"
	"golang.org/x/oauth2"
)

func (w *world) graph(path string) string { return w.srv.URL + "/v1.0" + path }

// Source: https://learn.microsoft.com/graph/errors (testdata/graph-error.json) and the 401 code the
// service returns —
// missing, expired and wrong-audience tokens are 401 InvalidAuthenticationToken with the error envelope
// and Content-Type application/json.
func TestGraphRejectsBadTokens(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{}, "Application.Read.All")
	r := call(t, "GET", w.graph("/applications"), "", nil)
	if r.status != 401 || r.graphErrorCode(t) != "InvalidAuthenticationToken" || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("no token: %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	assertSameShape(t, "error", loadDoc(t, "graph-error.json"), r.json(t))
	exo := postForm(t, w.tokenURL(), url.Values{"client_id": {w.app.AppID}, "client_secret": {w.app.SecretText},
		"grant_type": {"client_credentials"}, "scope": {"https://outlook.office365.com/.default"}}).json(t)["access_token"].(string)
	if r := call(t, "GET", w.graph("/applications"), exo, nil); r.status != 401 || !strings.Contains(string(r.body), "Invalid audience") {
		t.Errorf("Exchange token at Graph: %d %s", r.status, r.body)
	}
	if r := call(t, "GET", w.graph("/applications"), "not-a-jwt", nil); r.status != 401 {
		t.Errorf("garbage token: %d", r.status)
	}
	tok := w.appToken(t)
	w.sim.Advance(2 * time.Hour)
	if r := call(t, "GET", w.graph("/applications"), tok, nil); r.status != 401 || r.graphErrorCode(t) != "InvalidAuthenticationToken" {
		t.Errorf("expired token: %d %s", r.status, r.body)
	}
}

// Source: https://learn.microsoft.com/graph/api/application-list (Permissions: Application.Read.All least
// privileged) — without it, 403 Authorization_RequestDenied.
func TestListApplicationsNeedsApplicationReadAll(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{}, "User.Read.All")
	r := call(t, "GET", w.graph("/applications"), w.appToken(t), nil)
	if r.status != 403 || r.graphErrorCode(t) != "Authorization_RequestDenied" {
		t.Errorf("list without Application.Read.All: %d %s", r.status, r.body)
	}
}

// Source: application-list.md ($top default 100, max 999; $select; $filter) and
// https://learn.microsoft.com/graph/paging (absolute @odata.nextLink until the last page).
func TestListApplicationsPagingSelectFilter(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{}, "Application.Read.All")
	for i := range 249 {
		if _, err := w.sim.CreateApplication(w.tenant, entrasim.AppSpec{DisplayName: fmt.Sprintf("App %03d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	tok := w.appToken(t)
	next := w.graph("/applications?$select=id,appId,displayName")
	var sizes []int
	var ids = map[string]bool{}
	for next != "" {
		if !strings.HasPrefix(next, w.srv.URL+"/v1.0/applications?") {
			t.Fatalf("nextLink %q is not absolute", next)
		}
		m := call(t, "GET", next, tok, nil).json(t)
		vals := m["value"].([]any)
		sizes = append(sizes, len(vals))
		for _, v := range vals {
			o := v.(map[string]any)
			ids[o["id"].(string)] = true
			if len(o) != 3 {
				t.Fatalf("$select=id,appId,displayName returned %v", o)
			}
		}
		next, _ = m["@odata.nextLink"].(string)
	}
	if fmt.Sprint(sizes) != "[100 100 50]" || len(ids) != 250 {
		t.Errorf("page sizes %v, %d distinct, want [100 100 50] and 250", sizes, len(ids))
	}
	m := call(t, "GET", w.graph("/applications?$top=999"), tok, nil).json(t)
	if len(m["value"].([]any)) != 250 || m["@odata.nextLink"] != nil {
		t.Errorf("$top=999 returned %d items", len(m["value"].([]any)))
	}
	if r := call(t, "GET", w.graph("/applications?$select=id,nosuchProperty"), tok, nil); r.status != 400 || !strings.Contains(string(r.body), "nosuchProperty") {
		t.Errorf("$select of an unknown property: %d %s", r.status, r.body)
	}
	if r := call(t, "GET", w.graph("/applications?$top=1000"), tok, nil); r.status != 400 {
		t.Errorf("$top=1000: %d, want 400", r.status)
	}
	m = call(t, "GET", w.graph("/applications?$filter="+url.QueryEscape("appId eq '"+w.app.AppID+"'")), tok, nil).json(t)
	if v := m["value"].([]any); len(v) != 1 || v[0].(map[string]any)["displayName"] != "Portal" {
		t.Errorf("$filter appId: %v", v)
	}
	m = call(t, "GET", w.graph("/applications?$filter="+url.QueryEscape("startswith(displayName,'App 01')")), tok, nil).json(t)
	if v := m["value"].([]any); len(v) != 10 {
		t.Errorf("$filter startswith: %d, want 10", len(v))
	}
	if r := call(t, "GET", w.graph("/applications?$filter="+url.QueryEscape("notes eq 'x'")), tok, nil); r.status != 400 || r.graphErrorCode(t) != "Request_UnsupportedQuery" {
		t.Errorf("unsupported filter: %d %s", r.status, r.body)
	}
}

// Source: https://learn.microsoft.com/graph/api/application-post-applications — 201 with the full object
// (testdata/application-post-applications.json); displayName is required.
func TestCreateApplicationMatchesDocumentedResponse(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{}, "Application.ReadWrite.All")
	tok := w.appToken(t)
	r := call(t, "POST", w.graph("/applications"), tok, map[string]any{"displayName": "Display name", "signInAudience": "AzureADMyOrg",
		"web": map[string]any{"redirectUris": []string{"https://app.contoso.com/auth/callback"}}})
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	got := r.json(t)
	assertSameShape(t, "application", loadDoc(t, "application-post-applications.json"), got)
	if got["@odata.context"] != w.srv.URL+"/v1.0/$metadata#applications/$entity" || got["web"].(map[string]any)["redirectUris"].([]any)[0] != "https://app.contoso.com/auth/callback" {
		t.Errorf("create response = %v", got)
	}
	if r := call(t, "POST", w.graph("/applications"), tok, map[string]any{"signInAudience": "AzureADMyOrg"}); r.status != 400 {
		t.Errorf("create without displayName: %d", r.status)
	}
	if r := call(t, "PATCH", w.graph("/applications/"+got["id"].(string)), tok, map[string]any{"passwordCredentials": []any{}}); r.status != 400 {
		t.Errorf("PATCH passwordCredentials: %d, want 400 (use addPassword)", r.status)
	}
	if r := call(t, "PATCH", w.graph("/applications/"+got["id"].(string)), tok, map[string]any{"notes": "n"}); r.status != 204 {
		t.Errorf("PATCH notes: %d, want 204", r.status)
	}
	if r := call(t, "DELETE", w.graph("/applications/"+got["id"].(string)), tok, nil); r.status != 204 {
		t.Errorf("DELETE: %d", r.status)
	}
	if r := call(t, "GET", w.graph("/applications/"+got["id"].(string)), tok, nil); r.status != 404 || r.graphErrorCode(t) != "Request_ResourceNotFound" {
		t.Errorf("GET deleted: %d %s", r.status, r.body)
	}
}

// Source: https://learn.microsoft.com/graph/api/application-upsert — 404 without Prefer, 201 created with
// Prefer: create-if-missing, 204 when it exists.
func TestUpsertApplication(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{}, "Application.ReadWrite.All")
	tok := w.appToken(t)
	u := w.graph("/applications(uniqueName='app-65278')")
	body := map[string]any{"displayName": "Upserted"}
	if r := call(t, "PATCH", u, tok, body); r.status != 404 {
		t.Errorf("no Prefer: %d, want 404", r.status)
	}
	r := call(t, "PATCH", u, tok, body, "Prefer", "create-if-missing")
	if r.status != 201 || r.json(t)["uniqueName"] != "app-65278" {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if r := call(t, "PATCH", u, tok, map[string]any{"displayName": "Renamed"}, "Prefer", "create-if-missing"); r.status != 204 || len(r.body) != 0 {
		t.Errorf("update: %d %q, want 204 without body", r.status, r.body)
	}
	if got := call(t, "GET", u, tok, nil).json(t)["displayName"]; got != "Renamed" {
		t.Errorf("displayName = %v", got)
	}
}

// Source: https://learn.microsoft.com/graph/api/application-addpassword and -removepassword
// (testdata/application-addpassword.json) — secretText only in this response, hint = first 3
// characters; the secret works at the token endpoint until removed.
func TestAddPasswordThenSignInWithIt(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{}, "Application.ReadWrite.All")
	tok := w.appToken(t)
	created := call(t, "POST", w.graph("/applications"), tok, map[string]any{"displayName": "Daemon"}).json(t)
	id, appID := created["id"].(string), created["appId"].(string)
	if r := call(t, "POST", w.graph("/servicePrincipals"), tok, map[string]any{"appId": appID}); r.status != 201 {
		t.Fatalf("create SP: %d %s", r.status, r.body)
	}
	end := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
	r := call(t, "POST", w.graph("/applications/"+id+"/addPassword"), tok, map[string]any{"passwordCredential": map[string]any{"displayName": "ci", "endDateTime": end}})
	pc := r.json(t)
	assertSameShape(t, "passwordCredential", loadDoc(t, "application-addpassword.json"), pc)
	secret, _ := pc["secretText"].(string)
	if r.status != 200 || len(secret) < 16 || pc["hint"] != secret[:3] || pc["endDateTime"] != end.Format("2006-01-02T15:04:05.0000000Z") {
		t.Fatalf("addPassword: %d %v", r.status, pc)
	}
	listed := call(t, "GET", w.graph("/applications/"+id), tok, nil).json(t)["passwordCredentials"].([]any)[0].(map[string]any)
	if listed["secretText"] != nil || listed["keyId"] != pc["keyId"] {
		t.Errorf("GET shows %v", listed)
	}
	appTokenFor(t, w.srv.URL, w.tenant, appID, secret)
	if r := call(t, "POST", w.graph("/applications/"+id+"/removePassword"), tok, map[string]any{"keyId": pc["keyId"]}); r.status != 204 {
		t.Fatalf("removePassword: %d %s", r.status, r.body)
	}
	r = postForm(t, w.tokenURL(), url.Values{"client_id": {appID}, "client_secret": {secret}, "grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"}})
	if r.status != 401 {
		t.Errorf("removed secret still works: %d", r.status)
	}
}

// Source: https://learn.microsoft.com/graph/api/resources/tenantappmanagementpolicy,
// https://learn.microsoft.com/graph/api/resources/passwordcredentialconfiguration and the error the
// service returns (CredentialInvalidLifetimeAsPerAppPolicy, undocumented; seen in
// https://github.com/Azure/azure-cli/issues/28522) — the policy is readable and enforced by addPassword.
func TestAddPasswordRespectsAppManagementPolicy(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{}, "Application.ReadWrite.All", "Policy.Read.All")
	if err := w.sim.SetPasswordLifetimePolicy(w.tenant, 90*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	tok := w.appToken(t)
	pol := call(t, "GET", w.graph("/policies/defaultAppManagementPolicy"), tok, nil).json(t)
	pcs := pol["applicationRestrictions"].(map[string]any)["passwordCredentials"].([]any)
	if pol["isEnabled"] != true || len(pcs) != 1 || pcs[0].(map[string]any)["maxLifetime"] != "P90D" {
		t.Errorf("policy = %v", pol)
	}
	end := time.Now().AddDate(1, 0, 0)
	r := call(t, "POST", w.graph("/applications/"+w.app.ID+"/addPassword"), tok, map[string]any{"passwordCredential": map[string]any{"endDateTime": end}})
	e := r.json(t)["error"].(map[string]any)
	if r.status != 400 || e["code"] != "CredentialInvalidLifetimeAsPerAppPolicy" || e["details"].([]any)[0].(map[string]any)["code"] != "InvalidKeyEndDate" {
		t.Errorf("1-year secret under a 90-day policy: %d %s", r.status, r.body)
	}
	end = time.Now().AddDate(0, 0, 60)
	if r := call(t, "POST", w.graph("/applications/"+w.app.ID+"/addPassword"), tok, map[string]any{"passwordCredential": map[string]any{"endDateTime": end}}); r.status != 200 {
		t.Errorf("60-day secret: %d %s", r.status, r.body)
	}
}

// Source: https://learn.microsoft.com/graph/api/application-delta and /graph/delta-query-overview —
// pages end in @odata.deltaLink; a later round returns only changes, removed items with @removed; a delta
// token older than 7 days answers 410 Gone (resyncRequired) with a Location to start over.
func TestApplicationsDelta(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{}, "Application.ReadWrite.All")
	tok := w.appToken(t)
	other := call(t, "POST", w.graph("/applications"), tok, map[string]any{"displayName": "Other"}).json(t)["id"].(string)
	m := call(t, "GET", w.graph("/applications/delta?$select=displayName"), tok, nil).json(t)
	if len(m["value"].([]any)) != 2 || m["@odata.deltaLink"] == nil {
		t.Fatalf("initial delta: %v", m)
	}
	delta := m["@odata.deltaLink"].(string)
	call(t, "PATCH", w.graph("/applications/"+w.app.ID), tok, map[string]any{"displayName": "Portal 2"})
	call(t, "DELETE", w.graph("/applications/"+other), tok, nil)
	m = call(t, "GET", delta, tok, nil).json(t)
	vals := m["value"].([]any)
	if len(vals) != 2 || m["@odata.deltaLink"] == nil {
		t.Fatalf("second round: %v", m)
	}
	changed, removed := vals[0].(map[string]any), vals[1].(map[string]any)
	if changed["displayName"] != "Portal 2" || removed["id"] != other || removed["@removed"].(map[string]any)["reason"] != "changed" {
		t.Errorf("changes = %v", vals)
	}
	w.sim.Advance(8 * 24 * time.Hour)
	tok = w.appToken(t)
	if r := call(t, "GET", m["@odata.deltaLink"].(string), tok, nil); r.status != http.StatusGone || r.graphErrorCode(t) != "resyncRequired" || !strings.HasPrefix(r.header.Get("Location"), w.graph("/applications/delta")) {
		t.Errorf("8-day-old delta token: %d %s Location %q", r.status, r.body, r.header.Get("Location"))
	}
	m = call(t, "GET", w.graph("/applications/delta?$deltatoken=latest"), tok, nil).json(t)
	if len(m["value"].([]any)) != 0 || m["@odata.deltaLink"] == nil {
		t.Errorf("$deltatoken=latest: %v", m)
	}
}

// Source: https://learn.microsoft.com/graph/permissions-reference and the dump of the live Graph service
// principal (https://github.com/merill/microsoft-info/tree/main/_info);
// https://learn.microsoft.com/exchange/client-developer/exchange-web-services/how-to-authenticate-an-ews-application-by-using-oauth for Exchange —
// every tenant has both first-party service principals with their real permissions, at tenant-specific
// object IDs.
func TestFirstPartyServicePrincipals(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{}, "Application.Read.All")
	tok := w.appToken(t)
	sp := call(t, "GET", w.graph("/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')"), tok, nil).json(t)
	roles, scopes := sp["appRoles"].([]any), sp["oauth2PermissionScopes"].([]any)
	if sp["displayName"] != "Microsoft Graph" || len(roles) != 716 || len(scopes) != 807 {
		t.Errorf("Graph SP: %v with %d roles, %d scopes; want 716 and 807 (the CSV dumps)", sp["displayName"], len(roles), len(scopes))
	}
	found := false
	for _, r := range roles {
		if m := r.(map[string]any); m["value"] == "Application.Read.All" && m["id"] == "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30" {
			found = true
		}
	}
	if !found {
		t.Error("Application.Read.All app role with its documented GUID missing")
	}
	exo := call(t, "GET", w.graph("/servicePrincipals(appId='00000002-0000-0ff1-ce00-000000000000')"), tok, nil).json(t)
	var values []string
	for _, r := range exo["appRoles"].([]any) {
		values = append(values, r.(map[string]any)["value"].(string))
	}
	if got := strings.Join(values, ","); !strings.Contains(got, "full_access_as_app") || !strings.Contains(got, "IMAP.AccessAsApp") || !strings.Contains(got, "SMTP.SendAsApp") {
		t.Errorf("Exchange app roles = %s", got)
	}
	other, _ := w.sim.CreateTenant("Other", "other.example")
	if st := w.sim.State(); st.Tenants[0].ServicePrincipals[0].ID == "" || other == "" {
		t.Fatal("no state")
	} else {
		a, b := st.Tenants[0].ServicePrincipals[0], st.Tenants[1].ServicePrincipals[0]
		if a.AppID != b.AppID || a.ID == b.ID {
			t.Errorf("Graph SP object IDs must differ per tenant: %s %s", a.ID, b.ID)
		}
	}
}

// Source: https://learn.microsoft.com/graph/api/serviceprincipal-post-serviceprincipals and
// serviceprincipal-upsert — 201; a duplicate is 409 Request_MultipleObjectsWithSameKeyValue [C]; upsert by
// appId with Prefer: create-if-missing.
func TestServicePrincipalCreateAndUpsert(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{}, "Application.ReadWrite.All")
	tok := w.appToken(t)
	a := call(t, "POST", w.graph("/applications"), tok, map[string]any{"displayName": "X"}).json(t)["appId"].(string)
	r := call(t, "PATCH", w.graph("/servicePrincipals(appId='"+a+"')"), tok, map[string]any{}, "Prefer", "create-if-missing")
	if r.status != 201 || r.json(t)["appId"] != a || r.json(t)["servicePrincipalNames"].([]any)[0] != a {
		t.Fatalf("upsert create: %d %s", r.status, r.body)
	}
	if r := call(t, "PATCH", w.graph("/servicePrincipals(appId='"+a+"')"), tok, map[string]any{"tags": []string{"x"}}, "Prefer", "create-if-missing"); r.status != 204 {
		t.Errorf("upsert update: %d", r.status)
	}
	list := call(t, "GET", w.graph("/servicePrincipals?$filter="+url.QueryEscape("appId eq '"+a+"'")+"&$select=id,appId,displayName"), tok, nil).json(t)["value"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["appId"] != a || len(list[0].(map[string]any)) != 3 {
		t.Errorf("list with $filter appId and $select = %v", list)
	}
	if r := call(t, "POST", w.graph("/servicePrincipals"), tok, map[string]any{"appId": a}); r.status != 409 || r.graphErrorCode(t) != "Request_MultipleObjectsWithSameKeyValue" {
		t.Errorf("duplicate: %d %s", r.status, r.body)
	}
	if r := call(t, "POST", w.graph("/servicePrincipals"), tok, map[string]any{"appId": "11111111-2222-3333-4444-555555555555"}); r.status != 400 || !strings.Contains(string(r.body), "NoBackingApplicationObject") {
		t.Errorf("unknown appId: %d %s", r.status, r.body)
	}
}

// Source: https://learn.microsoft.com/graph/api/serviceprincipal-post-approleassignedto
// (testdata/serviceprincipal-post-approleassignedto.json) and grant-admin-consent.md — needs
// AppRoleAssignment.ReadWrite.All; in a delegated call Microsoft Graph app roles only by a Global or
// Privileged Role Administrator, other resources' also by an Application Administrator.
func TestAppRoleAssignedTo(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{AutoLogin: true})
	target, _ := w.sim.CreateApplication(w.tenant, entrasim.AppSpec{DisplayName: "Target"})
	app := w.sim.State().Tenants[0]
	var graphSP, exoSP, targetSP string
	for _, sp := range app.ServicePrincipals {
		switch sp.AppID {
		case entrasim.GraphAppID:
			graphSP = sp.ID
		case entrasim.ExchangeAppID:
			exoSP = sp.ID
		case target.AppID:
			targetSP = sp.ID
		}
	}
	scopes := []string{"AppRoleAssignment.ReadWrite.All", "Application.Read.All"}
	ga := w.delegatedToken(t, adminUPN, scopes...)
	appAdmin := w.delegatedToken(t, appAdminUPN, scopes...)
	assign := func(tok, resource, role string) response {
		return call(t, "POST", w.graph("/servicePrincipals/"+resource+"/appRoleAssignedTo"), tok,
			map[string]any{"principalId": targetSP, "resourceId": resource, "appRoleId": role})
	}
	const mailSend, fullAccess = "b633e1c5-b582-4048-a93e-9f11b44c7e96", "dc890d15-9560-4a4c-9b7f-a736ec74ec40"
	if r := assign(appAdmin, graphSP, mailSend); r.status != 403 || r.graphErrorCode(t) != "Authorization_RequestDenied" {
		t.Errorf("App Admin granting Graph Mail.Send: %d %s", r.status, r.body)
	}
	if r := assign(appAdmin, exoSP, fullAccess); r.status != 201 {
		t.Errorf("App Admin granting full_access_as_app: %d %s", r.status, r.body)
	}
	r := assign(ga, graphSP, mailSend)
	if r.status != 201 {
		t.Fatalf("GA granting Mail.Send: %d %s", r.status, r.body)
	}
	got := r.json(t)
	assertSameShape(t, "appRoleAssignment", loadDoc(t, "serviceprincipal-post-approleassignedto.json"), got)
	if len(got["id"].(string)) != 43 || got["principalType"] != "ServicePrincipal" || got["resourceDisplayName"] != "Microsoft Graph" {
		t.Errorf("assignment = %v", got)
	}
	if r := assign(ga, graphSP, mailSend); r.status != 400 || !strings.Contains(string(r.body), "already exists") {
		t.Errorf("duplicate: %d %s", r.status, r.body)
	}
	list := call(t, "GET", w.graph("/servicePrincipals/"+targetSP+"/appRoleAssignments"), ga, nil).json(t)["value"].([]any)
	if len(list) != 2 {
		t.Errorf("appRoleAssignments = %d, want 2", len(list))
	}
	assignedTo := call(t, "GET", w.graph("/servicePrincipals/"+graphSP+"/appRoleAssignedTo"), ga, nil).json(t)["value"].([]any)
	if len(assignedTo) != 1 || assignedTo[0].(map[string]any)["principalId"] != targetSP {
		t.Errorf("appRoleAssignedTo of Microsoft Graph = %v", assignedTo)
	}
	if r := call(t, "DELETE", w.graph("/servicePrincipals/"+graphSP+"/appRoleAssignedTo/"+got["id"].(string)), ga, nil); r.status != 204 {
		t.Errorf("DELETE: %d", r.status)
	}
	// Entra puts every consented scope into scp, so use an app-only token without the permission.
	if r := assign(w.appToken(t), graphSP, mailSend); r.status != 403 {
		t.Errorf("without AppRoleAssignment.ReadWrite.All: %d", r.status)
	}
}

// Source: https://learn.microsoft.com/graph/api/oauth2permissiongrant-post
// (testdata/oauth2permissiongrant-post.json) — one grant per client and resource (409 "Permission entry
// already exists." [C]); PATCH scope 204; DELETE 204.
func TestOAuth2PermissionGrants(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{}, "DelegatedPermissionGrant.ReadWrite.All", "Application.Read.All")
	target, _ := w.sim.CreateApplication(w.tenant, entrasim.AppSpec{DisplayName: "Target"})
	tok := w.appToken(t)
	graphSP := call(t, "GET", w.graph("/servicePrincipals(appId='"+entrasim.GraphAppID+"')?$select=id"), tok, nil).json(t)["id"].(string)
	targetSP := call(t, "GET", w.graph("/servicePrincipals(appId='"+target.AppID+"')"), tok, nil).json(t)["id"].(string)
	body := map[string]any{"clientId": targetSP, "consentType": "AllPrincipals", "resourceId": graphSP, "scope": "User.Read.All Group.Read.All"}
	r := call(t, "POST", w.graph("/oauth2PermissionGrants"), tok, body)
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	got := r.json(t)
	assertSameShape(t, "grant", loadDoc(t, "oauth2permissiongrant-post.json"), got)
	if r := call(t, "POST", w.graph("/oauth2PermissionGrants"), tok, body); r.status != 409 || r.graphErrorCode(t) != "Request_MultipleObjectsWithSameKeyValue" {
		t.Errorf("duplicate: %d %s", r.status, r.body)
	}
	id := got["id"].(string)
	if r := call(t, "PATCH", w.graph("/oauth2PermissionGrants/"+id), tok, map[string]any{"scope": "User.Read.All"}); r.status != 204 {
		t.Errorf("PATCH: %d", r.status)
	}
	list := call(t, "GET", w.graph("/oauth2PermissionGrants?$filter="+url.QueryEscape("clientId eq '"+targetSP+"'")), tok, nil).json(t)["value"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["scope"] != "User.Read.All" {
		t.Errorf("list = %v", list)
	}
	if r := call(t, "DELETE", w.graph("/oauth2PermissionGrants/"+id), tok, nil); r.status != 204 {
		t.Errorf("DELETE: %d", r.status)
	}
}

// Source: https://learn.microsoft.com/graph/api/organization-get — a collection of one; with only
// User.Read, only id, displayName and verifiedDomains are populated.
func TestOrganization(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{AutoLogin: true}, "Organization.Read.All")
	m := call(t, "GET", w.graph("/organization"), w.delegatedToken(t, memberUPN, "User.Read"), nil).json(t)
	orgs := m["value"].([]any)
	o := orgs[0].(map[string]any)
	if len(orgs) != 1 || o["id"] != w.tenant || o["displayName"] != "Contoso" || len(o["verifiedDomains"].([]any)) != 2 || o["createdDateTime"] != nil {
		t.Errorf("organization with User.Read = %v", o)
	}
	o = call(t, "GET", w.graph("/organization"), w.appToken(t), nil).json(t)["value"].([]any)[0].(map[string]any)
	if o["createdDateTime"] == nil {
		t.Errorf("organization with Organization.Read.All lacks createdDateTime: %v", o)
	}
}

// Source: https://learn.microsoft.com/graph/api/user-get and user-list-transitivememberof
// (testdata/user-list-transitivememberof.json) — /me is delegated only; directory roles carry
// roleTemplateId.
func TestMeAndTransitiveMemberOf(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{AutoLogin: true}, "User.Read.All")
	tok := w.delegatedToken(t, adminUPN, "User.Read")
	if me := call(t, "GET", w.graph("/me"), tok, nil).json(t); me["id"] != w.admin || me["userPrincipalName"] != adminUPN {
		t.Errorf("/me = %v", me)
	}
	m := call(t, "GET", w.graph("/me/transitiveMemberOf"), tok, nil).json(t)
	assertSameShape(t, "memberOf", loadDoc(t, "user-list-transitivememberof.json"), m)
	role := m["value"].([]any)[0].(map[string]any)
	if role["roleTemplateId"] != "62e90394-69f5-4237-9190-012177145e10" || role["@odata.type"] != "#microsoft.graph.directoryRole" {
		t.Errorf("role = %v", role)
	}
	if r := call(t, "GET", w.graph("/me"), w.appToken(t), nil); r.status != 400 {
		t.Errorf("/me app-only: %d, want 400", r.status)
	}
	if users := call(t, "GET", w.graph("/users"), w.appToken(t), nil).json(t)["value"].([]any); len(users) != 3 {
		t.Errorf("/users = %d users", len(users))
	}
}

// Source: https://learn.microsoft.com/graph/api/user-sendmail — 202 Accepted, empty body; app-only needs
// Mail.Send. The emulator keeps the message in the tenant's outbox.
func TestSendMailGoesToOutbox(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{}, "Mail.Send")
	msg := map[string]any{"message": map[string]any{"subject": "3 app secrets expire within 30 days",
		"body":         map[string]any{"contentType": "HTML", "content": "<p>…</p>"},
		"toRecipients": []any{map[string]any{"emailAddress": map[string]any{"address": "secops@contoso.com"}}}}, "saveToSentItems": false}
	r := call(t, "POST", w.graph("/users/"+adminUPN+"/sendMail"), w.appToken(t), msg)
	if r.status != 202 || len(r.body) != 0 {
		t.Fatalf("sendMail: %d %s", r.status, r.body)
	}
	out := w.sim.Outbox(w.tenant)
	if len(out) != 1 || out[0].Subject != "3 app secrets expire within 30 days" || out[0].To[0] != "secops@contoso.com" || out[0].From != adminUPN {
		t.Errorf("outbox = %+v", out)
	}
	noMail := newTestWorld(t, entrasim.Options{}, "User.Read.All")
	if r := call(t, "POST", noMail.graph("/users/"+adminUPN+"/sendMail"), noMail.appToken(t), msg); r.status != 403 {
		t.Errorf("without Mail.Send: %d", r.status)
	}
}

// Source: msgraph-sdk-go's default middleware includes kiota's CompressionHandler, which sends request
// bodies with Content-Encoding: gzip — gzip request bodies are accepted.
func TestGzipRequestBody(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{}, "Application.ReadWrite.All")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	json.NewEncoder(zw).Encode(map[string]any{"displayName": "Zipped"})
	zw.Close()
	req, _ := http.NewRequest("POST", w.graph("/applications"), &buf)
	req.Header.Set("Authorization", "Bearer "+w.appToken(t))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	if resp.StatusCode != 201 || m["displayName"] != "Zipped" {
		t.Errorf("gzip body: %d %v", resp.StatusCode, m)
	}
}

// Source: replication lag, undocumented but reported in
// https://github.com/microsoftgraph/msgraph-sdk-dotnet/issues/3108 and
// https://github.com/hashicorp/terraform-provider-azuread/issues/581 — a new application is invisible for
// a while: 404 Request_ResourceNotFound on reads, 400
// NoBackingApplicationObject when creating its service principal.
func TestReplicationLag(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{}, "Application.ReadWrite.All")
	w.sim.SetReplicationLag(time.Minute)
	tok := w.appToken(t)
	created := call(t, "POST", w.graph("/applications"), tok, map[string]any{"displayName": "Fresh"}).json(t)
	if r := call(t, "GET", w.graph("/applications/"+created["id"].(string)), tok, nil); r.status != 404 || r.graphErrorCode(t) != "Request_ResourceNotFound" {
		t.Errorf("read during lag: %d %s", r.status, r.body)
	}
	r := call(t, "POST", w.graph("/servicePrincipals"), tok, map[string]any{"appId": created["appId"]})
	details, _ := r.json(t)["error"].(map[string]any)["details"].([]any)
	if r.status != 400 || len(details) == 0 || details[0].(map[string]any)["code"] != "NoBackingApplicationObject" {
		t.Errorf("SP during lag: %d %s", r.status, r.body)
	}
	w.sim.Advance(time.Minute)
	if r := call(t, "POST", w.graph("/servicePrincipals"), tok, map[string]any{"appId": created["appId"]}); r.status != 201 {
		t.Errorf("SP after lag: %d %s", r.status, r.body)
	}
}

// Source: https://learn.microsoft.com/graph/throttling — 429 with Retry-After; injected per method and
// path for the next N requests, or a percentage; 5xx likewise; the token endpoint answers in its own shape.
func TestFaults(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{}, "Application.Read.All")
	tok := w.appToken(t)
	if err := w.sim.AddFault(entrasim.Fault{Method: "GET", Path: "/v1.0/applications*", Status: 429, RetryAfter: 7, Count: 2}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		r := call(t, "GET", w.graph("/applications"), tok, nil)
		if r.status != 429 || r.header.Get("Retry-After") != "7" || r.graphErrorCode(t) != "TooManyRequests" {
			t.Errorf("request %d: %d Retry-After %q", i, r.status, r.header.Get("Retry-After"))
		}
	}
	if r := call(t, "GET", w.graph("/applications"), tok, nil); r.status != 200 {
		t.Errorf("third request: %d", r.status)
	}
	w.sim.AddFault(entrasim.Fault{Path: "/v1.0/organization", Status: 503, Percent: 100})
	for range 3 {
		if r := call(t, "GET", w.graph("/organization"), tok, nil); r.status != 503 {
			t.Errorf("100%% fault: %d", r.status)
		}
	}
	w.sim.ClearFaults()
	w.sim.AddFault(entrasim.Fault{Method: "POST", Path: "*/oauth2/v2.0/token", Status: 504})
	r := postForm(t, w.tokenURL(), url.Values{})
	if r.status != 504 || r.json(t)["error"] != "temporarily_unavailable" {
		t.Errorf("token endpoint fault: %d %s", r.status, r.body)
	}
	if err := w.sim.AddFault(entrasim.Fault{Status: 418}); err == nil {
		t.Error("status 418 accepted")
	}
}

// Source: https://learn.microsoft.com/graph/api/application-list ("$select of keyCredentials is throttled
// at 150 requests per minute per tenant") — the 151st such request within a minute is a 429 with
// Retry-After; other tenants and other selects are unaffected.
func TestKeyCredentialsSelectLimit(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{}, "Application.Read.All")
	tok := w.appToken(t)
	u := w.graph("/applications?$select=id,keyCredentials")
	for i := range 150 {
		if r := call(t, "GET", u, tok, nil); r.status != 200 {
			t.Fatalf("request %d: %d", i+1, r.status)
		}
	}
	r := call(t, "GET", u, tok, nil)
	if r.status != 429 || r.header.Get("Retry-After") == "" || r.graphErrorCode(t) != "TooManyRequests" {
		t.Errorf("151st request: %d Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	if r := call(t, "GET", w.graph("/applications?$select=id,passwordCredentials"), tok, nil); r.status != 200 {
		t.Errorf("without keyCredentials: %d", r.status)
	}
	w.sim.Advance(time.Minute)
	if r := call(t, "GET", u, w.appToken(t), nil); r.status != 200 {
		t.Errorf("a minute later: %d", r.status)
	}
}

// Source: https://learn.microsoft.com/graph/permissions-reference and
// https://learn.microsoft.com/graph/api/application-list (Application.ReadWrite.OwnedBy lists all apps but manages only the ones the caller owns); creating the
// service principal of an app it does not own is 403
// (https://github.com/hashicorp/terraform-provider-azuread/issues/611).
func TestApplicationReadWriteOwnedBy(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{}, "Application.ReadWrite.OwnedBy")
	other, _ := w.sim.CreateApplication(w.tenant, entrasim.AppSpec{DisplayName: "Not mine"})
	tok := w.appToken(t)
	if v := call(t, "GET", w.graph("/applications"), tok, nil).json(t)["value"].([]any); len(v) != 2 {
		t.Errorf("list with OwnedBy: %d apps, want all 2", len(v))
	}
	mine := call(t, "POST", w.graph("/applications"), tok, map[string]any{"displayName": "Mine"}).json(t)
	if r := call(t, "POST", w.graph("/applications/"+mine["id"].(string)+"/addPassword"), tok, map[string]any{}); r.status != 200 {
		t.Errorf("addPassword on an owned app: %d %s", r.status, r.body)
	}
	if r := call(t, "POST", w.graph("/servicePrincipals"), tok, map[string]any{"appId": mine["appId"]}); r.status != 201 {
		t.Errorf("SP for an owned app: %d %s", r.status, r.body)
	}
	if r := call(t, "POST", w.graph("/applications/"+other.ID+"/addPassword"), tok, map[string]any{}); r.status != 403 {
		t.Errorf("addPassword on another app: %d, want 403", r.status)
	}
	if r := call(t, "DELETE", w.graph("/servicePrincipals(appId='"+other.AppID+"')"), tok, nil); r.status != 403 {
		t.Errorf("deleting another app's SP: %d, want 403", r.status)
	}
	admin, _ := w.sim.CreateApplication(w.tenant, entrasim.AppSpec{DisplayName: "Admin tool", ApplicationPermissions: []string{"Application.ReadWrite.All"}, Secret: true})
	adminTok := appTokenFor(t, w.srv.URL, w.tenant, admin.AppID, admin.SecretText)
	theirs := call(t, "POST", w.graph("/applications"), adminTok, map[string]any{"displayName": "Theirs"}).json(t)["appId"].(string)
	if r := call(t, "PATCH", w.graph("/servicePrincipals(appId='"+theirs+"')"), tok, map[string]any{}, "Prefer", "create-if-missing"); r.status != 403 || r.graphErrorCode(t) != "Authorization_RequestDenied" {
		t.Errorf("SP for another app: %d %s", r.status, r.body)
	}
}

// Source: https://learn.microsoft.com/graph/api/application-post-applications (its table of supported
// roles: a non-admin member may register apps unless restricted) — a member with
// Application.ReadWrite.All manages the apps they created, not others.
func TestMemberManagesOnlyOwnApps(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{AutoLogin: true})
	tok := w.delegatedToken(t, adminUPN, "Application.ReadWrite.All") // Ada consents for the organisation
	mt, err := w.authCode(memberUPN, "", "Application.ReadWrite.All") // no prompt=consent: the org grant covers Nina
	if err != nil {
		t.Fatal(err)
	}
	member := mt.AccessToken
	mine := call(t, "POST", w.graph("/applications"), member, map[string]any{"displayName": "Nina's app"})
	if mine.status != 201 {
		t.Fatalf("member creates an app: %d %s", mine.status, mine.body)
	}
	if r := call(t, "POST", w.graph("/applications/"+mine.json(t)["id"].(string)+"/addPassword"), member, map[string]any{}); r.status != 200 {
		t.Errorf("member adds a secret to their app: %d", r.status)
	}
	if r := call(t, "POST", w.graph("/applications/"+w.app.ID+"/addPassword"), member, map[string]any{}); r.status != 403 {
		t.Errorf("member adds a secret to someone else's app: %d, want 403", r.status)
	}
	if r := call(t, "POST", w.graph("/applications/"+w.app.ID+"/addPassword"), tok, map[string]any{}); r.status != 200 {
		t.Errorf("Global Administrator adds a secret: %d", r.status)
	}
}

// Source: https://learn.microsoft.com/entra/identity-platform/howto-convert-app-to-be-multi-tenant — a
// customer's admin signs in to the multi-tenant portal app at the customer tenant, consents for the
// organisation (prompt=consent), and the delegated token works on the customer tenant's Graph; a
// single-tenant app cannot be used there (AADSTS700016).
func TestCrossTenantDelegatedSignIn(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{AutoLogin: true})
	customer, _ := w.sim.CreateTenant("Fabrikam", "fabrikam.example")
	w.sim.CreateUser(customer, entrasim.User{DisplayName: "Fiona", UserPrincipalName: "fiona@fabrikam.example", DirectoryRoles: []string{"Global Administrator"}})
	cfg := w.oauthConfig("openid", "offline_access", "Application.ReadWrite.All")
	cfg.Endpoint.AuthURL = w.srv.URL + "/" + customer + "/oauth2/v2.0/authorize"
	cfg.Endpoint.TokenURL = w.srv.URL + "/" + customer + "/oauth2/v2.0/token"
	ver := oauth2.GenerateVerifier()
	loc, err := noFollow(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(ver), oauth2.SetAuthURLParam("login_hint", "fiona@fabrikam.example"), oauth2.SetAuthURLParam("prompt", "consent")))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(loc)
	tok, err := cfg.Exchange(context.Background(), u.Query().Get("code"), oauth2.VerifierOption(ver))
	if err != nil {
		t.Fatal(err)
	}
	if c := claims(t, tok.AccessToken); c["tid"] != customer {
		t.Errorf("tid = %v, want the customer tenant", c["tid"])
	}
	r := call(t, "POST", w.graph("/applications"), tok.AccessToken, map[string]any{"displayName": "Created in Fabrikam"})
	if r.status != 201 || r.json(t)["publisherDomain"] != "fabrikam.example" {
		t.Errorf("create in the customer tenant: %d %s", r.status, r.body)
	}
	single, _ := w.sim.CreateApplication(w.tenant, entrasim.AppSpec{DisplayName: "Single", RedirectURIs: []string{redirectURI}})
	v := url.Values{"client_id": {single.AppID}, "response_type": {"code"}, "redirect_uri": {redirectURI}, "scope": {"openid"}}
	if r := call(t, "GET", w.srv.URL+"/"+customer+"/oauth2/v2.0/authorize?"+v.Encode(), "", nil); r.status != 400 || !strings.Contains(string(r.body), "AADSTS700016") {
		t.Errorf("single-tenant app at another tenant: %d", r.status)
	}
}

// Source: https://learn.microsoft.com/graph/api/organization-get ("GET /organization/{organization-id}")
// and https://learn.microsoft.com/graph/api/resources/organization (v1.0 properties, among them
// defaultUsageLocation, isMultipleDataLocationsForServicesEnabled, onPremisesLastSyncDateTime and
// partnerTenantType) — the keyed request returns the entity; an unknown id is 404 Request_ResourceNotFound.
func TestOrganizationByID(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{}, "Organization.Read.All")
	tok := w.appToken(t)
	r := call(t, "GET", w.graph("/organization/"+w.tenant), tok, nil)
	o := r.json(t)
	if r.status != 200 || o["id"] != w.tenant || o["displayName"] != "Contoso" || o["value"] != nil {
		t.Fatalf("GET /organization/{id}: %d %s", r.status, r.body)
	}
	if ctx, _ := o["@odata.context"].(string); !strings.HasSuffix(ctx, "$metadata#organization/$entity") {
		t.Errorf("@odata.context = %q, want …#organization/$entity", ctx)
	}
	for _, p := range []string{"defaultUsageLocation", "isMultipleDataLocationsForServicesEnabled", "onPremisesLastSyncDateTime", "partnerTenantType"} {
		if _, ok := o[p]; !ok {
			t.Errorf("organization lacks the documented property %s", p)
		}
	}
	list := call(t, "GET", w.graph("/organization"), tok, nil).json(t)["value"].([]any)[0].(map[string]any)
	if _, ok := list["partnerTenantType"]; !ok {
		t.Errorf("listed organization lacks partnerTenantType: %v", list)
	}
	if r := call(t, "GET", w.graph("/organization('"+w.tenant+"')?$select=id"), tok, nil); r.status != 200 || r.json(t)["id"] != w.tenant {
		t.Errorf("GET /organization('{id}'): %d %s", r.status, r.body)
	}
	if r := call(t, "GET", w.graph("/organization/00000000-0000-0000-0000-000000000001"), tok, nil); r.status != 404 || r.graphErrorCode(t) != "Request_ResourceNotFound" {
		t.Errorf("unknown organization id: %d %s, want 404 Request_ResourceNotFound", r.status, r.body)
	}
}

// Source: https://learn.microsoft.com/graph/paging — the documented nextLink
// (https://graph.microsoft.com/v1.0/users?$top=5&$skiptoken=…) carries $top and $skiptoken literally, not
// percent-encoded.
func TestNextLinkKeepsODataOptionsLiteral(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{}, "Application.Read.All")
	for i := range 3 {
		if _, err := w.sim.CreateApplication(w.tenant, entrasim.AppSpec{DisplayName: fmt.Sprintf("App %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	m := call(t, "GET", w.graph("/applications?$top=2&$select=id,displayName"), w.appToken(t), nil).json(t)
	next, _ := m["@odata.nextLink"].(string)
	if !strings.Contains(next, "$top=2") || !strings.Contains(next, "$skiptoken=") || !strings.Contains(next, "$select=id%2CdisplayName") || strings.Contains(next, "%24") {
		t.Errorf("nextLink = %q, want literal $top, $select and $skiptoken", next)
	}
	if r := call(t, "GET", next, w.appToken(t), nil); r.status != 200 || len(r.json(t)["value"].([]any)) != 2 {
		t.Errorf("following the nextLink: %d %s", r.status, r.body)
	}
}
