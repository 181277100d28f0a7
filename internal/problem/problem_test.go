package problem_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/problem"
)

func TestLinesSayTheMessageInEachLanguage(t *testing.T) {
	en, nl := i18n.For(i18n.EN), i18n.For(i18n.NL)
	tests := []struct {
		name   string
		line   string
		en, nl string
	}{
		{"args", problem.New("tenants.problem.item.bad_id.application", "Name", `Odd "app" <b>`, "ObjectID", "x").String(),
			`Application "Odd "app" <b>" was left out: Graph gave it an object ID that is not a GUID ("x").`,
			`App-registratie "Odd "app" <b>" is weggelaten: Graph gaf een object-id die geen GUID is ("x").`},
		{"list of one", problem.New("onboard.problem.missing").With("Missing", []string{"A.Read"}).String(),
			"The portal lacks A.Read in this tenant, so its scan is incomplete. Connect the tenant again.",
			"Het portal mist A.Read in deze tenant, dus de scan is onvolledig. Verbind de tenant opnieuw."},
		{"list of three", problem.New("onboard.problem.missing").With("Missing", []string{"A", "B", "C"}).String(),
			"The portal lacks A, B and C in this tenant, so its scan is incomplete. Connect the tenant again.",
			"Het portal mist A, B en C in deze tenant, dus de scan is onvolledig. Verbind de tenant opnieuw."},
		{"text stored before messages", "Application \"X\" was left out.", "Application \"X\" was left out.", "Application \"X\" was left out."},
		{"not a problem", "{not json", "{not json", "{not json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.ContainsAny(tt.line, "\r\n") {
				t.Errorf("line %q is not one line", tt.line)
			}
			if got := problem.Text(en, tt.line); got != tt.en {
				t.Errorf("Text(en, %q) = %q, want %q", tt.line, got, tt.en)
			}
			if got := problem.Text(nl, tt.line); got != tt.nl {
				t.Errorf("Text(nl, %q) = %q, want %q", tt.line, got, tt.nl)
			}
		})
	}
}

// A name of a thousand characters (Graph allows long ones) is shortened so
// the stored line stays under the store's cut, and still parses.
func TestLongArgumentsAreShortened(t *testing.T) {
	long := strings.Repeat("é\"", 600)
	line := problem.New("tenants.problem.item.cleaned.application", "Name", long, "ObjectID", "0a0a0a0a-0000-4000-8000-000000000003").
		With("More", []string{strings.Repeat("x", 400)}).String()
	if n := utf8.RuneCountInString(line); n > problem.MaxLine {
		t.Fatalf("line has %d runes, want at most %d", n, problem.MaxLine)
	}
	p, ok := problem.Parse(line)
	if !ok || p.Args["ObjectID"] != "0a0a0a0a-0000-4000-8000-000000000003" || !strings.HasSuffix(p.Args["Name"], "…") || !strings.HasPrefix(long, strings.TrimSuffix(p.Args["Name"], "…")) {
		t.Errorf("Parse(%q) = %+v, %v; want the object ID whole and the name cut with an ellipsis", line, p, ok)
	}
}
