package trunc_test

import (
	"testing"
	"unicode/utf8"

	"github.com/appreg-portal/portal/internal/trunc"
)

func TestString(t *testing.T) {
	tests := []struct {
		name string
		s    string
		n    int
		want string
	}{
		{"shorter", "abc", 5, "abc"},
		{"exact", "abc", 3, "abc"},
		{"ascii cut", "abcdef", 4, "abcd"},
		{"zero", "abc", 0, ""},
		{"negative", "abc", -1, ""},
		{"empty", "", 3, ""},
		{"two-byte runes", "Zürich Straße", 8, "Zürich S"},
		{"cut after a multi-byte rune", "ééé", 2, "éé"},
		{"fits in runes, not in bytes", "日本語", 3, "日本語"},
		{"cut in three-byte runes", "日本語のテキスト", 4, "日本語の"},
		{"four-byte runes", "🔑🔒🔓", 1, "🔑"},
		{"combining mark counts as a rune", "e\u0301e\u0301", 3, "e\u0301e"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := trunc.String(tt.s, tt.n)
			if got != tt.want {
				t.Errorf("String(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("String(%q, %d) = %q, not valid UTF-8", tt.s, tt.n, got)
			}
		})
	}
}

func TestEllipsis(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{{"short", 10, "short"}, {"exactly", 7, "exactly"}, {"één twee", 3, "één…"}, {"日本語テキスト", 2, "日本…"}} {
		if got := trunc.Ellipsis(c.in, c.n); got != c.want {
			t.Errorf("Ellipsis(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
