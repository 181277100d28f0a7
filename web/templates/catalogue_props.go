package templates

import (
	"context"
	"net/url"
	"time"

	"github.com/appreg-portal/portal/internal/catalog"
)

// BlueprintCard is one blueprint in the catalogue list.
type BlueprintCard struct {
	ID          string
	Name        string
	Vendor      string
	Description string
	// DescriptionLang is the language Description is written in ("en",
	// "nl"): the reader's when the blueprint has it, else its source's.
	DescriptionLang string
	Products        string // "Exact Globe+ (all versions), Exact Compact"
	Permissions     int
	Highest         string // highest privilege level among required permissions
	UsesEWS         bool
	Custom          bool
	Doubts          int
}

// CatalogueData is the catalogue list page.
type CatalogueData struct {
	Query     string
	Cards     []BlueprintCard
	CanCreate bool // operators and admins may add custom blueprints
	// ForTenant carries a tenant chosen on the Tenants page through to the
	// wizard ("Register an app" there).
	ForTenant string
}

// PermissionView is one permission of a blueprint as admins read it.
type PermissionView struct {
	Resource     string
	Name         string
	Type         string // "application" or "delegated" (a code: test IDs use it)
	TypeText     string // the type in the reader's language
	GUID         string
	Verified     bool
	DisplayName  string
	Description  string
	AdminConsent string // plain words, in the reader's language
	Privilege    string // low, medium, high, critical (a code)
	// PrivilegeText is the level in the reader's language.
	PrivilegeText string
	// Summary is "Mail.Send (application): can send mail as any user…" in
	// the reader's language.
	Summary string
	// MicrosoftText: the portal has no words of its own for this
	// permission; Explanation is Microsoft's (English) description, shown
	// marked translate="no" lang="en".
	MicrosoftText bool
	Explanation   string
	Reason        string // why the vendor needs it
	Optional      bool
	Feature       string
}

// ParameterView is one value the admin will supply.
type ParameterView struct {
	Name, Label, Help, Type, Example string
	Optional                         bool
}

// HandoffView is one place in the vendor product.
type HandoffView struct {
	Title, MenuPath, Note string
	Steps                 []string
	Fields                []HandoffFieldView
}

// HandoffFieldView is one field of a hand-off place.
type HandoffFieldView struct {
	Label, Value, Note string
	Secret             bool
}

// AdviceView is a hardening step or the EWS notice.
type AdviceView struct {
	Title, Text, PowerShell string
}

// DoubtView is where the vendor's guide is doubtful.
type DoubtView struct {
	About, Guide, Note string
}

// BlueprintDetail is the blueprint page.
type BlueprintDetail struct {
	Card BlueprintCard
	// Lang is the language of the blueprint's own text (its source guide's):
	// that text is shown marked translate="no" lang={Lang}.
	Lang               string
	SourceTitle        string
	SourcePublisher    string
	SourceDocumentID   string
	SourceDate         string
	SourceURL          string
	AppliesTo          []string
	Parameters         []ParameterView
	DisplayName        string
	SignInAudience     string // plain words
	WebRedirectURIs    []string
	PublicRedirectURIs []string
	ImplicitAccess     bool
	ImplicitID         bool
	Permissions        []PermissionView
	SecretDefault      int
	SecretMax          int
	SecretVendorSays   string
	SecretPortalDoes   string
	Handoff            []HandoffView
	EWS                *AdviceView
	EWSNote            string // the blueprint's own EWS note, in Lang
	EWSGraphVariant    string
	Hardening          []AdviceView
	Warnings           []string
	Doubts             []DoubtView
	CreatedBy          string
	CanDelete          bool
	// CanRegister: operators may start the registration wizard, for
	// ForTenant if one was chosen.
	CanRegister bool
	ForTenant   string
}

// BlueprintFormData is the page to add a custom blueprint.
type BlueprintFormData struct {
	Source string
	From   string // ID of the blueprint it starts from, if any
	Errors []BlueprintError
	// Problem is a form-level message (too large, unreadable upload).
	Problem string
}

// BlueprintError is one validation error with its line and field.
type BlueprintError struct {
	Line    int
	Field   string
	Message string
}

// withTenant adds ?tenant= to a path when a tenant was chosen.
func withTenant(path, tenant string) string {
	if tenant == "" {
		return path
	}
	return path + "?tenant=" + url.QueryEscape(tenant)
}

// blueprintCritical returns the summaries of the critical permissions a
// blueprint asks for, optional ones marked, in the reader's language.
func blueprintCritical(ctx context.Context, ps []PermissionView) []string {
	var out []string
	for _, p := range ps {
		if p.Privilege != "critical" {
			continue
		}
		switch {
		case p.Optional && p.Feature != "":
			out = append(out, T(ctx, "catalogue.critical_optional_feature", "Summary", p.Summary, "Feature", p.Feature))
		case p.Optional:
			out = append(out, T(ctx, "catalogue.critical_optional", "Summary", p.Summary))
		default:
			out = append(out, p.Summary)
		}
	}
	return out
}

// ewsShutdown is when Exchange Online switches EWS off, for the card's tag.
func ewsShutdown() time.Time { return catalog.EWSShutdown }

// catalogueYesNo is yes or no in the reader's language.
func catalogueYesNo(ctx context.Context, b bool) string {
	if b {
		return T(ctx, "catalogue.yes")
	}
	return T(ctx, "catalogue.no")
}
