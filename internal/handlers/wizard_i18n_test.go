package handlers_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/catalog"
	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/internal/testenv"
)

// acceptLanguage sends every request of a browser with an Accept-Language.
type acceptLanguage struct {
	lang string
	next http.RoundTripper
}

func (a acceptLanguage) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Accept-Language", a.lang)
	return a.next.RoundTrip(r)
}

// markedEnv is a portal whose every message is marked, so a page can be
// checked for text that bypassed the catalogues; missing lists message IDs
// asked for but not defined.
type markedEnv struct {
	*flowEnv
	mu      sync.Mutex
	missing []string
}

func newMarkedEnv(t *testing.T) *markedEnv {
	m := &markedEnv{}
	m.flowEnv = newFlowEnvWith(t, testenv.Options{Localizer: func(l i18n.Lang) *i18n.Localizer {
		return i18n.For(l, i18n.Marked(), i18n.OnMissing(func(id string, err error) {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.missing = append(m.missing, id+": "+err.Error())
		}))
	}})
	return m
}

// dutchBrowser is a browser that asks for Dutch.
func (m *markedEnv) dutchBrowser() *browser {
	b := m.browser()
	b.client.Transport = acceptLanguage{lang: "nl-NL,nl;q=0.9,en;q=0.5", next: http.DefaultTransport}
	return b
}

// checkDutch fails on text of a page that did not come from a catalogue
// (apart from foreign, the text of other areas named by the caller), on any
// message missing, and on each Dutch phrase the page lacks.
func (m *markedEnv) checkDutch(t *testing.T, name, page string, foreign []string, want ...string) {
	t.Helper()
	if !strings.Contains(page, `<html lang="nl"`) {
		t.Errorf("%s: not served in Dutch", name)
	}
	var left []string
	for _, s := range i18n.Untranslated(page) {
		if !slices.ContainsFunc(append(foreign, layoutText...), func(f string) bool { return strings.HasPrefix(s, f) }) {
			left = append(left, s)
		}
	}
	if len(left) > 0 {
		t.Errorf("%s: text outside the catalogues:\n  %s", name, strings.Join(left, "\n  "))
	}
	m.mu.Lock()
	missing := m.missing
	m.missing = nil
	m.mu.Unlock()
	if len(missing) > 0 {
		t.Errorf("%s: messages missing:\n  %s", name, strings.Join(missing, "\n  "))
	}
	plain := pageText(page)
	for _, w := range want {
		if !strings.Contains(plain, w) {
			t.Errorf("%s: lacks %q", name, w)
		}
	}
}

// layoutText is text of the layout (another area's) still outside the catalogues.
var layoutText = []string{`<nav aria-label="Main">`}

// catalogueText is text internal/catalog words for the review and finished
// pages (the EWS notice, the critical-permission warning): another area's,
// in English until the catalogue is translated.
var catalogueText = []string{"Allow the app to use Exchange Web Services", "This integration uses Exchange Web Services",
	"⚠ Critical permissions", "Grant them only if the vendor truly needs them"}

// permissionSummaries are the catalogue's explanations of a blueprint's
// permissions: internal/catalog words them (in English until it offers a
// localized lookup), so they are another area's text on the review page.
func permissionSummaries(t *testing.T, id string) []string {
	t.Helper()
	bp, ok := catalog.Builtin(id)
	if !ok {
		t.Fatalf("no builtin blueprint %s", id)
	}
	perms, err := bp.SelectPermissions(nil)
	must(t, err)
	var out []string
	for _, rp := range perms {
		out = append(out, rp.Permission.Summary)
	}
	return out
}

// authorizeURL is where the run's "Sign in to the tenant" sends the browser.
func authorizeURL(t *testing.T, e *markedEnv, b *browser, runPath string) string {
	t.Helper()
	stop := *b.client
	stop.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, _ := http.NewRequest("POST", e.Portal.URL+runPath+"/signin", nil)
	req.Header.Set("Origin", e.Portal.URL)
	r, err := stop.Do(req)
	must(t, err)
	r.Body.Close()
	authorize := r.Header.Get("Location")
	if r.StatusCode != http.StatusSeeOther || authorize == "" {
		t.Fatalf("sign-in to the tenant: %d %q", r.StatusCode, authorize)
	}
	return authorize
}

// signInToTenant signs in to the run's tenant as user (the emulator signs
// in by login_hint) and returns the review page.
func signInToTenant(t *testing.T, e *markedEnv, b *browser, runPath, user string) string {
	t.Helper()
	resp, page := b.get(authorizeURL(t, e, b, runPath) + "&login_hint=" + url.QueryEscape(e.Users[user]))
	if !strings.Contains(page, `data-testid="wizard-review"`) {
		t.Fatalf("after the tenant sign-in: %d at %s\n%.1500s", resp.StatusCode, resp.Request.URL, page)
	}
	return page
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

// pageText is a page's text without its markup and message markers: a name
// marked as data inside a sentence reads as part of it.
func pageText(page string) string { return i18n.Strip(tagRE.ReplaceAllString(page, "")) }

var shareLinkRE = regexp.MustCompile(`data-testid="share-link"[^>]*>([^<]+)<`)

// The whole wizard in Dutch: start page and its field errors, sign-in,
// review, the finished page with the secret, the one-time share link, the
// registrations list, the drift check, the admin-consent return, and
// tracking an app made by hand with its drift findings. Every page is
// rendered with marked messages: nothing outside the catalogues (but the
// named text of other areas), no message missing, and Dutch words and
// plurals where they belong.
func TestWizardPagesInDutch(t *testing.T) {
	e := newMarkedEnv(t)
	seedFabrikam(t, e.flowEnv)
	tn := connectFabrikam(t, e.flowEnv)
	op := e.dutchBrowser()
	op.signIn("oscar")
	const bp = "exact-synergy-calendar"

	_, page := op.get(e.Portal.URL + "/catalogue/" + bp + "/register?tenant=" + e.Other)
	e.checkDutch(t, "start", page, nil, "registreren", "Je eigen tenant (", "Stap 1 van 4", "Geldigheidsduur van het clientgeheim", "1 dag", "7 dagen", "Volgende: aanmelden bij de tenant")

	resp, page := op.postForm("/registrations", url.Values{"blueprint": {bp}, "tenant": {e.Other}, "server_name": {"erp.fabrikam.example"}, "secret_months": {"zes"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("bad months: %d, want 422", resp.StatusCode)
	}
	e.checkDutch(t, "start with errors", page, nil, "Enkele waarden hebben je aandacht nodig.", "Voer een heel aantal maanden in.")

	resp, page = op.postForm("/registrations", url.Values{"blueprint": {bp}, "tenant": {e.Other}, "server_name": {"erp.fabrikam.example"},
		"secret_months": {"6"}, "share": {"on"}, "share_days": {"2"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `data-testid="wizard-signin"`) {
		t.Fatalf("good form: %d", resp.StatusCode)
	}
	runPath := resp.Request.URL.Path
	runs, err := e.Store.ListRuns(context.Background(), e.Other, 1)
	must(t, err)
	// The run's pages are titled with the app's name: data, which <title> cannot mark.
	title := []string{runs[0].DisplayName + " · "}
	e.checkDutch(t, "sign-in step", page, title, "Wacht op aanmelding bij de tenant", "alleen voor deze taak", "Aanmelden bij")

	page = signInToTenant(t, e, op, runPath, "fiona")
	e.checkDutch(t, "review", page, slices.Concat(title, catalogueText, permissionSummaries(t, bp)), "Aangemeld als", "Dit wordt precies zo geschreven:",
		"6 maanden geldig, tot", "Omleidings-URI", "Wie zich kan aanmelden", "App-registratie maken", ", toepassing", "kritiek", "jou (",
		"(Globale beheerder). Dit wordt") // Fiona's Entra role as the Dutch admin center names it

	resp, page = op.postForm(runPath+"/apply", url.Values{})
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `data-testid="secret-value"`) {
		t.Fatalf("apply: %d\n%.2000s", resp.StatusCode, page)
	}
	if !strings.Contains(page, `data-testid="secret-value" translate="no"`) && !strings.Contains(page, `translate="no" data-testid="secret-value"`) {
		// The attribute order is the template's; what matters is that the secret is data.
		if m := regexp.MustCompile(`<code[^>]*data-testid="secret-value"[^>]*>`).FindString(page); !strings.Contains(m, `translate="no"`) {
			t.Errorf("the secret is not marked as data: %s", m)
		}
	}
	e.checkDutch(t, "finished", page, slices.Concat(title, catalogueText), "is klaar", "Eén keer getoond.", "Eenmalige link voor de klant", "Overdracht",
		"Toepassings-id (client)", "Overdrachtsblad afdrukken", "De app-registratie “", "klaar")
	m := shareLinkRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the finished page has no share link")
	}
	link := strings.ReplaceAll(m[1], "&amp;", "&")

	// The run page later: the steps are worded again from their messages.
	_, page = op.get(e.Portal.URL + runPath)
	e.checkDutch(t, "run page", page, slices.Concat(title, catalogueText), "De toekenningen teruglezen om ze te controleren", "Een clientgeheim toevoegen dat 6 maanden geldig is",
		"Eenmalige deellinks", "nog niet geopend", "Geheimen en certificaten")

	// The same blueprint again in the same tenant: the review says it updates the app.
	resp, _ = op.postForm("/registrations", url.Values{"blueprint": {bp}, "tenant": {e.Other}, "server_name": {"erp.fabrikam.example"}, "secret_months": {"1"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("second run: %d", resp.StatusCode)
	}
	page = signInToTenant(t, e, op, resp.Request.URL.Path, "fiona")
	e.checkDutch(t, "review of an update", page, slices.Concat([]string{runs[0].DisplayName + " · "}, catalogueText, permissionSummaries(t, bp)),
		"Deze blauwdruk is al geregistreerd in", "er komt nooit een tweede app. 1 bestaand geheim blijft bestaan tot je het verwijdert.",
		"1 maand geldig, tot", "App-registratie bijwerken")

	// The customer's one-time link, opened without an account.
	customer := e.dutchBrowser()
	_, page = customer.get(link)
	e.checkDutch(t, "share link", page, nil, "Een clientgeheim voor", "één keer", "Geheim tonen")
	req, _ := http.NewRequest("POST", link, nil)
	req.Header.Set("Origin", e.Portal.URL)
	r, err := customer.client.Do(req)
	must(t, err)
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	e.checkDutch(t, "share reveal", string(body), nil, "Kopieer het nu naar het product.", "Geldig tot")
	_, page = customer.get(link)
	e.checkDutch(t, "share used", page, nil, "Deze link is al geopend op")

	_, page = op.get(e.Portal.URL + "/registrations")
	e.checkDutch(t, "registrations", page, nil, "Registraties", "App-registraties die het portal heeft gemaakt, in elke tenant.",
		"Recente uitvoeringen van de wizard", "Klaar")
	_, page = op.get(e.Portal.URL + "/registrations?tenant=" + e.Other)
	e.checkDutch(t, "registrations of a tenant", page, nil, "Alle tenants")

	_, page = op.get(e.Portal.URL + runPath + "/drift")
	e.checkDutch(t, "drift of the registered app", page, nil, "Afwijkingen en hygiëne", "uit de tenant gelezen op")

	_, page = customer.get(e.Portal.URL + "/registrations/consented?state=nothing")
	e.checkDutch(t, "consent return", page, nil, "Toestemming niet voltooid", "Er is niets vastgelegd.")

	// An app made by hand, tracked with a blueprint: its drift findings in Dutch.
	var cred store.Credential
	for deadline := time.Now().Add(10 * time.Second); cred.ID == 0; time.Sleep(100 * time.Millisecond) {
		creds, err := e.Store.ListCredentials(context.Background(), store.CredentialFilter{TenantID: tn.ID})
		must(t, err)
		for _, c := range creds {
			if c.DisplayName == "globe 2026" {
				cred = c
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the first scan did not find the Exact Globe+ secret")
		}
	}
	credID := strconv.FormatInt(cred.ID, 10)
	_, page = op.get(e.Portal.URL + "/adopt?credential=" + credID + "&blueprint=exact-globe-mail")
	e.checkDutch(t, "adopt", page, nil, "volgen met een blauwdruk", "Welk product is het?", "Volgen en op afwijkingen controleren")
	resp, page = op.postForm("/adopt", url.Values{"credential": {credID}, "blueprint": {"exact-globe-mail"}, "sender_mailbox": {"invoices@fabrikam.example"}})
	if resp.StatusCode != http.StatusOK || !strings.HasSuffix(resp.Request.URL.Path, "/drift") {
		t.Fatalf("adopt: %d at %s", resp.StatusCode, resp.Request.URL.Path)
	}
	e.checkDutch(t, "drift of a tracked app", page, nil, "Mail.Send (toepassing) ontbreekt", "Verlopen: globe 2025",
		"Verloopt binnen 30 dagen: globe 2026", "Geen eigenaren", "Het controleren waard", "Bereikt elk postvak, tenzij beperkt",
		"Microsoft Entra-beheercentrum", "(machtigingen, hoog)")
	for _, data := range []string{`<span translate="no">Mail.Send</span> (toepassing) ontbreekt`, `Verlopen: <span translate="no">globe 2025</span>`} {
		if !strings.Contains(i18n.Strip(page), data) {
			t.Errorf("drift of a tracked app: the name in a finding is not marked as data (%s)", data)
		}
	}
}

var consentLinkInPageRE = regexp.MustCompile(`data-testid="wizard-consent-link"[^>]*>([^<]+)<`)

// The wizard's other paths in Dutch: a declined sign-in (its reason kept as
// a message and worded on the run page), a Cloud Application Administrator
// who leaves the Microsoft Graph permission to a Global Administrator's
// consent link, the consent return page, and the run once consent is read
// back.
func TestWizardConsentInDutch(t *testing.T) {
	e := newMarkedEnv(t)
	connectFabrikam(t, e.flowEnv)
	op := e.dutchBrowser()
	op.signIn("oscar")
	const bp = "exact-globe-mail"
	resp, _ := op.postForm("/registrations", url.Values{"blueprint": {bp}, "tenant": {e.Other}, "sender_mailbox": {"invoices@fabrikam.example"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("start: %d", resp.StatusCode)
	}
	runPath := resp.Request.URL.Path
	runs, err := e.Store.ListRuns(context.Background(), e.Other, 1)
	must(t, err)
	title := []string{runs[0].DisplayName + " · "}

	// The administrator declines: Entra answers access_denied.
	authz, err := url.Parse(authorizeURL(t, e, op, runPath))
	must(t, err)
	resp, page := op.get(e.Portal.URL + "/registrations/callback?error=access_denied&state=" + url.QueryEscape(authz.Query().Get("state")))
	if resp.Request.URL.Path != runPath || !strings.Contains(page, `data-testid="run-error"`) {
		t.Fatalf("declined sign-in: %d at %s", resp.StatusCode, resp.Request.URL.Path)
	}
	e.checkDutch(t, "declined sign-in", page, title, "De aanmelding is geannuleerd of de machtigingen zijn geweigerd. Er is niets gewijzigd")
	if run, err := e.Store.GetRun(context.Background(), runs[0].ID); err != nil || !strings.HasPrefix(run.Error, `{"id":"wizard.signin_declined"`) {
		t.Errorf("the run's error is kept as %q (%v), want the message", run.Error, err)
	}

	page = signInToTenant(t, e, op, runPath, "frank")
	foreign := slices.Concat(title, catalogueText, permissionSummaries(t, bp))
	e.checkDutch(t, "review as a Cloud Application Administrator", page, foreign,
		"een Globale beheerder, via de toestemmingslink", "het terugkeeradres van het portal")

	resp, page = op.postForm(runPath+"/apply", url.Values{})
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `data-testid="consent-needed"`) {
		t.Fatalf("apply: %d\n%.1500s", resp.StatusCode, page)
	}
	e.checkDutch(t, "finished, waiting for consent", page, foreign, "Een Globale beheerder moet nog toestemming geven",
		"Stuur die deze link", "heeft toestemming van een Globale beheerder nodig")
	m := consentLinkInPageRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no consent link")
	}
	link := strings.ReplaceAll(m[1], "&amp;", "&")

	resp, page = op.postForm(runPath+"/check", url.Values{})
	if resp.Request.URL.Path != runPath {
		t.Errorf("check again leads to %s", resp.Request.URL.Path)
	}
	e.checkDutch(t, "checked before consent", page, foreign, "Opnieuw controleren", "Wacht op beheerderstoestemming")

	admin := e.dutchBrowser()
	_, page = admin.get(link + "&login_hint=" + url.QueryEscape(e.Users["fiona"]))
	e.checkDutch(t, "consent return", page, nil, "Dank je", "is vastgelegd en het portal heeft de toekenningen gecontroleerd")

	_, page = op.get(e.Portal.URL + runPath)
	e.checkDutch(t, "run after consent", page, foreign, "Elke machtiging is verleend: het portal heeft de toekenningen teruggelezen op")
	_, page = op.get(e.Portal.URL + "/registrations")
	e.checkDutch(t, "registrations after consent", page, nil, "Alle machtigingen verleend (gecontroleerd)", "gecontroleerd ")
}
