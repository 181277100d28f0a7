// Package safetext makes text from outside the portal (Microsoft Graph,
// tenant administrators, form posts) safe to store and to show: valid
// UTF-8, no NUL or other control characters, one line. Postgres refuses
// NUL and invalid UTF-8 in text columns (SQLSTATE 22021), and a line break
// in a name would let whoever chose the name add lines to an alert mail,
// a webhook or a CSV row.
package safetext

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxName bounds a name taken from Graph. Entra allows 256 characters for
// an application's displayName; the margin keeps honest names whole.
const MaxName = 1024

// Line returns s as one line of printable text: invalid UTF-8 becomes
// U+FFFD, line and paragraph breaks and tabs become a space, other control
// characters (NUL included) and the bidi overrides that make text display
// in another order than it is stored are dropped, runs of spaces are
// collapsed and the ends trimmed. The result is cut to MaxName runes.
func Line(s string) string {
	if isPlainLine(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	n := 0
	for i := 0; i < len(s) && n < MaxName; {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			r = utf8.RuneError // invalid byte: shown as U+FFFD
		case isBreak(r):
			r = ' '
		case drop(r):
			continue
		}
		if r == ' ' {
			if space || b.Len() == 0 {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimRight(b.String(), " ")
}

// Changed reports whether Line alters s other than by trimming spaces at
// its ends: a sign that whoever wrote s put something odd in it.
func Changed(s string) bool {
	return Line(s) != strings.Trim(s, " ")
}

// Problem says, in a sentence for the person who typed it, what makes s
// unfit to store: invalid UTF-8, or a NUL or other control character other
// than a tab or line break. It is "" for acceptable input. Forms use it to
// refuse input rather than silently change it.
func Problem(s string) string {
	if !utf8.ValidString(s) {
		return "contains bytes that are not UTF-8 text"
	}
	for _, r := range s {
		if r == '\t' || r == '\n' || r == '\r' {
			continue
		}
		if r == 0 {
			return "contains a NUL character"
		}
		if unicode.IsControl(r) {
			return "contains a control character"
		}
	}
	return ""
}

// isPlainLine is the fast path: printable ASCII without doubled or edge spaces.
func isPlainLine(s string) bool {
	if len(s) > MaxName || s == "" {
		return s == ""
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || (c == ' ' && s[i+1] == ' ') {
			return false
		}
	}
	return true
}

func isBreak(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', 0x85, 0x2028, 0x2029:
		return true
	}
	return false
}

// drop reports characters that have no business in a name: C0 and C1
// controls (NUL included) and the bidirectional overrides and isolates that
// make text display in another order than it is stored
// (https://unicode.org/reports/tr9/, "Trojan Source").
func drop(r rune) bool {
	switch {
	case unicode.IsControl(r):
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0xfeff: // byte order mark / zero-width no-break space
		return true
	}
	return false
}
