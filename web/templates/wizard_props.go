package templates

import (
	"context"
	"html"
	"io"
	"strconv"
	"strings"

	"github.com/a-h/templ"

	"github.com/appreg-portal/portal/internal/i18n"
)

// WizardTenant is a tenant the wizard can register in.
type WizardTenant struct {
	ID       string // Entra tenant ID
	Name     string
	Selected bool
	// Own: the operator's own tenant, named in the portal's words.
	Own bool
}

// WizardParam is one blueprint parameter as a form input.
type WizardParam struct {
	Name, Label, Help, Type, Example, Value, Error string
	Optional                                       bool
}

// WizardFeature is an optional feature toggle.
type WizardFeature struct {
	Name        string
	Permissions []string
	On          bool
}

// WizardStartData is the wizard's first page: tenant, parameters, options.
type WizardStartData struct {
	BlueprintID   string
	BlueprintName string
	Vendor        string
	Tenants       []WizardTenant
	Params        []WizardParam
	Features      []WizardFeature
	DisplayName   string
	SecretMonths  int
	SecretMax     int
	// Errors holds a message per field name (parameters by their own names).
	Errors  FieldErrors
	Problem string
	// Share: also make a one-time link for the customer, lasting ShareDays.
	Share     bool
	ShareDays int
}

// WizardStep is one write of a run, with its state.
type WizardStep struct {
	Label, Status, Error string
	Attempts             int
}

// WizardPermission is a permission on the review page.
type WizardPermission struct {
	Resource, Name, Type, DisplayName, Summary, Privilege, Reason string
	// GrantedBy says who grants it: "you" or "a Global Administrator (consent link)".
	GrantedBy string
	Consent   bool // needs the consent link
}

// WizardRunData is a run's page: sign-in, review, progress, consent, done.
type WizardRunData struct {
	ID string
	// Tracked: the app was made outside the portal and adopted; the portal
	// only reads it (no secret made, no grants written).
	Tracked       bool
	State         string
	Error         string
	BlueprintID   string
	BlueprintName string
	TenantID      string
	TenantName    string
	DisplayName   string
	CreatedBy     string

	// Sign-in.
	Scopes []string

	// Review (after pre-flight).
	SignedInAs        string
	Roles             []string
	Audience          string
	WebRedirectURIs   []string
	PublicRedirectURI []string
	PortalRedirectURI string // added for the admin-consent return
	IDTokens          bool
	AccessTokens      bool
	Permissions       []WizardPermission
	SecretName        string
	SecretMonths      int
	SecretEnds        string
	SecretClampNote   string
	Existing          *WizardExisting
	CreateResources   []string
	EWS               *AdviceView
	EWSGraphVariant   string
	Warnings          []string
	Doubts            []DoubtView
	// ReviewHardening is the blueprint's hardening told before the app
	// exists (no IDs, no commands yet).
	ReviewHardening []AdviceView

	// Progress and results.
	Steps []WizardStep
	// Credentials are the app's secrets and certificates as the last scan
	// found them, with what may be done with each (rotate). Scanned says
	// whether the tenant is scanned at all.
	Credentials []CredentialRow
	Scanned     bool
	// SecretReplaced: the scan no longer finds the secret the wizard made
	// (rotated or removed since).
	SecretReplaced bool
	SecretKeyID    string
	ClientID       string
	SecretHint     string
	SecretShown    bool
	// ConsentLinks: one admin-consent link per API still to consent.
	ConsentLinks []ConsentLink
	ConsentedAt  string
	Handoff      []HandoffSheetView
	// Hardening is the blueprint's (its words are data); EWSHardening the
	// catalogue's Exchange Web Services notice, worded by the portal.
	Hardening    []AdviceView
	EWSHardening *AdviceView
	CanApply     bool
	Shares       []ShareRow
}

// ShareRow is a one-time share link of a run.
type ShareRow struct {
	ID, Created, CreatedBy, Expires, State string
	Active                                 bool
}

// ShareData is the page a share link opens.
type ShareData struct {
	AppName, ClientID, TenantID, Expires string
	Secret                               string // only on the reveal response
	Gone                                 bool
	Message                              string
}

// WizardExisting is the app this blueprint registered before in the tenant.
type WizardExisting struct {
	AppID, DisplayName string
	Secrets            int
}

// HandoffSheetView is one place in the vendor product, filled in.
type HandoffSheetView struct {
	Title, MenuPath, Note string
	Steps                 []string
	Fields                []HandoffSheetField
}

// HandoffSheetField is a filled-in field; Secret marks where the secret goes.
type HandoffSheetField struct {
	ID, Label, Value, Note string
	Secret                 bool
}

// WizardDoneData is the page that shows the secret, once.
type WizardDoneData struct {
	Run    WizardRunData
	Secret string // the value, on this response only
	// ShareLink is the one-time link for the customer (its token is only here).
	ShareLink, ShareExpires, ShareError string
}

// RegistrationRow is a line on the registrations page.
type RegistrationRow struct {
	TenantName, TenantID, BlueprintID, DisplayName, ClientID, AppliedBy, AppliedAt, Consent, ConsentChecked, RunID string
	// Inventory is what the latest scan found of its credentials, in words.
	Inventory string
	// Tracked: made outside the portal and adopted; the portal only reads it.
	Tracked bool
	// TenantWords: TenantName is the portal's words ("Your own tenant"), not a name.
	TenantWords bool
}

// RunRow is a recent wizard run.
type RunRow struct {
	ID, TenantName, BlueprintID, DisplayName, State, CreatedBy, Created string
}

// RegistrationsData is the registrations page.
type RegistrationsData struct {
	Tenant        string // filter: tenant ID, or ""
	TenantName    string
	Registrations []RegistrationRow
	Runs          []RunRow
	// CanOpen: operators may open a run's page (viewers see the list only).
	CanOpen bool
}

// ConsentReturnData is what a consenting administrator sees on return.
type ConsentReturnData struct {
	OK      bool
	Message string
	AppName string
	// More are the consent links still to open (an app needing two APIs).
	More []ConsentLink
}

// ConsentLink is an admin-consent link for one API.
type ConsentLink struct {
	Resource string // e.g. "Microsoft Graph"
	URL      string
}

func stepIcon(status string) string {
	switch status {
	case "done":
		return "✓"
	case "running":
		return "…"
	case "failed":
		return "✗"
	case "needs_consent":
		return "⚑"
	}
	return "·"
}

func stepStatusText(ctx context.Context, status string) string {
	switch status {
	case "done", "running", "failed", "needs_consent":
		return T(ctx, "wizard.step_status."+status)
	}
	return T(ctx, "wizard.step_status.waiting")
}

func runStateText(ctx context.Context, state string) string {
	switch state {
	case "signin", "review", "applying", "consent", "done", "failed", "cancelled":
		return T(ctx, "wizard.run_state."+state)
	}
	return state
}

func consentText(ctx context.Context, state string) string {
	switch state {
	case "granted", "partial", "pending":
		return T(ctx, "registrations.consent."+state)
	}
	return T(ctx, "registrations.consent.unverified")
}

func wizardYesNo(ctx context.Context, b bool) string {
	if b {
		return T(ctx, "wizard.yes")
	}
	return T(ctx, "wizard.no")
}

// Words is a message argument that is already worded for the reader (a
// state, a date): tData leaves it unmarked, unlike a name.
type Words string

// tData is message id with its arguments, where a string argument is data
// (a tenant, app or blueprint name, an ID): the message is escaped and each
// such argument wrapped in <span translate="no">, so a name inside a
// sentence is still marked as data. Words, numbers and other arguments are
// words.
func tData(ctx context.Context, id string, args ...any) templ.Component {
	a := make([]any, len(args))
	copy(a, args)
	var subst []string
	for i := 1; i < len(a); i += 2 {
		switch v := a[i].(type) {
		case string:
			tok := "\ue100" + strconv.Itoa(len(subst)/2) + "\ue101"
			subst = append(subst, tok, `<span translate="no">`+html.EscapeString(v)+`</span>`)
			a[i] = tok
		case Words:
			a[i] = string(v)
		}
	}
	var text string
	if n := len(a); n > 0 {
		if pc, ok := a[n-1].(pluralCount); ok {
			text = N(ctx, id, pc.n, a[:n-1]...)
		}
	}
	if text == "" {
		text = T(ctx, id, a...)
	}
	out := html.EscapeString(text)
	if len(subst) > 0 {
		if strings.HasPrefix(out, i18n.MarkStart) {
			// A marked message stays marked on both sides of each name.
			for i := 1; i < len(subst); i += 2 {
				subst[i] = i18n.MarkEnd + subst[i] + i18n.MarkStart
			}
		}
		out = strings.NewReplacer(subst...).Replace(out)
	}
	return templ.Raw(out)
}

// dataUnless is the translate attribute of text that is data (a name)
// unless it is the portal's own words.
func dataUnless(words bool) string {
	if words {
		return "yes"
	}
	return "no"
}

func joinComma(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}

// DriftData is a registration's drift and hygiene check.
type DriftData struct {
	RunID, AppName, TenantName, BlueprintName string
	RepairHref, Checked, Error                string
	// EntraURL, for an app made outside the portal (no Repair): where to fix it.
	EntraURL string
	// DelegatedUnchecked: the blueprint has delegated permissions whose
	// consent only an administrator's sign-in can read; Notice says why a
	// sign-in for it did not work.
	DelegatedUnchecked bool
	Notice             string
	Findings           []DriftFinding
	// Advice is what Graph cannot show (mailbox scoping): not drift.
	Advice []DriftFinding
}

// DriftFinding is one difference or risk, in sentences whose names
// (permissions, credentials, addresses) are marked as data.
type DriftFinding struct {
	Kind, Severity   string
	Title, Text, Fix Sentence
}

// Sentence is a catalogue message whose string arguments are data (names,
// addresses, IDs) and Words arguments words; Count with Plural picks the
// plural form. Text, without an ID, is shown as it is.
type Sentence struct {
	ID     string
	Args   []any
	Count  int
	Plural bool
	Text   string
}

// sentence renders a Sentence with its data marked (see tData).
func sentence(ctx context.Context, s Sentence) templ.Component {
	if s.ID == "" {
		return templ.Raw(html.EscapeString(s.Text))
	}
	if s.Plural {
		return tData(ctx, s.ID, append(append([]any{}, s.Args...), pluralCount{s.Count})...)
	}
	return tData(ctx, s.ID, s.Args...)
}

// pluralCount, as tData's last argument, asks for the plural form for n.
type pluralCount struct{ n int }

// AdoptData is the page that tracks an app made by hand with a blueprint.
type AdoptData struct {
	CredentialID, AppName, ClientID, TenantName string
	Blueprints                                  []Option
	Blueprint                                   string // chosen
	Params                                      []WizardParam
	Errors                                      FieldErrors
}

// wizardCritical returns the summaries of the critical permissions on the
// review page.
func wizardCritical(ps []WizardPermission) []string {
	var out []string
	for _, p := range ps {
		if p.Privilege == "critical" {
			out = append(out, p.Summary)
		}
	}
	return out
}

// entraRoleName words an Entra role the signed-in admin holds. Graph gives a
// role's display name in English whatever the reader's language; the roles a
// registration depends on get the names Microsoft's Dutch admin center uses
// ("Globale beheerder"). Any other role stays as Graph wrote it (ok false:
// it is data).
func entraRoleName(ctx context.Context, name string) (string, bool) {
	switch name {
	case "Global Administrator":
		return T(ctx, "wizard.role.global_admin"), true
	case "Privileged Role Administrator":
		return T(ctx, "wizard.role.privileged_role_admin"), true
	case "Application Administrator":
		return T(ctx, "wizard.role.app_admin"), true
	case "Cloud Application Administrator":
		return T(ctx, "wizard.role.cloud_app_admin"), true
	}
	return name, false
}

// entraRoles lists the signed-in admin's roles, comma-separated: those
// entraRoleName knows in the reader's language, others marked as data.
// Written by hand so no whitespace creeps in around the commas.
func entraRoles(roles []string) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		var b strings.Builder
		for i, r := range roles {
			if i > 0 {
				b.WriteString(", ")
			}
			if name, ok := entraRoleName(ctx, r); ok {
				b.WriteString(templ.EscapeString(name))
			} else {
				b.WriteString(`<span translate="no">` + templ.EscapeString(r) + `</span>`)
			}
		}
		_, err := io.WriteString(w, b.String())
		return err
	})
}
