package templates

import (
	"net/url"
	"strconv"
)

// BlueprintCard is one blueprint in the catalogue list.
type BlueprintCard struct {
	ID          string
	Name        string
	Vendor      string
	Description string
	Products    string // "Exact Globe+ (all versions), Exact Compact"
	Permissions int
	Highest     string // highest privilege level among required permissions
	UsesEWS     bool
	Custom      bool
	Doubts      int
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
	Type         string // "application" or "delegated"
	GUID         string
	Verified     bool
	DisplayName  string
	Description  string
	AdminConsent string // plain words
	Privilege    string // low, medium, high, critical
	Summary      string // "Mail.Send (application): can send mail as any user…"
	Reason       string // why the vendor needs it
	Optional     bool
	Feature      string
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
	Card               BlueprintCard
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
// blueprint asks for, optional ones marked.
func blueprintCritical(ps []PermissionView) []string {
	var out []string
	for _, p := range ps {
		if p.Privilege != "critical" {
			continue
		}
		if p.Optional {
			out = append(out, p.Summary+" (optional"+featureSuffix(p.Feature)+")")
		} else {
			out = append(out, p.Summary)
		}
	}
	return out
}

// permissionsText counts permissions: "1 permission", "3 permissions".
func permissionsText(n int) string {
	if n == 1 {
		return "1 permission"
	}
	return strconv.Itoa(n) + " permissions"
}

// doubtsText counts doubts about a guide: "1 doubt", "3 doubts".
func doubtsText(n int) string {
	if n == 1 {
		return "1 doubt"
	}
	return strconv.Itoa(n) + " doubts"
}
