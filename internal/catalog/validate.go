package catalog

import (
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/trunc"
)

// Reserved template names: values the portal fills in itself. Parameters
// cannot use them.
const (
	VarClientID           = "client_id"
	VarTenantID           = "tenant_id"
	VarClientSecret       = "client_secret"
	VarSecretExpires      = "secret_expires"
	VarServicePrincipalID = "service_principal_id"
	// VarDisplayName is the app registration's name as chosen in the wizard
	// (hardening only; in PowerShell always single-quoted, see
	// psSingleQuoted).
	VarDisplayName = "display_name"
)

var reservedVars = map[string]bool{
	VarClientID: true, VarTenantID: true, VarClientSecret: true, VarSecretExpires: true, VarServicePrincipalID: true,
	VarDisplayName: true,
}

var (
	idRE        = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	paramNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	guidRE      = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	templateRE  = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)
)

const (
	maxIDLen        = 64
	maxParamNameLen = 40
	maxURILen       = 256
)

var audiences = []string{AudienceMyOrg, AudienceMultipleOrgs, AudienceMultipleOrgsAndMS}

// validator collects semantic problems with their lines.
type validator struct {
	b    *Blueprint
	errs ValidationErrors
}

// lineOf returns the line of path, or of its nearest ancestor that has one.
func (v *validator) lineOf(path string) int {
	for p := path; p != ""; {
		if l, ok := v.b.lines[p]; ok {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 1
}

// fail records a problem with path: message blueprint_error.<id> with its
// args (name, value pairs).
func (v *validator) fail(path, id string, args ...any) {
	v.failMsg(path, msg("blueprint_error."+id, args...))
}

func (v *validator) failMsg(path string, m Msg) {
	v.errs = append(v.errs, newError(v.lineOf(path), path, m))
}

func (v *validator) required(path, value string) bool {
	if strings.TrimSpace(value) == "" {
		v.fail(path, "required")
		return false
	}
	return true
}

func (v *validator) version() {
	b := v.b
	switch {
	case b.APIVersion == "":
		v.fail("apiVersion", "api_version_missing", "Want", quote("apiVersion: "+APIVersion))
	case b.APIVersion != APIVersion:
		v.fail("apiVersion", "api_version_unknown", "Got", quote(b.APIVersion), "Want", quote(APIVersion))
	}
	switch {
	case b.Kind == "":
		v.fail("kind", "kind_missing", "Want", quote(Kind))
	case b.Kind != Kind:
		v.fail("kind", "kind_wrong", "Got", quote(b.Kind), "Want", quote(Kind))
	}
}

// validate checks everything the decoder cannot: required fields, formats,
// references between fields, and permissions against the table.
func validate(b *Blueprint) ValidationErrors {
	v := &validator{b: b}
	v.version()
	if v.required("id", b.ID) {
		if len(b.ID) > maxIDLen || !idRE.MatchString(b.ID) {
			v.fail("id", "id_invalid", "ID", quote(trunc.Ellipsis(b.ID, 80)), "Max", maxIDLen, "Example", quote("exact-globe-mail"))
		}
	}
	v.required("name", b.Name)
	v.required("vendor", b.Vendor)
	v.required("description", b.Description)
	if len(b.AppliesTo) == 0 {
		v.fail("appliesTo", "applies_to_missing")
	}
	for i, a := range b.AppliesTo {
		v.required(fmt.Sprintf("appliesTo[%d].product", i), a.Product)
	}
	v.source()
	params := v.parameters()
	v.registration(params)
	v.permissions()
	v.secret()
	v.handoff(params)
	v.hardening(params)
	for i, w := range b.Warnings {
		v.required(fmt.Sprintf("warnings[%d]", i), w)
	}
	v.doubts()
	v.ews()
	return v.errs
}

func (v *validator) source() {
	s := v.b.Source
	v.required("source.title", s.Title)
	if s.Date != "" {
		if _, err := time.Parse(time.DateOnly, s.Date); err != nil {
			v.fail("source.date", "date_invalid", "Date", quote(trunc.Ellipsis(s.Date, 40)))
		}
	}
	if s.URL != "" {
		if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			v.fail("source.url", "url_invalid", "URL", quote(trunc.Ellipsis(s.URL, 80)))
		}
	}
	if _, ok := i18n.Parse(s.Language); s.Language != "" && (!ok || s.Language != strings.ToLower(s.Language)) {
		v.fail("source.language", "language_unknown", "Language", quote(trunc.Ellipsis(s.Language, 40)))
	}
}

// parameters checks the parameters and returns them by name.
func (v *validator) parameters() map[string]Parameter {
	params := map[string]Parameter{}
	first := map[string]string{}
	for i, p := range v.b.Parameters {
		path := fmt.Sprintf("parameters[%d]", i)
		if v.required(path+".name", p.Name) {
			switch {
			case len(p.Name) > maxParamNameLen || !paramNameRE.MatchString(p.Name):
				v.fail(path+".name", "param_name_invalid", "Name", quote(trunc.Ellipsis(p.Name, 60)), "Example", quote("server_name"))
			case reservedVars[p.Name]:
				v.fail(path+".name", "param_name_reserved", "Name", quote(p.Name), "Template", "{{"+p.Name+"}}")
			default:
				if prev, dup := first[p.Name]; dup {
					v.fail(path+".name", "param_duplicate", "Name", quote(p.Name), "First", prev, "Line", strconv.Itoa(v.lineOf(prev)))
				} else {
					first[p.Name] = path + ".name"
					params[p.Name] = p
				}
			}
		}
		v.required(path+".label", p.Label)
		switch p.Type {
		case ParamText, ParamHostname, ParamEmail, ParamDomain, ParamURL:
		case "":
			v.fail(path+".type", "param_type_missing")
		default:
			v.fail(path+".type", "param_type_unknown", "Type", quote(trunc.Ellipsis(string(p.Type), 40)))
		}
		if p.Pattern != "" {
			if _, err := regexp.Compile(p.Pattern); err != nil {
				v.fail(path+".pattern", "pattern_invalid", "Error", err.Error())
			}
		}
		if p.Example != "" && p.Type != "" {
			if m := checkParamValue(p, p.Example); !m.IsZero() {
				v.fail(path+".example", "example_invalid", "Problem", m)
			}
		}
	}
	return params
}

// anchor makes a pattern match the whole value.
func anchor(pattern string) string { return `^(?:` + pattern + `)$` }

// templateVars returns the names used in a template and a problem if the
// template is malformed. Names are written without spaces, so that
// {{client_secret}} is always spelled one way.
func templateVars(s string) ([]string, Msg) {
	var names []string
	var problem Msg
	for _, m := range templateRE.FindAllStringSubmatch(s, -1) {
		names = append(names, m[1])
		if problem.IsZero() && m[0] != "{{"+m[1]+"}}" {
			problem = msg("blueprint_error.template_spaces", "Written", quote(trunc.Ellipsis(m[0], 60)), "Wanted", "{{"+trunc.Ellipsis(m[1], 40)+"}}")
		}
	}
	rest := templateRE.ReplaceAllString(s, "")
	if strings.Contains(rest, "{{") || strings.Contains(rest, "}}") {
		return names, msg("blueprint_error.template_unbalanced", "Braces", "{{ }}")
	}
	return names, problem
}

// checkTemplate reports template names that are neither parameters nor
// allowed reserved names.
func (v *validator) checkTemplate(path, s string, params map[string]Parameter, allowed ...string) {
	names, problem := templateVars(s)
	if !problem.IsZero() {
		v.failMsg(path, problem)
	}
	for _, n := range names {
		if _, ok := params[n]; ok {
			continue
		}
		ok := false
		for _, a := range allowed {
			if n == a {
				ok = true
			}
		}
		if ok {
			continue
		}
		if n == VarClientSecret {
			v.fail(path, "client_secret_not_here", "Secret", "{{"+VarClientSecret+"}}")
			continue
		}
		if reservedVars[n] {
			v.fail(path, "reserved_not_here", "Template", "{{"+n+"}}")
			continue
		}
		cands := append(paramNames(params), allowed...)
		if s := suggest(n, cands); s != "" {
			v.fail(path, "not_a_parameter_suggest", "Template", "{{"+trunc.Ellipsis(n, 40)+"}}", "Suggestion", "{{"+s+"}}")
		} else {
			v.fail(path, "not_a_parameter", "Template", "{{"+trunc.Ellipsis(n, 40)+"}}")
		}
	}
}

func paramNames(params map[string]Parameter) []string {
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	return names
}

// sampleValue is a value a parameter could take, to check URI templates.
func sampleValue(p Parameter) string {
	if p.Example != "" {
		return p.Example
	}
	switch p.Type {
	case ParamHostname:
		return "server.example.com"
	case ParamEmail:
		return "someone@example.com"
	case ParamDomain:
		return "example.com"
	case ParamURL:
		return "https://server.example.com/path"
	}
	return "value"
}

func (v *validator) registration(params map[string]Parameter) {
	r := v.b.Registration
	if v.required("registration.displayName", r.DisplayName) {
		v.checkTemplate("registration.displayName", r.DisplayName, params)
	}
	switch {
	case r.SignInAudience == "":
		v.fail("registration.signInAudience", "audience_missing", "Want", strings.Join(audiences, ", "))
	case !contains(audiences, r.SignInAudience):
		got, want := quote(trunc.Ellipsis(r.SignInAudience, 60)), strings.Join(audiences, ", ")
		if s := suggest(r.SignInAudience, audiences); s != "" {
			v.fail("registration.signInAudience", "audience_unknown_suggest", "Got", got, "Want", want, "Suggestion", quote(s))
		} else {
			v.fail("registration.signInAudience", "audience_unknown", "Got", got, "Want", want)
		}
	}
	v.redirectURIs("registration.web.redirectUris", r.Web.RedirectURIs, params, false)
	v.redirectURIs("registration.publicClient.redirectUris", r.PublicClient.RedirectURIs, params, true)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (v *validator) redirectURIs(path string, uris []string, params map[string]Parameter, public bool) {
	seen := map[string]int{}
	for i, u := range uris {
		p := fmt.Sprintf("%s[%d]", path, i)
		if !v.required(p, u) {
			continue
		}
		if j, dup := seen[u]; dup {
			v.fail(p, "redirect_duplicate", "Index", strconv.Itoa(j))
			continue
		}
		seen[u] = i
		names, problem := templateVars(u)
		if !problem.IsZero() {
			v.failMsg(p, problem)
			continue
		}
		ok := true
		for _, n := range names {
			if _, declared := params[n]; !declared {
				ok = false
			}
		}
		if !ok {
			v.checkTemplate(p, u, params)
			continue
		}
		sample := expand(u, func(n string) string { return sampleValue(params[n]) })
		if m := checkRedirectURI(sample, public); !m.IsZero() {
			if len(names) > 0 {
				v.fail(p, "redirect_filled_in", "URI", quote(trunc.Ellipsis(u, 100)), "Sample", quote(trunc.Ellipsis(sample, 100)), "Problem", m)
			} else {
				v.fail(p, "redirect_problem", "URI", quote(trunc.Ellipsis(u, 100)), "Problem", m)
			}
		}
	}
}

// checkRedirectURI returns why uri is not an acceptable redirect URI, or no
// message. Redirect URIs must be https, except http://localhost (and
// 127.0.0.1, [::1]). Public clients may also use a custom scheme (myapp://auth).
func checkRedirectURI(uri string, public bool) Msg {
	if len(uri) > maxURILen {
		return msg("blueprint_error.redirect.too_long", "Max", maxURILen)
	}
	if strings.Contains(uri, "*") {
		return msg("blueprint_error.redirect.wildcard")
	}
	u, err := url.Parse(uri)
	if err != nil {
		return msg("blueprint_error.redirect.invalid")
	}
	if !u.IsAbs() {
		return msg("blueprint_error.redirect.not_absolute")
	}
	if u.Fragment != "" || strings.Contains(uri, "#") {
		return msg("blueprint_error.redirect.fragment")
	}
	if u.User != nil {
		return msg("blueprint_error.redirect.user_info")
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return msg("blueprint_error.redirect.no_host")
		}
		return Msg{}
	case "http":
		switch u.Hostname() {
		case "localhost", "127.0.0.1", "::1":
			return Msg{}
		}
		return msg("blueprint_error.redirect.http")
	case "javascript", "data", "file", "vbscript":
		return msg("blueprint_error.redirect.scheme", "Scheme", u.Scheme)
	}
	if public {
		return Msg{}
	}
	return msg("blueprint_error.redirect.web_custom_scheme")
}

func (v *validator) permissions() {
	b := v.b
	if len(b.Permissions) == 0 {
		v.fail("permissions", "permissions_missing")
	}
	seen := map[string]int{}
	for i, pr := range b.Permissions {
		path := fmt.Sprintf("permissions[%d]", i)
		okRes := v.required(path+".resource", pr.Resource)
		okName := v.required(path+".name", pr.Name)
		v.required(path+".reason", pr.Reason)
		okType := true
		switch pr.Type {
		case Application, Delegated:
		case "":
			okType = false
			v.fail(path+".type", "perm_type_missing")
		default:
			okType = false
			v.fail(path+".type", "perm_type_unknown", "Type", quote(trunc.Ellipsis(string(pr.Type), 40)))
		}
		if pr.Feature != "" && !pr.Optional {
			v.fail(path+".feature", "feature_not_optional")
		}
		if pr.ID != "" && !guidRE.MatchString(pr.ID) {
			v.fail(path+".id", "not_a_guid", "ID", quote(trunc.Ellipsis(pr.ID, 60)))
		}
		if !okRes || !okName || !okType {
			continue
		}
		res, known := KnownResource(pr.Resource)
		if !known {
			if !guidRE.MatchString(pr.Resource) {
				v.fail(path+".resource", "resource_unknown", "Got", quote(trunc.Ellipsis(pr.Resource, 60)), "Graph", quote(MicrosoftGraph.Name), "Exchange", quote(ExchangeOnline.Name))
			}
			key := strings.ToLower(pr.Resource) + "|" + string(pr.Type) + "|" + pr.Name
			if j, dup := seen[key]; dup {
				v.fail(path, "perm_duplicate", "Name", pr.Name, "Type", string(pr.Type), "Index", strconv.Itoa(j))
			}
			seen[key] = i
			continue
		}
		key := res.AppID + "|" + string(pr.Type) + "|" + pr.Name
		if j, dup := seen[key]; dup {
			v.fail(path, "perm_duplicate", "Name", pr.Name, "Type", string(pr.Type), "Index", strconv.Itoa(j))
			continue
		}
		seen[key] = i
		p, ok := Lookup(res.AppID, pr.Name, pr.Type)
		if !ok {
			v.failMsg(path+".name", unknownPermission(res, pr.Name, pr.Type))
			continue
		}
		if pr.ID != "" && guidRE.MatchString(pr.ID) && !strings.EqualFold(pr.ID, p.ID) {
			v.fail(path+".id", "perm_id_mismatch", "Resource", res.Name, "Type", string(pr.Type), "Name", pr.Name, "TableID", p.ID, "ID", pr.ID)
		}
	}
}

// unknownPermission explains why name is not in the table, with the likely
// intended permission.
func unknownPermission(res Resource, name string, typ PermissionType) Msg {
	other := Application
	if typ == Application {
		other = Delegated
	}
	if _, ok := Lookup(res.AppID, name, other); ok {
		return msg("blueprint_error.perm_other_type", "Resource", res.Name, "Type", string(typ), "Name", quote(name), "Other", string(other))
	}
	args := []any{"Resource", res.Name, "Type", string(typ), "Name", quote(trunc.Ellipsis(name, 80))}
	var names []string
	for _, p := range Permissions(res, typ) {
		names = append(names, p.Name)
	}
	if s := suggest(name, names); s != "" {
		return msg("blueprint_error.perm_unknown_suggest", append(args, "Suggestion", quote(s))...)
	} else if res == ExchangeOnline {
		if _, ok := Lookup(MicrosoftGraph.AppID, name, typ); ok {
			return msg("blueprint_error.perm_unknown_graph", append(args, "Graph", MicrosoftGraph.Name)...)
		}
	}
	return msg("blueprint_error.perm_unknown", args...)
}

func (v *validator) secret() {
	s := v.b.Secret
	switch {
	case s.MaxLifetimeMonths <= 0:
		v.fail("secret.maxLifetimeMonths", "secret_max_missing", "Max", MaxSecretLifetimeMonths)
	case s.MaxLifetimeMonths > MaxSecretLifetimeMonths:
		v.fail("secret.maxLifetimeMonths", "secret_max_too_long", "Months", strconv.Itoa(s.MaxLifetimeMonths), "Max", MaxSecretLifetimeMonths, "Recommended", RecommendedSecretLifetimeMonths)
	}
	switch {
	case s.DefaultLifetimeMonths <= 0:
		v.fail("secret.defaultLifetimeMonths", "secret_default_missing")
	case s.MaxLifetimeMonths > 0 && s.DefaultLifetimeMonths > s.MaxLifetimeMonths:
		v.fail("secret.defaultLifetimeMonths", "secret_default_too_long", "Months", strconv.Itoa(s.DefaultLifetimeMonths), "Max", strconv.Itoa(s.MaxLifetimeMonths))
	}
	v.required("secret.portalDoes", s.PortalDoes)
}

func (v *validator) handoff(params map[string]Parameter) {
	if len(v.b.Handoff) == 0 {
		v.fail("handoff", "handoff_missing")
	}
	for i, h := range v.b.Handoff {
		path := fmt.Sprintf("handoff[%d]", i)
		v.required(path+".title", h.Title)
		for j, s := range h.Steps {
			v.required(fmt.Sprintf("%s.steps[%d]", path, j), s)
		}
		if len(h.Fields) == 0 {
			v.fail(path+".fields", "handoff_fields_missing")
		}
		for j, f := range h.Fields {
			fp := fmt.Sprintf("%s.fields[%d]", path, j)
			v.required(fp+".label", f.Label)
			if v.required(fp+".value", f.Value) {
				v.checkTemplate(fp+".value", f.Value, params, VarClientID, VarTenantID, VarClientSecret, VarSecretExpires)
			}
		}
	}
}

func (v *validator) hardening(params map[string]Parameter) {
	for i, a := range v.b.Hardening {
		path := fmt.Sprintf("hardening[%d]", i)
		v.required(path+".title", a.Title)
		if v.required(path+".text", a.Text) {
			v.checkTemplate(path+".text", a.Text, params, VarClientID, VarTenantID, VarServicePrincipalID, VarDisplayName)
		}
		if a.PowerShell != "" {
			v.checkTemplate(path+".powershell", a.PowerShell, params, VarClientID, VarTenantID, VarServicePrincipalID, VarDisplayName)
			// The name is free text: only inside single quotes, where the
			// portal doubles its quotes, can it not run as PowerShell.
			name := "{{" + VarDisplayName + "}}"
			if strings.Count(a.PowerShell, name) != strings.Count(a.PowerShell, "'"+name+"'") {
				v.fail(path+".powershell", "display_name_quotes", "Template", name, "Quoted", "'"+name+"'")
			}
		}
	}
}

var topLevelFields = structFields(reflect.TypeOf(Blueprint{}))

func (v *validator) doubts() {
	for i, d := range v.b.Doubts {
		path := fmt.Sprintf("doubts[%d]", i)
		if v.required(path+".about", d.About) {
			top := d.About
			if j := strings.IndexAny(top, ".["); j >= 0 {
				top = top[:j]
			}
			if _, ok := topLevelFields[top]; !ok {
				v.fail(path+".about", "doubt_about_unknown", "About", quote(trunc.Ellipsis(d.About, 60)))
			}
		}
		v.required(path+".guide", d.Guide)
		v.required(path+".note", d.Note)
	}
}

func (v *validator) ews() {
	b := v.b
	uses := false
	for _, pr := range b.Permissions {
		if p, ok := Lookup(pr.Resource, pr.Name, pr.Type); ok && p.IsEWS() {
			uses = true
		}
	}
	if b.EWS == nil {
		return
	}
	if !uses {
		v.fail("ews", "ews_not_used")
	}
	if g := b.EWS.GraphVariant; g != "" {
		if !idRE.MatchString(g) {
			v.fail("ews.graphVariant", "graph_variant_invalid", "ID", quote(trunc.Ellipsis(g, 60)))
		} else if g == b.ID {
			v.fail("ews.graphVariant", "graph_variant_self")
		} else if b.EWS.IsGraphVariant {
			v.fail("ews.isGraphVariant", "graph_variant_both")
		}
	}
}
