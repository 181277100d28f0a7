// Package problem writes what a scan or a consent check found wrong with a
// tenant as a message of the catalogues (internal/i18n): a message ID and
// its arguments, stored one a line in tenants.scan_problems and
// tenants.last_scan_error. The Tenants page then says each in the language
// of whoever reads it, rather than in the language of the scan that found it.
package problem

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/trunc"
)

// Problem is one message: ID names it in the catalogues, Args fill its
// {{.Fields}} and Lists its fields that name several things ("A and B",
// "A en B"), joined in the reader's language.
type Problem struct {
	ID    string              `json:"id"`
	Args  map[string]string   `json:"args,omitempty"`
	Lists map[string][]string `json:"lists,omitempty"`
}

// MaxLine bounds a stored line, in runes: the store cuts longer ones
// (store.joinProblems), which would leave one that does not parse.
const MaxLine = 290

// New is a problem with its arguments as name, value pairs.
func New(id string, args ...string) Problem {
	p := Problem{ID: id}
	for i := 0; i+1 < len(args); i += 2 {
		if p.Args == nil {
			p.Args = map[string]string{}
		}
		p.Args[args[i]] = args[i+1]
	}
	return p
}

// With adds a list argument.
func (p Problem) With(name string, items []string) Problem {
	if p.Lists == nil {
		p.Lists = map[string][]string{}
	}
	p.Lists[name] = items
	return p
}

// String is the line that stores p: JSON, on one line, at most MaxLine
// runes. Arguments too long for that (a name Graph made of a thousand
// characters) are shortened, the longest first, with an ellipsis.
func (p Problem) String() string {
	line := p.encode()
	for utf8.RuneCountInString(line) > MaxLine {
		if !p.shortenLongest() {
			return trunc.String(line, MaxLine) // cannot happen with sane IDs; Parse then refuses it
		}
		line = p.encode()
	}
	return line
}

func (p Problem) encode() string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // names stay readable in the database; templates escape them
	if err := enc.Encode(p); err != nil {
		return p.ID // maps of strings always encode
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// shortenLongest cuts the longest argument (or list item) to three
// quarters of its length; false when nothing is left to cut.
func (p *Problem) shortenLongest() bool {
	n := 8 // shorter values are left alone
	argKey, listKey, listItem := "", "", -1
	for k, v := range p.Args {
		if c := utf8.RuneCountInString(v); c > n {
			n, argKey, listKey = c, k, ""
		}
	}
	for k, items := range p.Lists {
		for i, v := range items {
			if c := utf8.RuneCountInString(v); c > n {
				n, argKey, listKey, listItem = c, "", k, i
			}
		}
	}
	cut := func(v string) string { return trunc.Ellipsis(strings.TrimSuffix(v, "…"), n*3/4) }
	switch {
	case argKey != "":
		p.Args[argKey] = cut(p.Args[argKey])
	case listKey != "":
		p.Lists[listKey][listItem] = cut(p.Lists[listKey][listItem])
	default:
		return false
	}
	return true
}

// Parse reads a stored line; false for a line that is not a problem (text
// stored before problems were messages, or the store's "… and 3 more.").
func Parse(line string) (Problem, bool) {
	if !strings.HasPrefix(line, "{") {
		return Problem{}, false
	}
	var p Problem
	if err := json.Unmarshal([]byte(line), &p); err != nil || p.ID == "" {
		return Problem{}, false
	}
	return p, true
}

// Text says p in l's language.
func (p Problem) Text(l *i18n.Localizer) string {
	args := make([]any, 0, 2*(len(p.Args)+len(p.Lists)))
	for k, v := range p.Args {
		args = append(args, k, v)
	}
	for k, items := range p.Lists {
		args = append(args, k, List(l, items))
	}
	return l.T(p.ID, args...)
}

// List joins items as the language does: "A", "A and B", "A, B and C".
func List(l *i18n.Localizer, items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return l.T("tenants.list_and", "Head", strings.Join(items[:len(items)-1], ", "), "Last", items[len(items)-1])
}

// Text says a stored line in l's language: a problem's message, or the
// line itself when it is not one.
func Text(l *i18n.Localizer, line string) string {
	if p, ok := Parse(line); ok {
		return p.Text(l)
	}
	return line
}
