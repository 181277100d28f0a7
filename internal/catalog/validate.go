package catalog

import (
	"fmt"
	"net/url"
	"reflect"
	"regexp"
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

func (v *validator) errorf(path, format string, args ...any) {
	v.errs = append(v.errs, ValidationError{Line: v.lineOf(path), Field: path, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) required(path, value string) bool {
	if strings.TrimSpace(value) == "" {
		v.errorf(path, "missing; this field is required")
		return false
	}
	return true
}

func (v *validator) version() {
	b := v.b
	switch {
	case b.APIVersion == "":
		v.errorf("apiVersion", "missing; the first line of a blueprint is %q", "apiVersion: "+APIVersion)
	case b.APIVersion != APIVersion:
		v.errorf("apiVersion", "%q is not a version this portal reads; want %q", b.APIVersion, APIVersion)
	}
	switch {
	case b.Kind == "":
		v.errorf("kind", "missing; want %q", Kind)
	case b.Kind != Kind:
		v.errorf("kind", "%q is not a blueprint; want %q", b.Kind, Kind)
	}
}

// validate checks everything the decoder cannot: required fields, formats,
// references between fields, and permissions against the table.
func validate(b *Blueprint) ValidationErrors {
	v := &validator{b: b}
	v.version()
	if v.required("id", b.ID) {
		if len(b.ID) > maxIDLen || !idRE.MatchString(b.ID) {
			v.errorf("id", "%q is not a valid ID: use lower-case letters, digits and single hyphens, at most %d characters (e.g. %q)",
				trunc.Ellipsis(b.ID, 80), maxIDLen, "exact-globe-mail")
		}
	}
	v.required("name", b.Name)
	v.required("vendor", b.Vendor)
	v.required("description", b.Description)
	if len(b.AppliesTo) == 0 {
		v.errorf("appliesTo", "missing; name at least one product (and its versions)")
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
			v.errorf("source.date", "%q is not a date; write it as YYYY-MM-DD", trunc.Ellipsis(s.Date, 40))
		}
	}
	if s.URL != "" {
		if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			v.errorf("source.url", "%q is not a web address", trunc.Ellipsis(s.URL, 80))
		}
	}
	if _, ok := i18n.Parse(s.Language); s.Language != "" && (!ok || s.Language != strings.ToLower(s.Language)) {
		v.errorf("source.language", "%q is not a language of the portal; want en or nl", trunc.Ellipsis(s.Language, 40))
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
				v.errorf(path+".name", "%q is not a valid parameter name: use lower-case letters, digits and underscores, starting with a letter (e.g. %q)",
					trunc.Ellipsis(p.Name, 60), "server_name")
			case reservedVars[p.Name]:
				v.errorf(path+".name", "%q is reserved: the portal fills in {{%s}} itself", p.Name, p.Name)
			default:
				if prev, dup := first[p.Name]; dup {
					v.errorf(path+".name", "duplicate parameter %q (first declared at %s, line %d)", p.Name, prev, v.lineOf(prev))
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
			v.errorf(path+".type", "missing; want one of text, hostname, email, domain, url")
		default:
			v.errorf(path+".type", "unknown parameter type %q; want one of text, hostname, email, domain, url", trunc.Ellipsis(string(p.Type), 40))
		}
		if p.Pattern != "" {
			if _, err := regexp.Compile(p.Pattern); err != nil {
				v.errorf(path+".pattern", "not a valid regular expression: %v", err)
			}
		}
		if p.Example != "" && p.Type != "" {
			if msg := checkParamValue(p, p.Example); msg != "" {
				v.errorf(path+".example", "the example does not pass the parameter's own check: %s", msg)
			}
		}
	}
	return params
}

// anchor makes a pattern match the whole value.
func anchor(pattern string) string { return `^(?:` + pattern + `)$` }

// templateVars returns the names used in a template and an error message if
// the template is malformed. Names are written without spaces, so that
// {{client_secret}} is always spelled one way.
func templateVars(s string) ([]string, string) {
	var names []string
	msg := ""
	for _, m := range templateRE.FindAllStringSubmatch(s, -1) {
		names = append(names, m[1])
		if msg == "" && m[0] != "{{"+m[1]+"}}" {
			msg = fmt.Sprintf("write %q without spaces, as {{%s}}", trunc.Ellipsis(m[0], 60), trunc.Ellipsis(m[1], 40))
		}
	}
	rest := templateRE.ReplaceAllString(s, "")
	if strings.Contains(rest, "{{") || strings.Contains(rest, "}}") {
		return names, "unbalanced {{ }} in template"
	}
	return names, msg
}

// checkTemplate reports template names that are neither parameters nor
// allowed reserved names.
func (v *validator) checkTemplate(path, s string, params map[string]Parameter, allowed ...string) {
	names, msg := templateVars(s)
	if msg != "" {
		v.errorf(path, "%s", msg)
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
			v.errorf(path, "{{client_secret}} may appear only in hand-off fields; never put the secret in text or scripts")
			continue
		}
		if reservedVars[n] {
			v.errorf(path, "{{%s}} cannot be used here", n)
			continue
		}
		msg := fmt.Sprintf("{{%s}} is not a declared parameter", trunc.Ellipsis(n, 40))
		cands := append(paramNames(params), allowed...)
		if s := suggest(n, cands); s != "" {
			msg += fmt.Sprintf(" (did you mean {{%s}}?)", s)
		}
		v.errorf(path, "%s", msg)
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
		v.errorf("registration.signInAudience", "missing; want one of %s", strings.Join(audiences, ", "))
	case !contains(audiences, r.SignInAudience):
		msg := fmt.Sprintf("unknown sign-in audience %q; want one of %s", trunc.Ellipsis(r.SignInAudience, 60), strings.Join(audiences, ", "))
		if s := suggest(r.SignInAudience, audiences); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		v.errorf("registration.signInAudience", "%s", msg)
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
			v.errorf(p, "duplicate redirect URI (also at [%d])", j)
			continue
		}
		seen[u] = i
		names, msg := templateVars(u)
		if msg != "" {
			v.errorf(p, "%s", msg)
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
		if msg := checkRedirectURI(sample, public); msg != "" {
			if len(names) > 0 {
				v.errorf(p, "%q (filled in as %q): %s", trunc.Ellipsis(u, 100), trunc.Ellipsis(sample, 100), msg)
			} else {
				v.errorf(p, "%q: %s", trunc.Ellipsis(u, 100), msg)
			}
		}
	}
}

// checkRedirectURI returns why uri is not an acceptable redirect URI, or "".
// Redirect URIs must be https, except http://localhost (and 127.0.0.1,
// [::1]). Public clients may also use a custom scheme (myapp://auth).
func checkRedirectURI(uri string, public bool) string {
	if len(uri) > maxURILen {
		return fmt.Sprintf("a redirect URI may be at most %d characters", maxURILen)
	}
	if strings.Contains(uri, "*") {
		return "wildcards are not allowed in redirect URIs"
	}
	u, err := url.Parse(uri)
	if err != nil {
		return "not a valid URI"
	}
	if !u.IsAbs() {
		return "not an absolute URI; a redirect URI starts with https://"
	}
	if u.Fragment != "" || strings.Contains(uri, "#") {
		return "a redirect URI cannot contain a fragment (#…)"
	}
	if u.User != nil {
		return "a redirect URI cannot contain a user name or password"
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return "no host name after https://"
		}
		return ""
	case "http":
		switch u.Hostname() {
		case "localhost", "127.0.0.1", "::1":
			return ""
		}
		return "redirect URIs must use https (http is allowed only for localhost)"
	case "javascript", "data", "file", "vbscript":
		return fmt.Sprintf("the %s: scheme is not allowed", u.Scheme)
	}
	if public {
		return ""
	}
	return "a web redirect URI must use https (http is allowed only for localhost); custom schemes are for public clients"
}

func (v *validator) permissions() {
	b := v.b
	if len(b.Permissions) == 0 {
		v.errorf("permissions", "missing; a blueprint asks for at least one permission")
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
			v.errorf(path+".type", "missing; want application or delegated")
		default:
			okType = false
			v.errorf(path+".type", "unknown permission type %q; want application or delegated", trunc.Ellipsis(string(pr.Type), 40))
		}
		if pr.Feature != "" && !pr.Optional {
			v.errorf(path+".feature", "feature is only for optional permissions (add optional: true)")
		}
		if pr.ID != "" && !guidRE.MatchString(pr.ID) {
			v.errorf(path+".id", "%q is not a GUID", trunc.Ellipsis(pr.ID, 60))
		}
		if !okRes || !okName || !okType {
			continue
		}
		res, known := KnownResource(pr.Resource)
		if !known {
			if !guidRE.MatchString(pr.Resource) {
				v.errorf(path+".resource", "unknown resource %q; want %q, %q or the appId (a GUID) of another API",
					trunc.Ellipsis(pr.Resource, 60), MicrosoftGraph.Name, ExchangeOnline.Name)
			}
			key := strings.ToLower(pr.Resource) + "|" + string(pr.Type) + "|" + pr.Name
			if j, dup := seen[key]; dup {
				v.errorf(path, "duplicate permission %s (%s), also at permissions[%d]", pr.Name, pr.Type, j)
			}
			seen[key] = i
			continue
		}
		key := res.AppID + "|" + string(pr.Type) + "|" + pr.Name
		if j, dup := seen[key]; dup {
			v.errorf(path, "duplicate permission %s (%s), also at permissions[%d]", pr.Name, pr.Type, j)
			continue
		}
		seen[key] = i
		p, ok := Lookup(res.AppID, pr.Name, pr.Type)
		if !ok {
			v.errorf(path+".name", "%s", unknownPermission(res, pr.Name, pr.Type))
			continue
		}
		if pr.ID != "" && guidRE.MatchString(pr.ID) && !strings.EqualFold(pr.ID, p.ID) {
			v.errorf(path+".id", "%s %s permission %s has ID %s, not %s", res.Name, pr.Type, pr.Name, p.ID, pr.ID)
		}
	}
}

// unknownPermission explains why name is not in the table, with the likely
// intended permission.
func unknownPermission(res Resource, name string, typ PermissionType) string {
	other := Application
	if typ == Application {
		other = Delegated
	}
	if _, ok := Lookup(res.AppID, name, other); ok {
		return fmt.Sprintf("%s has no %s permission %q; %q exists only as a %s permission", res.Name, typ, name, name, other)
	}
	msg := fmt.Sprintf("unknown %s %s permission %q", res.Name, typ, trunc.Ellipsis(name, 80))
	var names []string
	for _, p := range Permissions(res, typ) {
		names = append(names, p.Name)
	}
	if s := suggest(name, names); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	} else if res == ExchangeOnline {
		if _, ok := Lookup(MicrosoftGraph.AppID, name, typ); ok {
			msg += fmt.Sprintf(" (%q is a %s permission)", name, MicrosoftGraph.Name)
		}
	}
	return msg
}

func (v *validator) secret() {
	s := v.b.Secret
	switch {
	case s.MaxLifetimeMonths <= 0:
		v.errorf("secret.maxLifetimeMonths", "missing; give the longest secret lifetime in months (at most %d)", MaxSecretLifetimeMonths)
	case s.MaxLifetimeMonths > MaxSecretLifetimeMonths:
		v.errorf("secret.maxLifetimeMonths", "%d months is too long: client secrets live at most %d months (Microsoft recommends less than %d)",
			s.MaxLifetimeMonths, MaxSecretLifetimeMonths, RecommendedSecretLifetimeMonths)
	}
	switch {
	case s.DefaultLifetimeMonths <= 0:
		v.errorf("secret.defaultLifetimeMonths", "missing; give the default secret lifetime in months")
	case s.MaxLifetimeMonths > 0 && s.DefaultLifetimeMonths > s.MaxLifetimeMonths:
		v.errorf("secret.defaultLifetimeMonths", "%d months is longer than maxLifetimeMonths (%d)", s.DefaultLifetimeMonths, s.MaxLifetimeMonths)
	}
	v.required("secret.portalDoes", s.PortalDoes)
}

func (v *validator) handoff(params map[string]Parameter) {
	if len(v.b.Handoff) == 0 {
		v.errorf("handoff", "missing; say where the client ID, tenant ID and secret go in the product")
	}
	for i, h := range v.b.Handoff {
		path := fmt.Sprintf("handoff[%d]", i)
		v.required(path+".title", h.Title)
		for j, s := range h.Steps {
			v.required(fmt.Sprintf("%s.steps[%d]", path, j), s)
		}
		if len(h.Fields) == 0 {
			v.errorf(path+".fields", "missing; list the fields to fill in at this place")
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
				v.errorf(path+".powershell", "write {{%s}} in single quotes, as '{{%s}}': it is free text", VarDisplayName, VarDisplayName)
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
				v.errorf(path+".about", "%q is not a field of a blueprint", trunc.Ellipsis(d.About, 60))
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
		v.errorf("ews", "only for blueprints that ask for an Exchange Web Services permission (full_access_as_app, EWS.AccessAsUser.All)")
	}
	if g := b.EWS.GraphVariant; g != "" {
		if !idRE.MatchString(g) {
			v.errorf("ews.graphVariant", "%q is not a blueprint ID", trunc.Ellipsis(g, 60))
		} else if g == b.ID {
			v.errorf("ews.graphVariant", "a blueprint cannot be its own Graph variant")
		} else if b.EWS.IsGraphVariant {
			v.errorf("ews.isGraphVariant", "a blueprint is either the Graph variant or names one in graphVariant, not both")
		}
	}
}
