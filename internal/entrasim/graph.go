package entrasim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// caller is the authenticated principal of a Graph request.
type caller struct {
	t       *tenant
	appOnly bool
	appID   string
	spID    string // calling service principal (app-only)
	user    *user  // signed-in user (delegated)
	perms   map[string]bool
}

// has reports whether the token carries any of the permissions (roles for app-only, scp for delegated).
func (c *caller) has(perms ...string) bool {
	for _, p := range perms {
		if c.perms[strings.ToLower(p)] {
			return true
		}
	}
	return false
}

func (c *caller) principalID() string {
	if c.appOnly {
		return c.spID
	}
	return c.user.ID
}

// Least-privileged permission sets per operation, from each API page's "Permissions" table (e.g.
// https://learn.microsoft.com/graph/api/application-list,
// https://learn.microsoft.com/graph/api/application-post-applications) and
// https://learn.microsoft.com/graph/permissions-reference.
var (
	permAppRead = []string{"Application.Read.All", "Application.ReadWrite.All", "Application.ReadWrite.OwnedBy",
		"Application.ReadUpdate.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	permAppWrite     = []string{"Application.ReadWrite.All", "Application.ReadWrite.OwnedBy"}
	permAppCredWrite = []string{"Application.ReadWrite.All", "Application.ReadWrite.OwnedBy", "Directory.ReadWrite.All"}
	permSPWrite      = []string{"Application.ReadWrite.All", "Application.ReadWrite.OwnedBy", "Directory.ReadWrite.All"}
	permAssignRead   = append(slices.Clone(permAppRead), "AppRoleAssignment.ReadWrite.All")
	permGrantRead    = []string{"DelegatedPermissionGrant.Read.All", "DelegatedPermissionGrant.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	permGrantWrite   = []string{"DelegatedPermissionGrant.ReadWrite.All"}
	permOrgRead      = []string{"Organization.Read.All", "Organization.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	permUserRead     = []string{"User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	permMeRead       = []string{"User.Read", "User.ReadWrite", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	permPolicyRead   = []string{"Policy.Read.All", "Policy.ReadWrite.ApplicationConfiguration"}
	permPolicyWrite  = []string{"Policy.ReadWrite.ApplicationConfiguration"}
)

// authenticate validates the bearer token: signature, lifetime, audience https://graph.microsoft.com and a
// known tenant. Failures are 401 InvalidAuthenticationToken.
func (s *Sim) authenticate(w http.ResponseWriter, r *http.Request) *caller {
	fail := func(msg string) *caller {
		w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`)
		s.writeGraphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", msg)
		return nil
	}
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || strings.TrimSpace(tok) == "" {
		return fail("Access token is empty.")
	}
	if strings.Count(tok, ".") != 2 {
		return fail("IDX14100: JWT is not well formed, there are no dots (.).")
	}
	k, err := getKey()
	if err != nil {
		return fail(err.Error())
	}
	var c accessClaims
	if err := k.verify(tok, &c); err != nil {
		return fail("Access token validation failure. Invalid signature.")
	}
	if c.Aud != "https://graph.microsoft.com" && c.Aud != GraphAppID && c.Aud != "https://graph.microsoft.com/" {
		return fail("Access token validation failure. Invalid audience.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().Unix()
	if now >= c.Exp || now < c.Nbf-300 {
		return fail("Lifetime validation failed, the token is expired.")
	}
	t := s.tenants[c.TID]
	if t == nil {
		return fail("Access token validation failure. Invalid tenant.")
	}
	cl := &caller{t: t, appID: c.AppID, perms: map[string]bool{}}
	if c.IDType == "app" {
		cl.appOnly = true
		cl.spID = c.OID
		for _, r := range c.Roles {
			cl.perms[strings.ToLower(r)] = true
		}
	} else {
		cl.user = t.userByID(c.OID)
		if cl.user == nil {
			return fail("Access token validation failure. The user does not exist in the tenant.")
		}
		for _, sc := range strings.Fields(c.Scp) {
			cl.perms[strings.ToLower(sc)] = true
		}
	}
	return cl
}

// graphReq bundles one Graph request.
type graphReq struct {
	w    http.ResponseWriter
	r    *http.Request
	c    *caller
	body []byte
	base string
	ver  string // v1.0 or beta
	segs []segment
}

type segment struct {
	name   string
	keyArg string // "appId", "uniqueName", "" for positional
	key    string
	hasKey bool
}

// parseSegments splits "applications(appId='x')/addPassword" into segments with OData key syntax.
func parseSegments(p string) []segment {
	var out []segment
	for _, part := range strings.Split(p, "/") {
		if part == "" {
			continue
		}
		seg := segment{name: part}
		if i := strings.Index(part, "("); i > 0 && strings.HasSuffix(part, ")") {
			seg.name = part[:i]
			inner := part[i+1 : len(part)-1]
			seg.hasKey = true
			if k, v, ok := strings.Cut(inner, "="); ok {
				seg.keyArg = k
				inner = v
			}
			seg.key = strings.Trim(inner, "'")
		}
		out = append(out, seg)
	}
	return out
}

func (s *Sim) serveGraph(w http.ResponseWriter, r *http.Request, body []byte) {
	c := s.authenticate(w, r)
	if c == nil {
		return
	}
	ver := "v1.0"
	if r.URL.Path == "/beta" || strings.HasPrefix(r.URL.Path, "/beta/") {
		ver = "beta"
	}
	g := &graphReq{w: w, r: r, c: c, body: body, base: s.base(r), ver: ver,
		segs: parseSegments(strings.TrimPrefix(r.URL.Path, "/"+ver))}
	if len(g.segs) == 0 {
		s.badRequest(w, r, "Invalid request.")
		return
	}
	if ver == "beta" {
		// Only what the portal reads from beta: reports/appCredentialSignInActivities.
		if g.segs[0].name == "reports" {
			s.graphReports(g)
			return
		}
		s.writeGraphError(w, r, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", g.segs[0].name))
		return
	}
	switch g.segs[0].name {
	case "organization":
		s.graphOrganization(g)
	case "me":
		if c.appOnly {
			s.badRequest(w, r, "/me request is only valid with delegated authentication flow.")
			return
		}
		s.graphUser(g, c.user.ID, g.segs[1:])
	case "users":
		if len(g.segs) == 1 {
			s.graphListUsers(g)
			return
		}
		s.graphUser(g, g.segs[1].name, g.segs[2:])
	case "applications":
		s.graphApplications(g)
	case "servicePrincipals":
		s.graphServicePrincipals(g)
	case "oauth2PermissionGrants":
		s.graphGrants(g)
	case "policies":
		s.graphPolicies(g)
	default:
		s.writeGraphError(w, r, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", g.segs[0].name))
	}
}

func (s *Sim) methodNotAllowed(g *graphReq) {
	s.writeGraphError(g.w, g.r, http.StatusMethodNotAllowed, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
}

// ---- JSON helpers: $select, $filter, paging ----

func toMap(v any) map[string]any {
	b, _ := json.Marshal(v) // our own structs always marshal
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func selectFields(q url.Values) []string {
	sel := q.Get("$select")
	if sel == "" {
		return nil
	}
	var out []string
	for _, f := range strings.Split(sel, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// project applies $select: only the selected properties (and id) are returned. Structs are projected by
// their JSON field names through reflection, so that large pages stay cheap.
func project(v any, sel []string) any {
	if len(sel) == 0 {
		return v
	}
	out := make(map[string]any, len(sel)+1)
	if m, ok := v.(map[string]any); ok {
		if id, ok := m["id"]; ok {
			out["id"] = id
		}
		for _, f := range sel {
			for k, val := range m {
				if strings.EqualFold(k, f) {
					out[k] = val
				}
			}
		}
		return out
	}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return v
	}
	fields := jsonFields(rv.Type())
	if f, ok := fields["id"]; ok {
		out["id"] = rv.Field(f.index).Interface()
	}
	for _, name := range sel {
		if f, ok := fields[strings.ToLower(name)]; ok {
			out[f.name] = rv.Field(f.index).Interface()
		}
	}
	return out
}

// selectKnown answers 400 for a $select of a property the type does not have, as Graph does ("Could not
// find a property named 'x' on type 'microsoft.graph.application'."), so typos fail loudly.
func (s *Sim) selectKnown(g *graphReq, v any, sel []string) bool {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return true
	}
	fields := jsonFields(rv.Type())
	for _, f := range sel {
		if _, ok := fields[strings.ToLower(f)]; !ok {
			typ := map[string]string{"appData": "application", "spData": "servicePrincipal", "appRoleAssignment": "appRoleAssignment",
				"oauth2Grant": "oAuth2PermissionGrant"}[rv.Type().Name()]
			s.badRequest(g.w, g.r, fmt.Sprintf("Could not find a property named '%s' on type 'microsoft.graph.%s'.", f, typ))
			return false
		}
	}
	return true
}

type jsonField struct {
	name  string
	index int
}

var jsonFieldCache sync.Map // reflect.Type → map[string]jsonField (lower-case JSON name → field)

func jsonFields(t reflect.Type) map[string]jsonField {
	if m, ok := jsonFieldCache.Load(t); ok {
		return m.(map[string]jsonField)
	}
	m := map[string]jsonField{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		m[strings.ToLower(name)] = jsonField{name: name, index: i}
	}
	jsonFieldCache.Store(t, m)
	return m
}

type filterTerm struct {
	prop, op, value string
}

// parseFilter supports what the portal and common tools send: "prop eq 'v'" and "startswith(prop,'v')",
// joined by "or" (or a single "and"-free expression).
func parseFilter(f string, allowed ...string) ([]filterTerm, bool) {
	if strings.TrimSpace(f) == "" {
		return nil, true
	}
	var out []filterTerm
	for _, part := range splitOr(f) {
		part = strings.TrimSpace(part)
		var t filterTerm
		if strings.HasPrefix(strings.ToLower(part), "startswith(") && strings.HasSuffix(part, ")") {
			inner := part[len("startswith(") : len(part)-1]
			p, v, ok := strings.Cut(inner, ",")
			if !ok {
				return nil, false
			}
			t = filterTerm{strings.TrimSpace(p), "startswith", unquote(strings.TrimSpace(v))}
		} else {
			fs := strings.SplitN(part, " ", 3)
			if len(fs) != 3 || strings.ToLower(fs[1]) != "eq" {
				return nil, false
			}
			t = filterTerm{fs[0], "eq", unquote(strings.TrimSpace(fs[2]))}
		}
		if !slices.ContainsFunc(allowed, func(a string) bool { return strings.EqualFold(a, t.prop) }) {
			return nil, false
		}
		out = append(out, t)
	}
	return out, true
}

func splitOr(f string) []string {
	var out []string
	inQuote := false
	last := 0
	for i := 0; i < len(f); i++ {
		if f[i] == '\'' {
			inQuote = !inQuote
		}
		if !inQuote && i+4 <= len(f) && strings.EqualFold(f[i:i+4], " or ") {
			out = append(out, f[last:i])
			last = i + 4
			i += 3
		}
	}
	return append(out, f[last:])
}

func unquote(v string) string {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return strings.ReplaceAll(v[1:len(v)-1], "''", "'")
	}
	return v
}

func matchFilter(terms []filterTerm, get func(prop string) string) bool {
	if len(terms) == 0 {
		return true
	}
	for _, t := range terms {
		v := get(t.prop)
		switch t.op {
		case "eq":
			if strings.EqualFold(v, t.value) {
				return true
			}
		case "startswith":
			if strings.HasPrefix(strings.ToLower(v), strings.ToLower(t.value)) {
				return true
			}
		}
	}
	return false
}

type pageToken struct {
	Offset int   `json:"o"`
	Seq    int64 `json:"s,omitempty"`
	Issued int64 `json:"t,omitempty"` // delta tokens: when issued (Unix seconds, Sim clock)
}

func encodeToken(t pageToken) string {
	b, _ := json.Marshal(t)
	return "RFNwdAIAAQ" + base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string) (pageToken, bool) {
	var t pageToken
	s, ok := strings.CutPrefix(s, "RFNwdAIAAQ")
	if !ok {
		return t, false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &t) != nil || t.Offset < 0 {
		return t, false
	}
	return t, true
}

func (g *graphReq) contextURL(set string, sel []string) string {
	u := g.base + "/" + g.ver + "/$metadata#" + set
	if len(sel) > 0 {
		u += "(" + strings.Join(sel, ",") + ")"
	}
	return u
}

// writeCollection pages items with $top (default 100, max 999) and an absolute @odata.nextLink carrying an
// opaque $skiptoken (https://learn.microsoft.com/graph/paging).
func (s *Sim) writeCollection(g *graphReq, set string, items []any) {
	q := g.r.URL.Query()
	top := 100
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 999 {
			s.badRequest(g.w, g.r, fmt.Sprintf("Invalid page size specified: '%s'. Must be between 1 and 999 inclusive.", v))
			return
		}
		top = n
	}
	off := 0
	if v := q.Get("$skiptoken"); v != "" {
		t, ok := decodeToken(v)
		if !ok {
			s.badRequest(g.w, g.r, "Invalid paging token.")
			return
		}
		off = t.Offset
	}
	sel := selectFields(q)
	if len(items) > 0 && !s.selectKnown(g, items[0], sel) {
		return
	}
	out := map[string]any{"@odata.context": g.contextURL(set, sel)}
	if q.Get("$count") == "true" && off == 0 {
		out["@odata.count"] = len(items)
	}
	end := min(off+top, len(items))
	page := []any{}
	if off < len(items) {
		for _, it := range items[off:end] {
			page = append(page, project(it, sel))
		}
	}
	if end < len(items) || (s.opts.TrailingEmptyPage && off < len(items) && end == len(items)) {
		nq := url.Values{}
		for k, v := range q {
			if k != "$skiptoken" {
				nq[k] = v
			}
		}
		nq.Set("$skiptoken", encodeToken(pageToken{Offset: end}))
		out["@odata.nextLink"] = g.base + g.r.URL.Path + "?" + encodeODataQuery(nq)
	}
	out["value"] = page
	writeJSON(g.w, http.StatusOK, out)
}

// encodeODataQuery encodes a query as Graph writes it in @odata.nextLink: system query option names such
// as $top and $skiptoken stay literal, as in https://learn.microsoft.com/graph/paging ("$" is allowed
// unescaped in a query, RFC 3986 §3.4), values are escaped.
func encodeODataQuery(v url.Values) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		ek := strings.ReplaceAll(url.QueryEscape(k), "%24", "$")
		for _, val := range v[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(ek + "=" + url.QueryEscape(val))
		}
	}
	return b.String()
}

func (s *Sim) writeEntity(g *graphReq, status int, set string, v any) {
	sel := selectFields(g.r.URL.Query())
	if !s.selectKnown(g, v, sel) {
		return
	}
	m := toMap(project(v, sel))
	ctx := map[string]any{"@odata.context": g.contextURL(set, sel) + "/$entity"}
	for k, val := range m {
		ctx[k] = val
	}
	writeJSON(g.w, status, ctx)
}

// decodeObject parses a JSON object body.
func (s *Sim) decodeObject(g *graphReq) (map[string]json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if len(strings.TrimSpace(string(g.body))) == 0 {
		return map[string]json.RawMessage{}, true
	}
	if err := json.Unmarshal(g.body, &m); err != nil || m == nil {
		s.badRequest(g.w, g.r, "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
		return nil, false
	}
	return m, true
}

// ---- organization, users, me ----

func (s *Sim) graphOrganization(g *graphReq) {
	if g.r.Method != http.MethodGet {
		s.methodNotAllowed(g)
		return
	}
	c := g.c
	full := c.has(permOrgRead...)
	if !full && !(!c.appOnly && c.has("User.Read")) {
		s.denied(g.w, g.r)
		return
	}
	s.mu.Lock()
	t := c.t
	domains := []map[string]any{
		{"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": true, "isInitial": false, "name": t.Domain, "type": "Managed"},
		{"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": false, "isInitial": true, "name": t.InitialDomain, "type": "Managed"},
	}
	org := map[string]any{"id": t.ID, "displayName": t.DisplayName, "verifiedDomains": domains,
		"deletedDateTime": nil, "businessPhones": []string{}, "city": nil, "country": nil, "countryLetterCode": nil,
		"createdDateTime": nil, "onPremisesSyncEnabled": nil, "postalCode": nil, "preferredLanguage": nil,
		"state": nil, "street": nil, "tenantType": nil, "technicalNotificationMails": []string{}, "assignedPlans": []string{},
		"privacyProfile": nil, "provisionedPlans": []string{}, "securityComplianceNotificationMails": []string{},
		"securityComplianceNotificationPhones": []string{}, "marketingNotificationEmails": []string{},
		"defaultUsageLocation": nil, "isMultipleDataLocationsForServicesEnabled": nil, "onPremisesLastSyncDateTime": nil,
		"partnerTenantType": nil}
	if full {
		// With only User.Read, only id, displayName and verifiedDomains are populated (organization-get.md).
		org["createdDateTime"] = graphTime(t.Created)
		org["tenantType"] = "AAD"
		org["preferredLanguage"] = "en"
		org["countryLetterCode"] = "NL"
		org["technicalNotificationMails"] = []string{"admin@" + t.Domain}
	}
	s.mu.Unlock()
	// GET /organization is a collection of one; GET /organization/{id} is that entity, and any other id is
	// 404 (https://learn.microsoft.com/graph/api/organization-get).
	switch {
	case len(g.segs) == 1 && !g.segs[0].hasKey:
		s.writeCollection(g, "organization", []any{org})
	case len(g.segs) == 2 && !g.segs[0].hasKey && strings.EqualFold(g.segs[1].name, t.ID):
		s.writeEntity(g, http.StatusOK, "organization", org)
	case len(g.segs) == 1 && g.segs[0].hasKey && strings.EqualFold(g.segs[0].key, t.ID):
		s.writeEntity(g, http.StatusOK, "organization", org)
	case len(g.segs) == 2 && !g.segs[0].hasKey, len(g.segs) == 1 && g.segs[0].hasKey:
		key := g.segs[0].key
		if !g.segs[0].hasKey {
			key = g.segs[1].name
		}
		s.notFound(g.w, g.r, key)
	default:
		s.writeGraphError(g.w, g.r, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", g.segs[len(g.segs)-1].name))
	}
}

func userJSON(u *user) map[string]any {
	return map[string]any{"businessPhones": []string{}, "displayName": u.DisplayName, "givenName": nil, "id": u.ID,
		"jobTitle": nil, "mail": u.UserPrincipalName, "mobilePhone": nil, "officeLocation": nil, "preferredLanguage": nil,
		"surname": nil, "userPrincipalName": u.UserPrincipalName}
}

func (s *Sim) graphListUsers(g *graphReq) {
	if g.r.Method != http.MethodGet {
		s.methodNotAllowed(g)
		return
	}
	if !g.c.has(permUserRead...) {
		s.denied(g.w, g.r)
		return
	}
	terms, ok := parseFilter(g.r.URL.Query().Get("$filter"), "id", "displayName", "userPrincipalName", "mail")
	if !ok {
		s.writeGraphError(g.w, g.r, http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported Query.")
		return
	}
	s.mu.Lock()
	var items []any
	for _, u := range g.c.t.users {
		m := userJSON(u)
		if matchFilter(terms, func(p string) string { s, _ := m[p].(string); return s }) {
			items = append(items, m)
		}
	}
	s.mu.Unlock()
	s.writeCollection(g, "users", items)
}

func (s *Sim) graphUser(g *graphReq, idOrUPN string, rest []segment) {
	c := g.c
	s.mu.Lock()
	u := c.t.userByID(idOrUPN)
	s.mu.Unlock()
	self := !c.appOnly && u != nil && u.ID == c.user.ID
	if len(rest) == 0 {
		if g.r.Method != http.MethodGet {
			s.methodNotAllowed(g)
			return
		}
		if !(self && c.has(permMeRead...)) && !c.has(permUserRead...) {
			s.denied(g.w, g.r)
			return
		}
		if u == nil {
			s.notFound(g.w, g.r, idOrUPN)
			return
		}
		s.writeEntity(g, http.StatusOK, "users", userJSON(u))
		return
	}
	switch rest[0].name {
	case "transitiveMemberOf", "memberOf":
		if g.r.Method != http.MethodGet {
			s.methodNotAllowed(g)
			return
		}
		if !(self && c.has("User.Read")) && !c.has("Directory.Read.All", "GroupMember.Read.All", "Directory.ReadWrite.All", "RoleManagement.Read.Directory") {
			s.denied(g.w, g.r)
			return
		}
		if u == nil {
			s.notFound(g.w, g.r, idOrUPN)
			return
		}
		s.mu.Lock()
		var items []any
		for _, tid := range u.Roles {
			name := ""
			for n, id := range directoryRoleTemplates {
				if id == tid {
					name = n
				}
			}
			items = append(items, map[string]any{"@odata.type": "#microsoft.graph.directoryRole", "id": c.t.dirRoles[tid],
				"deletedDateTime": nil, "description": "Members of this role: " + name + ".", "displayName": name, "roleTemplateId": tid})
		}
		s.mu.Unlock()
		s.writeCollection(g, "directoryObjects", items)
	case "sendMail":
		s.graphSendMail(g, u, idOrUPN, self)
	default:
		s.writeGraphError(g.w, g.r, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", rest[0].name))
	}
}

// graphSendMail accepts the message (202, empty body) and keeps it in the tenant's outbox
// (https://learn.microsoft.com/graph/api/user-sendmail).
func (s *Sim) graphSendMail(g *graphReq, u *user, idOrUPN string, self bool) {
	if g.r.Method != http.MethodPost {
		s.methodNotAllowed(g)
		return
	}
	c := g.c
	if !(c.appOnly && c.has("Mail.Send")) && !(self && c.has("Mail.Send")) {
		s.writeGraphError(g.w, g.r, http.StatusForbidden, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
		return
	}
	if u == nil {
		s.writeGraphError(g.w, g.r, http.StatusNotFound, "ErrorInvalidUser", fmt.Sprintf("The requested user '%s' is invalid.", idOrUPN))
		return
	}
	var req struct {
		Message *struct {
			Subject string `json:"subject"`
			Body    struct {
				ContentType string `json:"contentType"`
				Content     string `json:"content"`
			} `json:"body"`
			ToRecipients []struct {
				EmailAddress struct {
					Address string `json:"address"`
				} `json:"emailAddress"`
			} `json:"toRecipients"`
			CcRecipients []struct {
				EmailAddress struct {
					Address string `json:"address"`
				} `json:"emailAddress"`
			} `json:"ccRecipients"`
		} `json:"message"`
		SaveToSentItems *bool `json:"saveToSentItems"`
	}
	if err := json.Unmarshal(g.body, &req); err != nil || req.Message == nil {
		s.writeGraphError(g.w, g.r, http.StatusBadRequest, "ErrorInvalidRequest", "Cannot read the request body.")
		return
	}
	m := Mail{From: u.UserPrincipalName, Subject: req.Message.Subject, ContentType: req.Message.Body.ContentType,
		Content: req.Message.Body.Content, SaveToSentItems: req.SaveToSentItems == nil || *req.SaveToSentItems}
	for _, r := range req.Message.ToRecipients {
		m.To = append(m.To, r.EmailAddress.Address)
	}
	for _, r := range req.Message.CcRecipients {
		m.Cc = append(m.Cc, r.EmailAddress.Address)
	}
	if len(m.To)+len(m.Cc) == 0 {
		s.writeGraphError(g.w, g.r, http.StatusBadRequest, "ErrorInvalidRecipients", "At least one recipient isn't valid., A message can't be sent because it contains no recipients.")
		return
	}
	var raw map[string]any
	_ = json.Unmarshal(g.body, &raw) // already parsed above
	m.Raw, _ = raw["message"].(map[string]any)
	s.mu.Lock()
	m.Received = s.now()
	c.t.outbox = append(c.t.outbox, m)
	s.mu.Unlock()
	g.w.WriteHeader(http.StatusAccepted)
}

// ---- policies ----

func (s *Sim) graphPolicies(g *graphReq) {
	if len(g.segs) >= 2 && g.segs[1].name == "appManagementPolicies" && !g.segs[1].hasKey {
		s.graphAppManagementPolicies(g)
		return
	}
	if len(g.segs) != 2 || g.segs[1].name != "defaultAppManagementPolicy" {
		s.writeGraphError(g.w, g.r, http.StatusBadRequest, "BadRequest", "Resource not found for the segment.")
		return
	}
	switch g.r.Method {
	case http.MethodGet:
		if !g.c.has(permPolicyRead...) {
			s.denied(g.w, g.r)
			return
		}
		s.mu.Lock()
		v := policyJSON(g.c.t.policy)
		s.mu.Unlock()
		s.writeEntity(g, http.StatusOK, "policies/defaultAppManagementPolicy", v)
	case http.MethodPatch:
		if !g.c.has(permPolicyWrite...) {
			s.denied(g.w, g.r)
			return
		}
		var req struct {
			IsEnabled               *bool `json:"isEnabled"`
			ApplicationRestrictions *struct {
				PasswordCredentials []struct {
					RestrictionType string `json:"restrictionType"`
					MaxLifetime     string `json:"maxLifetime"`
					State           string `json:"state"`
				} `json:"passwordCredentials"`
			} `json:"applicationRestrictions"`
		}
		if err := json.Unmarshal(g.body, &req); err != nil {
			s.badRequest(g.w, g.r, "Unable to read JSON request payload.")
			return
		}
		s.mu.Lock()
		p := &g.c.t.policy
		if req.IsEnabled != nil {
			p.Enabled = *req.IsEnabled
		}
		var bad bool
		if req.ApplicationRestrictions != nil {
			p.MaxPasswordLifetime = 0
			for _, pc := range req.ApplicationRestrictions.PasswordCredentials {
				if pc.RestrictionType == "passwordLifetime" && pc.State != "disabled" {
					d, err := parseISODuration(pc.MaxLifetime)
					if err != nil {
						bad = true
					}
					p.MaxPasswordLifetime = d
				}
			}
		}
		s.mu.Unlock()
		if bad {
			s.badRequest(g.w, g.r, "Invalid value specified for property 'maxLifetime'.")
			return
		}
		g.w.WriteHeader(http.StatusNoContent)
	default:
		s.methodNotAllowed(g)
	}
}

// policyJSON is a tenantAppManagementPolicy (https://learn.microsoft.com/graph/api/resources/tenantappmanagementpolicy).
func policyJSON(p appManagementPolicy) map[string]any {
	pcs := []any{}
	if p.MaxPasswordLifetime > 0 {
		pcs = append(pcs, map[string]any{"restrictionType": "passwordLifetime", "state": "enabled",
			"maxLifetime": isoDuration(p.MaxPasswordLifetime), "restrictForAppsCreatedAfterDateTime": "0001-01-01T00:00:00Z",
			"excludeActors": nil})
	}
	return map[string]any{"id": p.ID, "displayName": "Default app management tenant policy",
		"description":                  "Default tenant policy that enforces app management restrictions on applications and service principals. To apply policy to targeted resources, create a new policy under appManagementPolicies collection.",
		"isEnabled":                    p.Enabled,
		"applicationRestrictions":      map[string]any{"passwordCredentials": pcs, "keyCredentials": []any{}},
		"servicePrincipalRestrictions": map[string]any{"passwordCredentials": []any{}, "keyCredentials": []any{}}}
}

// keyCredentialsLimit enforces "$select of keyCredentials is throttled at 150 requests per minute per
// tenant" (application-list.md, serviceprincipal-get.md): the 151st request within a minute gets 429 with
// Retry-After. It writes the 429 itself.
func (s *Sim) keyCredentialsLimit(g *graphReq) bool {
	if s.opts.DisableServiceLimits || !slices.ContainsFunc(selectFields(g.r.URL.Query()), func(f string) bool { return strings.EqualFold(f, "keyCredentials") }) {
		return true
	}
	s.mu.Lock()
	t := g.c.t
	now := s.now()
	t.keySelects = slices.DeleteFunc(t.keySelects, func(x time.Time) bool { return !now.Before(x.Add(time.Minute)) })
	if len(t.keySelects) >= 150 {
		wait := int(t.keySelects[0].Add(time.Minute).Sub(now).Seconds()) + 1
		s.mu.Unlock()
		g.w.Header().Set("Retry-After", strconv.Itoa(wait))
		s.writeGraphError(g.w, g.r, http.StatusTooManyRequests, "TooManyRequests",
			"Too many requests with $select=keyCredentials: the limit is 150 requests per minute per tenant.")
		return false
	}
	t.keySelects = append(t.keySelects, now)
	s.mu.Unlock()
	return true
}

// visible reports whether an object created at visibleAt can be read yet (replication lag).
func (s *Sim) visible(visibleAt time.Time) bool {
	return visibleAt.IsZero() || !s.now().Before(visibleAt)
}
