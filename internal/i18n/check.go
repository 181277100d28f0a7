package i18n

import (
	"strings"
	"unicode"

	"golang.org/x/net/html"
)

// Untranslated lists the text of an HTML page rendered with a Marked
// Localizer that did not come from a catalogue: text nodes and the
// attributes people read (title, alt, aria-label, placeholder, a button's
// value) with letters outside MarkStart…MarkEnd. Elements marked
// translate="no" (names, Microsoft's permission names, vendor quotes, codes)
// and their children are data and are skipped, as are script and style.
func Untranslated(page string) []string {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return []string{"page does not parse: " + err.Error()}
	}
	var out []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if n.Data == "script" || n.Data == "style" {
				return
			}
			for _, a := range n.Attr {
				if a.Key == "translate" && a.Val == "no" {
					return
				}
			}
			for _, a := range n.Attr {
				switch a.Key {
				case "title", "alt", "aria-label", "placeholder", "aria-description":
				case "value":
					if n.Data != "input" || !isButton(n) {
						continue
					}
				default:
					continue
				}
				if s := unmarked(a.Val); s != "" {
					out = append(out, "<"+n.Data+" "+a.Key+`="`+a.Val+`">`)
				}
			}
		}
		if n.Type == html.TextNode {
			if s := unmarked(n.Data); s != "" {
				out = append(out, strings.TrimSpace(n.Data))
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

func isButton(n *html.Node) bool {
	for _, a := range n.Attr {
		if a.Key == "type" && (a.Val == "submit" || a.Val == "button" || a.Val == "reset") {
			return true
		}
	}
	return false
}

// unmarked is the text outside markers when it holds a letter; "" when all
// that is left is digits, punctuation, symbols and space.
func unmarked(s string) string {
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch string(r) {
		case MarkStart:
			depth++
			continue
		case MarkEnd:
			if depth > 0 {
				depth--
			}
			continue
		}
		if depth == 0 {
			b.WriteRune(r)
		}
	}
	rest := b.String()
	for _, r := range rest {
		if unicode.IsLetter(r) {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}

// Strip removes the markers of a Marked Localizer.
func Strip(s string) string {
	return strings.NewReplacer(MarkStart, "", MarkEnd, "").Replace(s)
}
