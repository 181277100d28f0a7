package catalog

import (
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/appreg-portal/portal/internal/i18n"
)

// maxParamValueLen bounds every parameter value.
const maxParamValueLen = 256

var (
	hostLabelRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
	portRE      = regexp.MustCompile(`^[0-9]{1,5}$`)
)

// ValidateParams checks the admin's parameter values. It returns a message
// (in English) per parameter name that is wrong, missing or not a parameter
// of b; an empty map means all is well. ValidateParamsIn speaks the
// reader's language.
func (b *Blueprint) ValidateParams(values map[string]string) map[string]string {
	return b.ValidateParamsIn(i18n.For(i18n.EN), values)
}

// ValidateParamsIn is ValidateParams with the messages in l's language. A
// parameter's own patternHelp is the blueprint's text, in its source
// language.
func (b *Blueprint) ValidateParamsIn(l *i18n.Localizer, values map[string]string) map[string]string {
	errs := map[string]string{}
	for name, m := range b.paramProblems(values) {
		errs[name] = m.In(l)
	}
	return errs
}

// paramProblems is what ValidateParams reports, as messages.
func (b *Blueprint) paramProblems(values map[string]string) map[string]Msg {
	errs := map[string]Msg{}
	declared := map[string]bool{}
	for _, p := range b.Parameters {
		declared[p.Name] = true
		val := strings.TrimSpace(values[p.Name])
		if val == "" {
			if !p.Optional {
				if p.Label == "" {
					errs[p.Name] = msg("blueprint_param.enter_value")
				} else {
					errs[p.Name] = msg("blueprint_param.enter", "Label", lowerFirst(p.Label))
				}
			}
			continue
		}
		if m := checkParamValue(p, val); !m.IsZero() {
			errs[p.Name] = m
		}
	}
	for name := range values {
		if !declared[name] {
			errs[name] = msg("blueprint_param.no_such_parameter")
		}
	}
	return errs
}

func lowerFirst(s string) string {
	if s == "" {
		return "a value"
	}
	r := []rune(s)
	if len(r) > 1 && unicode.IsUpper(r[1]) { // keep acronyms: "URL", "ID"
		return s
	}
	r[0] = unicode.ToLower(r[0])
	return string(r)
}

// checkParamValue returns why val is not acceptable for p, or no message.
func checkParamValue(p Parameter, val string) Msg {
	if len(val) > maxParamValueLen {
		return msg("blueprint_param.too_long", "Max", maxParamValueLen)
	}
	for _, r := range val {
		if unicode.IsControl(r) {
			return msg("blueprint_param.control_characters")
		}
	}
	if strings.Contains(val, "{{") || strings.Contains(val, "}}") {
		return msg("blueprint_param.braces", "Open", "{{", "Close", "}}")
	}
	switch p.Type {
	case ParamHostname:
		host, port, hasPort := strings.Cut(val, ":")
		if strings.Contains(val, "/") || !validHostname(host, false) {
			return msg("blueprint_param.hostname", "Example", quote("erp.example.com"))
		}
		if hasPort && !portRE.MatchString(port) {
			return msg("blueprint_param.port")
		}
	case ParamDomain:
		if !validHostname(val, true) {
			return msg("blueprint_param.domain", "Example", quote("example.com"))
		}
	case ParamEmail:
		a, err := mail.ParseAddress(val)
		if err != nil || a.Address != val || a.Name != "" {
			return msg("blueprint_param.email", "Example", quote("name@example.com"))
		}
		_, domain, _ := strings.Cut(val[strings.LastIndex(val, "@"):], "@")
		if !validHostname(domain, true) {
			return msg("blueprint_param.email", "Example", quote("name@example.com"))
		}
	case ParamURL:
		if m := checkRedirectURI(val, false); !m.IsZero() {
			return msg("blueprint_param.url")
		}
	}
	if p.Pattern != "" {
		re, err := regexp.Compile(anchor(p.Pattern))
		if err == nil && !re.MatchString(val) {
			if p.PatternHelp != "" {
				// The blueprint's own words: a message that is only its argument.
				return msg("blueprint_param.pattern_help", "Help", p.PatternHelp)
			}
			return msg("blueprint_param.pattern")
		}
	}
	return Msg{}
}

// validHostname checks a DNS name; domains need at least two labels.
func validHostname(s string, needDot bool) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	if needDot && len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if !hostLabelRE.MatchString(l) {
			return false
		}
	}
	return true
}

// expand replaces every {{name}} in s with value(name).
func expand(s string, value func(name string) string) string {
	return templateRE.ReplaceAllStringFunc(s, func(m string) string {
		return value(templateRE.FindStringSubmatch(m)[1])
	})
}

// RedirectURIs are the redirect URIs to register, per platform.
type RedirectURIs struct {
	Web          []string
	PublicClient []string
}

// RedirectURIs fills the parameters into the blueprint's redirect URIs. A URI
// that uses an optional parameter left empty is left out. It fails if the
// parameters are not valid (see ValidateParams) or a filled-in URI is not an
// acceptable redirect URI.
func (b *Blueprint) RedirectURIs(params map[string]string) (RedirectURIs, error) {
	if errs := b.ValidateParams(params); len(errs) > 0 {
		names := make([]string, 0, len(errs))
		for n := range errs {
			names = append(names, n)
		}
		sort.Strings(names)
		return RedirectURIs{}, fmt.Errorf("catalog: blueprint %s: parameters not valid: %s", b.ID, strings.Join(names, ", "))
	}
	var out RedirectURIs
	var err error
	if out.Web, err = b.fillURIs(b.Registration.Web.RedirectURIs, params, false); err != nil {
		return RedirectURIs{}, err
	}
	if out.PublicClient, err = b.fillURIs(b.Registration.PublicClient.RedirectURIs, params, true); err != nil {
		return RedirectURIs{}, err
	}
	return out, nil
}

func (b *Blueprint) fillURIs(tmpls []string, params map[string]string, public bool) ([]string, error) {
	var uris []string
	for _, t := range tmpls {
		names, _ := templateVars(t)
		skip := false
		for _, n := range names {
			if strings.TrimSpace(params[n]) == "" {
				skip = true // an optional parameter left empty: ValidateParams passed
			}
		}
		if skip {
			continue
		}
		u := expand(t, func(n string) string { return strings.TrimSpace(params[n]) })
		if m := checkRedirectURI(u, public); !m.IsZero() {
			return nil, fmt.Errorf("catalog: blueprint %s: redirect URI %q: %s", b.ID, u, m)
		}
		if !contains(uris, u) {
			uris = append(uris, u)
		}
	}
	return uris, nil
}

// DisplayName fills the parameters into the suggested registration name.
func (b *Blueprint) DisplayName(params map[string]string) string {
	return strings.TrimSpace(expand(b.Registration.DisplayName, func(n string) string { return strings.TrimSpace(params[n]) }))
}

// ResolvedPermission is a permission request with what the table knows.
type ResolvedPermission struct {
	PermissionRequest
	// Permission is the table entry; for a resource without a table only
	// Resource.AppID, Name, Type and ID (as the blueprint gives it) are
	// set, and Known is false.
	Permission Permission
	Known      bool
}

// ResolvedPermissions returns the blueprint's permissions, in its order, with
// GUIDs, Microsoft's texts, consent and privilege from the table.
func (b *Blueprint) ResolvedPermissions() []ResolvedPermission {
	out := make([]ResolvedPermission, 0, len(b.Permissions))
	for _, pr := range b.Permissions {
		rp := ResolvedPermission{PermissionRequest: pr}
		if p, ok := Lookup(pr.Resource, pr.Name, pr.Type); ok {
			rp.Permission, rp.Known = p, true
		} else {
			rp.Permission = Permission{Resource: Resource{Name: pr.Resource, AppID: strings.ToLower(pr.Resource)},
				Name: pr.Name, Type: pr.Type, ID: strings.ToLower(pr.ID), Confidence: Unverified,
				Source:       "the blueprint; resolved from the tenant at run time",
				AdminConsent: ConsentCheckTenant}
			if pr.Type == Application {
				rp.Permission.AdminConsent = ConsentRequired
			}
			rp.Permission.Privilege = fallbackPrivilege(rp.Permission)
			rp.Permission.Summary = fmt.Sprintf("%s (%s): a permission of API %s; the portal has no description of it", pr.Name, pr.Type, pr.Resource)
		}
		out = append(out, rp)
	}
	return out
}

// UsesEWS reports whether the blueprint asks for an Exchange Web Services
// permission (required or optional).
func (b *Blueprint) UsesEWS() bool {
	for _, rp := range b.ResolvedPermissions() {
		if rp.Known && rp.Permission.IsEWS() {
			return true
		}
	}
	return false
}

// Values are what the portal knows after creating the registration, to fill
// into the hand-off and hardening templates.
type Values struct {
	ClientID           string
	TenantID           string
	ServicePrincipalID string
	SecretExpires      time.Time
	// DisplayName is the app registration's name as chosen in the wizard.
	DisplayName string
	Params      map[string]string
}

func (v Values) lookup(name string) string {
	switch name {
	case VarClientID:
		return v.ClientID
	case VarTenantID:
		return v.TenantID
	case VarServicePrincipalID:
		return v.ServicePrincipalID
	case VarSecretExpires:
		if v.SecretExpires.IsZero() {
			return ""
		}
		return v.SecretExpires.UTC().Format(time.DateOnly)
	case VarClientSecret:
		return "" // never filled in here; see SheetField.Secret
	case VarDisplayName:
		return v.DisplayName
	}
	return strings.TrimSpace(v.Params[name])
}

// varWords are the message IDs naming the portal's own template variables
// as admins say them ("client ID", "client-id"); the ID plus "_prose" is the
// phrase in prose, with its article ("the client ID", "de client-id").
var varWords = map[string]string{
	VarClientID:           "catalogue.var.client_id",
	VarTenantID:           "catalogue.var.tenant_id",
	VarClientSecret:       "catalogue.var.client_secret",
	VarSecretExpires:      "catalogue.var.secret_expires",
	VarServicePrincipalID: "catalogue.var.service_principal_id",
	VarDisplayName:        "catalogue.var.display_name",
}

// Describe fills a template with words instead of values, for pages shown
// before anything is registered: "the client ID" in prose, "<client ID>"
// where the text is a value or PowerShell (as Microsoft's documentation
// writes placeholders). A parameter is named by its label. The words are in
// the blueprint's own language (SourceLang), since they stand in its text.
func (b *Blueprint) Describe(s string, code bool) string {
	l := i18n.For(b.SourceLang())
	return expand(s, func(name string) string {
		var w string
		if id, ok := varWords[name]; ok {
			if !code {
				return l.T(id + "_prose") // with its article: "het clientgeheim"
			}
			w = l.T(id)
		} else {
			w = name
			for _, p := range b.Parameters {
				if p.Name == name && p.Label != "" {
					w = strings.ToLower(p.Label[:1]) + p.Label[1:]
				}
			}
		}
		if code {
			return l.T("catalogue.var_code", "Name", w)
		}
		return l.T("catalogue.var_prose", "Name", w)
	})
}

// Sheet is a hand-off place with the values filled in.
type Sheet struct {
	Title    string
	MenuPath string
	Steps    []string
	Fields   []SheetField
	Note     string
}

// SheetField is a filled-in hand-off field.
type SheetField struct {
	Label string
	Value string
	// Secret marks the field where the client secret goes. Value then
	// holds the rest of the template without the secret: the page shows
	// the secret itself, once.
	Secret bool
	Note   string
}

// HandoffSheet fills v into the hand-off places.
func (b *Blueprint) HandoffSheet(v Values) []Sheet {
	sheets := make([]Sheet, 0, len(b.Handoff))
	for _, h := range b.Handoff {
		s := Sheet{Title: h.Title, MenuPath: h.MenuPath, Steps: h.Steps, Note: h.Note}
		for _, f := range h.Fields {
			names, _ := templateVars(f.Value)
			s.Fields = append(s.Fields, SheetField{Label: f.Label, Value: expand(f.Value, v.lookup),
				Secret: contains(names, VarClientSecret), Note: f.Note})
		}
		sheets = append(sheets, s)
	}
	return sheets
}

// HardeningAdvice fills v into the hardening steps. For an EWS blueprint the
// first step is the EWS allow-list step (see EWSNotice), in English.
func (b *Blueprint) HardeningAdvice(v Values) []Advice {
	return b.hardeningAdvice(b.EWSNotice(v), v)
}

// HardeningAdviceIn is HardeningAdvice with the EWS allow-list step in l's
// language (see EWSNoticeIn: its Text leaves out the blueprint's EWS note,
// which the caller shows apart). The blueprint's own steps stay in the
// language of its source guide.
func (b *Blueprint) HardeningAdviceIn(l *i18n.Localizer, v Values) []Advice {
	return b.hardeningAdvice(b.EWSNoticeIn(l, v), v)
}

func (b *Blueprint) hardeningAdvice(n *EWSNotice, v Values) []Advice {
	var out []Advice
	if n != nil {
		out = append(out, Advice{Title: n.Title, Text: n.Text, PowerShell: n.PowerShell})
	}
	inPowerShell := func(name string) string {
		if name == VarDisplayName {
			return psSingleQuoted(v.DisplayName)
		}
		return v.lookup(name)
	}
	for _, a := range b.Hardening {
		out = append(out, Advice{Title: a.Title, Text: expand(a.Text, v.lookup), PowerShell: expand(a.PowerShell, inPowerShell)})
	}
	return out
}

// psSingleQuoted makes s safe inside a PowerShell single-quoted string (the
// validator allows {{display_name}} only there): every single quote is
// doubled, including the typographic ones PowerShell also takes as quotes
// (https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_quoting_rules).
func psSingleQuoted(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
		switch r {
		case '\'', '\u2018', '\u2019', '\u201a', '\u201b':
			b.WriteRune(r)
		}
	}
	return b.String()
}

// EWSNotice is what the portal tells the admin about an EWS-based
// integration.
type EWSNotice struct {
	Title string
	Text  string
	// PowerShell adds the client ID to the tenant's EWSAllowedAppIDs list,
	// keeping the entries already there.
	PowerShell        string
	AllowListEnforced time.Time
	Shutdown          time.Time
	// GraphVariant is the ID of the vendor's Microsoft Graph blueprint,
	// or "" if the vendor's guides name none.
	GraphVariant string
	// IsGraphVariant: this blueprint is itself the vendor's Graph variant.
	IsGraphVariant bool
	Note           string
}

// EWSNotice returns the EWS notice for an EWS-based blueprint, or nil, in
// English, with the blueprint's own note at the end of Text.
func (b *Blueprint) EWSNotice(v Values) *EWSNotice {
	n := b.EWSNoticeIn(i18n.For(i18n.EN), v)
	if n != nil && n.Note != "" {
		n.Text += " " + strings.TrimSpace(n.Note)
	}
	return n
}

// EWSNoticeIn returns the EWS notice in l's language, or nil. Text is the
// portal's words only: the blueprint's own Note (in the language of its
// source guide) is left for the page to show apart, marked translate="no".
func (b *Blueprint) EWSNoticeIn(l *i18n.Localizer, v Values) *EWSNotice {
	if !b.UsesEWS() {
		return nil
	}
	clientID := v.ClientID
	if clientID == "" {
		clientID = l.T("ews.client_id_placeholder")
	}
	n := &EWSNotice{
		Title:             l.T("ews.title"),
		AllowListEnforced: EWSAllowListEnforced,
		Shutdown:          EWSShutdown,
		PowerShell:        ewsAllowListPowerShell(clientID),
	}
	if b.EWS != nil {
		n.GraphVariant, n.IsGraphVariant, n.Note = b.EWS.GraphVariant, b.EWS.IsGraphVariant, strings.TrimSpace(b.EWS.Note)
	}
	// The Graph variant talks to Graph; only what it still does through EWS
	// stops.
	stops := l.T("ews.stops")
	if n.IsGraphVariant {
		stops = l.T("ews.stops_graph_variant")
	}
	text := l.T("ews.text", "Enforced", l.Date(EWSAllowListEnforced), "Shutdown", l.Date(EWSShutdown), "Stops", stops)
	switch {
	case n.GraphVariant != "":
		text += " " + l.T("ews.graph_variant", "Blueprint", strconv.Quote(n.GraphVariant))
	case n.IsGraphVariant:
		text += " " + l.T("ews.is_graph_variant")
	default:
		text += " " + l.T("ews.no_graph_variant")
	}
	n.Text = text
	return n
}

// ewsAllowListPowerShell reads the EWSAllowedAppIDs list, adds clientID if it
// is missing and writes the whole list back. -split also copes with a list
// that comes back as several values.
func ewsAllowListPowerShell(clientID string) string {
	return fmt.Sprintf(`Connect-ExchangeOnline
$appId = '%s'
# Set-OrganizationConfig writes the WHOLE list: read it first and keep every entry.
$current = (Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy).EwsAllowedAppIDs
"Current EwsAllowedAppIDs (keep this to undo the change): $current"
$list = @($current -split ',' | ForEach-Object { $_.Trim() } | Where-Object { $_ })
if ($list -notcontains $appId) { $list += $appId }
Set-OrganizationConfig -EwsEnabled $true -EwsAllowedAppIDs ($list -join ',')
# Check; the change can take up to 24 hours to reach every server.
Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy | Format-List EwsEnabled, EwsAllowedAppIDs`, clientID)
}

// Feature is a set of optional permissions the admin turns on together in
// the wizard. An optional permission without a feature is a feature of its
// own, named after the permission.
type Feature struct {
	Name        string
	Permissions []ResolvedPermission
}

func featureName(pr PermissionRequest) string {
	if pr.Feature != "" {
		return pr.Feature
	}
	return pr.Name + " (" + string(pr.Type) + ")"
}

// OptionalFeatures returns the blueprint's optional permissions grouped by
// feature, in the order they first appear.
func (b *Blueprint) OptionalFeatures() []Feature {
	var fs []Feature
	idx := map[string]int{}
	for _, rp := range b.ResolvedPermissions() {
		if !rp.Optional {
			continue
		}
		n := featureName(rp.PermissionRequest)
		i, ok := idx[n]
		if !ok {
			i = len(fs)
			idx[n] = i
			fs = append(fs, Feature{Name: n})
		}
		fs[i].Permissions = append(fs[i].Permissions, rp)
	}
	return fs
}

// SelectPermissions returns the required permissions and the optional ones
// of the named features, in the blueprint's order. An unknown feature name
// is an error.
func (b *Blueprint) SelectPermissions(features []string) ([]ResolvedPermission, error) {
	on := map[string]bool{}
	known := map[string]bool{}
	for _, f := range b.OptionalFeatures() {
		known[f.Name] = true
	}
	for _, f := range features {
		if !known[f] {
			return nil, fmt.Errorf("catalog: blueprint %s has no optional feature %q", b.ID, f)
		}
		on[f] = true
	}
	var out []ResolvedPermission
	for _, rp := range b.ResolvedPermissions() {
		if !rp.Optional || on[featureName(rp.PermissionRequest)] {
			out = append(out, rp)
		}
	}
	return out, nil
}

// ConsentRole is the least privileged Entra role that can grant a
// permission for the whole organisation.
type ConsentRole string

// The consent roles. Global Administrator can always grant.
const (
	// RolePrivilegedRoleAdmin: Microsoft Graph application permissions
	// (app roles) need Privileged Role Administrator.
	RolePrivilegedRoleAdmin ConsentRole = "Privileged Role Administrator"
	// RoleCloudAppAdmin: everything else (other APIs' app roles, and
	// delegated permissions for all users) needs Cloud Application
	// Administrator or Application Administrator.
	RoleCloudAppAdmin ConsentRole = "Cloud Application Administrator"
)

// ConsentRole returns the role needed to grant p for the whole organisation,
// as the portal does.
func (p Permission) ConsentRole() ConsentRole {
	if p.Type == Application && p.Resource == MicrosoftGraph {
		return RolePrivilegedRoleAdmin
	}
	return RoleCloudAppAdmin
}

// ResourceAccess is one entry of an application's requiredResourceAccess in
// Microsoft Graph: the permissions the app asks for on one resource.
type ResourceAccess struct {
	ResourceAppID string
	Access        []AccessEntry
}

// AccessEntry is one permission in Graph's terms: Type is "Role" for an
// application permission and "Scope" for a delegated one.
type AccessEntry struct {
	ID   string
	Type string
}

// RequiredResourceAccess groups permissions by resource, in order, as
// Microsoft Graph's application.requiredResourceAccess wants them. Every
// permission needs an ID: resolve those the table does not know (or does not
// trust) from the tenant first (Permission.CheckTenant) and set
// Permission.ID.
func RequiredResourceAccess(perms []ResolvedPermission) ([]ResourceAccess, error) {
	var out []ResourceAccess
	idx := map[string]int{}
	for _, rp := range perms {
		p := rp.Permission
		if !guidRE.MatchString(p.ID) {
			return nil, fmt.Errorf("catalog: %s %s permission %s has no ID; resolve it from the tenant first", p.Resource.Name, p.Type, p.Name)
		}
		app := strings.ToLower(p.Resource.AppID)
		i, ok := idx[app]
		if !ok {
			i = len(out)
			idx[app] = i
			out = append(out, ResourceAccess{ResourceAppID: app})
		}
		typ := "Scope"
		if p.Type == Application {
			typ = "Role"
		}
		e := AccessEntry{ID: strings.ToLower(p.ID), Type: typ}
		if !slices.Contains(out[i].Access, e) {
			out[i].Access = append(out[i].Access, e)
		}
	}
	return out, nil
}
