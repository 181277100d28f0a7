package catalog

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/appreg-portal/portal/internal/i18n"
)

// Every curated explanation and every privilege level, type and consent
// word exists in English and Dutch; the English catalogue says exactly what
// the Go table says, and the Dutch one says something else.
func TestCuratedExplanationsInBothLanguages(t *testing.T) {
	if len(curated) < 40 {
		t.Fatalf("only %d curated explanations", len(curated))
	}
	en, nl := i18n.For(i18n.EN), i18n.For(i18n.NL)
	for k, c := range curated {
		id := explanationID(k)
		for _, l := range i18n.Langs {
			if !i18n.Has(l, id) {
				t.Errorf("%s: missing in %s", id, l)
			}
		}
		if got := en.T(id); got != c.sentence {
			t.Errorf("%s: English catalogue says %q, the table %q", id, got, c.sentence)
		}
		if nl.T(id) == c.sentence {
			t.Errorf("%s: the Dutch text is the English one", id)
		}
	}
	for _, lv := range []PrivilegeLevel{PrivilegeLow, PrivilegeMedium, PrivilegeHigh, PrivilegeCritical} {
		for _, l := range i18n.Langs {
			if !i18n.Has(l, "permission.privilege."+string(lv)) {
				t.Errorf("privilege level %s missing in %s", lv, l)
			}
		}
		if PrivilegeIn(en, lv) != string(lv) {
			t.Errorf("English privilege %s reads %q", lv, PrivilegeIn(en, lv))
		}
	}
	for _, c := range []AdminConsent{ConsentRequired, ConsentNotRequired, ConsentCheckTenant} {
		for _, l := range i18n.Langs {
			if !i18n.Has(l, "permission.consent."+string(c)) {
				t.Errorf("consent %s missing in %s", c, l)
			}
		}
	}
	if got := PrivilegeIn(nl, PrivilegeCritical); got != "kritiek" {
		t.Errorf("Dutch critical = %q", got)
	}
	if got := TypeIn(nl, Application); got != "toepassing" {
		t.Errorf("Dutch application = %q", got)
	}
}

// SummaryIn in English is Summary, for every permission in the table
// (curated or Microsoft's text) and for an API without a table; in Dutch a
// curated summary keeps Microsoft's name and explains in Dutch, and one
// without curated words shows Microsoft's description, flagged as such.
func TestSummaryIn(t *testing.T) {
	en, nl := i18n.For(i18n.EN), i18n.For(i18n.NL)
	n := 0
	for _, r := range []Resource{MicrosoftGraph, ExchangeOnline} {
		for _, typ := range []PermissionType{Application, Delegated} {
			for _, p := range Permissions(r, typ) {
				n++
				if got := p.SummaryIn(en); got != p.Summary {
					t.Fatalf("%s %s: SummaryIn(en) = %q, Summary = %q", p.Name, typ, got, p.Summary)
				}
				text, ms := p.ExplanationIn(nl)
				if ms == p.Curated() {
					t.Errorf("%s %s: curated %v, yet Microsoft's text %v", p.Name, typ, p.Curated(), ms)
				}
				if ms && text != strings.TrimSpace(p.Description) && text != p.DisplayName {
					t.Errorf("%s %s: Microsoft's text %q is not the table's", p.Name, typ, text)
				}
			}
		}
	}
	if n < 500 {
		t.Fatalf("only %d permissions in the table", n)
	}
	p, _ := Lookup("Microsoft Graph", "Mail.Send", Application)
	if got, want := p.SummaryIn(nl), "Mail.Send (toepassing): kan e-mail verzenden als elke gebruiker in je organisatie"; got != want {
		t.Errorf("Dutch Mail.Send = %q, want %q", got, want)
	}
	b := &Blueprint{Permissions: []PermissionRequest{{Resource: "00000003-0000-0ff1-ce00-000000000000", Name: "Sites.FullControl.All", Type: Application}}}
	rp := b.ResolvedPermissions()[0]
	if got := rp.SummaryIn(en); got != rp.Permission.Summary {
		t.Errorf("unknown API: SummaryIn(en) = %q, Summary = %q", got, rp.Permission.Summary)
	}
	if got := rp.SummaryIn(nl); !strings.Contains(got, "Sites.FullControl.All (toepassing): een machtiging van API") {
		t.Errorf("unknown API in Dutch = %q", got)
	}
}

// The EWS notice speaks Dutch with Dutch dates; its English text is as
// before, with the blueprint's note at the end only in the English one.
func TestEWSNoticeIn(t *testing.T) {
	b, ok := Builtin("resourcexpress-ews")
	if !ok {
		t.Fatal("no resourcexpress-ews")
	}
	nl := b.EWSNoticeIn(i18n.For(i18n.NL), Values{})
	if nl == nil || !strings.Contains(nl.Text, "Sinds 1 oktober 2026 blokkeert Exchange Online EWS") || !strings.Contains(nl.Text, "Op 1 april 2027") {
		t.Fatalf("Dutch EWS notice = %+v", nl)
	}
	if !strings.Contains(nl.PowerShell, "'<Toepassings-id (client)>'") || nl.Title != "De app Exchange Web Services laten gebruiken (EWSAllowedAppIDs)" {
		t.Errorf("Dutch title/PowerShell: %q / %q", nl.Title, nl.PowerShell)
	}
	en := b.EWSNotice(Values{})
	if !strings.Contains(en.Text, "Since 1 October 2026 Exchange Online blocks EWS") || !strings.Contains(en.Text, "On 1 April 2027 Microsoft switches EWS off") {
		t.Errorf("English EWS notice changed: %q", en.Text)
	}
	if b.EWS != nil && b.EWS.Note != "" {
		if !strings.HasSuffix(en.Text, strings.TrimSpace(b.EWS.Note)) || strings.Contains(nl.Text, strings.TrimSpace(b.EWS.Note)) {
			t.Errorf("the blueprint's note belongs at the end of the English text and apart from the Dutch one")
		}
	}
	if adv := b.HardeningAdviceIn(i18n.For(i18n.NL), Values{ClientID: "11111111-2222-3333-4444-555555555555"}); len(adv) == 0 || adv[0].Title != nl.Title || !strings.Contains(adv[0].PowerShell, "11111111-2222-3333-4444-555555555555") {
		t.Errorf("Dutch hardening advice = %+v", adv)
	}
}

func withSource(t *testing.T, id string, edit func(string) string) ([]byte, string) {
	t.Helper()
	src, ok := BuiltinYAML(id)
	if !ok {
		t.Fatalf("no built-in %s", id)
	}
	s := strings.Replace(string(src), "id: "+id, "id: "+id+"-copy", 1)
	return []byte(edit(s)), s
}

// A blueprint may carry its description per language; pages get the
// reader's language when it is there and the source language otherwise.
func TestDescriptionsPerLanguage(t *testing.T) {
	data, _ := withSource(t, "exact-globe-mail", func(s string) string {
		s = strings.Replace(s, "  date: \"2024-05-15\"\n", "  date: \"2024-05-15\"\n  language: en\n", 1)
		return s
	})
	b, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if b.Descriptions.NL == "" || b.SourceLang() != i18n.EN {
		t.Fatalf("descriptions %+v, source language %s", b.Descriptions, b.SourceLang())
	}
	if text, lang := b.DescriptionIn(i18n.NL); lang != i18n.NL || !strings.HasPrefix(text, "Laat Exact Globe+") {
		t.Errorf("Dutch description = %q (%s)", text, lang)
	}
	if text, lang := b.DescriptionIn(i18n.EN); lang != i18n.EN || text != b.Description {
		t.Errorf("English description = %q (%s)", text, lang)
	}
	// Marshal keeps both.
	out, err := Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(out)
	if err != nil {
		t.Fatalf("marshalled blueprint does not parse: %v\n%s", err, out)
	}
	if back.Descriptions != b.Descriptions || back.Source.Language != "en" {
		t.Errorf("round trip lost descriptions: %+v, language %q", back.Descriptions, back.Source.Language)
	}

	// A Dutch blueprint without an English description: English readers
	// get the Dutch text, marked as Dutch.
	data, _ = withSource(t, "exact-globe-mail", func(s string) string {
		s = strings.Replace(s, "  date: \"2024-05-15\"\n", "  date: \"2024-05-15\"\n  language: nl\n", 1)
		return s
	})
	b, err = Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, lang := b.DescriptionIn(i18n.EN); lang != i18n.NL {
		t.Errorf("English reader of a Dutch blueprint gets language %s", lang)
	}

	// Unknown languages are refused, with line and field.
	for _, tt := range []struct{ edit, field, msg string }{
		{"  nl: >-\n", "descriptions.de", `unknown field "de"`},
		{"language", "source.language", `"de" is not a language of the portal; want en or nl`},
	} {
		data, _ = withSource(t, "exact-globe-mail", func(s string) string {
			if tt.edit == "language" {
				return strings.Replace(s, "  date: \"2024-05-15\"\n", "  date: \"2024-05-15\"\n  language: de\n", 1)
			}
			return strings.Replace(s, tt.edit, "  de: >-\n", 1)
		})
		_, err = Parse(data)
		var verrs ValidationErrors
		if !errors.As(err, &verrs) {
			t.Fatalf("%s: err = %v", tt.field, err)
		}
		found := false
		for _, e := range verrs {
			if e.Field == tt.field && strings.Contains(e.Message, tt.msg) && e.Line > 0 {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: errors %v", tt.field, verrs)
		}
	}

	// The built-in Dutch vendors' blueprints carry both descriptions.
	for _, bp := range Builtins() {
		if bp.Vendor != "Exact" && bp.Vendor != "AFAS" {
			continue
		}
		if text, lang := bp.DescriptionIn(i18n.NL); lang != i18n.NL || text == bp.Description {
			t.Errorf("%s has no Dutch description", bp.ID)
		}
	}
}

// englishOnly compares validation errors by their English text; the
// messages behind them are tested by TestValidationMessagesInDutch.
var englishOnly = cmpopts.IgnoreFields(ValidationError{}, "Msg")

// Every message ID the package names in its source exists in both
// languages: msg("…") and pluralMsg("…") in full, fail(path, "…") and
// d.fail(line, path, "…") under blueprint_error.
func TestValidationMessagesDefined(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	full := regexp.MustCompile(`\b(?:msg|pluralMsg)\("([a-z_.-]+)"[,)]|ID: "([a-z_.-]+)"`)
	short := regexp.MustCompile(`\bfail\((?:[^()"]|"[^"]*")*?, "([a-z_]+)"`)
	seen := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range full.FindAllStringSubmatch(string(src), -1) {
			ids = append(ids, m[1]+m[2])
		}
		for _, m := range short.FindAllStringSubmatch(string(src), -1) {
			ids = append(ids, "blueprint_error."+m[1])
		}
		for _, id := range ids {
			seen++
			for _, l := range i18n.Langs {
				if !i18n.Has(l, id) {
					t.Errorf("%s: message %q is used but not defined in %s", f, id, l)
				}
			}
		}
	}
	for _, id := range controlProblems {
		for _, l := range i18n.Langs {
			if !i18n.Has(l, id) {
				t.Errorf("message %q is not defined in %s", id, l)
			}
		}
	}
	if seen < 90 {
		t.Fatalf("found only %d message IDs; is the pattern still right?", seen)
	}
}

// A blueprint's problems read in Dutch, nested messages included, with no
// message missing; the English ones are unchanged (TestParseBad).
func TestValidationMessagesInDutch(t *testing.T) {
	var missing []string
	nl := i18n.For(i18n.NL, i18n.OnMissing(func(id string, err error) { missing = append(missing, id+": "+err.Error()) }))
	bad := strings.Replace(string(CustomTemplate()), "id: my-product", "id: my-product\nid_typo: x", 1)
	bad = strings.Replace(bad, "name: Mail.Send", "name: Mail.Sendd", 1)
	bad = strings.Replace(bad, "maxLifetimeMonths: 12", "maxLifetimeMonths: 36", 1)
	_, err := ParseCustom([]byte(bad))
	var verrs ValidationErrors
	if !errors.As(err, &verrs) {
		t.Fatalf("err = %v", err)
	}
	var got []string
	for _, e := range verrs {
		if e.Msg.IsZero() {
			t.Errorf("%s: no message ID behind %q", e.Field, e.Message)
		}
		got = append(got, e.Field+": "+e.MessageIn(nl))
	}
	text := strings.Join(got, "\n")
	for _, want := range []string{
		`id_typo: onbekend veld "id_typo"`,
		`onbekende Microsoft Graph-machtiging "Mail.Sendd" (application) (bedoel je "Mail.Send"?)`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("Dutch problems lack %q:\n%s", want, text)
		}
	}
	if len(missing) > 0 {
		t.Errorf("missing messages: %v", missing)
	}

	// Nested messages: a kind of value inside "want …, got …", a redirect
	// problem inside a filled-in URI.
	m := msg("blueprint_error.want_bool", "Got", msg("blueprint_error.kind.text", "Text", quote("yes")))
	if got, want := m.In(nl), `verwacht true of false, kreeg de tekst "yes"`; got != want {
		t.Errorf("nested = %q, want %q", got, want)
	}
	if got, want := m.String(), `want true or false, got the text "yes"`; got != want {
		t.Errorf("nested English = %q, want %q", got, want)
	}
	if got := pluralMsg("blueprint_error.more_problems", 1).String(); got != "and 1 more problem; fix these first" {
		t.Errorf("singular = %q", got)
	}
}

// The wizard's parameter problems speak the reader's language.
func TestValidateParamsIn(t *testing.T) {
	b, _ := Builtin("exact-globe-mail")
	nl := i18n.For(i18n.NL)
	got := b.ValidateParamsIn(nl, map[string]string{"sender_mailbox": "not-an-address", "nope": "x"})
	if got["sender_mailbox"] != `Vul een e-mailadres in zoals "name@example.com".` || got["nope"] != "Deze blauwdruk heeft zo'n parameter niet." {
		t.Errorf("Dutch parameter problems = %q", got)
	}
	en := b.ValidateParams(map[string]string{"sender_mailbox": ""})
	if en["sender_mailbox"] != "Enter sender mailbox." {
		t.Errorf("English missing value = %q", en["sender_mailbox"])
	}
	if nlMissing := b.ValidateParamsIn(nl, map[string]string{}); nlMissing["sender_mailbox"] != "Vul sender mailbox in." {
		t.Errorf("Dutch missing value = %q", nlMissing["sender_mailbox"])
	}
}

// Describe names the portal's variables in the blueprint's own language,
// since the words stand in its text.
func TestDescribeInTheBlueprintsLanguage(t *testing.T) {
	for _, id := range varWords {
		for _, l := range i18n.Langs {
			if !i18n.Has(l, id) || !i18n.Has(l, id+"_prose") {
				t.Errorf("%s or its _prose missing in %s", id, l)
			}
		}
	}
	data, _ := withSource(t, "exact-globe-mail", func(s string) string {
		return strings.Replace(s, "  date: \"2024-05-15\"\n", "  date: \"2024-05-15\"\n  language: nl\n", 1)
	})
	b, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Describe("{{client_id}}", true); got != "<client-id>" {
		t.Errorf("Dutch code placeholder = %q", got)
	}
	if got := b.Describe("Plak {{client_secret}} en {{tenant_id}}.", false); got != "Plak het clientgeheim en de tenant-id." {
		t.Errorf("Dutch prose = %q", got)
	}
	en, _ := Builtin("exact-globe-mail")
	if got := en.Describe("Paste {{client_secret}}: {{client_id}}", false); got != "Paste the client secret: the client ID" {
		t.Errorf("English prose = %q", got)
	}
}
