// Package i18n speaks the portal's two languages, English and Dutch. The
// words live in message catalogues (locales/<lang>/*.toml, one file per area
// of the portal) read with go-i18n, which knows each language's plural rules
// from CLDR. Pages, mail and webhooks ask for a message by its ID through a
// Localizer; the request's Localizer travels in its context.
//
// Microsoft's permission names, vendor quotes and everything a user typed
// are data, not messages: templates mark them translate="no".
package i18n

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/BurntSushi/toml"
	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	gotemplate "github.com/nicksnyder/go-i18n/v2/i18n/template"
	"golang.org/x/text/language"
)

//go:embed locales
var locales embed.FS

// Lang is a language the portal speaks: "en" or "nl".
type Lang string

// The portal's languages. English is the default and the fallback.
const (
	EN Lang = "en"
	NL Lang = "nl"
)

// Langs are the languages offered, in the order the language switch shows them.
var Langs = []Lang{EN, NL}

// Name is the language's own name for itself, as the switch shows it.
func (l Lang) Name() string {
	if l == NL {
		return "Nederlands"
	}
	return "English"
}

// Parse reads a stored or submitted language code.
func Parse(s string) (Lang, bool) {
	switch Lang(strings.ToLower(strings.TrimSpace(s))) {
	case EN:
		return EN, true
	case NL:
		return NL, true
	}
	return "", false
}

var matcher = language.NewMatcher([]language.Tag{language.English, language.Dutch})

// Match picks the language of an Accept-Language header: Dutch for any
// Dutch variant the browser prefers over English, English otherwise.
func Match(acceptLanguage string) Lang {
	if acceptLanguage == "" {
		return EN
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return EN
	}
	_, i, conf := matcher.Match(tags...)
	if i == 1 && conf != language.No {
		return NL
	}
	return EN
}

var (
	bundleOnce sync.Once
	bundle     *goi18n.Bundle
	bundleErr  error
	ids        map[Lang]map[string]bool
)

// load reads every catalogue once. A catalogue that does not parse is a
// build defect; Check reports it in tests and the portal refuses to start.
func load() (*goi18n.Bundle, error) {
	bundleOnce.Do(func() {
		bundle = goi18n.NewBundle(language.English)
		bundle.RegisterUnmarshalFunc("toml", toml.Unmarshal)
		ids = map[Lang]map[string]bool{}
		for _, l := range Langs {
			ids[l] = map[string]bool{}
			files, err := fs.Glob(locales, "locales/"+string(l)+"/*.toml")
			if err != nil {
				bundleErr = err
				return
			}
			for _, f := range files {
				buf, err := locales.ReadFile(f)
				if err != nil {
					bundleErr = err
					return
				}
				// go-i18n takes the language from the file name.
				mf, err := bundle.ParseMessageFileBytes(buf, path.Base(strings.TrimSuffix(f, ".toml"))+"."+string(l)+".toml")
				if err != nil {
					bundleErr = fmt.Errorf("i18n: %s: %w", f, err)
					return
				}
				for _, m := range mf.Messages {
					if ids[l][m.ID] {
						bundleErr = fmt.Errorf("i18n: %s: message %q is defined twice", f, m.ID)
						return
					}
					ids[l][m.ID] = true
				}
			}
		}
	})
	return bundle, bundleErr
}

// Check loads the catalogues and reports the first problem: a file that
// does not parse or a message defined twice. `portal serve` calls it at start.
func Check() error {
	_, err := load()
	return err
}

// IDs lists the message IDs a language defines, sorted.
func IDs(l Lang) []string {
	if _, err := load(); err != nil {
		return nil
	}
	out := make([]string, 0, len(ids[l]))
	for id := range ids[l] {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Has says whether a language defines a message.
func Has(l Lang, id string) bool {
	if _, err := load(); err != nil {
		return false
	}
	return ids[l][id]
}

// Localizer gives a language's messages.
type Localizer struct {
	lang Lang
	loc  *goi18n.Localizer
	// mark wraps every message in MarkStart…MarkEnd, so a test can tell
	// catalogue text from text that bypassed the catalogue.
	mark bool
	// missing, when set, hears of every message ID not found in this
	// language (and of arguments a message asked for but was not given).
	missing func(id string, err error)
}

// Markers around a message when marking is on; private-use characters that
// never occur in real text.
const (
	MarkStart = "\ue000"
	MarkEnd   = "\ue001"
)

// Option tunes a Localizer.
type Option func(*Localizer)

// Marked wraps every message in MarkStart…MarkEnd (tests of completeness).
func Marked() Option { return func(l *Localizer) { l.mark = true } }

// OnMissing reports message IDs missing from the language's catalogue.
func OnMissing(fn func(id string, err error)) Option { return func(l *Localizer) { l.missing = fn } }

var (
	plainMu sync.Mutex
	plain   = map[Lang]*Localizer{}
)

// For returns the Localizer of a language. Without options it is shared.
func For(l Lang, opts ...Option) *Localizer {
	if l != NL {
		l = EN
	}
	if len(opts) == 0 {
		plainMu.Lock()
		defer plainMu.Unlock()
		if loc := plain[l]; loc != nil {
			return loc
		}
	}
	b, err := load()
	if err != nil {
		panic(err) // the catalogues are embedded: Check and the tests catch this first
	}
	loc := &Localizer{lang: l, loc: goi18n.NewLocalizer(b, string(l))}
	for _, o := range opts {
		o(loc)
	}
	if len(opts) == 0 {
		plain[l] = loc
	}
	return loc
}

// Lang is the Localizer's language.
func (l *Localizer) Lang() Lang { return l.lang }

// missingKey makes a message that uses an argument it was not given fail
// instead of printing "<no value>".
var parser = &gotemplate.TextParser{Option: "missingkey=error"}

// T returns message id with its arguments, given as name, value pairs:
// T("scan.done", "Tenant", name). Numbers given as ints are formatted for
// the language. A message missing from the language falls back to English,
// and one missing from both shows its ID.
func (l *Localizer) T(id string, args ...any) string {
	return l.localize(id, nil, args)
}

// N returns the plural form of message id for n; the message gets n,
// formatted for the language, as {{.Count}}.
func (l *Localizer) N(id string, n int, args ...any) string {
	return l.localize(id, n, append(args, "Count", n))
}

func (l *Localizer) localize(id string, count any, args []any) string {
	var data map[string]any
	if len(args) > 0 {
		data = make(map[string]any, len(args)/2+1)
		for i := 0; i+1 < len(args); i += 2 {
			k, _ := args[i].(string)
			switch v := args[i+1].(type) {
			case int:
				data[k] = l.Num(v)
			case int64:
				data[k] = l.Num(int(v))
			default:
				data[k] = v
			}
		}
		if count != nil {
			data["PluralCount"] = count
		}
	}
	msg, err := l.loc.Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: data, PluralCount: count, TemplateParser: parser})
	if err != nil {
		if l.missing != nil {
			l.missing(id, err)
		}
		if msg == "" {
			msg = id
		}
	}
	if l.mark {
		return MarkStart + msg + MarkEnd
	}
	return msg
}

type ctxKey struct{}

// WithLocalizer puts a Localizer in a context.
func WithLocalizer(ctx context.Context, l *Localizer) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// From is the context's Localizer; English when there is none.
func From(ctx context.Context) *Localizer {
	if l, ok := ctx.Value(ctxKey{}).(*Localizer); ok && l != nil {
		return l
	}
	return For(EN)
}

// T is From(ctx).T: a message in the request's language.
func T(ctx context.Context, id string, args ...any) string { return From(ctx).T(id, args...) }

// N is From(ctx).N: a message's plural form for n in the request's language.
func N(ctx context.Context, id string, n int, args ...any) string {
	return From(ctx).N(id, n, args...)
}

// Date is From(ctx).Date.
func Date(ctx context.Context, t time.Time) string { return From(ctx).Date(t) }

// ShortDate is From(ctx).ShortDate.
func ShortDate(ctx context.Context, t time.Time) string { return From(ctx).ShortDate(t) }

// DateTime is From(ctx).DateTime.
func DateTime(ctx context.Context, t time.Time) string { return From(ctx).DateTime(t) }

// Num is From(ctx).Num.
func Num(ctx context.Context, n int) string { return From(ctx).Num(n) }
