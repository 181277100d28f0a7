package i18n

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

func TestCataloguesLoad(t *testing.T) {
	if err := Check(); err != nil {
		t.Fatal(err)
	}
	if len(IDs(EN)) < 20 || len(IDs(NL)) < 20 {
		t.Fatalf("catalogues hold %d English and %d Dutch messages", len(IDs(EN)), len(IDs(NL)))
	}
}

// rawMessages reads a language's catalogues as written: ID to the forms
// ("other" for a plain string).
func rawMessages(t *testing.T, l Lang) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	files, err := fs.Glob(locales, "locales/"+string(l)+"/*.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		var raw map[string]any
		buf, _ := locales.ReadFile(f)
		if err := toml.Unmarshal(buf, &raw); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for id, v := range raw {
			switch v := v.(type) {
			case string:
				out[id] = map[string]string{"other": v}
			case map[string]any:
				forms := map[string]string{}
				for k, s := range v {
					str, ok := s.(string)
					if !ok {
						t.Errorf("%s: %s.%s is not text; nest no tables, write IDs as quoted keys", f, id, k)
					}
					forms[k] = str
				}
				out[id] = forms
			default:
				t.Errorf("%s: %s is neither text nor a table of plural forms", f, id)
			}
		}
	}
	return out
}

var field = regexp.MustCompile(`\{\{\s*\.(\w+)\s*\}\}`)

func fields(s string) []string {
	var out []string
	for _, m := range field.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	sort.Strings(out)
	return out
}

// Both languages define the same messages, with the same fields, and each
// plural message has the forms its language needs.
func TestLanguagesAgree(t *testing.T) {
	en, nl := rawMessages(t, EN), rawMessages(t, NL)
	for id, forms := range en {
		nlForms, ok := nl[id]
		if !ok {
			t.Errorf("%s: in English, missing in Dutch", id)
			continue
		}
		if _, plural := forms["one"]; plural {
			for _, f := range []string{"one", "other"} {
				if forms[f] == "" || nlForms[f] == "" {
					t.Errorf("%s: a plural message needs %q in both languages", id, f)
				}
			}
		}
		for form, text := range forms {
			if form == "description" {
				continue
			}
			if got, want := strings.Join(fields(nlForms[form]), ","), strings.Join(fields(text), ","); got != want && !(form == "one" && got == strings.Join(fields(nlForms["other"]), ",")) {
				t.Errorf("%s (%s): Dutch uses fields [%s], English [%s]", id, form, got, want)
			}
		}
	}
	for id := range nl {
		if _, ok := en[id]; !ok {
			t.Errorf("%s: in Dutch, missing in English", id)
		}
	}
}

// Every message ID written in the portal's source exists in both languages.
// IDs built at run time (a prefix plus a code) are checked by the page
// tests, which fail on any message missing when a page renders.
func TestMessagesUsedAreDefined(t *testing.T) {
	root := filepath.Join("..", "..")
	use := regexp.MustCompile(`\b(?:T|N|errBadRequest|errForbidden|errUnprocessable|Tf)\((?:ctx|r\.Context\(\)|[\w.]+(?:\(\))?),\s*"([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)"|\.(?:T|N)\("([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)"|\berr(?:BadRequest|Forbidden)\("([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)"`)
	seen := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != root || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || strings.HasSuffix(path, "_templ.go") || strings.HasSuffix(path, "_test.go") || !(strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".templ")) {
			return nil
		}
		buf, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range use.FindAllStringSubmatch(string(buf), -1) {
			id := m[1] + m[2] + m[3]
			seen++
			for _, l := range Langs {
				if !Has(l, id) {
					t.Errorf("%s: message %q is used but not defined in %s", path, id, l)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 20 {
		t.Fatalf("found only %d message IDs in the source; is the pattern still right?", seen)
	}
}

func TestPluralsAndNumbers(t *testing.T) {
	en, nl := For(EN), For(NL)
	cases := []struct {
		l    *Localizer
		n    int
		want string
	}{
		{en, 1, "1 secret"}, {en, 2, "2 secrets"}, {en, 0, "0 secrets"},
		{nl, 1, "1 geheim"}, {nl, 2, "2 geheimen"}, {nl, 200000, "200.000 geheimen"},
		{en, 200000, "200,000 secrets"},
	}
	for _, c := range cases {
		if got := c.l.N("count.secrets", c.n); got != c.want {
			t.Errorf("%s N(count.secrets, %d) = %q, want %q", c.l.Lang(), c.n, got, c.want)
		}
	}
	if got := nl.Num(1234); got != "1234" {
		t.Errorf("Num(1234) = %q", got)
	}
	if got := en.Num(-1234567); got != "-1,234,567" {
		t.Errorf("Num(-1234567) = %q", got)
	}
}

func TestDates(t *testing.T) {
	d := time.Date(2026, 3, 7, 14, 5, 0, 0, time.UTC)
	if got := For(NL).Date(d); got != "7 maart 2026" {
		t.Errorf("Dutch date %q", got)
	}
	if got := For(EN).Date(d); got != "7 March 2026" {
		t.Errorf("English date %q", got)
	}
	if got := For(NL).DateTime(d); got != "7 mrt 2026 14:05 UTC" {
		t.Errorf("Dutch date-time %q", got)
	}
	if got := For(NL).WeekdayDateTime(d); got != "za 7 mrt 2026 14:05 UTC" {
		t.Errorf("Dutch weekday %q", got)
	}
	if got := For(EN).Month(d); got != "Mar 2026" {
		t.Errorf("English month %q", got)
	}
}

func TestMatch(t *testing.T) {
	for header, want := range map[string]Lang{
		"":                        EN,
		"nl-NL,nl;q=0.9,en;q=0.8": NL,
		"nl-BE":                   NL,
		"en-GB,en;q=0.9,nl;q=0.8": EN,
		"de-DE,de;q=0.9":          EN,
		"fr;q=0.9, nl;q=0.8":      NL,
		"*":                       EN,
		"garbage;;;q=,":           EN,
	} {
		if got := Match(header); got != want {
			t.Errorf("Match(%q) = %s, want %s", header, got, want)
		}
	}
}

func TestMissingMessagesAreReportedAndFallBack(t *testing.T) {
	var missing []string
	l := For(NL, OnMissing(func(id string, err error) { missing = append(missing, id) }))
	if got := l.T("no.such.message"); got != "no.such.message" {
		t.Errorf("missing message shows %q", got)
	}
	// A field the message needs but was not given is an error, not "<no value>".
	got := l.T("error.role_forbidden")
	if strings.Contains(got, "<no value>") {
		t.Errorf("missing field printed: %q", got)
	}
	if len(missing) != 2 {
		t.Errorf("reported %v, want both", missing)
	}
	if For(NL).T("layout.sign_out") != "Afmelden" || For(EN).T("layout.sign_out") != "Sign out" {
		t.Error("plain messages")
	}
}

func TestContextDefaultsToEnglish(t *testing.T) {
	if got := T(context.Background(), "layout.sign_in"); got != "Sign in" {
		t.Errorf("no Localizer in context: %q", got)
	}
	ctx := WithLocalizer(context.Background(), For(NL))
	if got := T(ctx, "layout.sign_in"); got != "Aanmelden" {
		t.Errorf("Dutch context: %q", got)
	}
}

func TestUntranslated(t *testing.T) {
	m := For(NL, Marked())
	page := `<html><head><title>` + m.T("nav.tenants") + `</title></head><body>
		<h1>` + m.T("nav.dashboard") + `</h1><p>12 / 30 — 4%</p>
		<p translate="no">Fabrikam <b>Ltd</b></p>
		<button title="Scan now">` + m.T("layout.menu") + `</button>
		<input type="submit" value="Save"><input name="q" value="free text">
		<script>var english = "text";</script>
		<p>Left in English</p></body></html>`
	got := Untranslated(page)
	want := []string{`<button title="Scan now">`, `<input value="Save">`, "Left in English"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Untranslated = %q, want %q", got, want)
	}
}
