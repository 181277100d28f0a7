package handlers_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/graph"
	"github.com/appreg-portal/portal/internal/handlers"
	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/inventory"
	"github.com/appreg-portal/portal/internal/onboard"
	"github.com/appreg-portal/portal/internal/pgtest"
	"github.com/appreg-portal/portal/internal/seal"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/internal/testenv"
)

// tenantsMarkedEnv is a portal whose every message is marked, so that a page's
// text that bypassed the catalogues shows (i18n.Untranslated), and that
// records every message ID a page used but no catalogue defines.
type tenantsMarkedEnv struct {
	*flowEnv
	mu      sync.Mutex
	missing []string
}

func newTenantsMarkedEnv(t *testing.T, o testenv.Options) *tenantsMarkedEnv {
	t.Helper()
	m := &tenantsMarkedEnv{}
	o.Localizer = func(l i18n.Lang) *i18n.Localizer {
		return i18n.For(l, i18n.Marked(), i18n.OnMissing(func(id string, err error) {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.missing = append(m.missing, id+": "+err.Error())
		}))
	}
	m.flowEnv = newFlowEnvWith(t, o)
	return m
}

// check fails when page has text from outside the catalogues or used a
// message no catalogue defines, and returns its text without markers.
func (m *tenantsMarkedEnv) check(t *testing.T, name string, status, want int, page string) string {
	t.Helper()
	if status != want {
		t.Errorf("%s = %d, want %d\n%.1500s", name, status, want, i18n.Strip(page))
	}
	if un := untranslatedInMain(page); len(un) > 0 {
		t.Errorf("%s has text outside the catalogues: %q", name, un)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.missing) > 0 {
		t.Errorf("%s used messages no catalogue defines: %q", name, m.missing)
		m.missing = nil
	}
	return html.UnescapeString(i18n.Strip(page))
}

// errorChromeRE matches what the error page itself (not these pages'
// messages) shows unmarked: its status line, the support sentence and the
// request ID. That page is another part of issue #16.
var errorChromeRE = regexp.MustCompile(`^(Error \d+|.*quote request ID.*|[0-9a-f]{16})$`)

// untranslatedInMain is i18n.Untranslated of the page's <main>: the header
// and footer are the layout's, checked with it.
func untranslatedInMain(page string) []string {
	start, end := strings.Index(page, "<main"), strings.LastIndex(page, "</main>")
	if start < 0 || end < start {
		return []string{"page has no <main>"}
	}
	var out []string
	for _, u := range i18n.Untranslated(page[start : end+len("</main>")]) {
		if !errorChromeRE.MatchString(u) {
			out = append(out, u)
		}
	}
	return out
}

// dutch signs a browser in as user and switches it to Dutch.
func (m *tenantsMarkedEnv) dutch(t *testing.T, user string) *browser {
	t.Helper()
	b := m.browser()
	b.signIn(user)
	if resp, _ := b.postForm("/language", url.Values{"lang": {"nl"}, "return_to": {"/"}}); resp.StatusCode != 200 {
		t.Fatalf("switching %s to Dutch = %d", user, resp.StatusCode)
	}
	return b
}

func wantAll(t *testing.T, name, page string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(page, w) {
			t.Errorf("%s lacks %q", name, w)
		}
	}
}

// seedTenantsPage fills the Tenants page with everything it can say: a
// connected tenant with contacts, its own policy, an exclusion from alerts,
// the problems a scan and the consent check record, a failed scan, more
// problems than the store keeps, and consent links in every state.
func seedTenantsPage(t *testing.T, e *tenantsMarkedEnv) (fabrikam, northwind store.Tenant) {
	t.Helper()
	ctx := context.Background()
	var err error
	fabrikam, err = e.Store.CreateTenant(ctx, store.Tenant{EntraTenantID: "fab41c4e-2d3b-4a5c-8e6f-7a8b9c0d1e2f", DisplayName: "Fabrikam", DefaultDomain: "fabrikam.example", Status: "connected"}, store.AuditEvent{Action: "tenant.create"})
	must(t, err)
	northwind, err = e.Store.CreateTenant(ctx, store.Tenant{EntraTenantID: "0e1d2c3b-4a59-4687-9a8b-7c6d5e4f3a2b", DisplayName: "Northwind", DefaultDomain: "northwind.example", Status: "consent_revoked"}, store.AuditEvent{Action: "tenant.create"})
	must(t, err)
	must(t, e.Store.SetTenantContacts(ctx, fabrikam.ID, []string{"it@fabrikam.example"}, store.AuditEvent{Action: "tenant.contacts"}))
	must(t, e.Store.SetAlertPolicy(ctx, store.AlertPolicy{TenantID: fabrikam.ID, Thresholds: []int{30, 7, 0}, Recipients: []string{"sec@fabrikam.example"}, UpdatedBy: "Oscar"}, store.AuditEvent{Action: "alerts.policy"}))
	_, err = e.Store.SetAlertSilence(ctx, store.AlertSilence{TenantID: northwind.ID, Scope: store.SilenceTenant, Kind: store.SilenceExclude, Reason: "Offboarding", CreatedBy: "Oscar"}, store.AuditEvent{Action: "alerts.silence"})
	must(t, err)

	// What a scan and the consent check found odd, as they store it.
	_, problems := inventory.Credentials([]graph.Application{
		{ObjectID: "not-a-guid", DisplayName: "Broken ID"},
		{ObjectID: "0a0a0a0a-0000-4000-8000-000000000003", DisplayName: "EvilApp", NameCleaned: true, Credentials: []graph.Credential{{Kind: graph.CredentialPassword}}},
	}, []graph.ServicePrincipalCredentials{{ObjectID: "also-not-a-guid", DisplayName: "SAML app"}})
	problems = append(problems, onboard.Granted{Extra: []string{"Mail.Send (Microsoft Graph)"}, Missing: []string{"Organization.Read.All"}}.Problems()...)
	must(t, e.Store.SetScanProblems(ctx, fabrikam.ID, problems))
	many := make([]string, 0, 25)
	for range 25 {
		many = append(many, problems[0])
	}
	must(t, e.Store.SetScanProblems(ctx, northwind.ID, many))
	// The scan failure inventory records (internal/inventory: no access).
	must(t, e.Store.RecordScanFailure(ctx, northwind.ID, `{"id":"tenants.scan_error.no_access"}`))
	_, err = e.Store.Pool().Exec(ctx, `UPDATE tenants SET last_scan_at = now() - interval '1 hour'`)
	must(t, err)

	// Consent links: waiting, declined, refused for another tenant, withdrawn, expired.
	now := time.Now()
	link := func(label, expected string, expires time.Time) store.Onboarding {
		state := sha256.Sum256([]byte(label))
		o, err := e.Store.CreateOnboarding(ctx, store.Onboarding{StateHash: state[:], Label: label, ExpectedTenant: expected, ExpiresAt: expires},
			store.AuditEvent{Action: "tenant.consent_link", ActorName: "Oscar Operator"})
		must(t, err)
		return o
	}
	link("Contoso", "contoso.example", now.Add(7*24*time.Hour))
	link("Litware", "", now.Add(-time.Hour))
	for _, end := range []struct{ label, outcome, detail string }{
		{"Adatum", "declined", "access_denied: AADSTS65004: User declined to consent"},
		{"Tailspin", "declined", "invalid_request: AADSTS90014"},
		{"Woodgrove", "failed", "tenant 11111111-2222-4333-8444-555555555555 is not woodgrove.example"},
		{"Proseware", "failed", "Withdrawn by Oscar Operator."},
		{"Wingtip", "failed", "tenant 11111111-2222-4333-8444-555555555555 consented before the link was made"},
		{"Lucerne", "failed", "no app-only access after consent"},
		{"Alpine", "failed", "callback without consent or tenant"},
	} {
		o := link(end.label, "", now.Add(7*24*time.Hour))
		must(t, e.Store.FailOnboarding(ctx, o.ID, end.outcome, end.detail, store.AuditEvent{Action: "tenant.connect.refused"}))
	}
	return fabrikam, northwind
}

// The Tenants, Connect and consent link pages, their refused forms and
// flashes, in Dutch for an operator and a viewer: every word from the
// catalogues, Microsoft's permission names and the data left as they are.
func TestTenantsPagesInDutch(t *testing.T) {
	e := newTenantsMarkedEnv(t, testenv.Options{})
	fabrikam, _ := seedTenantsPage(t, e)
	op := e.dutch(t, "oscar")

	resp, page := op.get(e.Portal.URL + "/tenants")
	text := e.check(t, "Tenants (operator)", resp.StatusCode, 200, page)
	wantAll(t, "Tenants (operator)", text, "De Entra ID-tenants waarvan het portal de app-registraties beheert.",
		"Toestemmingslinks", "Wacht op toestemming", "toestemming ingetrokken", "verbonden",
		`App-registratie "Broken ID" is weggelaten`, `Bedrijfstoepassing "SAML app" is weggelaten`,
		`Een referentie van app-registratie "EvilApp" is weggelaten`,
		"Het portal mist Organization.Read.All in deze tenant", "alleen Application.Read.All en Organization.Read.All nodig",
		"… en nog 5.", "Het portal kan deze tenant niet meer lezen",
		"Eigen drempels: 30 en 7 dagen voordat iets verloopt, en op de dag waarop het verloopt; eigen ontvangers: sec@fabrikam.example.",
		"Meldingen voor deze tenant zijn uitgesloten — ingesteld door Oscar op", "Offboarding",
		"De beheerder heeft de toestemming geweigerd", "Entra ID heeft de toestemming niet verleend (invalid_request: AADSTS90014).",
		"(tenant 11111111-2222-4333-8444-555555555555 is niet woodgrove.example)", "Ingetrokken door Oscar Operator.",
		"De tenant had al toestemming verleend", "Het portal kon de tenant na de toestemming niet lezen", "Het antwoord van Entra ID was onvolledig.",
		"Meldingsmail in het Engels", `data-testid="tenant-language-`+itoa(fabrikam.ID)+`"`)
	for _, english := range []string{"Consent links", "Waiting for consent", "was left out", "Scan now"} {
		if strings.Contains(text, english) {
			t.Errorf("the Dutch Tenants page says %q", english)
		}
	}

	viewer := e.dutch(t, "vera")
	resp, page = viewer.get(e.Portal.URL + "/tenants")
	text = e.check(t, "Tenants (viewer)", resp.StatusCode, 200, page)
	if !strings.Contains(text, "Meldingsmail in het Engels") || strings.Contains(text, `data-testid="tenant-language-`) {
		t.Error("a viewer's Tenants page should show the alert e-mail language without its form")
	}

	// Refused forms, re-shown with their reasons.
	tid := itoa(fabrikam.ID)
	for _, f := range []struct {
		path string
		form url.Values
		want string
	}{
		{"/tenants/" + tid + "/contacts", url.Values{"contacts": {"not an address"}}, `"not" is geen e-mailadres.`},
		{"/tenants/" + tid + "/alerts/policy", url.Values{"thresholds": {"soon"}, "recipients": {strings.Repeat("a@b.example ", 1) + "x@y"}}, `"soon" is geen aantal dagen van 0 tot 366.`},
		{"/tenants/" + tid + "/language", url.Values{"language": {"de"}}, "Kies Engels of Nederlands"},
	} {
		resp, page := op.postForm(f.path, f.form)
		text := e.check(t, "refused "+f.path, resp.StatusCode, http.StatusUnprocessableEntity, page)
		wantAll(t, "refused "+f.path, text, f.want)
	}

	// Flashes.
	resp, page = op.postForm("/tenants/"+tid+"/contacts", url.Values{"contacts": {"a@fabrikam.example\nb@fabrikam.example"}})
	text = e.check(t, "contacts saved", resp.StatusCode, 200, page)
	wantAll(t, "contacts saved", text, "Contactpersonen voor meldingen opgeslagen: 2 adressen.")
	resp, page = op.postForm("/tenants/"+tid+"/alerts/policy", url.Values{})
	text = e.check(t, "policy cleared", resp.StatusCode, 200, page)
	wantAll(t, "policy cleared", text, "De tenant volgt de drempels en ontvangers voor het hele portal.")

	// Connect a tenant: the permissions by Microsoft's names, explained in Dutch.
	resp, page = op.get(e.Portal.URL + "/tenants/connect")
	text = e.check(t, "Connect", resp.StatusCode, 200, page)
	wantAll(t, "Connect", text, "Tenant verbinden", `<strong translate="no">Application.Read.All</strong> (toepassingsmachtiging, bevoegdheidsniveau gemiddeld):`,
		"kan alle app-registraties en bedrijfstoepassingen in je organisatie lezen", `<strong translate="no">User.Read</strong> (gedelegeerde machtiging, bevoegdheidsniveau laag):`,
		"De aanmelding bij het portal gebruikt deze machtiging")
	resp, page = op.postForm("/tenants/connect", url.Values{"label": {""}, "expected": {"not a domain"}})
	text = e.check(t, "Connect refused", resp.StatusCode, http.StatusUnprocessableEntity, page)
	wantAll(t, "Connect refused", text, "Geef de naam van de klant", "Vul een domein in zoals fabrikam.onmicrosoft.com")
	for _, expected := range []string{"contoso.example", ""} {
		resp, page = op.postForm("/tenants/connect", url.Values{"label": {"Contoso"}, "expected": {expected}})
		text = e.check(t, "consent link "+expected, resp.StatusCode, 200, page)
		wantAll(t, "consent link", text, "Toestemmingslink voor", "Hij werkt één keer, tot", "Link kopiëren")
	}

	// Withdrawing a link, and scanning a tenant that is not connected.
	links, err := e.Store.ListOnboardings(context.Background())
	must(t, err)
	for _, o := range links {
		if o.Label == "Contoso" && o.Outcome == nil && o.ExpiresAt.After(time.Now()) {
			resp, page = op.postForm(fmt.Sprintf("/tenants/links/%d/withdraw", o.ID), nil)
			text = e.check(t, "withdraw", resp.StatusCode, 200, page)
			wantAll(t, "withdraw", text, "De toestemmingslink voor Contoso is ingetrokken")
			break
		}
	}
	tenants, err := e.Store.ListTenants(context.Background())
	must(t, err)
	for _, tn := range tenants {
		if tn.Status != "connected" {
			resp, page = op.postForm("/tenants/"+itoa(tn.ID)+"/scan", nil)
			text = e.check(t, "scan of a disconnected tenant", resp.StatusCode, http.StatusBadRequest, page)
			wantAll(t, "scan of a disconnected tenant", text, "Deze tenant is niet verbonden en kan dus niet worden gescand.")
		}
	}
}

// What the customer's administrator sees after consent, in Dutch (their
// browser's language; they have no portal account): an unknown link, a
// declined consent, and an ended link.
func TestOnboardingResultInDutch(t *testing.T) {
	e := newTenantsMarkedEnv(t, testenv.Options{})
	nl := map[string]string{"Accept-Language": "nl-NL,nl;q=0.9,en;q=0.5"}
	customer := e.browser()
	resp, page := customer.getWith("/onboarding/callback?"+url.Values{"admin_consent": {"True"}, "tenant": {e.Other}, "state": {"unknown"}}.Encode(), nl)
	text := e.check(t, "unknown link", resp.StatusCode, http.StatusBadRequest, page)
	wantAll(t, "unknown link", text, "Deze toestemmingslink kan niet worden gebruikt", "Entra ID heeft je toestemming mogelijk toch vastgelegd")

	link := makeConsentLink(t, e.flowEnv, "Fabrikam", "fabrikam.example")
	state := mustParse(t, link).Query().Get("state")
	resp, page = customer.getWith("/onboarding/callback?"+url.Values{"error": {"access_denied"}, "error_description": {"AADSTS65004"}, "state": {state}}.Encode(), nl)
	text = e.check(t, "declined", resp.StatusCode, http.StatusBadRequest, page)
	wantAll(t, "declined", text, "De tenant is niet verbonden", "De toestemming is geweigerd", "Er is niets in je tenant gewijzigd.")
	resp, page = customer.getWith("/onboarding/callback?"+url.Values{"admin_consent": {"True"}, "tenant": {e.Other}, "state": {state}}.Encode(), nl)
	text = e.check(t, "ended link", resp.StatusCode, http.StatusBadRequest, page)
	wantAll(t, "ended link", text, "Deze toestemmingslink is afgelopen", "Deze link is geweigerd op")

	// A consent that connects the tenant, seen by an administrator whose
	// browser chose Dutch; then the operator scans it, in Dutch.
	seedFabrikam(t, e.flowEnv)
	link = makeConsentLink(t, e.flowEnv, "Fabrikam", "fabrikam.example")
	admin := e.browser()
	portalURL, err := url.Parse(e.Portal.URL)
	must(t, err)
	admin.client.Jar.SetCookies(portalURL, []*http.Cookie{{Name: "portal_lang", Value: "nl", Path: "/"}})
	resp, page = admin.get(link + "&login_hint=" + url.QueryEscape(e.Users["fiona"]))
	text = e.check(t, "connected", resp.StatusCode, 200, page)
	wantAll(t, "connected", text, "Fabrikam is verbonden", "Bedankt. AppReg Portal kan nu de app-registraties van Fabrikam (fabrikam.example) lezen",
		"Je kunt dit venster sluiten: wie je de link stuurde, ziet Fabrikam nu in het portal.")
	resp, page = admin.get(resp.Request.URL.String())
	text = e.check(t, "connected, reloaded", resp.StatusCode, 200, page)
	wantAll(t, "connected, reloaded", text, "Fabrikam is al verbonden via deze link.")

	tenants, err := e.Store.ListTenants(context.Background())
	must(t, err)
	op := e.dutch(t, "oscar")
	resp, page = op.postForm("/tenants/"+itoa(tenants[0].ID)+"/scan", nil)
	m := flashRE.FindStringSubmatch(page)
	if resp.StatusCode != 200 || m == nil || len(i18n.Untranslated("<p>"+m[1]+"</p>")) > 0 {
		t.Fatalf("scan = %d, flash %q: want a Dutch flash from the catalogue", resp.StatusCode, m)
	}
	if got := i18n.Strip(m[1]); !strings.HasPrefix(got, "Fabrikam gescand: 3 referenties gevonden, ") {
		t.Errorf("scan flash = %q, want Dutch with the plural", got)
	}
}

var flashRE = regexp.MustCompile(`data-testid="flash">([^<]*)<`)

// The Alerts page for an admin in Dutch: the policy, its refused form,
// channels, deliveries with their failure reasons (mail.reason.<code>)
// and thresholds in the plural.
func TestAlertsPageInDutch(t *testing.T) {
	key, err := seal.ParseKey(seal.NewKey())
	must(t, err)
	sealer, err := seal.New(key)
	must(t, err)
	e := newTenantsMarkedEnv(t, testenv.Options{
		Alerts: handlers.AlertSettings{Enabled: true, From: "portal@contoso.example", Recipients: []string{"ops@contoso.example"}, Thresholds: []int{30, 1, 0}},
		AlertChannels: func(st *store.Store) handlers.AlertChannels {
			return alerts.New(alerts.Config{Sealer: sealer, PortalURL: "https://portal.contoso.example"}, st)
		}})
	ctx := context.Background()
	pgtest.SeedInventory(t, e.Store, pgtest.Inventory{Tenants: 1, Live: 3, Now: time.Now()})
	_, err = e.Store.Pool().Exec(ctx, `INSERT INTO alert_deliveries (credential_id, threshold_days, recipient, status, failure)
		SELECT id, d, 'it@fabrikam.example', s, f FROM (SELECT min(id) AS id FROM credentials) c,
		(VALUES (1, 'failed', 'recipient-refused'), (7, 'sent', ''), (0, 'pending', ''), (30, 'failed', 'a-code-nobody-knows')) v(d, s, f)`)
	must(t, err)
	admin := e.dutch(t, "ada")
	resp, page := admin.postForm("/admin/alert-channels", url.Values{"kind": {"slack"}, "name": {"Ops"}, "url": {"https://hooks.slack.example/services/x"}})
	e.check(t, "channel added", resp.StatusCode, 200, page)

	resp, page = admin.get(e.Portal.URL + "/alerts")
	text := e.check(t, "Alerts (admin)", resp.StatusCode, 200, page)
	wantAll(t, "Alerts (admin)", text, "Meldingen gaan uit 30 en 1 dagen voordat iets verloopt, en op de dag waarop het verloopt",
		"Ingesteld door de omgeving", "Kanalen", "elke tenant", "1 dag ervoor", "7 dagen ervoor", "op de vervaldag", "mislukt", "verstuurd",
		"De mailserver weigerde het adres van de ontvanger.", "Het verzenden is mislukt om een reden die het portal niet herkent")

	resp, page = admin.postForm("/admin/alert-policy", url.Values{"thresholds": {"1, 99999"}, "recipients": {"x"}})
	text = e.check(t, "policy refused", resp.StatusCode, http.StatusUnprocessableEntity, page)
	wantAll(t, "policy refused", text, `"99999" is geen aantal dagen van 0 tot 366.`, `"x" is geen e-mailadres.`)
	resp, page = admin.postForm("/admin/alert-channels", url.Values{"kind": {"webhook"}, "name": {""}, "url": {"http://hooks.example.com/x"}, "secret": {"short"}})
	text = e.check(t, "channel refused", resp.StatusCode, http.StatusUnprocessableEntity, page)
	wantAll(t, "channel refused", text, "Geef het kanaal een naam", "Het webhookadres moet beginnen met https://", "Vul een ondertekeningsgeheim")
	resp, page = admin.postForm("/admin/alert-policy", url.Values{"thresholds": {"7"}, "recipients": {""}})
	text = e.check(t, "policy saved", resp.StatusCode, 200, page)
	wantAll(t, "policy saved", text, "Meldingsbeleid opgeslagen", "In het portal ingesteld door", "Meldingen gaan uit 7 dagen voordat iets verloopt,")
	resp, page = admin.postForm("/admin/alert-mail-test", url.Values{"to": {"not an address"}})
	text = e.check(t, "mail test refused", resp.StatusCode, http.StatusBadRequest, page)
	wantAll(t, "mail test refused", text, "Vul één gewoon e-mailadres in.")
}

// With alerts off, the Alerts page says in Dutch which settings turn them
// on, the settings' names left as they are.
func TestAlertsOffInDutch(t *testing.T) {
	e := newTenantsMarkedEnv(t, testenv.Options{Alerts: handlers.AlertSettings{Thresholds: []int{14}}})
	op := e.dutch(t, "oscar")
	resp, page := op.get(e.Portal.URL + "/alerts")
	text := e.check(t, "Alerts off", resp.StatusCode, 200, page)
	wantAll(t, "Alerts off", text, "Meldingen staan uit", `Stel <code translate="no">PORTAL_SMTP_ADDR</code> en`,
		"om het portal 14 dagen voordat iets verloopt te laten mailen.", "Er was nog geen melding nodig.")
	if strings.Contains(text, `data-testid="alerts-policy-edit"`) {
		t.Error("an operator sees the portal-wide policy form")
	}
	// An admin without PORTAL_SEAL_KEY: the form, and why there are no channels.
	admin := e.dutch(t, "ada")
	resp, page = admin.get(e.Portal.URL + "/alerts")
	text = e.check(t, "Alerts off (admin)", resp.StatusCode, 200, page)
	wantAll(t, "Alerts off (admin)", text, "De drempels en ontvangers voor het hele portal wijzigen", `Kanalen hebben <code translate="no">PORTAL_SEAL_KEY</code> nodig`,
		"Test-e-mail sturen")
	// No tenants yet.
	resp, page = op.get(e.Portal.URL + "/tenants")
	text = e.check(t, "Tenants (none)", resp.StatusCode, 200, page)
	wantAll(t, "Tenants (none)", text, "Nog geen tenants verbonden", "Tenant verbinden")
}
