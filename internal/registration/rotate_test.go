package registration_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/appreg-portal/portal/internal/auth"
	"github.com/appreg-portal/portal/internal/catalog"
	"github.com/appreg-portal/portal/internal/entrasim"
	"github.com/appreg-portal/portal/internal/graph"
	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/registration"
	"github.com/appreg-portal/portal/internal/seal"
	"github.com/appreg-portal/portal/internal/store"
)

// lossyGraph loses the answer to some addPassword calls after Graph made
// the secret: the failure that could leave a second new secret behind.
type lossyGraph struct {
	registration.Graph
	mu   sync.Mutex
	rate float64
	lost int
}

var errLostAnswer = errors.New("connection reset before the answer arrived")

func (l *lossyGraph) AddPassword(ctx context.Context, appObjectID, name string, end time.Time) (graph.Secret, error) {
	s, err := l.Graph.AddPassword(ctx, appObjectID, name, end)
	if err == nil && rand.Float64() < l.rate {
		l.mu.Lock()
		l.lost++
		l.mu.Unlock()
		return graph.Secret{}, errLostAnswer
	}
	return s, err
}

func (w *world) secretKeys(objectID string) []string {
	for _, t := range w.sim.State().Tenants {
		if t.ID != w.tenant {
			continue
		}
		for _, a := range t.Applications {
			if a.ID == objectID {
				var keys []string
				for _, c := range a.PasswordCredentials {
					keys = append(keys, c.KeyID)
				}
				return keys
			}
		}
	}
	return nil
}

// TestRotationUnderFaults: 40 rotations with 30% of Graph calls failing
// transiently and a fifth of addPassword answers lost after the secret was
// made. Every app ends with exactly the one new secret that was shown, it
// works, and no app was ever left without a working secret.
func TestRotationUnderFaults(t *testing.T) {
	w := newWorld(t)
	g := w.signIn(t, w.fionaUPN)
	ctx := context.Background()
	const n = 40
	type app struct {
		created entrasim.AppCreated
		oldKey  string
	}
	apps := make([]app, n)
	for i := range apps {
		c, err := w.sim.CreateApplication(w.tenant, entrasim.AppSpec{DisplayName: fmt.Sprintf("Sync %d", i), SignInAudience: "AzureADMyOrg", Secret: true,
			ApplicationPermissions: []string{"Mail.Send"}})
		if err != nil {
			t.Fatal(err)
		}
		apps[i] = app{created: c, oldKey: w.secretKeys(c.ID)[0]}
	}
	for _, f := range []entrasim.Fault{
		{Path: "/v1.0/*", Status: 429, RetryAfter: 1, Percent: 15},
		{Path: "/v1.0/*", Status: 503, RetryAfter: 1, Percent: 15},
	} {
		if err := w.sim.AddFault(f); err != nil {
			t.Fatal(err)
		}
	}
	lossy := &lossyGraph{Graph: g, rate: 0.2}
	var (
		mu        sync.Mutex
		attempts  int
		noSecret  int
		doubleNew int
	)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 5)
	for i, a := range apps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			id := fmt.Sprintf("33333333-0000-4000-8000-%012d", i)
			rot, err := w.st.CreateRotation(ctx, store.Rotation{ID: id, TenantID: w.tenant, AppObjectID: a.created.ID, ClientID: a.created.AppID,
				AppName: fmt.Sprintf("Sync %d", i), OldKeyID: a.oldKey, NewName: registration.RotatedName("Sync", id, time.Now())}, 0, "", store.AuditEvent{Action: "rotation.start"})
			if err != nil {
				errs <- err
				return
			}
			if err := w.st.SetRotationPreflight(ctx, rot.ID, registration.RotationPreflight{OldFound: true}); err != nil {
				errs <- err
				return
			}
			var shown graph.Secret
			for try := 0; ; try++ {
				s, err := registration.RotateAdd(ctx, w.st, lossy, rot.ID, 6, registration.RotationPreflight{}, time.Now(), registration.Actor{Name: "Fiona"})
				mu.Lock()
				attempts++
				mu.Unlock()
				if err == nil {
					shown = s
					break
				}
				if try > 30 {
					errs <- fmt.Errorf("rotation %d: add did not converge: %w", i, err)
					return
				}
			}
			// The overlap: the old and exactly one new secret.
			keys := w.secretKeys(a.created.ID)
			mu.Lock()
			if len(keys) != 2 {
				doubleNew++
			}
			mu.Unlock()
			for try := 0; ; try++ {
				err := registration.RotateRemoveOld(ctx, w.st, lossy, rot.ID, registration.Actor{Name: "Fiona"})
				if err == nil {
					break
				}
				if try > 30 {
					errs <- fmt.Errorf("rotation %d: remove did not converge: %w", i, err)
					return
				}
			}
			keys = w.secretKeys(a.created.ID)
			mu.Lock()
			if len(keys) != 1 || keys[0] != shown.KeyID {
				noSecret++
			}
			mu.Unlock()
			shownText := shown.Text
			if shownText == "" {
				errs <- fmt.Errorf("rotation %d: no secret shown", i)
			}
			r, _ := w.st.GetRotation(ctx, rot.ID)
			if r.State != store.RotDone {
				errs <- fmt.Errorf("rotation %d ended in state %s", i, r.State)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	w.sim.ClearFaults()
	// Every app's one secret is the one shown, and it works.
	broken := 0
	for i, a := range apps {
		keys := w.secretKeys(a.created.ID)
		if len(keys) != 1 || keys[0] == a.oldKey {
			broken++
			t.Errorf("app %d ends with secrets %v", i, keys)
		}
	}
	t.Logf("rotation fault test: %d rotations, %d add attempts, %d addPassword answers lost after the secret was made; apps with two new secrets %d, apps without the shown secret at the end %d",
		n, attempts, lossy.lost, doubleNew, noSecret+broken)
	if doubleNew != 0 || noSecret != 0 {
		t.Errorf("apps with two new secrets %d, apps left without the shown secret %d; want 0, 0", doubleNew, noSecret)
	}
}

// An app with a policy of its own (90-day secrets) under a laxer tenant
// default: the rotation's pre-flight finds it and the new secret is clamped
// to it, so addPassword is not refused.
func TestRotationHonoursTheAppsOwnPolicy(t *testing.T) {
	w := newWorld(t)
	if err := w.sim.SetPasswordLifetimePolicy(w.tenant, 365*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	app, err := w.sim.CreateApplication(w.tenant, entrasim.AppSpec{DisplayName: "Scanner", SignInAudience: "AzureADMyOrg", Secret: true})
	if err != nil {
		t.Fatal(err)
	}
	// A tenant admin tool assigns the policy, as the Entra admin center or Graph would.
	admin, err := w.sim.CreateApplication(w.tenant, entrasim.AppSpec{DisplayName: "Policy admin", SignInAudience: "AzureADMyOrg", Secret: true,
		ApplicationPermissions: []string{"Policy.ReadWrite.ApplicationConfiguration", "Application.ReadWrite.All"}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := graph.AppOnlyTokenSource(context.Background(), w.base, w.tenant, admin.AppID, admin.SecretText, nil).Token()
	if err != nil {
		t.Fatal(err)
	}
	var pol struct {
		ID string `json:"id"`
	}
	graphCall(t, "POST", w.base+"/v1.0/policies/appManagementPolicies", tok.AccessToken, `{"displayName":"Short secrets","description":"90 days","isEnabled":true,
		"restrictions":{"passwordCredentials":[{"restrictionType":"passwordLifetime","maxLifetime":"P90D"}]}}`, &pol)
	graphCall(t, "POST", w.base+"/v1.0/applications/"+app.ID+"/appManagementPolicies/$ref", tok.AccessToken,
		`{"@odata.id":"`+w.base+`/v1.0/policies/appManagementPolicies/`+pol.ID+`"}`, nil)

	g := w.signIn(t, w.fionaUPN)
	oldKey := w.secretKeys(app.ID)[0]
	pf, err := registration.RunRotationPreflight(context.Background(), g, w.tenant, app.ID, oldKey, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !pf.AppPolicy || pf.PolicyMaxDays != 90 || !pf.OldFound {
		t.Fatalf("rotation preflight = %+v, want the app's 90-day policy", pf)
	}
	rot, err := w.st.CreateRotation(context.Background(), store.Rotation{ID: "44444444-0000-4000-8000-000000000001", TenantID: w.tenant, AppObjectID: app.ID,
		ClientID: app.AppID, OldKeyID: oldKey, NewName: "Scanner (rotated)"}, 0, "", store.AuditEvent{Action: "rotation.start"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.st.SetRotationPreflight(context.Background(), rot.ID, pf); err != nil {
		t.Fatal(err)
	}
	sec, err := registration.RotateAdd(context.Background(), w.st, g, rot.ID, 12, pf, time.Now(), registration.Actor{})
	if err != nil {
		t.Fatalf("RotateAdd with a 12-month request under a 90-day app policy: %v", err)
	}
	if days := time.Until(sec.End).Hours() / 24; days > 90 || days < 85 {
		t.Errorf("new secret lasts %.0f days, want just under 90", days)
	}
}

type oauth2Grant struct {
	ID, ClientID, ResourceID, ConsentType, Scope string
}

// delegatedGrant reads the client's one AllPrincipals grant.
func delegatedGrant(t *testing.T, base, token, clientSPID string) oauth2Grant {
	t.Helper()
	var list struct {
		Value []oauth2Grant `json:"value"`
	}
	graphCall(t, "GET", base+"/v1.0/oauth2PermissionGrants?$filter="+url.QueryEscape("clientId eq '"+clientSPID+"'"), token, "", &list)
	for _, g := range list.Value {
		if g.ConsentType == "AllPrincipals" {
			return g
		}
	}
	t.Fatalf("no AllPrincipals grant for %s: %+v", clientSPID, list.Value)
	return oauth2Grant{}
}

func graphCall(t *testing.T, method, u, token, body string, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, u, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatal(err)
		}
	}
}

// Drift: the app changed behind the portal's back (an extra redirect URI, a
// removed grant, a second secret, implicit grant turned on) is reported,
// each plainly; a fresh registration reports nothing; re-applying the
// blueprint repairs the permissions and redirects.
func TestDriftFindsChangesAndRepairClearsThem(t *testing.T) {
	w := newWorld(t)
	g := w.signIn(t, w.fionaUPN)
	ctx := context.Background()
	params := map[string]string{"sender_mailbox": "invoices@fabrikam.example"}
	run, p, pf := w.newRun(t, g, "exact-globe-mail", params)
	a := &registration.Applier{Store: w.st, Owner: "test"}
	res, err := a.Apply(ctx, run.ID, g, p, pf, registration.Actor{Name: "Fiona"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := w.st.GetRun(ctx, run.ID)
	findings, err := registration.CheckDrift(ctx, g, p, pf, got.AppObjectID, got.SPObjectID, time.Now(), true, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(findings) != 0 {
		t.Fatalf("a fresh registration has findings: %+v", findings)
	}

	// Someone changes the app by hand, with Graph.
	admin, err := w.sim.CreateApplication(w.tenant, entrasim.AppSpec{DisplayName: "Admin tool", SignInAudience: "AzureADMyOrg", Secret: true,
		ApplicationPermissions: []string{"Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All", "DelegatedPermissionGrant.ReadWrite.All"}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := graph.AppOnlyTokenSource(ctx, w.base, w.tenant, admin.AppID, admin.SecretText, nil).Token()
	if err != nil {
		t.Fatal(err)
	}
	graphCall(t, "PATCH", w.base+"/v1.0/applications/"+got.AppObjectID, tok.AccessToken,
		`{"web":{"redirectUris":["https://evil.example/callback"],"implicitGrantSettings":{"enableIdTokenIssuance":true,"enableAccessTokenIssuance":true}}}`, nil)
	graphCall(t, "POST", w.base+"/v1.0/applications/"+got.AppObjectID+"/addPassword", tok.AccessToken, `{"passwordCredential":{"displayName":"by hand"}}`, nil)
	var assigned struct {
		Value []struct {
			ID         string `json:"id"`
			ResourceID string `json:"resourceId"`
		} `json:"value"`
	}
	graphCall(t, "GET", w.base+"/v1.0/servicePrincipals/"+got.SPObjectID+"/appRoleAssignments", tok.AccessToken, "", &assigned)
	if len(assigned.Value) == 0 {
		t.Fatal("no assignments to remove")
	}
	graphCall(t, "DELETE", w.base+"/v1.0/servicePrincipals/"+got.SPObjectID+"/appRoleAssignments/"+assigned.Value[0].ID, tok.AccessToken, "", nil)
	// One delegated scope taken out of the admin consent.
	grant := delegatedGrant(t, w.base, tok.AccessToken, got.SPObjectID)
	scopes := strings.Fields(grant.Scope)
	if len(scopes) < 2 {
		t.Fatalf("the delegated grant has scopes %q, want the blueprint's", grant.Scope)
	}
	removed := scopes[0]
	graphCall(t, "PATCH", w.base+"/v1.0/oauth2PermissionGrants/"+grant.ID, tok.AccessToken, `{"scope":"`+strings.Join(scopes[1:], " ")+`"}`, nil)

	// Without an administrator's sign-in the delegated grants are not read,
	// so the removed scope is not reported (the page says it was not checked).
	findings, err = registration.CheckDrift(ctx, g, p, pf, got.AppObjectID, got.SPObjectID, time.Now(), false, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		if strings.Contains(f.Title, "(delegated)") {
			t.Errorf("app-only drift check claims to know delegated consent: %s", f.Title)
		}
	}

	findings, err = registration.CheckDrift(ctx, g, p, pf, got.AppObjectID, got.SPObjectID, time.Now(), true, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	titles := ""
	for _, f := range findings {
		titles += f.Kind + ": " + f.Title + "\n"
	}
	for _, want := range []string{"redirects: Web redirect URIs differ", "redirects: Implicit grant flags differ", "credentials: 2 client secrets are active", "is not consented",
		"permissions: " + removed + " (delegated) is not consented for the organisation"} {
		if !strings.Contains(titles, want) {
			t.Errorf("drift lacks %q:\n%s", want, titles)
		}
	}
	_ = res

	// Repair: the wizard's apply again (an update run).
	run2, p2, pf2 := w.newRun(t, g, "exact-globe-mail", params)
	if _, err := a.Apply(ctx, run2.ID, g, p2, pf2, registration.Actor{Name: "Fiona"}, nil); err != nil {
		t.Fatal(err)
	}
	findings, err = registration.CheckDrift(ctx, g, p2, pf2, got.AppObjectID, got.SPObjectID, time.Now(), true, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		if f.Kind != registration.DriftCredentials {
			t.Errorf("after repair: %s: %s", f.Kind, f.Title)
		}
	}

	// An admin grants the app one more delegated permission for everyone.
	grant = delegatedGrant(t, w.base, tok.AccessToken, got.SPObjectID)
	graphCall(t, "PATCH", w.base+"/v1.0/oauth2PermissionGrants/"+grant.ID, tok.AccessToken, `{"scope":"`+grant.Scope+` Files.Read.All"}`, nil)
	findings, err = registration.CheckDrift(ctx, g, p2, pf2, got.AppObjectID, got.SPObjectID, time.Now(), true, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	extra := false
	for _, f := range findings {
		extra = extra || f.Title == "An extra delegated permission Files.Read.All is granted on Microsoft Graph"
	}
	if !extra {
		t.Errorf("an extra delegated grant is not reported: %+v", findings)
	}
}

// Hygiene checks fire on what they look for, and stay quiet otherwise.
func TestHygieneChecks(t *testing.T) {
	bp, _ := catalog.Builtin("exact-synergy-calendar")
	p, errs := registration.NewPlan(bp, registration.Choices{Params: map[string]string{"server_name": "erp.fabrikam.example"}})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	clean := graph.Application{WebRedirectURIs: p.Redirects.Web, PublicClientRedirectURIs: p.Redirects.PublicClient,
		IDTokenIssuance: p.IDTokens, AccessTokenIssuance: p.AccessTokens,
		Credentials: []graph.Credential{{Kind: graph.CredentialPassword, DisplayName: "ok", Start: now.AddDate(0, -1, 0), End: now.AddDate(0, 6, 0)}}}
	rra, _ := p.ResourceAccess(nil)
	clean.RequiredResourceAccess = rra
	pf := registration.Preflight{Resources: []registration.ResourceSP{{AppID: graph.ExchangeOnlineAppID, ObjectID: "exo"}}}
	gr := graph.Grants{AppRoles: map[string][]string{}}
	for _, rp := range p.Permissions {
		gr.AppRoles["exo"] = append(gr.AppRoles["exo"], rp.Permission.ID)
	}
	if f := registration.Drift(p, pf, clean, gr, 1, now); len(f) != 0 {
		t.Fatalf("clean app: %+v", f)
	}
	for _, c := range []struct {
		name   string
		change func(a *graph.Application)
		want   string
	}{
		{"wildcard", func(a *graph.Application) {
			a.WebRedirectURIs = append(a.WebRedirectURIs, "https://*.fabrikam.example/cb")
		}, "Unsafe redirect URI"},
		{"http", func(a *graph.Application) {
			a.WebRedirectURIs = append(a.WebRedirectURIs, "http://erp.fabrikam.example/cb")
		}, "Unsafe redirect URI"},
		{"urn", func(a *graph.Application) {
			a.PublicClientRedirectURIs = append(a.PublicClientRedirectURIs, "urn:ietf:wg:oauth:2.0:oob")
		}, "Unsafe redirect URI"},
		{"expired", func(a *graph.Application) {
			a.Credentials = append(a.Credentials, graph.Credential{Kind: graph.CredentialPassword, DisplayName: "old", Start: now.AddDate(-1, 0, 0), End: now.AddDate(0, 0, -1)})
		}, "Expired: old"},
		{"expiring", func(a *graph.Application) { a.Credentials[0].End = now.AddDate(0, 0, 10) }, "Ends within 30 days"},
		{"too long", func(a *graph.Application) { a.Credentials[0].End = now.AddDate(2, 0, 0) }, "Lives longer than 12 months"},
		{"two secrets", func(a *graph.Application) {
			a.Credentials = append(a.Credentials, graph.Credential{Kind: graph.CredentialPassword, DisplayName: "second", Start: now, End: now.AddDate(0, 6, 0)})
		}, "2 client secrets are active"},
		{"implicit", func(a *graph.Application) { a.IDTokenIssuance = true }, "Implicit grant flags differ"},
		{"extra permission", func(a *graph.Application) {
			a.RequiredResourceAccess = append(a.RequiredResourceAccess, catalog.ResourceAccess{ResourceAppID: graph.MicrosoftGraphAppID,
				Access: []catalog.AccessEntry{{ID: "b633e1c5-b582-4048-a93e-9f11b44c7e96", Type: "Role"}}})
		}, "An extra permission is asked for: Microsoft Graph Mail.Send (application)"},
		{"no owners", func(*graph.Application) {}, "No owners"},
	} {
		a := clean
		a.WebRedirectURIs = slices.Clone(clean.WebRedirectURIs)
		a.PublicClientRedirectURIs = slices.Clone(clean.PublicClientRedirectURIs)
		a.Credentials = slices.Clone(clean.Credentials)
		a.RequiredResourceAccess = slices.Clone(clean.RequiredResourceAccess)
		c.change(&a)
		found := false
		owners := 1
		if c.name == "no owners" {
			owners = 0
		}
		for _, f := range registration.Drift(p, pf, a, gr, owners, now) {
			found = found || strings.Contains(f.Title, c.want)
		}
		if !found {
			t.Errorf("%s: no finding %q", c.name, c.want)
		}
	}

	// A rotation under way: its new secret overlaps the old one on purpose, so two active
	// secrets are not a finding; a third is.
	rot := clean
	rot.Credentials = append(slices.Clone(clean.Credentials), graph.Credential{Kind: graph.CredentialPassword, KeyID: "NEW-key", DisplayName: "ok (rotated)", Start: now, End: now.AddDate(0, 6, 0)})
	if f := registration.Drift(p, pf, rot, gr, 1, now, "new-KEY"); len(f) != 0 {
		t.Errorf("old and new secret of a rotation under way: %+v", f)
	}
	rot.Credentials = append(rot.Credentials, graph.Credential{Kind: graph.CredentialPassword, KeyID: "third", DisplayName: "third", Start: now, End: now.AddDate(0, 6, 0)})
	has := func(fs []registration.Finding, title string) bool {
		return slices.ContainsFunc(fs, func(f registration.Finding) bool { return strings.Contains(f.Title, title) })
	}
	if f := registration.Drift(p, pf, rot, gr, 1, now, "new-key"); !has(f, "2 client secrets are active") {
		t.Errorf("a third secret beside a rotation: %+v", f)
	}
	// A certificate over a year is told in certificate words, and the tenant's secret policy does not apply to it.
	cert := clean
	cert.Credentials = []graph.Credential{{Kind: graph.CredentialCertificate, DisplayName: "cert", Start: now.AddDate(0, -1, 0), End: now.AddDate(1, 11, 0)}}
	strict := pf
	strict.PolicyMaxDays = 90
	f := registration.Drift(p, strict, cert, gr, 1, now)
	if !has(f, "Lives longer than 365 days: cert") || has(f, "90 days") || !slices.ContainsFunc(f, func(f registration.Finding) bool {
		return strings.Contains(f.Text, "certificates valid for at most a year")
	}) {
		t.Errorf("two-year certificate under a 90-day secret policy: %+v", f)
	}
	cert.Credentials[0].End = now.AddDate(0, 10, 0)
	if f := registration.Drift(p, strict, cert, gr, 1, now); has(f, "Lives longer") {
		t.Errorf("an 11-month certificate under a 90-day secret policy: %+v", f)
	}
}

// signInToken runs the tenant sign-in with scopes and returns the tokens.
func (w *world) signInToken(t testing.TB, upn string, scopes []string) auth.TenantToken {
	t.Helper()
	p := auth.NewPending("/")
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(w.auth.TenantAuthURL(w.tenant, callback, scopes, p, upn))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	tok, err := w.auth.ExchangeTenantCode(context.Background(), w.tenant, callback, scopes, p, loc.Query().Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Scheduled removal: the old secret stays until the date the admin picked;
// with both clocks past it, the job's run removes it with the sealed refresh
// token from the rotation's sign-in; a removal that fails is shown on the
// rotation and succeeds on the next run.
func TestScheduledRemovalOnItsDate(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	tok := w.signInToken(t, w.fionaUPN, registration.RotationScopes)
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token for a rotation's sign-in (offline_access)")
	}
	newGraph := func(ctx context.Context, access string) (registration.Graph, error) {
		return graph.NewClient(ctx, graph.Config{BaseURL: w.base + "/v1.0", MaxRetries: 1,
			TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: access})})
	}
	g, _ := newGraph(ctx, tok.AccessToken)
	app, err := w.sim.CreateApplication(w.tenant, entrasim.AppSpec{DisplayName: "Payroll", SignInAudience: "AzureADMyOrg", Secret: true})
	if err != nil {
		t.Fatal(err)
	}
	oldKey := w.secretKeys(app.ID)[0]
	// The secret as a scan recorded it: the finished removal queues that tenant's scan.
	inv, err := w.st.CreateTenant(ctx, store.Tenant{EntraTenantID: w.tenant, DisplayName: "Contoso", Status: "connected"}, store.AuditEvent{Action: "tenant.create"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.st.RecordScan(ctx, inv.ID, []store.Credential{{OwnerKind: "application", OwnerObjectID: app.ID, OwnerAppID: app.AppID, OwnerName: "Payroll",
		KeyID: oldKey, Kind: "password", EndsAt: time.Now().AddDate(0, 1, 0)}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	creds, err := w.st.AppCredentials(ctx, w.tenant, app.AppID)
	if err != nil || len(creds) != 1 {
		t.Fatalf("inventory of the app: %v, %v", creds, err)
	}
	rot, err := w.st.CreateRotation(ctx, store.Rotation{ID: "55555555-0000-4000-8000-000000000001", TenantID: w.tenant, AppObjectID: app.ID,
		ClientID: app.AppID, AppName: "Payroll", OldKeyID: oldKey, NewName: "Payroll (rotated)"}, creds[0].ID, "", store.AuditEvent{Action: "rotation.start"})
	if err != nil {
		t.Fatal(err)
	}
	_ = w.st.SetRotationPreflight(ctx, rot.ID, registration.RotationPreflight{OldFound: true})
	key := make([]byte, 32)
	sealer, _ := seal.New(key)
	aad := func(id string) []byte { return []byte("rotation-token:" + id) }
	if err := w.st.SaveRotationToken(ctx, rot.ID, sealer.Seal([]byte(tok.AccessToken), aad(rot.ID)), sealer.Seal([]byte(tok.RefreshToken), aad(rot.ID)), "Fiona", tok.Expiry); err != nil {
		t.Fatal(err)
	}
	if _, err := registration.RotateAdd(ctx, w.st, g, rot.ID, 6, registration.RotationPreflight{}, time.Now(), registration.Actor{}); err != nil {
		t.Fatal(err)
	}
	removeOn := time.Now().AddDate(0, 0, 7)
	if err := w.st.ScheduleRotationRemoval(ctx, rot.ID, removeOn, store.AuditEvent{Action: "rotation.schedule"}); err != nil {
		t.Fatal(err)
	}
	clock := time.Now()
	rm := &registration.Remover{Store: w.st,
		Open: func(s []byte, id string) ([]byte, error) { return sealer.Open(s, aad(id)) },
		Seal: func(p []byte, id string) []byte { return sealer.Seal(p, aad(id)) },
		Refresh: func(ctx context.Context, tenant, rt string) (string, string, time.Time, error) {
			t, err := w.auth.RefreshTenantToken(ctx, tenant, registration.RotationScopes, rt)
			return t.AccessToken, t.RefreshToken, t.Expiry, err
		},
		Delegated: newGraph, Now: func() time.Time { return clock }}
	var rescans []int64
	rm.Rescan = func(_ context.Context, tenant int64) error {
		rescans = append(rescans, tenant)
		return nil
	}
	var reminders []string
	var nlReminders []string
	rm.Remind = func(_ context.Context, tenant int64, extra []string, msg func(*i18n.Localizer) (string, string)) error {
		subject, body := msg(i18n.For(i18n.EN))
		reminders = append(reminders, subject+"\n"+body)
		subject, body = msg(i18n.For(i18n.NL))
		nlReminders = append(nlReminders, subject+"\n"+body)
		return nil
	}
	if n, err := rm.RemoveDue(ctx); n != 0 || err != nil || len(reminders) != 0 {
		t.Fatalf("a week before the date: removed %d, %v, %d reminders", n, err, len(reminders))
	}
	// The day before: one reminder, not repeated.
	clock = removeOn.Add(-12 * time.Hour)
	for range 2 {
		if n, err := rm.RemoveDue(ctx); n != 0 || err != nil {
			t.Fatalf("the day before: removed %d, %v", n, err)
		}
	}
	if len(reminders) != 1 || !strings.Contains(reminders[0], "Tomorrow the old secret of Payroll is removed") {
		t.Errorf("reminders = %q, want one", reminders)
	}
	// In Dutch for who reads Dutch (internal/alerts decides who does), with a Dutch date.
	if wantDate := i18n.For(i18n.NL).Date(removeOn); len(nlReminders) != 1 || !strings.Contains(nlReminders[0], "Morgen wordt het oude geheim van Payroll verwijderd") ||
		!strings.Contains(nlReminders[0], wantDate) {
		t.Errorf("Dutch reminders = %q, want one, dated %s", nlReminders, wantDate)
	}
	clock = time.Now()
	if keys := w.secretKeys(app.ID); len(keys) != 2 {
		t.Fatalf("before the date: %d secrets, want the old and the new", len(keys))
	}
	// Eight days on, for the portal and for Entra (the access token from the sign-in has long expired).
	clock = clock.AddDate(0, 0, 8)
	w.sim.Advance(8 * 24 * time.Hour)
	if err := w.sim.AddFault(entrasim.Fault{Method: "POST", Path: "/v1.0/applications/*/removePassword", Status: 503, RetryAfter: 1, Count: 8}); err != nil {
		t.Fatal(err)
	}
	if n, err := rm.RemoveDue(ctx); n != 0 || err == nil {
		t.Fatalf("with removePassword failing: removed %d, err %v; want the failure reported", n, err)
	}
	r, _ := w.st.GetRotation(ctx, rot.ID)
	if msg := registration.LocalizeStored(i18n.For(i18n.EN), r.Error); r.State != store.RotOverlap || !strings.HasPrefix(msg, "The scheduled removal of the old secret failed: Microsoft Graph") {
		t.Errorf("after a failed removal: state %s, error %q (%s)", r.State, r.Error, msg)
	}
	if msg := registration.LocalizeStored(i18n.For(i18n.NL), r.Error); !strings.HasPrefix(msg, "De geplande verwijdering van het oude geheim is mislukt: Microsoft Graph") {
		t.Errorf("after a failed removal, in Dutch: %q", msg)
	}
	w.sim.ClearFaults()
	if n, err := rm.RemoveDue(ctx); n != 1 || err != nil {
		t.Fatalf("next run: removed %d, %v", n, err)
	}
	keys := w.secretKeys(app.ID)
	if len(keys) != 1 || keys[0] == oldKey {
		t.Errorf("after the scheduled removal: %v", keys)
	}
	if r, _ = w.st.GetRotation(ctx, rot.ID); r.State != store.RotDone {
		t.Errorf("rotation state %s, want done", r.State)
	}
	if len(rescans) != 1 || rescans[0] != inv.ID {
		t.Errorf("scans queued: %v, want one of tenant %d after the removal (none before)", rescans, inv.ID)
	}
}

// "A certificate would do" fires for a background service with a secret and
// stays quiet for an app that signs users in; mailbox-wide application
// permissions get the scoping advice, delegated-only apps none.
func TestCertificateAndScopeAdvice(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	plan := func(id string, params map[string]string) registration.Plan {
		bp, _ := catalog.Builtin(id)
		p, errs := registration.NewPlan(bp, registration.Choices{Params: params})
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		return p
	}
	secret := []graph.Credential{{Kind: graph.CredentialPassword, DisplayName: "s", Start: now.AddDate(0, -1, 0), End: now.AddDate(0, 6, 0)}}
	has := func(fs []registration.Finding, title string) bool {
		for _, f := range fs {
			if strings.Contains(f.Title, title) {
				return true
			}
		}
		return false
	}
	afas := plan("afas-profit-exchange", map[string]string{"email_domain": "fabrikam.example"})
	if !has(registration.Drift(afas, registration.Preflight{}, graph.Application{Credentials: secret}, graph.Grants{}, 1, now), "A certificate would do") {
		t.Error("a background service with a secret: no certificate advice")
	}
	if has(registration.Drift(afas, registration.Preflight{}, graph.Application{}, graph.Grants{}, 1, now), "A certificate would do") {
		t.Error("certificate advice for an app without secrets")
	}
	ibm := plan("ibm-app-connect-exchange", map[string]string{"token_redirect_uri": "https://appconnect.fabrikam.example/oauth"})
	if has(registration.Drift(ibm, registration.Preflight{}, graph.Application{Credentials: secret}, graph.Grants{}, 1, now), "A certificate would do") {
		t.Error("certificate advice for an app that signs users in")
	}
	if a := registration.Advice(afas); len(a) != 1 || !strings.Contains(a[0].Title, "Reaches every mailbox") {
		t.Errorf("advice for AFAS (calendar and contacts application permissions) = %+v", a)
	}
	if a := registration.Advice(ibm); len(a) != 0 {
		t.Errorf("advice for a delegated-only app = %+v", a)
	}
}

type fakeDriftReader struct{ app graph.Application }

func (f fakeDriftReader) GetApplication(context.Context, string) (graph.Application, error) {
	return f.app, nil
}
func (f fakeDriftReader) ListGrants(context.Context, string, bool) (graph.Grants, error) {
	return graph.Grants{}, nil
}
func (f fakeDriftReader) ApplicationOwners(context.Context, string) (int, error) { return 1, nil }

// The portal's own admin-consent return address on an app is not drift.
func TestDriftIgnoresThePortalsOwnRedirect(t *testing.T) {
	bp, _ := catalog.Builtin("ibm-app-connect-exchange")
	p, errs := registration.NewPlan(bp, registration.Choices{Params: map[string]string{"token_redirect_uri": "https://appconnect.fabrikam.example/oauth"}})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	rra, _ := p.ResourceAccess(nil)
	own := "https://portal.example/registrations/consented"
	app := graph.Application{WebRedirectURIs: append(slices.Clone(p.Redirects.Web), own), PublicClientRedirectURIs: p.Redirects.PublicClient,
		IDTokenIssuance: p.IDTokens, AccessTokenIssuance: p.AccessTokens, RequiredResourceAccess: rra}
	for _, portal := range [][]string{nil, {own}} {
		fs, err := registration.CheckDrift(context.Background(), fakeDriftReader{app}, p, registration.Preflight{}, "app", "", time.Now(), false, portal, nil)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, f := range fs {
			found = found || strings.Contains(f.Title, "Web redirect URIs differ")
		}
		if found != (portal == nil) {
			t.Errorf("portal URIs %v: redirect finding %v", portal, found)
		}
	}
}

// Extra permissions are named from the portal's tables (resource, value and
// type); a GUID the tables do not know is shown as it is.
func TestDriftNamesExtraPermissions(t *testing.T) {
	bp, _ := catalog.Builtin("exact-synergy-calendar")
	p, errs := registration.NewPlan(bp, registration.Choices{Params: map[string]string{"server_name": "erp.fabrikam.example"}})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	rra, _ := p.ResourceAccess(nil)
	app := graph.Application{WebRedirectURIs: p.Redirects.Web, PublicClientRedirectURIs: p.Redirects.PublicClient,
		IDTokenIssuance: p.IDTokens, AccessTokenIssuance: p.AccessTokens, RequiredResourceAccess: rra,
		Credentials: []graph.Credential{{Kind: graph.CredentialPassword, DisplayName: "ok", Start: now.AddDate(0, -1, 0), End: now.AddDate(0, 6, 0)}}}
	app.RequiredResourceAccess = append(slices.Clone(app.RequiredResourceAccess), catalog.ResourceAccess{ResourceAppID: graph.MicrosoftGraphAppID,
		Access: []catalog.AccessEntry{
			{ID: "E383F46E-2787-4529-855E-0E479A3FFAC0", Type: "Scope"},
			{ID: "0e1f7a2c-1111-4222-8333-944455556666", Type: "Role"},
		}})
	pf := registration.Preflight{Resources: []registration.ResourceSP{{AppID: graph.ExchangeOnlineAppID, ObjectID: "exo"}, {AppID: graph.MicrosoftGraphAppID, ObjectID: "msgraph"}}}
	gr := graph.Grants{AppRoles: map[string][]string{"msgraph": {"e2a3a72e-5f79-4c64-b1b1-878b674786c9", "9f1e7a2c-2222-4333-8444-955566667777"}}}
	for _, rp := range p.Permissions {
		gr.AppRoles["exo"] = append(gr.AppRoles["exo"], rp.Permission.ID)
	}
	var titles []string
	for _, f := range registration.Drift(p, pf, app, gr, 1, now) {
		if f.Kind == registration.DriftPermissions {
			titles = append(titles, f.Title)
		}
	}
	slices.Sort(titles)
	want := []string{
		"An extra permission is asked for: 0e1f7a2c-1111-4222-8333-944455556666 (application) on Microsoft Graph",
		"An extra permission is asked for: Microsoft Graph Mail.Send (delegated)",
		"An extra permission is granted: 9f1e7a2c-2222-4333-8444-955566667777 (application) on Microsoft Graph",
		"An extra permission is granted: Microsoft Graph Mail.ReadWrite (application)",
	}
	if diff := cmp.Diff(want, titles); diff != "" {
		t.Errorf("drift permission findings (-want +got):\n%s", diff)
	}
}
