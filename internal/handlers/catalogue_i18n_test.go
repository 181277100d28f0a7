package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/appreg-portal/portal/internal/catalog"
	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/testenv"
)

// dutchBrowser sends Accept-Language: nl with every request.
type dutchBrowser struct{ next http.RoundTripper }

func (d dutchBrowser) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Accept-Language", "nl-NL,nl;q=0.9,en;q=0.5")
	return d.next.RoundTrip(r)
}

// markedEnv is a portal whose every message is marked, so that a page's text
// that did not come from a catalogue shows up (i18n.Untranslated), and that
// records every message ID missing from a catalogue.
func markedCatalogueEnv(t *testing.T) (*flowEnv, func() []string) {
	var mu sync.Mutex
	var missing []string
	e := newFlowEnvWith(t, testenv.Options{Localizer: func(l i18n.Lang) *i18n.Localizer {
		return i18n.For(l, i18n.Marked(), i18n.OnMissing(func(id string, err error) {
			mu.Lock()
			defer mu.Unlock()
			missing = append(missing, id+": "+err.Error())
		}))
	}})
	return e, func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := missing
		missing = nil
		return out
	}
}

// TestCataloguePagesInDutch renders every catalogue page in Dutch, as an
// operator and as a viewer, with every message marked: nothing on them may
// bypass the catalogues (bar Microsoft's names and texts and the
// blueprints' own words, marked translate="no"), and no message may be
// missing.
func TestCataloguePagesInDutch(t *testing.T) {
	e, missing := markedCatalogueEnv(t)
	op := e.browser()
	op.client.Transport = dutchBrowser{http.DefaultTransport}
	op.signIn("oscar")
	viewer := e.browser()
	viewer.client.Transport = dutchBrowser{http.DefaultTransport}
	viewer.signIn("vera")

	check := func(name, page string, status, wantStatus int) string {
		t.Helper()
		if status != wantStatus {
			t.Errorf("%s: status %d, want %d", name, status, wantStatus)
		}
		if !strings.Contains(page, `<html lang="nl"`) {
			t.Errorf("%s: not served in Dutch", name)
		}
		for _, u := range i18n.Untranslated(page) {
			if u == `<nav aria-label="Main">` {
				continue // the layout's (not the catalogue's); reported to the lead
			}
			t.Errorf("%s: untranslated: %q", name, u)
		}
		for _, m := range missing() {
			t.Errorf("%s: missing message %s", name, m)
		}
		return i18n.Strip(page)
	}
	get := func(b *browser, path string) string {
		t.Helper()
		resp, page := b.get(e.Portal.URL + path)
		return check(path, page, resp.StatusCode, http.StatusOK)
	}

	list := get(op, "/catalogue")
	for _, want := range []string{"<h1>Catalogus</h1>", "hoogste bevoegdheid", "kritiek", "Eigen blauwdruk toevoegen",
		"Exchange Web Services wordt op 1 april 2027 uitgeschakeld", "Laat Exact Globe+, Exact Globe Next"} {
		if !strings.Contains(list, want) {
			t.Errorf("Dutch catalogue lacks %q", want)
		}
	}
	if !strings.Contains(list, " machtiging ·") || !strings.Contains(list, " machtigingen ·") {
		t.Errorf("Dutch catalogue does not count permissions in singular and plural")
	}
	// A blueprint without a Dutch description shows its English one, marked as English.
	if !strings.Contains(list, `translate="no" lang="en">Lets ResourceXpress reach`) {
		t.Errorf("an English-only description is not marked lang=\"en\"")
	}
	if !strings.Contains(list, `translate="no" lang="nl">Laat AFAS Profit`) {
		t.Errorf("the Dutch description of AFAS is not marked lang=\"nl\"")
	}
	get(viewer, "/catalogue")
	noMatch := get(op, "/catalogue?q="+url.QueryEscape("bestaat-niet"))
	if !strings.Contains(noMatch, "Geen blauwdruk past bij “bestaat-niet”.") {
		t.Error("no Dutch 'no match' line")
	}

	for _, bp := range catalog.Builtins() {
		page := get(op, "/catalogue/"+bp.ID)
		get(viewer, "/catalogue/"+bp.ID)
		// The column header carries a soft hyphen, so it can break in a narrow table.
		for _, want := range []string{"Machtigingen", "Overdracht: waar de waarden naartoe gaan", "Beheerders\u00adtoestemming"} {
			if !strings.Contains(page, want) {
				t.Errorf("%s: Dutch page lacks %q", bp.ID, want)
			}
		}
		for _, rp := range bp.ResolvedPermissions() {
			if !strings.Contains(page, `<strong translate="no">`+rp.Name+`</strong>`) {
				t.Errorf("%s: permission name %s not shown as Microsoft writes it, marked translate=\"no\"", bp.ID, rp.Name)
			}
		}
		if bp.UsesEWS() && !strings.Contains(page, "Sinds 1 oktober 2026 blokkeert Exchange Online EWS") {
			t.Errorf("%s: the EWS notice is not in Dutch", bp.ID)
		}
	}
	ews := get(op, "/catalogue/resourcexpress-ews")
	for _, want := range []string{"Kritieke machtigingen", "full_access_as_app (toepassing): kan via Exchange Web Services alles in elk postvak", `<span class="tag danger">kritiek</span>`,
		`optioneel<span translate="no" lang="en">: OAuth for SMTP</span>`} {
		if !strings.Contains(ews, want) {
			t.Errorf("resourcexpress-ews in Dutch lacks %q", want)
		}
	}

	// The form, and a broken blueprint's problems, in Dutch.
	get(op, "/catalogue/new")
	get(op, "/catalogue/new?from=exact-globe-mail")
	bad := strings.Replace(string(catalog.CustomTemplate()), "id: my-product", "id: my-product\nid_typo: x", 1)
	bad = strings.Replace(bad, "name: Mail.Send", "name: Mail.Sendd", 1)
	resp, page := op.postForm("/catalogue", url.Values{"source": {bad}})
	errs := check("POST /catalogue (bad)", page, resp.StatusCode, http.StatusUnprocessableEntity)
	for _, want := range []string{"Deze blauwdruk heeft 2 problemen", "Regel 7", `onbekend veld &#34;id_typo&#34;`, "onbekende Microsoft Graph-machtiging &#34;Mail.Sendd&#34; (application) (bedoel je &#34;Mail.Send&#34;?)"} {
		if !strings.Contains(errs, want) {
			t.Errorf("Dutch problems lack %q:\n%.4000s", want, errs)
		}
	}
	resp, page = op.postForm("/catalogue", url.Values{"source": {" "}})
	if empty := check("POST /catalogue (empty)", page, resp.StatusCode, http.StatusUnprocessableEntity); !strings.Contains(empty, "Plak een blauwdruk of kies een bestand.") {
		t.Error("no Dutch 'paste or choose'")
	}

	// A custom blueprint: saved (flash), its page, and a duplicate.
	good := strings.Replace(string(catalog.CustomTemplate()), "id: my-product", "id: contoso-crm", 1)
	resp, page = op.postForm("/catalogue", url.Values{"source": {good}})
	saved := check("POST /catalogue (good)", page, resp.StatusCode, http.StatusOK)
	for _, want := range []string{"Blauwdruk opgeslagen:", "Eigen blauwdruk toegevoegd door", "Deze eigen blauwdruk verwijderen…"} {
		if !strings.Contains(saved, want) {
			t.Errorf("saved custom blueprint page lacks %q", want)
		}
	}
	resp, page = op.postForm("/catalogue", url.Values{"source": {good}})
	if dup := check("POST /catalogue (duplicate)", page, resp.StatusCode, http.StatusConflict); !strings.Contains(dup, "er bestaat al een eigen blauwdruk met id") {
		t.Error("no Dutch duplicate-ID problem")
	}
	list = get(op, "/catalogue")
	if !strings.Contains(list, `<span class="tag">eigen</span>`) {
		t.Error("the custom blueprint's card is not tagged in Dutch")
	}
	// The refusal to delete a built-in, on the shared error page (whose own
	// words are the layout's business: only the catalogue's message is
	// checked here).
	resp, page = op.postForm("/catalogue/exact-globe-mail/delete", url.Values{})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, i18n.MarkStart+"Ingebouwde blauwdrukken kunnen niet worden verwijderd."+i18n.MarkEnd) {
		t.Errorf("delete built-in = %d, without the Dutch refusal from the catalogue", resp.StatusCode)
	}
	for _, m := range missing() {
		t.Errorf("delete built-in: missing message %s", m)
	}
	resp, page = op.postForm("/catalogue/contoso-crm/delete", url.Values{})
	if deleted := check("POST delete", page, resp.StatusCode, http.StatusOK); !strings.Contains(deleted, "Eigen blauwdruk contoso-crm verwijderd.") {
		t.Error("no Dutch flash after delete")
	}
}
