package entrasim_test

// Microsoft's own Go client libraries against the emulator over HTTPS, configured only as their
// documentation says: MSAL Go (confidential client credentials with a secret and with a certificate;
// public client device code), azidentity's ClientSecretCredential (DisableInstanceDiscovery and the
// authority host set to the emulator), and msgraph-sdk-go driven by that credential.

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
	"github.com/appreg-portal/portal/internal/entrasim"
	kiotaauth "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	jsonser "github.com/microsoft/kiota-serialization-json-go"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/applications"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/organization"
)

const graphDefault = "https://graph.microsoft.com/.default"

// tlsWorld is a tenant on the emulator served over HTTPS (httptest's certificate, trusted by hc).
type tlsWorld struct {
	sim    *entrasim.Sim
	base   string
	hc     *http.Client
	tenant string
	admin  string
	app    entrasim.AppCreated // confidential: web redirect URI and a secret
}

func newTLSWorld(t *testing.T, opts entrasim.Options, appPerms ...string) *tlsWorld {
	t.Helper()
	sim, srv := entrasim.NewTLSTestServer(t, opts)
	w := &tlsWorld{sim: sim, base: srv.URL, hc: srv.Client()}
	w.tenant = mustDo[string](t)(sim.CreateTenant("Contoso", "contoso.example"))
	w.admin = mustDo[string](t)(sim.CreateUser(w.tenant, entrasim.User{DisplayName: "Ada Admin", UserPrincipalName: adminUPN,
		DirectoryRoles: []string{"Global Administrator"}}))
	w.app = mustDo[entrasim.AppCreated](t)(sim.CreateApplication(w.tenant, entrasim.AppSpec{DisplayName: "Portal",
		SignInAudience: "AzureADMultipleOrgs", RedirectURIs: []string{"https://127.0.0.1/auth/callback"}, Secret: true,
		ApplicationPermissions: appPerms, Owners: []string{adminUPN}, DelegatedPermissions: []string{"openid", "profile", "offline_access", "User.Read"}}))
	return w
}

func (w *tlsWorld) authority() string { return w.base + "/" + w.tenant }

// getJSON calls Graph with a bearer token.
func (w *tlsWorld) getJSON(t *testing.T, path, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", w.base+"/v1.0"+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := w.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// Source: https://learn.microsoft.com/entra/msal/go/ (confidential.New with the authority, NewCredFromSecret,
// AcquireTokenByCredential; WithInstanceDiscovery(false) for an authority Microsoft's instance discovery
// does not know) and https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow —
// MSAL sends ".default openid offline_access profile"; Entra ignores the OpenID scopes.
func TestMSALConfidentialClientCredentials(t *testing.T) {
	w := newTLSWorld(t, entrasim.Options{}, "Organization.Read.All")
	cred, err := confidential.NewCredFromSecret(w.app.SecretText)
	if err != nil {
		t.Fatal(err)
	}
	client, err := confidential.New(w.authority(), w.app.AppID, cred,
		confidential.WithHTTPClient(w.hc), confidential.WithInstanceDiscovery(false))
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.AcquireTokenByCredential(context.Background(), []string{graphDefault})
	if err != nil {
		t.Fatalf("AcquireTokenByCredential: %v", err)
	}
	if c := claims(t, res.AccessToken); c["idtyp"] != "app" || c["tid"] != w.tenant || c["appid"] != w.app.AppID {
		t.Errorf("access token claims = %v", c)
	}
	if st, m := w.getJSON(t, "/organization", res.AccessToken); st != 200 || len(m["value"].([]any)) != 1 {
		t.Errorf("GET /organization with MSAL's token: %d %v", st, m)
	}
	var sent string
	for _, rq := range w.sim.Requests() {
		if strings.HasSuffix(rq.Path, "/oauth2/v2.0/token") {
			v, _ := url.ParseQuery(string(rq.Body))
			sent = v.Get("scope")
		}
	}
	if !strings.Contains(sent, "openid") || !strings.Contains(sent, graphDefault) {
		t.Errorf("MSAL sent scope %q; this test is meant to cover .default beside OpenID scopes", sent)
	}
	// A second call is served from MSAL's cache: no second token request.
	if _, err := client.AcquireTokenByCredential(context.Background(), []string{graphDefault}); err != nil {
		t.Fatal(err)
	}

	// Certificate credential (private_key_jwt): the certificate is in the app's keyCredentials.
	der, key, err := entrasim.NewCertificate("msal-go", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.sim.AddCertificate(w.app.ID, der, "", time.Time{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	certCred, err := confidential.NewCredFromCert([]*x509.Certificate{cert}, key)
	if err != nil {
		t.Fatal(err)
	}
	certClient, err := confidential.New(w.authority(), w.app.AppID, certCred,
		confidential.WithHTTPClient(w.hc), confidential.WithInstanceDiscovery(false))
	if err != nil {
		t.Fatal(err)
	}
	res, err = certClient.AcquireTokenByCredential(context.Background(), []string{graphDefault})
	if err != nil {
		t.Fatalf("AcquireTokenByCredential with a certificate: %v", err)
	}
	if c := claims(t, res.AccessToken); c["appidacr"] != "2" {
		t.Errorf("certificate token appidacr = %v, want 2", c["appidacr"])
	}
}

// Source: https://learn.microsoft.com/entra/msal/go/ (public.New, AcquireTokenByDeviceCode,
// DeviceCode.AuthenticationResult) and https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code
// — MSAL polls with grant_type=device_code, compares the response's scope with the requested "User.Read"
// (Graph scopes come back in short form), and forms the home account ID from client_info as <oid>.<tid>.
// Then AcquireTokenSilent with claims redeems the refresh token.
func TestMSALPublicDeviceCode(t *testing.T) {
	w := newTLSWorld(t, entrasim.Options{DeviceCodeInterval: time.Second})
	app := mustDo[entrasim.AppCreated](t)(w.sim.CreateApplication(w.tenant, entrasim.AppSpec{DisplayName: "CLI",
		IsFallbackPublicClient: true, DelegatedPermissions: []string{"openid", "profile", "offline_access", "User.Read"}}))
	client, err := public.New(app.AppID, public.WithAuthority(w.authority()), public.WithHTTPClient(w.hc),
		public.WithInstanceDiscovery(false))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dc, err := client.AcquireTokenByDeviceCode(ctx, []string{"User.Read"})
	if err != nil {
		t.Fatalf("AcquireTokenByDeviceCode: %v", err)
	}
	if dc.Result.UserCode == "" || !strings.HasPrefix(dc.Result.VerificationURL, w.base) {
		t.Fatalf("device code result = %+v", dc.Result)
	}
	if err := w.sim.ApproveDeviceCode(dc.Result.UserCode, adminUPN); err != nil {
		t.Fatal(err)
	}
	res, err := dc.AuthenticationResult(ctx)
	if err != nil {
		t.Fatalf("AuthenticationResult: %v", err)
	}
	if want := w.admin + "." + w.tenant; res.Account.HomeAccountID != want {
		t.Errorf("HomeAccountID = %q, want %q (from client_info)", res.Account.HomeAccountID, want)
	}
	if res.Account.PreferredUsername != adminUPN {
		t.Errorf("account = %+v", res.Account)
	}
	if st, m := w.getJSON(t, "/me", res.AccessToken); st != 200 || m["id"] != w.admin {
		t.Errorf("GET /me with MSAL's token: %d %v", st, m)
	}
	var polls []string
	for _, rq := range w.sim.Requests() {
		if strings.HasSuffix(rq.Path, "/oauth2/v2.0/token") {
			v, _ := url.ParseQuery(string(rq.Body))
			polls = append(polls, v.Get("grant_type"))
		}
	}
	if len(polls) == 0 || polls[0] != "device_code" {
		t.Errorf("MSAL's polls used grant types %v; this test is meant to cover grant_type=device_code", polls)
	}

	accounts, err := client.Accounts(ctx)
	if err != nil || len(accounts) != 1 {
		t.Fatalf("Accounts: %v %v", accounts, err)
	}
	silent, err := client.AcquireTokenSilent(ctx, []string{"User.Read"}, public.WithSilentAccount(accounts[0]),
		public.WithClaims(`{"access_token":{"nbf":{"essential":true,"value":"1"}}}`))
	if err != nil {
		t.Fatalf("AcquireTokenSilent (refresh token): %v", err)
	}
	if silent.AccessToken == res.AccessToken {
		t.Errorf("AcquireTokenSilent with claims returned the cached token; want a refreshed one")
	}
	last := w.sim.Requests()
	var lastGrant string
	for _, rq := range last {
		if strings.HasSuffix(rq.Path, "/oauth2/v2.0/token") {
			v, _ := url.ParseQuery(string(rq.Body))
			lastGrant = v.Get("grant_type")
		}
	}
	if lastGrant != "refresh_token" {
		t.Errorf("last token request grant_type = %q, want refresh_token", lastGrant)
	}
}

// credential returns azidentity's ClientSecretCredential pointed at the emulator as its documentation
// describes for other clouds: the authority host in ClientOptions.Cloud, instance discovery off.
func (w *tlsWorld) credential(t *testing.T) *azidentity.ClientSecretCredential {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(w.tenant, w.app.AppID, w.app.SecretText, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: azcore.ClientOptions{
			Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: w.base + "/", Services: map[cloud.ServiceName]cloud.ServiceConfiguration{}},
			Transport: w.hc,
		},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// Source: https://learn.microsoft.com/azure/developer/go/sdk/authentication/authentication-overview and
// https://pkg.go.dev/github.com/Azure/azure-sdk-for-go/sdk/azidentity#ClientSecretCredentialOptions
// (ClientOptions.Cloud.ActiveDirectoryAuthorityHost, DisableInstanceDiscovery for private clouds) —
// GetToken for Graph's .default succeeds (azidentity, through MSAL, adds the OpenID scopes).
func TestAzidentityClientSecretCredential(t *testing.T) {
	w := newTLSWorld(t, entrasim.Options{}, "Organization.Read.All")
	tok, err := w.credential(t).GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{graphDefault}})
	if err != nil {
		t.Fatalf("GetToken: %v", err)
	}
	if c := claims(t, tok.Token); c["idtyp"] != "app" || c["tid"] != w.tenant || c["aud"] != "https://graph.microsoft.com" {
		t.Errorf("claims = %v", c)
	}
	if time.Until(tok.ExpiresOn) < 30*time.Minute {
		t.Errorf("ExpiresOn = %v", tok.ExpiresOn)
	}
	// A wrong secret is an authentication failure carrying Entra's error, not a hang or a panic.
	bad, _ := azidentity.NewClientSecretCredential(w.tenant, w.app.AppID, "wrong", &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: w.base + "/"}, Transport: w.hc},
		DisableInstanceDiscovery: true})
	if _, err := bad.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{graphDefault}}); err == nil || !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Errorf("wrong secret: %v, want AADSTS7000215", err)
	}
}

// graphAdapter is msgraph-sdk-go's request adapter authenticated by an azidentity credential through
// kiota-authentication-azure-go, with the emulator as base URL and allowed host
// (https://learn.microsoft.com/graph/sdks/choose-authentication-providers?tabs=go,
// https://learn.microsoft.com/graph/sdks/national-clouds).
func (w *tlsWorld) graphAdapter(t *testing.T, cred azcore.TokenCredential) *msgraphgocore.GraphRequestAdapterBase {
	t.Helper()
	u, _ := url.Parse(w.base)
	auth, err := kiotaauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(cred, []string{graphDefault}, []string{u.Hostname()})
	if err != nil {
		t.Fatal(err)
	}
	opts := msgraphgocore.GraphClientOptions{GraphServiceVersion: "v1.0", GraphServiceLibraryVersion: "1.89.0"}
	hc := &http.Client{Transport: khttp.NewCustomTransportWithParentTransport(w.hc.Transport, msgraphgocore.GetDefaultMiddlewaresWithOptions(&opts)...)}
	adapter, err := msgraphgocore.NewGraphRequestAdapterBaseWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(
		auth, opts, jsonser.NewJsonParseNodeFactory(), jsonser.NewJsonSerializationWriterFactory(), hc)
	if err != nil {
		t.Fatal(err)
	}
	adapter.SetBaseUrl(w.base + "/v1.0")
	return adapter
}

// Source: https://learn.microsoft.com/graph/api/organization-get (GET /organization and
// /organization/{id}) and https://learn.microsoft.com/graph/api/application-list — msgraph-sdk-go, driven by
// azidentity's ClientSecretCredential, lists and gets the organization (an unknown id is an ODataError
// 404, not an entity with a nil id) and lists applications.
func TestMsgraphSDKWithAzidentity(t *testing.T) {
	w := newTLSWorld(t, entrasim.Options{}, "Organization.Read.All", "Application.Read.All")
	adapter := w.graphAdapter(t, w.credential(t))
	ctx := context.Background()
	orgs, err := organization.NewOrganizationRequestBuilder(w.base+"/v1.0/organization", adapter).Get(ctx, nil)
	if err != nil {
		t.Fatalf("GET /organization: %v", describe(err))
	}
	if v := orgs.GetValue(); len(v) != 1 || deref(v[0].GetId()) != w.tenant || deref(v[0].GetDisplayName()) != "Contoso" {
		t.Fatalf("organizations = %v", v)
	}
	org, err := organization.NewOrganizationItemRequestBuilder(w.base+"/v1.0/organization/"+w.tenant, adapter).Get(ctx, nil)
	if err != nil {
		t.Fatalf("GET /organization/{id}: %v", describe(err))
	}
	if deref(org.GetId()) != w.tenant || len(org.GetVerifiedDomains()) != 2 {
		t.Errorf("organization/{id}: id %q, %d verified domains", deref(org.GetId()), len(org.GetVerifiedDomains()))
	}
	_, err = organization.NewOrganizationItemRequestBuilder(w.base+"/v1.0/organization/00000000-0000-0000-0000-000000000001", adapter).Get(ctx, nil)
	if oe, ok := err.(*odataerrors.ODataError); !ok || oe.ResponseStatusCode != 404 || oe.GetErrorEscaped() == nil || deref(oe.GetErrorEscaped().GetCode()) != "Request_ResourceNotFound" {
		t.Errorf("unknown organization id: %v, want ODataError 404 Request_ResourceNotFound", describe(err))
	}
	apps, err := applications.NewApplicationsRequestBuilder(w.base+"/v1.0/applications", adapter).Get(ctx, nil)
	if err != nil {
		t.Fatalf("GET /applications: %v", describe(err))
	}
	if v := apps.GetValue(); len(v) != 1 || deref(v[0].GetAppId()) != w.app.AppID {
		t.Errorf("applications = %d", len(v))
	}
	// Owners are directoryObjects; the SDK picks the derived type from @odata.type
	// (https://learn.microsoft.com/graph/api/application-list-owners).
	owners, err := applications.NewItemOwnersRequestBuilder(w.base+"/v1.0/applications/"+w.app.ID+"/owners", adapter).Get(ctx, nil)
	if err != nil {
		t.Fatalf("GET /applications/{id}/owners: %v", describe(err))
	}
	if v := owners.GetValue(); len(v) != 1 {
		t.Errorf("owners = %d, want 1", len(v))
	} else if u, ok := v[0].(models.Userable); !ok || deref(u.GetId()) != w.admin || deref(u.GetUserPrincipalName()) != adminUPN {
		t.Errorf("owner = %T %v, want the user %s", v[0], deref(v[0].GetId()), adminUPN)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// describe renders an ODataError with its code and message.
func describe(err error) string {
	if oe, ok := err.(*odataerrors.ODataError); ok && oe.GetErrorEscaped() != nil {
		return oe.Error() + ": " + deref(oe.GetErrorEscaped().GetCode()) + ": " + deref(oe.GetErrorEscaped().GetMessage())
	}
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
