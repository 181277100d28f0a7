// Package catalog is the portal's integration catalogue: the blueprint file
// format, its parser and validator, the table of Microsoft permissions that
// blueprints name, and the built-in blueprints written from the vendors' setup
// guides.
//
// A Blueprint says, for one vendor product and variant, which app registration
// the product needs (redirect URIs, implicit-grant flags, permissions, secret
// lifetime), which values the admin must supply, where each resulting value
// goes in the vendor product (the hand-off), and what to do afterwards
// (hardening, warnings, doubts about the vendor's guide).
//
// The package is pure: it reads no files outside its embedded data, talks to
// no network, and keeps no state besides the read-only built-in catalogue.
// docs/blueprints.md is the format reference.
//
// The portal's own words (permission explanations, privilege levels,
// validation problems, the EWS notice) come from internal/i18n's message
// catalogues: the *In functions take the reader's Localizer, and problems
// carry a Msg. A blueprint's own text stays in its source's language.
package catalog

import (
	"strings"
	"time"

	"github.com/appreg-portal/portal/internal/i18n"
)

// APIVersion and Kind identify version 1 of the blueprint format. Every
// blueprint file starts with them.
const (
	APIVersion = "appreg.portal/v1"
	Kind       = "Blueprint"
)

// Blueprint is one vendor product (and variant) as the portal knows it. The
// YAML keys are the field names in docs/blueprints.md and
// schema/blueprint.schema.json.
type Blueprint struct {
	APIVersion string           `yaml:"apiVersion" json:"apiVersion"`
	Kind       string           `yaml:"kind" json:"kind"`
	ID         string           `yaml:"id" json:"id"`
	Name       string           `yaml:"name" json:"name"`
	Vendor     string           `yaml:"vendor" json:"vendor"`
	AppliesTo  []ProductVersion `yaml:"appliesTo" json:"appliesTo"`
	Source     Source           `yaml:"source" json:"source"`
	// Description is one or two sentences in the language of the source
	// guide (Source.Language).
	Description string `yaml:"description" json:"description"`
	// Descriptions optionally gives the description in the languages the
	// portal speaks; a page shows the one in the reader's language and
	// falls back to Description.
	Descriptions Descriptions        `yaml:"descriptions,omitempty" json:"descriptions,omitempty"`
	Parameters   []Parameter         `yaml:"parameters,omitempty" json:"parameters,omitempty"`
	Registration Registration        `yaml:"registration" json:"registration"`
	Permissions  []PermissionRequest `yaml:"permissions" json:"permissions"`
	Secret       SecretPolicy        `yaml:"secret" json:"secret"`
	Handoff      []HandoffPlace      `yaml:"handoff" json:"handoff"`
	Hardening    []Advice            `yaml:"hardening,omitempty" json:"hardening,omitempty"`
	Warnings     []string            `yaml:"warnings,omitempty" json:"warnings,omitempty"`
	Doubts       []Doubt             `yaml:"doubts,omitempty" json:"doubts,omitempty"`
	EWS          *EWSSettings        `yaml:"ews,omitempty" json:"ews,omitempty"`

	// lines maps a field path ("permissions[2].name") to its line in the
	// source file; it is empty for blueprints built in Go.
	lines   map[string]int
	builtin bool
}

// ProductVersion names a product and the versions of it the blueprint applies
// to, in the vendor's words.
type ProductVersion struct {
	Product  string `yaml:"product" json:"product"`
	Versions string `yaml:"versions,omitempty" json:"versions,omitempty"`
}

// Source is the vendor guide a blueprint was written from.
type Source struct {
	Title      string `yaml:"title" json:"title"`
	Publisher  string `yaml:"publisher,omitempty" json:"publisher,omitempty"`
	DocumentID string `yaml:"documentId,omitempty" json:"documentId,omitempty"`
	// Date is the guide's date as YYYY-MM-DD.
	Date string `yaml:"date,omitempty" json:"date,omitempty"`
	URL  string `yaml:"url,omitempty" json:"url,omitempty"`
	// Language is the language of the guide, and so of the blueprint's own
	// text (vendor quotes, labels, steps): "en" (the default) or "nl".
	Language string `yaml:"language,omitempty" json:"language,omitempty"`
}

// Descriptions is a blueprint's description per language.
type Descriptions struct {
	EN string `yaml:"en,omitempty" json:"en,omitempty"`
	NL string `yaml:"nl,omitempty" json:"nl,omitempty"`
}

// SourceLang is the language of the blueprint's own text: its source
// guide's (Source.Language), English when not given.
func (b *Blueprint) SourceLang() i18n.Lang {
	if l, ok := i18n.Parse(b.Source.Language); ok {
		return l
	}
	return i18n.EN
}

// DescriptionIn returns the description in want when the blueprint has one
// in that language, otherwise Description; lang is the language of the text
// returned (mark it lang=… when it is not the page's).
func (b *Blueprint) DescriptionIn(want i18n.Lang) (text string, lang i18n.Lang) {
	var d string
	switch want {
	case i18n.EN:
		d = b.Descriptions.EN
	case i18n.NL:
		d = b.Descriptions.NL
	}
	if strings.TrimSpace(d) != "" {
		return d, want
	}
	return b.Description, b.SourceLang()
}

// ParameterType says how a parameter value is validated.
type ParameterType string

// The parameter types.
const (
	ParamText     ParameterType = "text"
	ParamHostname ParameterType = "hostname"
	ParamEmail    ParameterType = "email"
	ParamDomain   ParameterType = "domain"
	ParamURL      ParameterType = "url"
)

// Parameter is a value the admin supplies in the wizard, such as a server
// name or a sender mailbox. Templates elsewhere in the blueprint refer to it
// as {{name}}.
type Parameter struct {
	Name  string        `yaml:"name" json:"name"`
	Label string        `yaml:"label" json:"label"`
	Help  string        `yaml:"help,omitempty" json:"help,omitempty"`
	Type  ParameterType `yaml:"type" json:"type"`
	// Optional parameters may be left empty. A redirect URI that uses an
	// empty optional parameter is not registered.
	Optional bool `yaml:"optional,omitempty" json:"optional,omitempty"`
	// Pattern is an RE2 regular expression the whole value must match, in
	// addition to the type's own check.
	Pattern string `yaml:"pattern,omitempty" json:"pattern,omitempty"`
	// PatternHelp is the message shown when Pattern does not match.
	PatternHelp string `yaml:"patternHelp,omitempty" json:"patternHelp,omitempty"`
	Example     string `yaml:"example,omitempty" json:"example,omitempty"`
}

// Sign-in audiences, as Microsoft Graph names them (application.signInAudience).
const (
	AudienceMyOrg             = "AzureADMyOrg"
	AudienceMultipleOrgs      = "AzureADMultipleOrgs"
	AudienceMultipleOrgsAndMS = "AzureADandPersonalMicrosoftAccount"
)

// Registration is what the app registration looks like.
type Registration struct {
	// DisplayName is the suggested name of the app registration; it may use
	// parameters. The admin can change it in the wizard.
	DisplayName    string       `yaml:"displayName" json:"displayName"`
	SignInAudience string       `yaml:"signInAudience" json:"signInAudience"`
	Web            WebPlatform  `yaml:"web,omitempty" json:"web,omitempty"`
	PublicClient   PublicClient `yaml:"publicClient,omitempty" json:"publicClient,omitempty"`
}

// WebPlatform is the "Web" platform of an app registration.
type WebPlatform struct {
	// RedirectURIs may use parameters, e.g. https://{{server_name}}/callback.
	RedirectURIs  []string      `yaml:"redirectUris,omitempty" json:"redirectUris,omitempty"`
	ImplicitGrant ImplicitGrant `yaml:"implicitGrant,omitempty" json:"implicitGrant,omitempty"`
}

// ImplicitGrant holds the "Implicit grant and hybrid flows" check boxes.
type ImplicitGrant struct {
	AccessTokens bool `yaml:"accessTokens,omitempty" json:"accessTokens,omitempty"`
	IDTokens     bool `yaml:"idTokens,omitempty" json:"idTokens,omitempty"`
}

// PublicClient is the "Mobile and desktop applications" platform.
type PublicClient struct {
	RedirectURIs []string `yaml:"redirectUris,omitempty" json:"redirectUris,omitempty"`
}

// PermissionRequest is one permission a blueprint asks for.
type PermissionRequest struct {
	// Resource is "Microsoft Graph", "Office 365 Exchange Online" or the
	// appId (GUID) of another resource application.
	Resource string         `yaml:"resource" json:"resource"`
	Name     string         `yaml:"name" json:"name"`
	Type     PermissionType `yaml:"type" json:"type"`
	// ID is the permission's GUID. It is needed only for resources the
	// portal has no table for; for known resources it must match the table.
	ID string `yaml:"id,omitempty" json:"id,omitempty"`
	// Optional permissions are off unless the admin turns them on.
	Optional bool `yaml:"optional,omitempty" json:"optional,omitempty"`
	// Feature groups optional permissions that the admin turns on together
	// ("Azure AD User Sync").
	Feature string `yaml:"feature,omitempty" json:"feature,omitempty"`
	// Reason is why the vendor needs it.
	Reason string `yaml:"reason" json:"reason"`
}

// MaxSecretLifetimeMonths is the longest client secret the portal creates:
// the Entra admin center does not offer more than 24 months.
const MaxSecretLifetimeMonths = 24

// RecommendedSecretLifetimeMonths is Microsoft's recommendation: "less than
// 12 months".
const RecommendedSecretLifetimeMonths = 12

// SecretPolicy says how long the client secret lives.
type SecretPolicy struct {
	DefaultLifetimeMonths int `yaml:"defaultLifetimeMonths" json:"defaultLifetimeMonths"`
	MaxLifetimeMonths     int `yaml:"maxLifetimeMonths" json:"maxLifetimeMonths"`
	// VendorSays quotes what the guide says about the expiry period.
	VendorSays string `yaml:"vendorSays,omitempty" json:"vendorSays,omitempty"`
	// PortalDoes says what the portal does about expiry, in particular
	// instead of a secret that "never" expires.
	PortalDoes string `yaml:"portalDoes" json:"portalDoes"`
}

// HandoffPlace is one place in the vendor product where values go.
type HandoffPlace struct {
	Title string `yaml:"title" json:"title"`
	// MenuPath is where the place is, in the vendor's words
	// ("System > General > User settings").
	MenuPath string `yaml:"menuPath,omitempty" json:"menuPath,omitempty"`
	// Steps are the vendor's own instructions at that place.
	Steps  []string       `yaml:"steps,omitempty" json:"steps,omitempty"`
	Fields []HandoffField `yaml:"fields" json:"fields"`
	Note   string         `yaml:"note,omitempty" json:"note,omitempty"`
}

// HandoffField is one field in the vendor product and what goes into it.
type HandoffField struct {
	// Label is the field's name in the vendor product.
	Label string `yaml:"label" json:"label"`
	// Value is a template: {{client_id}}, {{tenant_id}}, {{client_secret}},
	// {{secret_expires}}, a parameter, or literal text ("Exchange Online").
	Value string `yaml:"value" json:"value"`
	Note  string `yaml:"note,omitempty" json:"note,omitempty"`
}

// Advice is one hardening step after setup.
type Advice struct {
	Title string `yaml:"title" json:"title"`
	Text  string `yaml:"text" json:"text"`
	// PowerShell to run, a template like HandoffField.Value (but never
	// {{client_secret}}).
	PowerShell string `yaml:"powershell,omitempty" json:"powershell,omitempty"`
}

// Doubt records where the vendor's guide is ambiguous or out of date. The
// portal shows doubts to the admin.
type Doubt struct {
	// About is the field path the doubt is about ("registration.web").
	About string `yaml:"about" json:"about"`
	// Guide quotes or paraphrases what the guide says.
	Guide string `yaml:"guide" json:"guide"`
	// Note says what is doubtful and what the blueprint does about it.
	Note string `yaml:"note" json:"note"`
}

// EWSSettings belongs to blueprints that use Exchange Web Services.
type EWSSettings struct {
	// GraphVariant is the ID of the vendor's Microsoft Graph variant, if any.
	GraphVariant string `yaml:"graphVariant,omitempty" json:"graphVariant,omitempty"`
	// IsGraphVariant marks the vendor's Microsoft Graph variant that still
	// asks for an EWS permission (its guide says so), so the EWS notice does
	// not tell the admin to look for a Graph variant.
	IsGraphVariant bool   `yaml:"isGraphVariant,omitempty" json:"isGraphVariant,omitempty"`
	Note           string `yaml:"note,omitempty" json:"note,omitempty"`
}

// Key dates of the Exchange Web Services retirement in Exchange Online.
var (
	// EWSAllowListEnforced is when Exchange Online started to block EWS for
	// applications not on the tenant's EWSAllowedAppIDs list.
	EWSAllowListEnforced = time.Date(2026, time.October, 1, 0, 0, 0, 0, time.UTC)
	// EWSShutdown is when EWS is switched off in Exchange Online for good.
	EWSShutdown = time.Date(2027, time.April, 1, 0, 0, 0, 0, time.UTC)
)

// IsBuiltin reports whether b is one of the built-in blueprints.
func (b *Blueprint) IsBuiltin() bool { return b.builtin }

// Line returns the line in the source file of the field at path
// ("permissions[2].name"), or 0 if unknown.
func (b *Blueprint) Line(path string) int { return b.lines[path] }
