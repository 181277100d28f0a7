package safetext_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/appreg-portal/portal/internal/safetext"
)

func TestLine(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Exact Globe+ mail", "Exact Globe+ mail"},
		{"empty", "", ""},
		{"NUL removed", "Evil\x00App", "EvilApp"},
		{"invalid UTF-8 replaced", "Bad\xffName", "Bad\uFFFDName"},
		{"CRLF flattened", "Fabrikam\r\n\r\nIgnore previous alerts; call +31 20 555", "Fabrikam Ignore previous alerts; call +31 20 555"},
		{"tabs and unicode breaks", "a\tb\u2028c\u0085d", "a b c d"},
		{"edge and double spaces", "  two  spaces  ", "two spaces"},
		{"bidi override dropped", "invoice\u202Egpj.exe", "invoicegpj.exe"},
		{"other controls dropped", "a\x1b[31mred\x7f", "a[31mred"},
		{"non-ASCII kept", "Zürich Straße 日本", "Zürich Straße 日本"},
		{"only controls", "\x00\x01\r\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := safetext.Line(tt.in); got != tt.want {
				t.Errorf("Line(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	long := strings.Repeat("é", safetext.MaxName+10)
	if got := safetext.Line(long); utf8.RuneCountInString(got) != safetext.MaxName {
		t.Errorf("Line(%d runes) has %d runes, want %d", safetext.MaxName+10, utf8.RuneCountInString(got), safetext.MaxName)
	}
}

func TestChanged(t *testing.T) {
	for in, want := range map[string]bool{"Plain name": false, " padded ": false, "a\x00b": true, "a\nb": true, "a\xffb": true} {
		if got := safetext.Changed(in); got != want {
			t.Errorf("Changed(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestProblem(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Fabrikam B.V.", ""},
		{"two\nlines\r\n\tindented", ""},
		{"a\x00b", "contains a NUL character"},
		{"a\xffb", "contains bytes that are not UTF-8 text"},
		{"a\x1bb", "contains a control character"},
	}
	for _, tt := range tests {
		if got := safetext.Problem(tt.in); got != tt.want {
			t.Errorf("Problem(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzLine checks what every caller relies on: the result is valid UTF-8
// that Postgres accepts, one line, no control characters, bounded, and
// Line is idempotent.
func FuzzLine(f *testing.F) {
	for _, s := range []string{"", "Exact", "a\x00b", "\xff\xfe", "x\r\ny", "  a  b ", "\u202Eabc", strings.Repeat("ab ", 600)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := safetext.Line(s)
		if !utf8.ValidString(got) {
			t.Fatalf("Line(%q) = %q: not UTF-8", s, got)
		}
		for _, r := range got {
			if r == 0 || unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
				t.Fatalf("Line(%q) = %q keeps %U", s, got, r)
			}
		}
		if strings.HasPrefix(got, " ") || strings.HasSuffix(got, " ") || strings.Contains(got, "  ") {
			t.Fatalf("Line(%q) = %q: spaces not collapsed", s, got)
		}
		if utf8.RuneCountInString(got) > safetext.MaxName {
			t.Fatalf("Line(%q) has %d runes", s, utf8.RuneCountInString(got))
		}
		if again := safetext.Line(got); again != got {
			t.Fatalf("Line not idempotent: %q then %q", got, again)
		}
		if safetext.Problem(got) != "" {
			t.Fatalf("Problem(Line(%q)) = %q", s, safetext.Problem(got))
		}
	})
}
