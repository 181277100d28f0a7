package handlers_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/handlers"
	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/mailtest"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/internal/testenv"
)

// missingIDs collects the message IDs a marked portal asked for and did
// not find; handlers run concurrently, hence the lock.
type missingIDs struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (m *missingIDs) add(id string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ids[id+" ("+err.Error()+")"] = true
}

func (m *missingIDs) list() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.ids))
	for id := range m.ids {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// newMarkedEnv is a portal whose every message is marked (i18n.Marked), so
// a page's text outside the markers and outside translate="no" is text that
// bypassed the catalogues; missing IDs are collected. It has `portal dev`'s
// Outbox, for that page too.
func newMarkedDashboardEnv(t *testing.T) (*flowEnv, *missingIDs) {
	t.Helper()
	missing := &missingIDs{ids: map[string]bool{}}
	mb := mailtest.Start(t, "127.0.0.1:0")
	outbox, clock := alerts.NewOutbox(50), &alerts.Clock{}
	e := newFlowEnvWith(t, testenv.Options{
		Localizer: func(l i18n.Lang) *i18n.Localizer { return i18n.For(l, i18n.Marked(), i18n.OnMissing(missing.add)) },
		Alerts:    handlers.AlertSettings{Enabled: true, From: "portal@contoso.example", Recipients: []string{"ops@contoso.example"}, Thresholds: []int{30, 0}},
		Dev: func(st *store.Store) *handlers.DevTools {
			a := alerts.New(alerts.Config{SMTP: alerts.SMTP{Addr: mb.Addr, From: "portal@contoso.example", TLS: "none"}, Recipients: []string{"ops@contoso.example"},
				Thresholds: []int{30, 0}, PortalURL: "https://portal.contoso.example", Now: clock.Now, Outbox: outbox}, st)
			return &handlers.DevTools{Outbox: outbox, Clock: clock, RunAlerts: a.Run}
		}})
	return e, missing
}

// dutch makes the browser choose Dutch with the header's language switch
// (for a signed-in person that is remembered with their user).
func (b *browser) dutch() {
	b.t.Helper()
	if resp, _ := b.postForm("/language", url.Values{"lang": {"nl"}, "return_to": {"/signed-out"}}); resp.StatusCode != http.StatusOK {
		b.t.Fatalf("choosing Dutch: %d", resp.StatusCode)
	}
}

// checkDutch fails on text of page (a whole page or a fragment) that did
// not come from a catalogue, and on a whole page not in Dutch; it returns
// the page without markers, for its words to be checked.
func checkDutch(t *testing.T, name, page string) string {
	t.Helper()
	var left []string
	for _, u := range i18n.Untranslated(page) {
		if !layoutGaps[u] {
			left = append(left, u)
		}
	}
	if len(left) > 0 {
		t.Errorf("%s: text not from the catalogues: %q", name, left)
	}
	if strings.Contains(page, "<html") && !strings.Contains(page, `<html lang="nl"`) {
		t.Errorf("%s is not in Dutch", name)
	}
	return html.UnescapeString(i18n.Strip(page))
}

// layoutGaps are the layout's own (web/templates/layout.templ, not these
// pages'): its navigation landmarks' labels, not yet from the catalogue.
var layoutGaps = map[string]bool{`<nav aria-label="Main">`: true, `<nav aria-label="Admin">`: true}

// TestDashboardPagesInDutch renders the dashboard (empty and filled, and its
// list fragment), a credential's page with its alerts section and form
// errors, the calendar page and both calendars, the Outbox, the admin pages,
// the error page and fragment, and the sign-in refused, no-role and
// signed-out pages in Dutch with every message marked. Nothing on them may
// bypass the catalogues, no message may be missing, and plurals and dates
// come out in Dutch.
func TestDashboardPagesInDutch(t *testing.T) {
	e, missing := newMarkedDashboardEnv(t)
	ctx := context.Background()

	op := e.browser()
	op.signIn("oscar")
	op.dutch()
	_, page := op.get(e.Portal.URL + "/")
	plain := checkDutch(t, "empty dashboard", page)
	for _, want := range []string{"Nog niets om te volgen", "Gevolgd (nog geen tenant verbonden)", "Tenant verbinden"} {
		if !strings.Contains(plain, want) {
			t.Errorf("empty dashboard lacks %q", want)
		}
	}

	// Two tenants: Fabrikam with a secret expiring tomorrow, one in 20 days and one expired 3 days ago;
	// Contoso with one in 100 days. All password credentials of app registrations, which an operator may
	// rotate (the reasons not to rotate are the rotation page's words).
	now := time.Now()
	fab, err := e.Store.CreateTenant(ctx, store.Tenant{EntraTenantID: "fab41c4e-2d3b-4a5c-8e6f-7a8b9c0d1e2f", DisplayName: "Fabrikam", Status: "connected"}, store.AuditEvent{Action: "tenant.create"})
	must(t, err)
	con, err := e.Store.CreateTenant(ctx, store.Tenant{EntraTenantID: "c0750000-2d3b-4a5c-8e6f-7a8b9c0d1e2f", DisplayName: "Contoso Klant", Status: "connected"}, store.AuditEvent{Action: "tenant.create"})
	must(t, err)
	cred := func(n int, name string, ends time.Time) store.Credential {
		return store.Credential{OwnerKind: "application", OwnerObjectID: "0a0a0a0a-0000-4000-8000-00000000000" + strconv.Itoa(n), OwnerAppID: "a11ce000-0000-4000-8000-00000000000" + strconv.Itoa(n),
			OwnerName: name, KeyID: "c0000000-0000-4000-8000-00000000000" + strconv.Itoa(n), Kind: "password", DisplayName: "prod", Hint: "Ab" + strconv.Itoa(n), EndsAt: ends}
	}
	_, err = e.Store.RecordScan(ctx, fab.ID, []store.Credential{
		cred(1, "AFAS Profit", now.Add(26*time.Hour)), cred(2, "Exact Online", now.Add(20*24*time.Hour+time.Hour)), cred(3, "Topdesk", now.Add(-3*24*time.Hour-time.Hour))}, now)
	must(t, err)
	_, err = e.Store.RecordScan(ctx, con.ID, []store.Credential{cred(4, "ResourceXpress", now.Add(100*24*time.Hour+time.Hour))}, now)
	must(t, err)

	_, page = op.get(e.Portal.URL + "/")
	plain = checkDutch(t, "dashboard", page)
	for _, want := range []string{"Verlopen", "Gevolgd in 2 tenants", "4 actieve geheimen en certificaten voldoen aan dit filter", "morgen",
		"over 20 dagen", "3 dagen geleden verlopen", "Clientgeheim", "App-registratie", "Rouleren", "Verloopdatums per maand:"} {
		if !strings.Contains(plain, want) {
			t.Errorf("Dutch dashboard lacks %q", want)
		}
	}
	if !regexp.MustCompile(`\d{1,2} (jan|feb|mrt|apr|mei|jun|jul|aug|sep|okt|nov|dec) \d{4} \d\d:\d\d UTC`).MatchString(plain) {
		t.Error("Dutch dashboard shows no Dutch expiry date")
	}
	// One matching credential: the singular.
	_, page = op.get(e.Portal.URL + "/?tenant=" + strconv.FormatInt(con.ID, 10))
	if plain = checkDutch(t, "dashboard of one tenant", page); !strings.Contains(plain, "1 actief geheim of certificaat voldoet aan dit filter.") ||
		!strings.Contains(plain, "Gevolgd in deze tenant") {
		t.Error("the dashboard of one tenant does not say its one credential in the singular")
	}
	_, frag := op.getWith("/?within=30", map[string]string{"HX-Request": "true", "HX-Target": "credential-list"})
	checkDutch(t, "list fragment", frag)

	// A credential's page, the silence form refused, a snooze set, its flash and history.
	var afasID int64
	must(t, e.Store.Pool().QueryRow(ctx, `SELECT id FROM credentials WHERE owner_name = 'AFAS Profit'`).Scan(&afasID))
	path := "/credentials/" + strconv.FormatInt(afasID, 10)
	_, page = op.get(e.Portal.URL + path)
	if plain = checkDutch(t, "credential page", page); !strings.Contains(plain, "Meldingen over deze referentie gaan uit bij elke drempel.") ||
		!strings.Contains(plain, "(app-registratie) in") {
		t.Error("the credential page is not in Dutch")
	}
	resp, page := op.postForm(path+"/alerts", url.Values{"what": {"snooze"}, "until": {"2001-01-01"}, "reason": {""}})
	if plain = checkDutch(t, "refused silence form", page); resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(plain, "Kies een datum na vandaag.") || !strings.Contains(plain, "Geef aan waarom") {
		t.Errorf("refused silence form = %d, want 422 with Dutch field errors", resp.StatusCode)
	}
	until := now.AddDate(0, 0, 9).UTC()
	_, page = op.postForm(path+"/alerts", url.Values{"what": {"snooze"}, "until": {until.Format(time.DateOnly)}, "reason": {"Leverancier verlengt"}})
	plain = checkDutch(t, "snoozed credential", page)
	wantUntil := i18n.For(i18n.NL).ShortDate(until)
	for _, want := range []string{"Uitgesteld: geen meldingen over deze referentie tot " + wantUntil + ".", "Uitgesteld tot " + wantUntil + " — ingesteld door ",
		"Meldingen stilgezet (bevestigd, uitgesteld of uitgesloten).", "Meldingen hervatten"} {
		if !strings.Contains(plain, want) {
			t.Errorf("snoozed credential page lacks %q", want)
		}
	}
	_, page = op.postForm(path+"/alerts/"+regexp.MustCompile(`/alerts/(\d+)/lift`).FindStringSubmatch(page)[1]+"/lift", nil)
	if plain = checkDutch(t, "silence lifted", page); !strings.Contains(plain, "Meldingen worden hervat bij de volgende meldingsronde.") {
		t.Error("the lifted snooze's flash is not in Dutch")
	}

	// Errors: a page and a fragment.
	resp, page = op.get(e.Portal.URL + "/?within=7")
	if plain = checkDutch(t, "bad filter", page); resp.StatusCode != http.StatusBadRequest || !strings.Contains(plain, "Dat verloopfilter is niet geldig") {
		t.Errorf("bad filter = %d, want 400 in Dutch", resp.StatusCode)
	}
	resp, frag = op.getWith("/credentials/999999", map[string]string{"HX-Request": "true", "HX-Target": "main"})
	if plain = checkDutch(t, "error fragment", frag); resp.StatusCode != http.StatusNotFound || !strings.Contains(plain, "Aanvraag-id") {
		t.Errorf("missing credential fragment = %d, want 404 in Dutch", resp.StatusCode)
	}

	// Requests refused before any page: a form value the portal cannot store, a post from another site.
	resp, page = op.postForm("/calendar/feed", url.Values{"note": {"a\x00b"}})
	if plain = checkDutch(t, "form with a NUL", page); resp.StatusCode != http.StatusBadRequest || !strings.Contains(plain, `Het veld "note" bevat een NUL-teken`) {
		t.Errorf("form with a NUL = %d, want 400 in Dutch", resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", e.Portal.URL+"/calendar/feed", nil)
	req.Header.Set("Origin", "https://evil.example")
	resp, err = op.client.Do(req)
	must(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if plain = checkDutch(t, "cross-origin post", string(body)); resp.StatusCode != http.StatusForbidden || !strings.Contains(plain, "Dit verzoek kwam van een andere site") {
		t.Errorf("cross-origin post = %d, want 403 in Dutch", resp.StatusCode)
	}

	// The calendar page, a download in the request's language, and each person's feed in their own.
	_, page = op.get(e.Portal.URL + "/calendar")
	checkDutch(t, "calendar page", page)
	_, page = op.postForm("/calendar/feed", nil)
	checkDutch(t, "calendar page with a new URL", page)
	opFeed := regexp.MustCompile(`data-testid="calendar-feed-url"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*data-testid="calendar-feed-url"`).FindStringSubmatch(page)
	if opFeed == nil {
		t.Fatal("no subscription URL on the calendar page")
	}
	_, ics := op.get(e.Portal.URL + "/credentials.ics")
	if ics = i18n.Strip(ics); !strings.Contains(ics, "SUMMARY:Clientgeheim verloopt: AFAS Profit (Fabrikam)") || !strings.Contains(ics, "X-WR-CALNAME:Verlopende geheimen") {
		t.Errorf("Dutch calendar download:\n%.600s", ics)
	}
	vera := e.browser()
	vera.signIn("vera")
	_, page = vera.postForm("/calendar/feed", nil)
	veraFeed := regexp.MustCompile(`value="(http[^"]+\.ics)"`).FindStringSubmatch(page)
	if veraFeed == nil {
		t.Fatal("no subscription URL for Vera")
	}
	feed := func(u string) string {
		resp, err := http.Get(u) // a calendar service: no cookie, no Accept-Language
		must(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return i18n.Strip(string(b))
	}
	if got := feed(opFeed[1] + opFeed[2]); !strings.Contains(got, "SUMMARY:Clientgeheim verloopt: AFAS Profit (Fabrikam)") || !strings.Contains(got, "verloopt op") {
		t.Errorf("Oscar chose Dutch; his feed:\n%.600s", got)
	}
	if got := feed(veraFeed[1]); !strings.Contains(got, "SUMMARY:Client secret expires: AFAS Profit (Fabrikam)") {
		t.Errorf("Vera chose no language; her feed is not English:\n%.600s", got)
	}

	// The admin pages, with Oscar's and Vera's sessions to end.
	admin := e.browser()
	admin.signIn("ada")
	admin.dutch()
	for _, p := range []string{"/audit", "/audit?since=gisteren", "/admin/users", "/admin/sessions", "/dev/outbox"} {
		_, page = admin.get(e.Portal.URL + p)
		plain = checkDutch(t, p, page)
		switch p {
		case "/audit":
			if !strings.Contains(plain, "Geslaagd") || !strings.Contains(plain, "Wanneer (UTC)") {
				t.Error("the audit log's outcomes are not in Dutch")
			}
		case "/audit?since=gisteren":
			if !strings.Contains(plain, `"gisteren" is geen datum (gebruik JJJJ-MM-DD).`) {
				t.Error("the audit filter's error is not in Dutch")
			}
		case "/admin/sessions":
			if !strings.Contains(plain, "Sessie beëindigen…") {
				t.Error("the sessions page offers no Dutch End session")
			}
		}
	}
	_, page = admin.postForm("/dev/clock", url.Values{"days": {"1"}})
	if plain = checkDutch(t, "Outbox after +1 day", page); !strings.Contains(plain, "Klok 1 dag vooruitgezet") || !strings.Contains(plain, "1 dag voor op de echte tijd") {
		t.Error("the Outbox's clock is not in Dutch, singular")
	}
	_, page = admin.postForm("/dev/clock", url.Values{"days": {"7"}})
	if plain = checkDutch(t, "Outbox after +7 days", page); !strings.Contains(plain, "Klok 7 dagen vooruitgezet") || !strings.Contains(plain, "+30 dagen, dan uitvoeren") {
		t.Error("the Outbox's clock is not in Dutch, plural")
	}

	// Signed out, by oneself and by an admin; no role; a refused sign-in.
	anon := e.browser()
	anon.dutch()
	for _, p := range []string{"/signed-out", "/signed-out?ended=admin"} {
		_, page = anon.get(e.Portal.URL + p)
		checkDutch(t, p, page)
	}
	_, page = anon.get(e.Portal.URL + "/auth/callback?error=access_denied&state=x")
	if plain = checkDutch(t, "sign-in refused", page); !strings.Contains(plain, "Aanmelding geweigerd") || !strings.Contains(plain, "toestemming is geweigerd") {
		t.Error("the refused sign-in is not in Dutch")
	}
	_, page = anon.get(e.Portal.URL + "/auth/callback?code=x&state=x")
	checkDutch(t, "sign-in refused (state)", page)
	nina := e.browser()
	nina.dutch()
	if plain = checkDutch(t, "no role", nina.signIn("nina")); !strings.Contains(plain, "Je bent aangemeld, maar hebt nog geen toegang") {
		t.Error("the no-role page is not in Dutch")
	}

	if m := missing.list(); len(m) > 0 {
		t.Errorf("messages missing from the catalogues: %q", m)
	}
}

// Every reason internal/auth refuses a sign-in with, and every message ID
// it names for one, has its message in both languages: the refusal page
// shows Refusal.MessageID, "auth.refused."+Reason unless an ID is given.
func TestSignInRefusalsHaveMessages(t *testing.T) {
	reason := regexp.MustCompile(`(?:refuse(?:As)?\(|Reason: )"([a-z_]+)"`)
	id := regexp.MustCompile(`"(auth\.refused\.[a-z_]+)"`)
	var ids []string
	for _, f := range []string{"../auth/auth.go", "../auth/delegated.go", "auth.go"} {
		src, err := os.ReadFile(f)
		must(t, err)
		for _, m := range reason.FindAllStringSubmatch(string(src), -1) {
			ids = append(ids, "auth.refused."+m[1])
		}
		for _, m := range id.FindAllStringSubmatch(string(src), -1) {
			ids = append(ids, m[1])
		}
	}
	if len(ids) < 20 {
		t.Fatalf("found only %d refusals in internal/auth; is the pattern still right?", len(ids))
	}
	for _, id := range ids {
		for _, l := range i18n.Langs {
			if !i18n.Has(l, id) {
				t.Errorf("%s is missing in %s", id, l)
			}
		}
	}
}
