package entrasim_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/entrasim"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Source: https://learn.microsoft.com/graph/api/application-list-owners,
// https://learn.microsoft.com/graph/api/application-post-owners ("Application.ReadWrite.OwnedBy isn't
// sufficient to add another owner") and https://learn.microsoft.com/graph/api/application-delete-owners —
// the creator owns a new application; owners are directoryObjects with @odata.type; owners added by $ref
// may then manage the application.
func TestApplicationOwners(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{AutoLogin: true})
	adminTok := w.delegatedToken(t, adminUPN, "Application.ReadWrite.All") // admin consents for the organisation
	r := call(t, "POST", w.graph("/applications"), adminTok, map[string]any{"displayName": "Wizard app"})
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	id := r.json(t)["id"].(string)
	owners := func() []any {
		t.Helper()
		r := call(t, "GET", w.graph("/applications/"+id+"/owners"), adminTok, nil)
		if r.status != 200 {
			t.Fatalf("list owners: %d %s", r.status, r.body)
		}
		if ctx, _ := r.json(t)["@odata.context"].(string); !strings.HasSuffix(ctx, "$metadata#directoryObjects") {
			t.Errorf("@odata.context = %q", ctx)
		}
		return r.json(t)["value"].([]any)
	}
	if o := owners(); len(o) != 1 || o[0].(map[string]any)["id"] != w.admin || o[0].(map[string]any)["@odata.type"] != "#microsoft.graph.user" {
		t.Fatalf("owners of a new app = %v, want its creator", o)
	}

	mt, err := w.authCode(memberUPN, "", "Application.ReadWrite.All") // consented for the organisation above
	if err != nil {
		t.Fatal(err)
	}
	memberTok := mt.AccessToken
	if r := call(t, "PATCH", w.graph("/applications/"+id), memberTok, map[string]any{"notes": "x"}); r.status != 403 {
		t.Errorf("PATCH by a non-owner member: %d, want 403", r.status)
	}
	ref := map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + w.member}
	if r := call(t, "POST", w.graph("/applications/"+id+"/owners/$ref"), adminTok, ref); r.status != 204 {
		t.Fatalf("add owner: %d %s", r.status, r.body)
	}
	if r := call(t, "POST", w.graph("/applications/"+id+"/owners/$ref"), adminTok, ref); r.status != 400 || !strings.Contains(string(r.body), "already exist") {
		t.Errorf("adding the same owner again: %d %s, want 400", r.status, r.body)
	}
	if r := call(t, "POST", w.graph("/applications/"+id+"/owners/$ref"), adminTok, map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/00000000-0000-0000-0000-00000000beef"}); r.status != 404 {
		t.Errorf("adding an unknown object: %d %s, want 404", r.status, r.body)
	}
	if r := call(t, "PATCH", w.graph("/applications/"+id), memberTok, map[string]any{"notes": "owner now"}); r.status != 204 {
		t.Errorf("PATCH by the new owner: %d %s, want 204", r.status, r.body)
	}
	if o := owners(); len(o) != 2 {
		t.Errorf("owners = %v, want 2", o)
	}

	// App-only: Application.ReadWrite.OwnedBy cannot add owners.
	ownedBy, err := w.sim.CreateApplication(w.tenant, entrasim.AppSpec{DisplayName: "Automation", Secret: true,
		ApplicationPermissions: []string{"Application.ReadWrite.OwnedBy"}})
	if err != nil {
		t.Fatal(err)
	}
	obTok := appTokenFor(t, w.srv.URL, w.tenant, ownedBy.AppID, ownedBy.SecretText)
	if r := call(t, "POST", w.graph("/applications/"+id+"/owners/$ref"), obTok, ref); r.status != 403 {
		t.Errorf("add owner with Application.ReadWrite.OwnedBy: %d, want 403", r.status)
	}

	if r := call(t, "DELETE", w.graph("/applications/"+id+"/owners/"+w.member+"/$ref"), adminTok, nil); r.status != 204 {
		t.Errorf("remove owner: %d %s", r.status, r.body)
	}
	if r := call(t, "DELETE", w.graph("/applications/"+id+"/owners/"+w.member+"/$ref"), adminTok, nil); r.status != 404 {
		t.Errorf("remove a non-owner: %d, want 404", r.status)
	}
	if o := owners(); len(o) != 1 {
		t.Errorf("owners after removal = %v", o)
	}
	// Control API: AppSpec.Owners.
	seeded, err := w.sim.CreateApplication(w.tenant, entrasim.AppSpec{DisplayName: "Seeded", Owners: []string{memberUPN}})
	if err != nil {
		t.Fatal(err)
	}
	if r := call(t, "GET", w.graph("/applications/"+seeded.ID+"/owners"), adminTok, nil); len(r.json(t)["value"].([]any)) != 1 {
		t.Errorf("seeded owners: %s", r.body)
	}
}

// Source: https://learn.microsoft.com/graph/api/resources/appmanagementpolicy ("If this resource is not
// configured for an application …, the restrictions default to the settings in the
// tenantAppManagementPolicy"), https://learn.microsoft.com/graph/api/appmanagementpolicy-post,
// https://learn.microsoft.com/graph/api/application-post-appmanagementpolicies and
// https://learn.microsoft.com/graph/api/appmanagementpolicy-post-appliesto ("Only one policy object can be
// assigned to an application") — an assigned policy's passwordLifetime overrides the tenant default in
// addPassword.
func TestPerApplicationAppManagementPolicy(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{}, "Application.ReadWrite.All", "Policy.Read.All", "Policy.ReadWrite.ApplicationConfiguration")
	if err := w.sim.SetPasswordLifetimePolicy(w.tenant, 365*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	tok := w.appToken(t)
	r := call(t, "POST", w.graph("/policies/appManagementPolicies"), tok, map[string]any{
		"displayName": "Short secrets", "description": "90-day secrets", "isEnabled": true,
		"restrictions": map[string]any{"passwordCredentials": []any{map[string]any{"restrictionType": "passwordLifetime", "maxLifetime": "P90D", "restrictForAppsCreatedAfterDateTime": nil}}}})
	if r.status != 201 {
		t.Fatalf("create policy: %d %s", r.status, r.body)
	}
	pol := r.json(t)
	pid := pol["id"].(string)
	if ctx, _ := pol["@odata.context"].(string); !strings.HasSuffix(ctx, "#policies/appManagementPolicies/$entity") || pol["isEnabled"] != true {
		t.Errorf("created policy = %v", pol)
	}
	if r := call(t, "POST", w.graph("/policies/appManagementPolicies"), tok, map[string]any{"displayName": "no description"}); r.status != 400 {
		t.Errorf("policy without description: %d, want 400", r.status)
	}
	other, _ := w.sim.CreateApplication(w.tenant, entrasim.AppSpec{DisplayName: "Other"})
	addPassword := func(appID string, days int) response {
		end := w.sim.Now().AddDate(0, 0, days).Format(time.RFC3339)
		return call(t, "POST", w.graph("/applications/"+appID+"/addPassword"), tok, map[string]any{"passwordCredential": map[string]any{"endDateTime": end}})
	}
	ref := map[string]any{"@odata.id": w.srv.URL + "/v1.0/policies/appManagementPolicies/" + pid}
	if r := call(t, "POST", w.graph("/applications/"+w.app.ID+"/appManagementPolicies/$ref"), tok, ref); r.status != 204 {
		t.Fatalf("assign policy: %d %s", r.status, r.body)
	}
	r = addPassword(w.app.ID, 180)
	if r.status != 400 || r.graphErrorCode(t) != "CredentialInvalidLifetimeAsPerAppPolicy" || !strings.Contains(string(r.body), pid) {
		t.Errorf("180-day secret under the app's 90-day policy: %d %s", r.status, r.body)
	}
	if r := addPassword(w.app.ID, 60); r.status != 200 {
		t.Errorf("60-day secret: %d %s", r.status, r.body)
	}
	if r := addPassword(other.ID, 180); r.status != 200 {
		t.Errorf("180-day secret on an app under the tenant's 365-day default: %d %s", r.status, r.body)
	}
	if r := addPassword(other.ID, 400); r.status != 400 {
		t.Errorf("400-day secret under the tenant default: %d, want 400", r.status)
	}
	if r := call(t, "GET", w.graph("/applications/"+w.app.ID+"/appManagementPolicies"), tok, nil); r.status != 200 || len(r.json(t)["value"].([]any)) != 1 {
		t.Errorf("list the app's policies: %d %s", r.status, r.body)
	}
	r = call(t, "GET", w.graph("/policies/appManagementPolicies/"+pid+"/appliesTo"), tok, nil)
	if v, _ := r.json(t)["value"].([]any); len(v) != 1 || v[0].(map[string]any)["id"] != w.app.ID || v[0].(map[string]any)["@odata.type"] != "#microsoft.graph.application" {
		t.Errorf("appliesTo: %d %s", r.status, r.body)
	}
	second := call(t, "POST", w.graph("/policies/appManagementPolicies"), tok, map[string]any{"displayName": "Second", "description": "d"}).json(t)["id"].(string)
	if r := call(t, "POST", w.graph("/applications/"+w.app.ID+"/appManagementPolicies/$ref"), tok, map[string]any{"@odata.id": w.srv.URL + "/v1.0/policies/appManagementPolicies/" + second}); r.status != 400 {
		t.Errorf("a second policy on one app: %d, want 400", r.status)
	}
	if r := call(t, "POST", w.graph("/policies/appManagementPolicies/"+second+"/appliesTo/$ref"), tok, map[string]any{"@odata.id": w.srv.URL + "/v1.0/applications/" + other.ID}); r.status != 204 {
		t.Errorf("assign through appliesTo: %d %s", r.status, r.body)
	}
	// Disabling the app's policy leaves the tenant default in force.
	if r := call(t, "PATCH", w.graph("/policies/appManagementPolicies/"+pid), tok, map[string]any{"isEnabled": false}); r.status != 204 {
		t.Fatalf("disable: %d %s", r.status, r.body)
	}
	if r := addPassword(w.app.ID, 180); r.status != 200 {
		t.Errorf("180 days with the app's policy disabled: %d %s", r.status, r.body)
	}
	if r := call(t, "DELETE", w.graph("/applications/"+w.app.ID+"/appManagementPolicies/"+pid+"/$ref"), tok, nil); r.status != 204 {
		t.Errorf("unassign: %d %s", r.status, r.body)
	}
	if r := call(t, "GET", w.graph("/applications/"+w.app.ID+"/appManagementPolicies"), tok, nil); len(r.json(t)["value"].([]any)) != 0 {
		t.Errorf("after unassign: %s", r.body)
	}
	if r := call(t, "DELETE", w.graph("/policies/appManagementPolicies/"+pid), tok, nil); r.status != 204 {
		t.Errorf("delete policy: %d", r.status)
	}
	if r := call(t, "GET", w.graph("/policies/appManagementPolicies/"+pid), tok, nil); r.status != 404 {
		t.Errorf("deleted policy: %d, want 404", r.status)
	}
	readOnly, _ := w.sim.CreateApplication(w.tenant, entrasim.AppSpec{DisplayName: "Reader", Secret: true, ApplicationPermissions: []string{"Policy.Read.All"}})
	if r := call(t, "POST", w.graph("/policies/appManagementPolicies"), appTokenFor(t, w.srv.URL, w.tenant, readOnly.AppID, readOnly.SecretText), map[string]any{"displayName": "x", "description": "y"}); r.status != 403 {
		t.Errorf("create with Policy.Read.All: %d, want 403", r.status)
	}
}

// proofFor signs addKey's proof of possession as https://learn.microsoft.com/graph/application-rollkey-prooftoken
// shows: aud 00000002-0000-0000-c000-000000000000, iss the application's object ID, nbf now, exp nbf+10 min.
func proofFor(t *testing.T, key *rsa.PrivateKey, appObjectID string, now time.Time) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(jwt.Claims{Audience: jwt.Audience{"00000002-0000-0000-c000-000000000000"}, Issuer: appObjectID,
		NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(10 * time.Minute))}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Source: https://learn.microsoft.com/graph/api/application-addkey ("a proof of possession of an existing
// key is verified"; "Applications that don't have any existing valid certificates … won't be able to use
// this service action"; "An application does not need any specific permission to roll its own keys") and
// https://learn.microsoft.com/graph/api/application-removekey — an app rolls its own certificate.
func TestAddKeyAndRemoveKey(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{})
	now := w.sim.Now()
	oldDER, key, err := entrasim.NewCertificate("old", now.Add(-time.Hour), now.AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	tok := w.appToken(t) // the app itself, holding no Graph permission
	newDER, _, _ := entrasim.NewCertificate("new", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	body := func(proof string) map[string]any {
		return map[string]any{"keyCredential": map[string]any{"type": "AsymmetricX509Cert", "usage": "Verify",
			"key": base64.StdEncoding.EncodeToString(newDER)}, "passwordCredential": nil, "proof": proof}
	}
	if r := call(t, "POST", w.graph("/applications/"+w.app.ID+"/addKey"), tok, body(proofFor(t, key, w.app.ID, now))); r.status != 401 || r.graphErrorCode(t) != "Authentication_MissingOrMalformed" {
		t.Errorf("addKey without any certificate on the app: %d %s, want 401", r.status, r.body)
	}
	oldKeyID, err := w.sim.AddCertificate(w.app.ID, oldDER, "", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if r := call(t, "POST", w.graph("/applications/"+w.app.ID+"/addKey"), tok, body("")); r.status != 403 {
		t.Errorf("addKey without proof: %d, want 403", r.status)
	}
	stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
	if r := call(t, "POST", w.graph("/applications/"+w.app.ID+"/addKey"), tok, body(proofFor(t, stranger, w.app.ID, now))); r.status != 401 {
		t.Errorf("proof signed by a key the app doesn't hold: %d, want 401", r.status)
	}
	if r := call(t, "POST", w.graph("/applications/"+w.app.ID+"/addKey"), tok, body(proofFor(t, key, w.app.AppID, now))); r.status != 401 {
		t.Errorf("proof with iss = appId instead of the object ID: %d, want 401", r.status)
	}
	r := call(t, "POST", w.graph("/applications/"+w.app.ID+"/addKey"), tok, body(proofFor(t, key, w.app.ID, now)))
	kc := r.json(t)
	if r.status != 200 || kc["keyId"] == nil || kc["type"] != "AsymmetricX509Cert" || kc["usage"] != "Verify" || kc["key"] != nil ||
		!strings.HasSuffix(kc["@odata.context"].(string), "#microsoft.graph.keyCredential") || kc["customKeyIdentifier"] == nil || kc["displayName"] != "CN=new" {
		t.Fatalf("addKey: %d %s", r.status, r.body)
	}
	cert, _ := x509.ParseCertificate(newDER)
	if end, _ := time.Parse(time.RFC3339, kc["endDateTime"].(string)); !end.Equal(cert.NotAfter.Truncate(time.Second)) {
		t.Errorf("endDateTime = %v, want the certificate's NotAfter %v", kc["endDateTime"], cert.NotAfter)
	}
	admin, _ := w.sim.CreateApplication(w.tenant, entrasim.AppSpec{DisplayName: "Reader", Secret: true, ApplicationPermissions: []string{"Application.Read.All"}})
	app := call(t, "GET", w.graph("/applications/"+w.app.ID+"?$select=keyCredentials"), appTokenFor(t, w.srv.URL, w.tenant, admin.AppID, admin.SecretText), nil).json(t)
	if n := len(app["keyCredentials"].([]any)); n != 2 {
		t.Errorf("keyCredentials after addKey: %d, want 2", n)
	}
	// Another app may not roll this app's keys without permission.
	if r := call(t, "POST", w.graph("/applications/"+w.app.ID+"/addKey"), appTokenFor(t, w.srv.URL, w.tenant, admin.AppID, admin.SecretText), body(proofFor(t, key, w.app.ID, now))); r.status != 403 {
		t.Errorf("addKey by another app with Application.Read.All: %d, want 403", r.status)
	}
	rm := map[string]any{"keyId": oldKeyID, "proof": proofFor(t, key, w.app.ID, now)}
	if r := call(t, "POST", w.graph("/applications/"+w.app.ID+"/removeKey"), tok, rm); r.status != 204 {
		t.Errorf("removeKey: %d %s", r.status, r.body)
	}
	if r := call(t, "POST", w.graph("/applications/"+w.app.ID+"/removeKey"), tok, rm); r.status != 400 {
		t.Errorf("removeKey again: %d, want 400", r.status)
	}
}

// Source: https://learn.microsoft.com/graph/api/reportroot-list-appcredentialsigninactivities?view=graph-rest-beta
// and https://learn.microsoft.com/graph/api/resources/appcredentialsigninactivity?view=graph-rest-beta —
// GET /beta/reports/appCredentialSignInActivities (AuditLog.Read.All) lists the credentials used to sign
// in, with keyType clientSecret or certificate and signInActivity.lastSignInDateTime; $filter on keyId.
func TestAppCredentialSignInActivities(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{}, "AuditLog.Read.All")
	beta := func(path, tok string) response { return call(t, "GET", w.srv.URL+"/beta"+path, tok, nil) }
	tok := w.appToken(t) // signs in with the app's secret
	signedIn := w.sim.Now()
	r := beta("/reports/appCredentialSignInActivities", tok)
	if r.status != 200 {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	m := r.json(t)
	if ctx, _ := m["@odata.context"].(string); ctx != w.srv.URL+"/beta/$metadata#reports/appCredentialSignInActivities" {
		t.Errorf("@odata.context = %q", ctx)
	}
	v := m["value"].([]any)
	if len(v) != 1 {
		t.Fatalf("activities = %v, want the one secret used", v)
	}
	a := v[0].(map[string]any)
	if a["appId"] != w.app.AppID || a["appObjectId"] != w.app.ID || a["keyType"] != "clientSecret" || a["credentialOrigin"] != "application" || a["keyUsage"] != "sign" {
		t.Errorf("activity = %v", a)
	}
	keyID := a["keyId"].(string)
	if id, _ := base64.StdEncoding.DecodeString(a["id"].(string)); string(id) != keyID+"|application" {
		t.Errorf("id %q decodes to %q, want keyId|application as in the documented example", a["id"], id)
	}
	last, err := time.Parse(time.RFC3339, a["signInActivity"].(map[string]any)["lastSignInDateTime"].(string))
	if err != nil || last.Sub(signedIn).Abs() > 5*time.Second {
		t.Errorf("lastSignInDateTime = %v, want about %v", a["signInActivity"], signedIn)
	}
	if r := beta("/reports/appCredentialSignInActivities?$filter="+url.QueryEscape("keyId eq '"+keyID+"'"), tok); len(r.json(t)["value"].([]any)) != 1 {
		t.Errorf("$filter keyId: %s", r.body)
	}
	if r := beta("/reports/appCredentialSignInActivities?$filter="+url.QueryEscape("keyId eq '00000000-0000-0000-0000-000000000000'"), tok); len(r.json(t)["value"].([]any)) != 0 {
		t.Errorf("$filter on another keyId: %s", r.body)
	}
	if r := beta("/reports/appCredentialSignInActivities/"+a["id"].(string), tok); r.status != 200 || r.json(t)["keyId"] != keyID {
		t.Errorf("get by id: %d %s", r.status, r.body)
	}

	// A certificate sign-in shows up as keyType certificate.
	now := w.sim.Now()
	der, key, _ := entrasim.NewCertificate("report-cert", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	certKeyID, _ := w.sim.AddCertificate(w.app.ID, der, "", time.Time{}, time.Time{})
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	assertion, _ := jwt.Signed(signer).Claims(jwt.Claims{Issuer: w.app.AppID, Subject: w.app.AppID, Audience: jwt.Audience{w.tokenURL()},
		ID: "jti-1", NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(5 * time.Minute))}).Serialize()
	if r := postForm(t, w.tokenURL(), url.Values{"client_id": {w.app.AppID}, "grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}); r.status != 200 {
		t.Fatalf("certificate sign-in: %d %s", r.status, r.body)
	}
	r = beta("/reports/appCredentialSignInActivities?$filter="+url.QueryEscape("keyId eq '"+certKeyID+"'"), tok)
	if v := r.json(t)["value"].([]any); len(v) != 1 || v[0].(map[string]any)["keyType"] != "certificate" || v[0].(map[string]any)["keyUsage"] != "verify" {
		t.Errorf("certificate activity: %s", r.body)
	}

	other, _ := w.sim.CreateApplication(w.tenant, entrasim.AppSpec{DisplayName: "NoAudit", Secret: true, ApplicationPermissions: []string{"Application.Read.All"}})
	if r := beta("/reports/appCredentialSignInActivities", appTokenFor(t, w.srv.URL, w.tenant, other.AppID, other.SecretText)); r.status != 403 {
		t.Errorf("without AuditLog.Read.All: %d, want 403", r.status)
	}
}
