package catalog

import (
	"strconv"
	"strings"

	"github.com/appreg-portal/portal/internal/i18n"
)

// Localized texts. The English fields of Permission (Summary, Privilege)
// stay for callers that do not speak the request's language yet; pages use
// these, which read the message catalogues (internal/i18n/locales/*/
// permissions.toml). Microsoft's permission names are never translated: they
// are arguments of the messages.

// resourceKey names a resource with a table in message IDs.
func resourceKey(appID string) string {
	if appID == ExchangeOnline.AppID {
		return "exchange"
	}
	return "graph"
}

// explanationID is the message ID of a curated explanation.
func explanationID(k permKey) string {
	return "permission." + resourceKey(k.appID) + "." + string(k.typ) + "." + k.name
}

// PrivilegeIn names a privilege level in l's language ("critical", "kritiek").
func PrivilegeIn(l *i18n.Localizer, p PrivilegeLevel) string {
	return l.T("permission.privilege." + string(p))
}

// TypeIn names a permission type in l's language ("application", "toepassing").
func TypeIn(l *i18n.Localizer, t PermissionType) string {
	return l.T("permission.type." + string(t))
}

// ConsentIn says in l's language whether granting needs an administrator.
func ConsentIn(l *i18n.Localizer, c AdminConsent) string {
	return l.T("permission.consent." + string(c))
}

// Curated reports whether the portal explains p in its own words (in every
// language); otherwise only Microsoft's English description exists.
func (p Permission) Curated() bool {
	_, ok := curated[permKey{p.Resource.AppID, p.Type, p.Name}]
	return ok
}

// ExplanationIn is p's plain-language explanation in l's language. For a
// permission the portal has no words of its own for, it is Microsoft's
// description (English) and microsofts is true: show it marked
// translate="no" lang="en".
func (p Permission) ExplanationIn(l *i18n.Localizer) (text string, microsofts bool) {
	k := permKey{p.Resource.AppID, p.Type, p.Name}
	if _, ok := curated[k]; ok {
		return l.T(explanationID(k)), false
	}
	if d := strings.TrimSpace(p.Description); d != "" {
		return d, true
	}
	return p.DisplayName, true
}

// SummaryIn is Summary in l's language: "Mail.Send (application): can send
// mail as any user in your organisation". A Microsoft description inside it
// stays English; pages that can mark it use ExplanationIn instead.
func (p Permission) SummaryIn(l *i18n.Localizer) string {
	text, _ := p.ExplanationIn(l)
	return l.T("permission.summary", "Name", p.Name, "Type", TypeIn(l, p.Type), "Sentence", text)
}

// SummaryIn is the permission's summary in l's language, also for an API the
// portal has no table for.
func (rp ResolvedPermission) SummaryIn(l *i18n.Localizer) string {
	if rp.Known {
		return rp.Permission.SummaryIn(l)
	}
	return l.T("permission.summary", "Name", rp.Name, "Type", TypeIn(l, rp.Type),
		"Sentence", l.T("permission.unknown_api", "Resource", rp.Resource))
}

// ExplanationIn is ResolvedPermission's explanation in l's language (see
// Permission.ExplanationIn), also for an API the portal has no table for.
func (rp ResolvedPermission) ExplanationIn(l *i18n.Localizer) (text string, microsofts bool) {
	if rp.Known {
		return rp.Permission.ExplanationIn(l)
	}
	return l.T("permission.unknown_api", "Resource", rp.Resource), false
}

// Msg is a message of the catalogues (blueprint_errors.toml and others) with
// its arguments as name, value pairs; a value may itself be a Msg, told in
// the same language. Validation errors and parameter problems carry one so
// that pages can show them in the reader's language.
type Msg struct {
	ID   string
	Args []any
	// Count, when Plural, picks the plural form ({{.Count}}).
	Count  int
	Plural bool
}

func msg(id string, args ...any) Msg { return Msg{ID: id, Args: args} }

func pluralMsg(id string, n int, args ...any) Msg {
	return Msg{ID: id, Args: args, Count: n, Plural: true}
}

// In is the message in l's language.
func (m Msg) In(l *i18n.Localizer) string {
	if m.ID == "" {
		return ""
	}
	args := make([]any, len(m.Args))
	for i, a := range m.Args {
		if sub, ok := a.(Msg); ok {
			args[i] = sub.In(l)
		} else {
			args[i] = a
		}
	}
	if m.Plural {
		return l.N(m.ID, m.Count, args...)
	}
	return l.T(m.ID, args...)
}

// String is the message in English.
func (m Msg) String() string { return m.In(i18n.For(i18n.EN)) }

// IsZero reports whether there is no message (all is well).
func (m Msg) IsZero() bool { return m.ID == "" }

// quote writes a value as the messages quote it, like %q.
func quote(s string) string { return strconv.Quote(s) }
