package registration_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/appreg-portal/portal/internal/auth"
	"github.com/appreg-portal/portal/internal/catalog"
	"github.com/appreg-portal/portal/internal/entrasim"
	"github.com/appreg-portal/portal/internal/graph"
	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/pgtest"
	"github.com/appreg-portal/portal/internal/registration"
	"github.com/appreg-portal/portal/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const callback = "http://portal.test/registrations/callback"

// world is a customer tenant with a Global Administrator and a Cloud
// Application Administrator, and the portal's multi-tenant app.
type world struct {
	sim               *entrasim.Sim
	base              string
	tenant            string
	portal            entrasim.AppCreated
	auth              *auth.Client
	st                *store.Store
	fionaUPN, frankUP string
}

func newWorld(t testing.TB) *world {
	t.Helper()
	sim, srv := entrasim.NewTestServer(t, entrasim.Options{AutoLogin: true})
	w := &world{sim: sim, base: srv.URL, st: pgtest.NewStore(t), fionaUPN: "fiona@fabrikam.example", frankUP: "frank@fabrikam.example"}
	op, err := sim.CreateTenant("Contoso Consulting", "contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	w.portal, err = sim.CreateApplication(op, entrasim.AppSpec{DisplayName: "AppReg Portal", SignInAudience: "AzureADMultipleOrgs",
		RedirectURIs: []string{callback}, Secret: true, DelegatedPermissions: []string{"openid"}})
	if err != nil {
		t.Fatal(err)
	}
	if w.tenant, err = sim.CreateTenant("Fabrikam", "fabrikam.example"); err != nil {
		t.Fatal(err)
	}
	for upn, role := range map[string]string{w.fionaUPN: "Global Administrator", w.frankUP: "Cloud Application Administrator"} {
		if _, err := sim.CreateUser(w.tenant, entrasim.User{DisplayName: upn, UserPrincipalName: upn, DirectoryRoles: []string{role}}); err != nil {
			t.Fatal(err)
		}
	}
	w.auth = auth.New(auth.Config{Authority: srv.URL, ClientID: w.portal.AppID, ClientSecret: w.portal.SecretText})
	return w
}

// signIn runs the wizard's incremental sign-in for upn and returns a Graph
// client with the delegated token, as the handlers build it.
func (w *world) signIn(t testing.TB, upn string) *graph.Client {
	t.Helper()
	p := auth.NewPending("/")
	u := w.auth.TenantAuthURL(w.tenant, callback, registration.Scopes, p, upn)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("sign-in for %s did not return a code: %d %s", upn, resp.StatusCode, resp.Header.Get("Location"))
	}
	if loc.Query().Get("state") != p.State {
		t.Fatalf("state not returned")
	}
	tok, err := w.auth.ExchangeTenantCode(context.Background(), w.tenant, callback, registration.Scopes, p, loc.Query().Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := graph.NewClient(context.Background(), graph.Config{BaseURL: w.base + "/v1.0",
		TokenSource:        oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok.AccessToken}),
		ReplicationBackoff: 20 * time.Millisecond, ReplicationTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// newRun plans, records and pre-flights a run of blueprint id.
func (w *world) newRun(t testing.TB, g registration.Graph, id string, params map[string]string, features ...string) (store.RegistrationRun, registration.Plan, registration.Preflight) {
	t.Helper()
	bp, ok := catalog.Builtin(id)
	if !ok {
		t.Fatalf("no blueprint %s", id)
	}
	p, errs := registration.NewPlan(bp, registration.Choices{Params: params, Features: features})
	if len(errs) > 0 {
		t.Fatalf("NewPlan: %v", errs)
	}
	ctx := context.Background()
	run, err := w.st.CreateRun(ctx, store.RegistrationRun{ID: newID(), TenantID: w.tenant, TenantName: "Fabrikam", BlueprintID: id,
		DisplayName: p.DisplayName, UniqueName: p.UniqueName, Params: p.Params, Features: features, SecretMonths: p.SecretMonths},
		store.AuditEvent{Action: "registration.start"})
	if err != nil {
		t.Fatal(err)
	}
	pf, err := registration.RunPreflight(ctx, g, w.tenant, p, time.Now())
	if err != nil {
		t.Fatalf("preflight: %v", err)
	}
	if err := w.st.SetPreflight(ctx, run.ID, pf, p.SecretMonths); err != nil {
		t.Fatal(err)
	}
	run, _ = w.st.GetRun(ctx, run.ID)
	return run, p, pf
}

var idSeq atomic.Int64

func newID() string {
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", idSeq.Add(1))
}

// apps returns the key IDs of the secrets of every application with the
// uniqueName in the customer tenant, one entry per application.
func (w *world) apps(name string) [][]string {
	var out [][]string
	for _, t := range w.sim.State().Tenants {
		if t.ID != w.tenant {
			continue
		}
		for _, a := range t.Applications {
			if a.UniqueName != nil && *a.UniqueName == name {
				keys := []string{}
				for _, c := range a.PasswordCredentials {
					keys = append(keys, c.KeyID)
				}
				out = append(out, keys)
			}
		}
	}
	return out
}

func decodeSegment(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

func TestApplyGraphAppAndDelegated(t *testing.T) {
	w := newWorld(t)
	g := w.signIn(t, w.fionaUPN)
	run, p, pf := w.newRun(t, g, "exact-globe-mail", map[string]string{"sender_mailbox": "invoices@fabrikam.example"})
	if !pf.CanGrantGraphRoles || pf.UserUPN != w.fionaUPN || pf.Existing != nil {
		t.Fatalf("preflight = %+v", pf)
	}
	before := len(w.sim.Requests())
	a := &registration.Applier{Store: w.st, Owner: "test"}
	res, err := a.Apply(context.Background(), run.ID, g, p, pf, registration.Actor{Name: "Fiona"}, nil)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	calls := len(w.sim.Requests()) - before
	if res.Secret == nil || res.Secret.Text == "" || res.NeedsConsent {
		t.Fatalf("Apply result: secret %v, needs consent %v", res.Secret != nil, res.NeedsConsent)
	}
	// The minimum: app, SP, one assignment per app role, one delegated grant, the secret, two reads to verify.
	roles := 0
	for _, rp := range p.Permissions {
		if rp.Permission.Type == catalog.Application {
			roles++
		}
	}
	if want := 2 + roles + 1 + 1 + 2; calls != want {
		t.Errorf("apply made %d Graph calls, want %d (app, SP, %d app roles, 1 delegated grant, secret, 2 reads)", calls, want, roles)
	}
	t.Logf("Graph calls for exact-globe-mail (%d app roles, 1 delegated resource): %d", roles, calls)
	apps := w.apps(p.UniqueName)
	if len(apps) != 1 {
		t.Fatalf("%d applications with uniqueName %s, want 1", len(apps), p.UniqueName)
	}
	// The secret works: a client_credentials token with it carries the app roles.
	tok := clientCredentials(t, w.base, w.tenant, res.Run.ClientID, res.Secret.Text)
	for _, rp := range p.Permissions {
		if rp.Permission.Type == catalog.Application && !strings.Contains(tok, rp.Permission.Name) {
			t.Errorf("app-only token lacks role %s", rp.Permission.Name)
		}
	}
	got, _ := w.st.GetRun(context.Background(), run.ID)
	if got.State != store.RunDone || got.SecretKeyID != res.Secret.KeyID || got.ClientID == "" {
		t.Errorf("run after apply = state %s key %q client %q", got.State, got.SecretKeyID, got.ClientID)
	}

	// Again: the same app is updated, a second secret is added, nothing duplicated.
	run2, p2, pf2 := w.newRun(t, g, "exact-globe-mail", map[string]string{"sender_mailbox": "invoices@fabrikam.example"})
	if pf2.Existing == nil || pf2.Existing.AppID != res.Run.ClientID {
		t.Fatalf("second preflight did not find the existing app: %+v", pf2.Existing)
	}
	if _, err := a.Apply(context.Background(), run2.ID, g, p2, pf2, registration.Actor{Name: "Fiona"}, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(w.apps(p.UniqueName)); n != 1 {
		t.Errorf("after a second run: %d applications, want 1", n)
	}
	// Applying a finished run again does nothing and shows no secret.
	before = len(w.sim.Requests())
	res3, err := a.Apply(context.Background(), run2.ID, g, p2, pf2, registration.Actor{Name: "Fiona"}, nil)
	if err != nil || res3.Secret != nil || len(w.sim.Requests()) != before {
		t.Errorf("re-apply of a done run: err %v, secret %v, %d calls", err, res3.Secret != nil, len(w.sim.Requests())-before)
	}
}

// clientCredentials returns the decoded claims of an app-only Graph token.
func clientCredentials(t testing.TB, base, tenant, clientID, secret string) string {
	t.Helper()
	ts := graph.AppOnlyTokenSource(context.Background(), base, tenant, clientID, secret, nil)
	tok, err := ts.Token()
	if err != nil {
		t.Fatalf("client credentials with the new secret: %v", err)
	}
	parts := strings.Split(tok.AccessToken, ".")
	if len(parts) != 3 {
		t.Fatal("not a JWT")
	}
	b, err := decodeSegment(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestApplyRolePathConsentLink(t *testing.T) {
	w := newWorld(t)
	g := w.signIn(t, w.frankUP) // Cloud Application Administrator
	run, p, pf := w.newRun(t, g, "exact-globe-mail", map[string]string{"sender_mailbox": "invoices@fabrikam.example"})
	if pf.CanGrantGraphRoles || !pf.CanGrantOthers {
		t.Fatalf("frank's preflight = %+v", pf)
	}
	a := &registration.Applier{Store: w.st, Owner: "test"}
	res, err := a.Apply(context.Background(), run.ID, g, p, pf, registration.Actor{Name: "Frank"}, nil)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if !res.NeedsConsent || res.Secret == nil {
		t.Fatalf("frank: needs consent %v, secret %v", res.NeedsConsent, res.Secret != nil)
	}
	got, _ := w.st.GetRun(context.Background(), run.ID)
	if got.State != store.RunConsent {
		t.Errorf("state = %s, want consent", got.State)
	}
	for _, s := range res.Steps {
		if s.Kind == registration.StepAppRole && s.Status != store.StepNeedsConsent {
			t.Errorf("step %s = %s, want needs_consent", s.Label, s.Status)
		}
		if s.Kind == registration.StepDelegated && s.Status != store.StepDone {
			t.Errorf("step %s = %s, want done (a Cloud Application Administrator may grant delegated permissions)", s.Label, s.Status)
		}
	}
	// fiona consents for the organisation through the v2 admin consent endpoint; the check reads the grants.
	fg := w.signIn(t, w.fionaUPN)
	for _, rp := range p.Permissions {
		if rp.Permission.Type == catalog.Application {
			sp, _ := fg.ResourceServicePrincipal(context.Background(), graph.MicrosoftGraphAppID)
			if err := fg.GrantAppRole(context.Background(), got.SPObjectID, sp.ObjectID, rp.Permission.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	state, err := registration.Verify(context.Background(), w.st, g, got, p, pf, true, registration.Actor{Name: "Frank"})
	if err != nil || state != "granted" {
		t.Fatalf("Verify = %q, %v", state, err)
	}
	got, _ = w.st.GetRun(context.Background(), run.ID)
	if got.State != store.RunDone {
		t.Errorf("state after consent = %s, want done", got.State)
	}
}

// TestApplyUnderFaults: 100 applies, five at a time (as replicas would),
// with 30% of Graph calls failing transiently (429 and 503 with
// Retry-After) and new objects invisible for a while (replication lag);
// each run is resumed after a failure until it converges, and every tenth
// is killed between two steps on its first attempt. Nothing duplicated,
// orphaned or lost.
func TestApplyUnderFaults(t *testing.T) {
	w := newWorld(t)
	g := w.signIn(t, w.fionaUPN)
	ctx := context.Background()
	bps := []struct {
		id     string
		params map[string]string
	}{
		{"exact-globe-mail", map[string]string{"sender_mailbox": "invoices@fabrikam.example"}},
		{"exact-synergy-calendar", map[string]string{"server_name": "synergy.fabrikam.example"}},
		{"exact-synergy-mail", map[string]string{"server_name": "synergy.fabrikam.example", "sender_mailbox": "mail@fabrikam.example"}},
	}
	for _, f := range []entrasim.Fault{
		{Path: "/v1.0/*", Status: 429, RetryAfter: 1, Percent: 15},
		{Path: "/v1.0/*", Status: 503, RetryAfter: 1, Percent: 15},
	} {
		if err := w.sim.AddFault(f); err != nil {
			t.Fatal(err)
		}
	}
	w.sim.SetReplicationLag(300 * time.Millisecond)
	const runs, workers, lease = 100, 5, 4 * time.Second
	var (
		mu                     sync.Mutex
		shown                  = map[string]bool{}
		attempts, kills, fails int
	)
	jobs := make(chan int)
	var wg sync.WaitGroup
	errs := make(chan error, runs)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := func() error {
					b := bps[i%len(bps)]
					run, p, pf, err := w.tryNewRun(g, b.id, b.params)
					if err != nil {
						return fmt.Errorf("run %d: %w", i, err)
					}
					killAt, killed := -1, false
					if i%10 == 0 {
						killAt = 1 + (i/10)%5 // the process dies before step 1…5 the first time it gets there
					}
					for try := 0; ; try++ {
						a := &registration.Applier{Store: w.st, Owner: fmt.Sprintf("proc-%d-%d", i, try), Lease: lease, Backoff: 10 * time.Millisecond}
						a.BeforeStep = func(pos int, _ string) error {
							if pos == killAt && !killed {
								killed = true
								return errKilled
							}
							return nil
						}
						res, err := a.Apply(ctx, run.ID, g, p, pf, registration.Actor{Name: "Fiona"}, nil)
						mu.Lock()
						attempts++
						if res.Secret != nil {
							shown[res.Secret.KeyID] = true
						}
						switch {
						case errors.Is(err, errKilled):
							kills++
						case err != nil:
							fails++
						}
						mu.Unlock()
						if err == nil {
							return nil
						}
						if errors.Is(err, errKilled) || errors.Is(err, store.ErrLeaseHeld) {
							time.Sleep(lease + 100*time.Millisecond) // the dead process's lease runs out
						}
						if try > 40 {
							return fmt.Errorf("run %d did not converge: %w", i, err)
						}
					}
				}(); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := range runs {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	w.sim.ClearFaults()
	// Every application the runs made: one per blueprint, each with a record, and every secret on them shown.
	dups, orphans, lost := 0, 0, 0
	for _, b := range bps {
		apps := w.apps(registration.UniqueName(b.id))
		if len(apps) != 1 {
			dups += len(apps) - 1
		}
		for _, a := range apps {
			if _, err := w.st.GetRegistration(ctx, w.tenant, registration.UniqueName(b.id)); err != nil {
				orphans++
			}
			for _, k := range a {
				if !shown[k] {
					lost++
				}
			}
		}
	}
	t.Logf("fault test: %d runs (%d at a time), %d apply attempts (%d failed on a fault, %d killed), %d secrets shown; duplicates %d, applications without a record %d, lost secrets %d",
		runs, workers, attempts, fails, kills, len(shown), dups, orphans, lost)
	if dups != 0 || orphans != 0 || lost != 0 {
		t.Errorf("duplicates %d, applications without a record %d, secrets neither shown nor removed %d; want 0, 0, 0", dups, orphans, lost)
	}
	if len(shown) != runs {
		t.Errorf("%d secrets shown for %d runs", len(shown), runs)
	}
	if kills != runs/10 {
		t.Errorf("%d kills, want %d", kills, runs/10)
	}
}

// tryNewRun is newRun for the fault test: pre-flight meets the faults too,
// and is tried again as the admin would ("check again").
func (w *world) tryNewRun(g registration.Graph, id string, params map[string]string) (store.RegistrationRun, registration.Plan, registration.Preflight, error) {
	bp, _ := catalog.Builtin(id)
	p, errs := registration.NewPlan(bp, registration.Choices{Params: params})
	if len(errs) > 0 {
		return store.RegistrationRun{}, registration.Plan{}, registration.Preflight{}, fmt.Errorf("plan: %v", errs)
	}
	ctx := context.Background()
	run, err := w.st.CreateRun(ctx, store.RegistrationRun{ID: newID(), TenantID: w.tenant, TenantName: "Fabrikam", BlueprintID: id,
		DisplayName: p.DisplayName, UniqueName: p.UniqueName, Params: p.Params, SecretMonths: p.SecretMonths},
		store.AuditEvent{Action: "registration.start"})
	if err != nil {
		return store.RegistrationRun{}, registration.Plan{}, registration.Preflight{}, err
	}
	for try := 0; ; try++ {
		pf, err := registration.RunPreflight(ctx, g, w.tenant, p, time.Now())
		if err == nil {
			return run, p, pf, w.st.SetPreflight(ctx, run.ID, pf, p.SecretMonths)
		}
		if try > 10 {
			return store.RegistrationRun{}, registration.Plan{}, registration.Preflight{}, err
		}
	}
}

var errKilled = errors.New("killed")

// A tenant that never had Exchange Online: pre-flight finds its service
// principal missing, the review says it will be created, and the apply
// creates it before granting its app role.
func TestApplyCreatesExchangeServicePrincipal(t *testing.T) {
	w := newWorld(t)
	if err := w.sim.RemoveServicePrincipal(w.tenant, entrasim.ExchangeAppID); err != nil {
		t.Fatal(err)
	}
	g := w.signIn(t, w.fionaUPN)
	run, p, pf := w.newRun(t, g, "exact-synergy-calendar", map[string]string{"server_name": "synergy.fabrikam.example"})
	exo, ok := pf.Resource(graph.ExchangeOnlineAppID)
	if !ok || !exo.Create {
		t.Fatalf("preflight resources = %+v, want Exchange Online to be created", pf.Resources)
	}
	steps := registration.Steps(p, pf)
	if steps[2].Kind != registration.StepResourceSP {
		t.Fatalf("third step = %s, want the resource service principal", steps[2].Kind)
	}
	a := &registration.Applier{Store: w.st, Owner: "test"}
	res, err := a.Apply(context.Background(), run.ID, g, p, pf, registration.Actor{Name: "Fiona"}, nil)
	if err != nil || res.Secret == nil || res.NeedsConsent {
		t.Fatalf("Apply: %v (secret %v, needs consent %v)", err, res.Secret != nil, res.NeedsConsent)
	}
	sp, err := g.ResourceServicePrincipal(context.Background(), graph.ExchangeOnlineAppID)
	if err != nil || sp.ObjectID == "" {
		t.Fatalf("Exchange Online's service principal after apply: %v", err)
	}
	cc := clientcredentialsToken(t, w.base, w.tenant, res.Run.ClientID, res.Secret.Text, "https://outlook.office365.com/.default")
	if !strings.Contains(cc, "full_access_as_app") {
		t.Errorf("Exchange token claims %s lack full_access_as_app", cc)
	}
}

func clientcredentialsToken(t testing.TB, base, tenant, clientID, secret, scope string) string {
	t.Helper()
	cfg := clientcredentials.Config{ClientID: clientID, ClientSecret: secret, Scopes: []string{scope}, TokenURL: base + "/" + tenant + "/oauth2/v2.0/token"}
	tok, err := cfg.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, err := decodeSegment(strings.Split(tok.AccessToken, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The run's steps name the app as typed, in quotes that need no escaping:
// a name with quotes of its own reads `“Exact "mail" app”`, not `"Exact \"mail\" app"`.
func TestStepsQuoteTheNamePlainly(t *testing.T) {
	bp, _ := catalog.Builtin("exact-synergy-calendar")
	p, errs := registration.NewPlan(bp, registration.Choices{DisplayName: `Exact "mail" app`, Params: map[string]string{"server_name": "erp.fabrikam.example"}})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	steps := registration.Steps(p, registration.Preflight{})
	if got, want := registration.Stored(steps[0].Label).English(), `Create the app registration “Exact "mail" app”`; got != want {
		t.Errorf("Steps()[0].Label = %s, want %s", got, want)
	}
	// The label is kept as a message, so the run page words it in Dutch too.
	if got, want := registration.Stored(steps[0].Label).In(i18n.For(i18n.NL)), `De app-registratie “Exact "mail" app” maken`; got != want {
		t.Errorf("Steps()[0].Label in Dutch = %s, want %s", got, want)
	}
	for months, want := range map[int]string{1: "Een clientgeheim toevoegen dat 1 maand geldig is", 6: "Een clientgeheim toevoegen dat 6 maanden geldig is"} {
		p, errs := registration.NewPlan(bp, registration.Choices{SecretMonths: months, Params: map[string]string{"server_name": "erp.fabrikam.example"}})
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		steps := registration.Steps(p, registration.Preflight{})
		if got := registration.Stored(steps[len(steps)-2].Label).In(i18n.For(i18n.NL)); got != want {
			t.Errorf("secret step for %d months in Dutch = %s, want %s", months, got, want)
		}
	}
}
