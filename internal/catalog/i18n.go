package catalog

import (
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
