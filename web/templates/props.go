// Package templates holds the portal's templ components. Every page takes
// typed props; the request context carries only the signed-in user, the CSP
// nonce and request flags.
package templates

import (
	"bytes"
	"context"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/a-h/templ"

	"github.com/appreg-portal/portal/internal/i18n"
)

// Section names a top-level navigation entry.
type Section string

// The navigation, in order.
const (
	SectionDashboard Section = "dashboard"
	SectionTenants   Section = "tenants"
	SectionCatalogue Section = "catalogue"
	// SectionRegistrations is the wizard and what it registered.
	SectionRegistrations Section = "registrations"
	SectionAlerts        Section = "alerts"
	SectionAudit         Section = "audit"
)

type navItem struct {
	Section Section
	Label   string // message ID
	Href    string
	Admin   bool // shown to admins only
}

var nav = []navItem{
	{SectionDashboard, "nav.dashboard", "/", false},
	{SectionTenants, "nav.tenants", "/tenants", false},
	{SectionCatalogue, "nav.catalogue", "/catalogue", false},
	{SectionRegistrations, "nav.registrations", "/registrations", false},
	{SectionAlerts, "nav.alerts", "/alerts", false},
	{SectionAudit, "nav.admin", "/audit", true},
}

// adminTabs are the admin pages, shown as tabs on each of them; Title is a message ID.
var adminTabs = []struct{ Title, Href string }{
	{"nav.audit_log", "/audit"},
	{"nav.portal_users", "/admin/users"},
	{"nav.active_sessions", "/admin/sessions"},
}

// User is the signed-in person as the layout shows them.
type User struct {
	Name    string
	Email   string
	Role    string // "admin", "operator", "viewer" or "none"
	IsAdmin bool
}

// PageData is what every full page needs.
type PageData struct {
	// Title is already in the page's language.
	Title   string
	Section Section
	User    *User // nil when nobody is signed in
	// NoHistory keeps htmx from caching the page in localStorage (pages that show secrets).
	NoHistory bool
	// Flash is what the action that led here did ("Scanned Fabrikam: …").
	Flash string
	// Public pages (a customer's consent result, a share link) offer no
	// sign-in: the person on them has no portal account.
	Public bool
	// Path is the address of this page, for the language switch to come back to.
	Path string
}

// RoleLabel is the role as users read it.
func RoleLabel(ctx context.Context, role string) string {
	switch role {
	case "admin", "operator", "viewer":
		return T(ctx, "role."+role)
	}
	return T(ctx, "role.none")
}

// visibleNav is the navigation a user may follow: none for someone without
// a role (every page would send them back to "ask your administrator").
func visibleNav(u *User) []navItem {
	if u == nil || u.Role == "" || u.Role == "none" {
		return nil
	}
	var out []navItem
	for _, n := range nav {
		if n.Admin && (u == nil || !u.IsAdmin) {
			continue
		}
		out = append(out, n)
	}
	return out
}

// ErrorData describes an error page. Message is written for users; it never
// carries err.Error().
type ErrorData struct {
	Status    int
	Title     string
	Message   string
	RequestID string
	// Action is an optional next step, e.g. a link to sign in again.
	ActionHref, ActionLabel string
}

// DashboardData is the dashboard's content.
type DashboardData struct {
	Tenants  int
	Expired  int
	Within30 int
	Within90 int
	Tracked  int
	Months   []MonthBar
	Rows     []CredentialRow
	// Filter: a tenant (portal ID as text, "" for all) and a window.
	Tenant string
	Within string // "30", "90" or "" (everything)
	// TenantOptions renders the tenant filter's options (SelectedOption).
	TenantOptions templ.Component
	// Matching is how many live credentials the filter matches: Tracked,
	// or Expired plus Within30 or Within90, from the same counts.
	Matching int
	// NextHref pages on (keyset); empty on the last page. FirstHref goes
	// back to the first page; empty on it.
	NextHref, FirstHref string
}

// MonthBar is one bar of the expiry timeline.
type MonthBar struct {
	Label   string // "Nov 2026", in the page's language
	Count   int
	Percent int // bar height relative to the tallest, 0–100 in steps of 5 (CSS classes h-0 … h-100)
	Soon    bool
}

// CredentialRow is one secret or certificate on the dashboard.
type CredentialRow struct {
	Tenant    string
	Owner     string
	OwnerKind string // "App registration" or "Enterprise application", in the page's language
	Kind      string // "Client secret" or "Certificate", in the page's language
	Name      string
	Hint      string
	Ends      string // date and time, UTC, in the page's language
	Days      int    // days left; negative when expired
	State     string // "expired", "soon" (≤ 30 days), "later"
	// ID and KeyID identify the credential; CanRotate offers the rotation,
	// RotationID is one under way.
	ID, KeyID     string
	CanRotate     bool
	RotationID    string
	RotationState string // in words: what the rotation under way has done
	// NotRotated says, for an operator, why this credential has no Rotate.
	NotRotated string
	// CanTrack offers the drift check of the credential's app registration.
	CanTrack bool
}

// Option is one choice of a select.
type Option struct {
	Value, Label string
}

// AuditData is the audit page: the filter as entered, one page of events,
// and links for the next page and the CSV export.
type AuditData struct {
	Action, Outcome, Actor, Since, Until string
	Events                               []AuditRow
	OlderHref                            string // empty on the last page
	NewestHref                           string // empty on the first page
	CSVHref                              string
	FilterError                          string
}

// AuditRow is one audit event as shown.
type AuditRow struct {
	When      string // RFC 3339, UTC
	Actor     string
	Action    string
	Outcome   string
	Tenant    string
	Target    string
	Details   string
	RequestID string
}

// SessionRow is one active session on the admin page.
type SessionRow struct {
	ID        string
	User      string
	Email     string
	Role      string
	Started   string
	LastSeen  string
	Expires   string
	From      string
	UserAgent string
	IsCurrent bool
}

// UserRow is one portal user on the admin page.
type UserRow struct {
	Name       string
	Email      string
	Tenant     string
	Role       string
	LastSignIn string
}

// TenantsData is the tenants page.
type TenantsData struct {
	Tenants    []TenantRow
	Pending    []OnboardingRow
	CanConnect bool
}

// FieldErrors are a form's validation messages by input name; a form with
// any is shown again with them beside its inputs (HTTP 422).
type FieldErrors map[string]string

// Get returns the message for the input name, or "" when it is valid.
func (e FieldErrors) Get(name string) string { return e[name] }

// ConnectTenantData is the form to start connecting a tenant.
type ConnectTenantData struct {
	Label, Expected string
	Errors          FieldErrors
	// Permissions are exactly what the consent link grants
	// (onboard.ScanPermissions), from the same list the portal checks.
	Permissions []PermissionView
}

// ConsentLinkData shows a fresh consent link, once.
type ConsentLinkData struct {
	Label       string
	Expected    string
	Link        string
	Expires     string
	Permissions []PermissionView // as ConnectTenantData
}

// OnboardingResultData is what the administrator who consented sees.
type OnboardingResultData struct {
	// Operator: the person on the page is signed in to the portal (an
	// operator who opened their own link), not the customer's administrator.
	Operator  bool
	Connected bool
	Tenant    string // display name
	Domain    string
	Title     string
	Message   string
	// Extra names permissions the consent granted beyond what the portal
	// asks for: the consenting administrator can remove them at once.
	Extra []string
	// AlreadyConnected: the link connected Tenant before (a reload of the
	// result page, or the link opened again).
	AlreadyConnected bool
	// ConsentMayBeRecorded: the callback says the administrator granted
	// consent, so the grant may exist in their tenant although the portal
	// connected nothing; the page says how to remove it.
	ConsentMayBeRecorded bool
}

// ariaInvalid marks a field with an error. A field without one gets no
// verdict (an empty value): "false" would draw Pico's green tick on fields
// nobody has checked, such as an empty optional one.
func ariaInvalid(errMsg string) string {
	if errMsg != "" {
		return "true"
	}
	return ""
}

func stateClass(state string) string {
	switch state {
	case "expired":
		return "tag danger"
	case "soon":
		return "tag warn"
	}
	return "tag ok"
}

// daysText says when a credential expires relative to today: "in 12 days",
// "tomorrow", "expired 3 days ago".
func daysText(ctx context.Context, days int, state string) string {
	switch {
	case state == "expired" && days >= 0:
		return T(ctx, "dashboard.days.expired_today")
	case days < -1:
		return N(ctx, "dashboard.days.expired_ago", -days)
	case days == -1:
		return T(ctx, "dashboard.days.expired_yesterday")
	case days == 0:
		return T(ctx, "dashboard.days.today")
	case days == 1:
		return T(ctx, "dashboard.days.tomorrow")
	}
	return N(ctx, "dashboard.days.in", days)
}

func countOrBlank(ctx context.Context, n int) string {
	if n == 0 {
		return ""
	}
	return Num(ctx, n)
}

// timelineLabel reads the expiry timeline out for screen readers.
func timelineLabel(ctx context.Context, months []MonthBar) string {
	parts := make([]string, len(months))
	for i, m := range months {
		parts[i] = m.Label + " " + Num(ctx, m.Count)
	}
	return T(ctx, "dashboard.timeline.label", "Months", strings.Join(parts, ", "))
}

// AlertsData is the alerts page.
type AlertsData struct {
	Enabled    bool
	Recipients []string
	Thresholds string // "60, 30, 14, 7 and 1 days before, and on expiry"
	From       string
	Deliveries []DeliveryRow
	// PolicySource says where the portal-wide policy comes from: the
	// environment, or an admin in the portal (who, when).
	PolicySource string
	// CanEdit shows admins the policy form, filled with ThresholdsInput
	// and RecipientsInput; Errors re-show a refused form.
	CanEdit                          bool
	ThresholdsInput, RecipientsInput string
	Errors                           FieldErrors
	// Channels are the webhook channels (admins only); CanAddChannels is
	// false without PORTAL_SEAL_KEY. TenantChoices fill the scope select.
	Channels       []ChannelRow
	CanAddChannels bool
	TenantChoices  []TenantChoice
	// DevOutbox links the Outbox page (portal dev only).
	DevOutbox bool
	Channel   ChannelForm
}

// ChannelForm re-shows a refused new channel (never the URL or secret).
type ChannelForm struct {
	Kind, Name, Tenant string
	Errors             FieldErrors
}

// TenantChoice is one option of a tenant select.
type TenantChoice struct {
	ID, Name string
}

// DeliveryRow is one alert e-mail delivery.
type DeliveryRow struct {
	When      string
	Recipient string
	Tenant    string
	Owner     string
	Threshold string
	Status    string
	Error     string // the classified reason in words, never the raw error
}

func deliveryState(status string) string {
	switch status {
	case "failed":
		return "expired"
	case "pending":
		return "soon"
	}
	return "later"
}

// SelectedOption writes options rendered by TenantOptions, marking the one
// whose value is selected. At a thousand tenants the options are most of the
// dashboard's rendering, so they are rendered once and reused.
func SelectedOption(rendered []byte, selected string) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		marker := []byte(`<option value="` + templ.EscapeString(selected) + `"`)
		i := bytes.Index(rendered, marker)
		if selected == "" || i < 0 {
			_, err := w.Write(rendered)
			return err
		}
		i += len(marker)
		if _, err := w.Write(rendered[:i]); err != nil {
			return err
		}
		if _, err := io.WriteString(w, " selected"); err != nil {
			return err
		}
		_, err := w.Write(rendered[i:])
		return err
	})
}

// matchingText says how many credentials the filter matches.
func matchingText(ctx context.Context, n int) string {
	if n == 0 {
		return T(ctx, "dashboard.matching_none")
	}
	return N(ctx, "dashboard.matching", n)
}

func exportHref(format, tenant, within string) string {
	q := url.Values{}
	if tenant != "" {
		q.Set("tenant", tenant)
	}
	if within != "" {
		q.Set("within", within)
	}
	if len(q) == 0 {
		return "/credentials." + format
	}
	return "/credentials." + format + "?" + q.Encode()
}

// Placeholders stand for Fill's component arguments inside a message; they
// are private-use characters, as i18n's markers are.
const (
	fillStart = "\ue010"
	fillEnd   = "\ue011"
)

// Fill renders message id with its arguments (name, value pairs as T takes
// them), where a value may be a templ.Component: data such as a name or a
// link, rendered in its place with its own markup (translate="no"), so the
// sentence keeps the word order of its language. When the request's
// Localizer marks messages (tests), each stretch of the message's own text
// is marked, not the data between them.
func Fill(id string, args ...any) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		var comps []templ.Component
		targs := make([]any, len(args))
		copy(targs, args)
		for i := 1; i < len(targs); i += 2 {
			if c, ok := targs[i].(templ.Component); ok {
				targs[i] = fillStart + strconv.Itoa(len(comps)) + fillEnd
				comps = append(comps, c)
			}
		}
		msg := T(ctx, id, targs...)
		marked := strings.HasPrefix(msg, i18n.MarkStart) && strings.HasSuffix(msg, i18n.MarkEnd)
		if marked {
			msg = strings.TrimSuffix(strings.TrimPrefix(msg, i18n.MarkStart), i18n.MarkEnd)
		}
		text := func(s string) error {
			if s == "" {
				return nil
			}
			if marked {
				s = i18n.MarkStart + s + i18n.MarkEnd
			}
			_, err := io.WriteString(w, templ.EscapeString(s))
			return err
		}
		for {
			start := strings.Index(msg, fillStart)
			if start < 0 {
				return text(msg)
			}
			end := strings.Index(msg[start:], fillEnd)
			if end < 0 {
				return text(msg)
			}
			n, err := strconv.Atoi(msg[start+len(fillStart) : start+end])
			if err != nil || n < 0 || n >= len(comps) {
				return text(msg)
			}
			if err := text(msg[:start]); err != nil {
				return err
			}
			if err := comps[n].Render(ctx, w); err != nil {
				return err
			}
			msg = msg[start+end+len(fillEnd):]
		}
	})
}

// Data is text that is data, not a message (a name, an ID, what someone
// typed): marked translate="no", so translators and the completeness test
// leave it alone.
func Data(s string) templ.Component { return dataIn("span", s) }

// StrongData is Data in bold.
func StrongData(s string) templ.Component { return dataIn("strong", s) }

// CodeData is Data as code (IDs, key IDs, hints).
func CodeData(s string) templ.Component { return dataIn("code", s) }

func dataIn(tag, s string) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		_, err := io.WriteString(w, "<"+tag+` translate="no">`+templ.EscapeString(s)+"</"+tag+">")
		return err
	})
}

// DataLink is a link whose text is data (a blueprint's or app's name).
func DataLink(href, s string) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		_, err := io.WriteString(w, `<a href="`+templ.EscapeString(string(templ.URL(href)))+`" translate="no">`+templ.EscapeString(s)+"</a>")
		return err
	})
}

// outcomeText is an audit event's outcome in words.
func outcomeText(ctx context.Context, outcome string) string {
	switch outcome {
	case "success", "denied", "failure":
		return T(ctx, "admin.outcome."+outcome)
	}
	return outcome
}
