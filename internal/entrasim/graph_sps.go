package entrasim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// /servicePrincipals, appRoleAssignedTo / appRoleAssignments, /oauth2PermissionGrants
// (https://learn.microsoft.com/graph/api/serviceprincipal-post-serviceprincipals,
// https://learn.microsoft.com/graph/api/serviceprincipal-get,
// https://learn.microsoft.com/graph/api/serviceprincipal-post-approleassignedto,
// https://learn.microsoft.com/graph/api/oauth2permissiongrant-post,
// https://learn.microsoft.com/graph/permissions-grant-via-msgraph).

func (s *Sim) graphServicePrincipals(g *graphReq) {
	segs := g.segs
	c := g.c
	if len(segs) >= 2 && !segs[0].hasKey && segs[1].name == "delta" {
		s.servicePrincipalsDelta(g)
		return
	}
	if len(segs) == 1 && !segs[0].hasKey {
		switch g.r.Method {
		case http.MethodGet:
			s.listServicePrincipals(g)
		case http.MethodPost:
			s.createServicePrincipal(g)
		default:
			s.methodNotAllowed(g)
		}
		return
	}
	var keyArg, key string
	rest := segs[1:]
	if segs[0].hasKey {
		keyArg, key = segs[0].keyArg, segs[0].key
	} else {
		key = segs[1].name
		rest = segs[2:]
	}
	if keyArg == "appId" && len(rest) == 0 && g.r.Method == http.MethodPatch {
		s.upsertServicePrincipal(g, key)
		return
	}
	s.mu.Lock()
	var sp *servicePrincipal
	if keyArg == "appId" {
		sp = c.t.spByAppID(key)
	} else {
		sp = c.t.spByID(key)
	}
	if sp != nil && !s.visible(sp.VisibleAt) {
		sp = nil
	}
	s.mu.Unlock()
	if len(rest) == 0 {
		switch g.r.Method {
		case http.MethodGet:
			if !c.has(permAppRead...) && !(c.appOnly && sp != nil && sp.Data.AppID == c.appID) {
				s.denied(g.w, g.r)
				return
			}
			if sp == nil {
				s.notFound(g.w, g.r, key)
				return
			}
			s.mu.Lock()
			v := sp.Data
			s.mu.Unlock()
			s.writeEntity(g, http.StatusOK, "servicePrincipals", v)
		case http.MethodDelete:
			if !c.has(permSPWrite...) {
				s.denied(g.w, g.r)
				return
			}
			if sp == nil {
				s.notFound(g.w, g.r, key)
				return
			}
			if !s.ownsSP(c, sp) {
				s.denied(g.w, g.r)
				return
			}
			s.mu.Lock()
			c.t.deleteSP(sp)
			s.mu.Unlock()
			g.w.WriteHeader(http.StatusNoContent)
		default:
			s.methodNotAllowed(g)
		}
		return
	}
	switch rest[0].name {
	case "appRoleAssignedTo", "appRoleAssignments":
		s.appRoleAssignments(g, sp, key, rest[0].name == "appRoleAssignedTo", rest[1:])
	case "oauth2PermissionGrants":
		if g.r.Method != http.MethodGet {
			s.methodNotAllowed(g)
			return
		}
		if !c.has(permGrantRead...) {
			s.denied(g.w, g.r)
			return
		}
		if sp == nil {
			s.notFound(g.w, g.r, key)
			return
		}
		s.mu.Lock()
		var items []any
		for _, gr := range c.t.grants {
			if gr.ClientID == sp.Data.ID {
				cp := *gr
				items = append(items, &cp)
			}
		}
		s.mu.Unlock()
		s.writeCollection(g, "oauth2PermissionGrants", items)
	default:
		s.writeGraphError(g.w, g.r, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", rest[0].name))
	}
}

func (s *Sim) listServicePrincipals(g *graphReq) {
	c := g.c
	if !c.has(permAppRead...) {
		s.denied(g.w, g.r)
		return
	}
	if !s.keyCredentialsLimit(g) {
		return
	}
	terms, ok := parseFilter(g.r.URL.Query().Get("$filter"), "appId", "displayName", "id", "servicePrincipalType")
	if !ok {
		s.writeGraphError(g.w, g.r, http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified for property.")
		return
	}
	s.mu.Lock()
	var items []any
	for _, sp := range c.t.sps {
		if !s.visible(sp.VisibleAt) {
			continue
		}
		if matchFilter(terms, func(p string) string {
			switch strings.ToLower(p) {
			case "appid":
				return sp.Data.AppID
			case "displayname":
				return sp.Data.DisplayName
			case "id":
				return sp.Data.ID
			case "serviceprincipaltype":
				return sp.Data.ServicePrincipalType
			}
			return ""
		}) {
			items = append(items, sp.Data)
		}
	}
	s.mu.Unlock()
	s.writeCollection(g, "servicePrincipals", items)
}

// newSPChecked creates the service principal of appID in the caller's tenant, failing as Graph does:
// 400 NoBackingApplicationObject when the application is unknown or not replicated yet, 409 when one
// exists.
func (s *Sim) newSPChecked(g *graphReq, appID string) (*servicePrincipal, bool) {
	c := g.c
	// Microsoft's own multi-tenant apps (Exchange Online in a tenant that never had it) get their service
	// principal from POST /servicePrincipals {"appId"} too: the documented way to add Office 365 Exchange
	// Online before granting its app roles
	// (https://learn.microsoft.com/graph/api/serviceprincipal-post-serviceprincipals).
	if r := resourceForURI(appID); r != nil && strings.EqualFold(r.AppID, appID) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if c.t.spByAppID(r.AppID) != nil {
			s.writeGraphError(g.w, g.r, http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue",
				fmt.Sprintf("The service principal cannot be created, updated, or restored because the service principal name %s is already in use.", appID))
			return nil, false
		}
		if !c.appOnly && !c.user.isAdmin() {
			s.writeGraphError(g.w, g.r, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
			return nil, false
		}
		sp := newSPFromResource(c.t, r, s.now())
		sp.VisibleAt = time.Time{}
		c.t.sps = append(c.t.sps, sp)
		return sp, true
	}
	s.mu.Lock()
	app := s.appsByAppID[appID]
	ok := app != nil && s.visible(app.VisibleAt) && (app.TenantID == c.t.ID || app.Data.SignInAudience != "AzureADMyOrg")
	existing := c.t.spByAppID(appID)
	s.mu.Unlock()
	if !ok {
		msg := fmt.Sprintf("The appId '%s' of the service principal does not reference a valid application object.", appID)
		s.writeGraphError(g.w, g.r, http.StatusBadRequest, "Request_BadRequest", msg,
			graphErrorDetail{Code: "NoBackingApplicationObject", Message: msg, Target: "appId"})
		return nil, false
	}
	if existing != nil {
		s.writeGraphError(g.w, g.r, http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue",
			fmt.Sprintf("The service principal cannot be created, updated, or restored because the service principal name %s is already in use.", appID))
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ownsApp(c, app) {
		msg := "Insufficient privileges to complete the operation."
		if c.appOnly {
			msg = "When using this permission, the backing application of the service principal being created must in the local tenant and owned by the calling application."
		}
		s.writeGraphError(g.w, g.r, http.StatusForbidden, "Authorization_RequestDenied", msg)
		return nil, false
	}
	sp := s.newSPForApp(c.t, app, s.now())
	c.t.sps = append(c.t.sps, sp)
	return sp, true
}

func (s *Sim) createServicePrincipal(g *graphReq) {
	if !g.c.has(permSPWrite...) {
		s.denied(g.w, g.r)
		return
	}
	var req struct {
		AppID string `json:"appId"`
	}
	if err := json.Unmarshal(g.body, &req); err != nil || req.AppID == "" {
		s.badRequest(g.w, g.r, "Invalid value specified for property 'appId' of resource 'ServicePrincipal'.")
		return
	}
	sp, ok := s.newSPChecked(g, req.AppID)
	if !ok {
		return
	}
	s.mu.Lock()
	v := sp.Data
	s.mu.Unlock()
	s.writeEntity(g, http.StatusCreated, "servicePrincipals", v)
}

// upsertServicePrincipal implements PATCH /servicePrincipals(appId='…') with Prefer: create-if-missing
// (https://learn.microsoft.com/graph/api/serviceprincipal-upsert): 201 created, 204 updated.
func (s *Sim) upsertServicePrincipal(g *graphReq, appID string) {
	c := g.c
	if !c.has(permSPWrite...) {
		s.denied(g.w, g.r)
		return
	}
	body, ok := s.decodeObject(g)
	if !ok {
		return
	}
	s.mu.Lock()
	sp := c.t.spByAppID(appID)
	s.mu.Unlock()
	if sp == nil {
		if !strings.Contains(strings.ToLower(g.r.Header.Get("Prefer")), "create-if-missing") {
			s.notFound(g.w, g.r, appID)
			return
		}
		sp, ok = s.newSPChecked(g, appID)
		if !ok {
			return
		}
		s.mu.Lock()
		applySPPatch(sp, body)
		v := sp.Data
		s.mu.Unlock()
		s.writeEntity(g, http.StatusCreated, "servicePrincipals", v)
		return
	}
	if !s.ownsSP(c, sp) {
		s.denied(g.w, g.r)
		return
	}
	s.mu.Lock()
	applySPPatch(sp, body)
	s.mu.Unlock()
	g.w.WriteHeader(http.StatusNoContent)
}

// ownsSP reports whether an app-only caller holding only Application.ReadWrite.OwnedBy may change the
// service principal: only when it owns the backing application (or is that application).
func (s *Sim) ownsSP(c *caller, sp *servicePrincipal) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ownsApp(c, s.appsByAppID[sp.Data.AppID])
}

// ownsApp: app-only callers with only Application.ReadWrite.OwnedBy, and signed-in users without an
// application admin role, manage only the applications they own. Callers hold s.mu.
func (s *Sim) ownsApp(c *caller, app *application) bool {
	if c.appOnly {
		if c.has("Application.ReadWrite.All", "Directory.ReadWrite.All") {
			return true
		}
		return app != nil && (slices.Contains(app.Owners, c.spID) || app.AppID == c.appID)
	}
	return c.user.isAdmin() || (app != nil && slices.Contains(app.Owners, c.user.ID))
}

func applySPPatch(sp *servicePrincipal, body map[string]json.RawMessage) {
	for k, v := range body {
		switch k {
		case "tags":
			_ = json.Unmarshal(v, &sp.Data.Tags) // invalid values keep the old tags
		case "notes":
			_ = json.Unmarshal(v, &sp.Data.Notes)
		case "appRoleAssignmentRequired":
			_ = json.Unmarshal(v, &sp.Data.AppRoleAssignmentRequired)
		case "accountEnabled":
			_ = json.Unmarshal(v, &sp.Data.AccountEnabled)
		}
	}
	if sp.Data.Tags == nil {
		sp.Data.Tags = []string{}
	}
}

// appRoleAssignments serves /servicePrincipals/{id}/appRoleAssignedTo (sp is the resource) and
// /servicePrincipals/{id}/appRoleAssignments (sp is the principal).
func (s *Sim) appRoleAssignments(g *graphReq, sp *servicePrincipal, key string, assignedTo bool, rest []segment) {
	c := g.c
	switch {
	case g.r.Method == http.MethodGet && len(rest) == 0:
		if !c.has(permAssignRead...) {
			s.denied(g.w, g.r)
			return
		}
		if sp == nil {
			s.notFound(g.w, g.r, key)
			return
		}
		s.mu.Lock()
		var items []any
		for _, a := range c.t.assignments {
			if (assignedTo && a.ResourceID == sp.Data.ID) || (!assignedTo && a.PrincipalID == sp.Data.ID) {
				cp := *a
				items = append(items, &cp)
			}
		}
		s.mu.Unlock()
		s.writeCollection(g, "servicePrincipals('"+sp.Data.ID+"')/"+map[bool]string{true: "appRoleAssignedTo", false: "appRoleAssignments"}[assignedTo], items)
	case g.r.Method == http.MethodPost && len(rest) == 0:
		// Both AppRoleAssignment.ReadWrite.All and a permission to read the service principals are needed
		// (serviceprincipal-post-approleassignedto.md; microsoft-graph-docs#12833).
		if !c.has("AppRoleAssignment.ReadWrite.All") || !c.has(permAppRead...) {
			s.denied(g.w, g.r)
			return
		}
		if sp == nil {
			s.notFound(g.w, g.r, key)
			return
		}
		var req struct {
			PrincipalID string `json:"principalId"`
			ResourceID  string `json:"resourceId"`
			AppRoleID   string `json:"appRoleId"`
		}
		if err := json.Unmarshal(g.body, &req); err != nil || !isGUID(req.PrincipalID) || !isGUID(req.ResourceID) || !isGUID(req.AppRoleID) {
			s.badRequest(g.w, g.r, "Invalid value specified for property 'principalId', 'resourceId' or 'appRoleId' of resource 'AppRoleAssignment'.")
			return
		}
		if (assignedTo && req.ResourceID != sp.Data.ID) || (!assignedTo && req.PrincipalID != sp.Data.ID) {
			s.badRequest(g.w, g.r, "The principalId or resourceId in the body does not match the service principal in the URL.")
			return
		}
		s.mu.Lock()
		res := c.t.spByID(req.ResourceID)
		principal := c.t.spByID(req.PrincipalID)
		var user *user
		if principal == nil {
			user = c.t.userByID(req.PrincipalID)
		}
		if res == nil || !s.visible(res.VisibleAt) || ((principal == nil || !s.visible(principal.VisibleAt)) && user == nil) {
			s.mu.Unlock()
			missing := req.PrincipalID
			if res == nil {
				missing = req.ResourceID
			}
			s.notFound(g.w, g.r, missing)
			return
		}
		if !c.appOnly && !canGrant(c.user, res.Data.AppID, true) {
			s.mu.Unlock()
			s.denied(g.w, g.r)
			return
		}
		roleOK := false
		for _, r := range res.Data.AppRoles {
			if r.ID == req.AppRoleID {
				roleOK = true
			}
		}
		if !roleOK {
			s.mu.Unlock()
			s.badRequest(g.w, g.r, "Permission being assigned was not found on application")
			return
		}
		for _, a := range c.t.assignments {
			if a.PrincipalID == req.PrincipalID && a.ResourceID == req.ResourceID && a.AppRoleID == req.AppRoleID {
				s.mu.Unlock()
				s.badRequest(g.w, g.r, "Permission being assigned already exists on the object.")
				return
			}
		}
		a := &appRoleAssignment{ID: newAssignmentID(), AppRoleID: req.AppRoleID, CreatedDateTime: graphTime(s.now()),
			PrincipalID: req.PrincipalID, ResourceDisplayName: res.Data.DisplayName, ResourceID: res.Data.ID}
		if principal != nil {
			a.PrincipalDisplayName, a.PrincipalType = principal.Data.DisplayName, "ServicePrincipal"
		} else {
			a.PrincipalDisplayName, a.PrincipalType = user.DisplayName, "User"
		}
		c.t.assignments = append(c.t.assignments, a)
		cp := *a
		s.mu.Unlock()
		s.writeEntity(g, http.StatusCreated, "servicePrincipals('"+sp.Data.ID+"')/appRoleAssignedTo", &cp)
	case g.r.Method == http.MethodDelete && len(rest) == 1:
		if !c.has("AppRoleAssignment.ReadWrite.All") {
			s.denied(g.w, g.r)
			return
		}
		if sp == nil {
			s.notFound(g.w, g.r, key)
			return
		}
		s.mu.Lock()
		idx := -1
		for i, a := range c.t.assignments {
			if a.ID == rest[0].name && ((assignedTo && a.ResourceID == sp.Data.ID) || (!assignedTo && a.PrincipalID == sp.Data.ID)) {
				idx = i
			}
		}
		if idx < 0 {
			s.mu.Unlock()
			s.notFound(g.w, g.r, rest[0].name)
			return
		}
		res := c.t.spByID(c.t.assignments[idx].ResourceID)
		if !c.appOnly && res != nil && !canGrant(c.user, res.Data.AppID, true) {
			s.mu.Unlock()
			s.denied(g.w, g.r)
			return
		}
		c.t.assignments = append(c.t.assignments[:idx:idx], c.t.assignments[idx+1:]...)
		s.mu.Unlock()
		g.w.WriteHeader(http.StatusNoContent)
	default:
		s.methodNotAllowed(g)
	}
}

func (s *Sim) graphGrants(g *graphReq) {
	c := g.c
	segs := g.segs
	if len(segs) == 1 {
		switch g.r.Method {
		case http.MethodGet:
			if !c.has(permGrantRead...) {
				s.denied(g.w, g.r)
				return
			}
			terms, ok := parseFilter(g.r.URL.Query().Get("$filter"), "clientId", "resourceId", "consentType", "principalId")
			if !ok {
				s.writeGraphError(g.w, g.r, http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported Query.")
				return
			}
			s.mu.Lock()
			var items []any
			for _, gr := range c.t.grants {
				m := toMap(gr)
				if matchFilter(terms, func(p string) string { v, _ := m[p].(string); return v }) {
					cp := *gr
					items = append(items, &cp)
				}
			}
			s.mu.Unlock()
			s.writeCollection(g, "oauth2PermissionGrants", items)
		case http.MethodPost:
			s.createGrant(g)
		default:
			s.methodNotAllowed(g)
		}
		return
	}
	id := segs[1].name
	s.mu.Lock()
	var gr *oauth2Grant
	for _, x := range c.t.grants {
		if x.ID == id {
			gr = x
		}
	}
	var resAppID string
	if gr != nil {
		if rsp := c.t.spByID(gr.ResourceID); rsp != nil {
			resAppID = rsp.Data.AppID
		}
	}
	s.mu.Unlock()
	switch g.r.Method {
	case http.MethodGet:
		if !c.has(permGrantRead...) {
			s.denied(g.w, g.r)
			return
		}
		if gr == nil {
			s.notFound(g.w, g.r, id)
			return
		}
		s.mu.Lock()
		cp := *gr
		s.mu.Unlock()
		s.writeEntity(g, http.StatusOK, "oauth2PermissionGrants", &cp)
	case http.MethodPatch, http.MethodDelete:
		if !c.has(permGrantWrite...) || (!c.appOnly && !canGrant(c.user, resAppID, false)) {
			s.denied(g.w, g.r)
			return
		}
		if gr == nil {
			s.notFound(g.w, g.r, id)
			return
		}
		if g.r.Method == http.MethodDelete {
			s.mu.Lock()
			for i, x := range c.t.grants {
				if x == gr {
					c.t.grants = append(c.t.grants[:i:i], c.t.grants[i+1:]...)
					break
				}
			}
			s.mu.Unlock()
			g.w.WriteHeader(http.StatusNoContent)
			return
		}
		var req struct {
			Scope *string `json:"scope"`
		}
		if err := json.Unmarshal(g.body, &req); err != nil || req.Scope == nil {
			s.badRequest(g.w, g.r, "Invalid value specified for property 'scope'.")
			return
		}
		s.mu.Lock()
		gr.Scope = *req.Scope
		s.mu.Unlock()
		g.w.WriteHeader(http.StatusNoContent)
	default:
		s.methodNotAllowed(g)
	}
}

// createGrant implements POST /oauth2PermissionGrants; one grant per client, resource and principal
// (duplicate: 409 Request_MultipleObjectsWithSameKeyValue "Permission entry already exists.").
func (s *Sim) createGrant(g *graphReq) {
	c := g.c
	if !c.has(permGrantWrite...) {
		s.denied(g.w, g.r)
		return
	}
	var req struct {
		ClientID    string  `json:"clientId"`
		ConsentType string  `json:"consentType"`
		PrincipalID *string `json:"principalId"`
		ResourceID  string  `json:"resourceId"`
		Scope       string  `json:"scope"`
	}
	if err := json.Unmarshal(g.body, &req); err != nil || !isGUID(req.ClientID) || !isGUID(req.ResourceID) {
		s.badRequest(g.w, g.r, "Invalid value specified for property 'clientId' or 'resourceId' of resource 'OAuth2PermissionGrant'.")
		return
	}
	if req.ConsentType != "AllPrincipals" && req.ConsentType != "Principal" {
		s.badRequest(g.w, g.r, "Invalid value specified for property 'consentType' of resource 'OAuth2PermissionGrant'.")
		return
	}
	if (req.ConsentType == "Principal") != (req.PrincipalID != nil && *req.PrincipalID != "") {
		s.badRequest(g.w, g.r, "principalId must be set exactly when consentType is Principal.")
		return
	}
	s.mu.Lock()
	client := c.t.spByID(req.ClientID)
	res := c.t.spByID(req.ResourceID)
	if client == nil || res == nil || !s.visible(client.VisibleAt) || !s.visible(res.VisibleAt) {
		s.mu.Unlock()
		missing := req.ClientID
		if client != nil {
			missing = req.ResourceID
		}
		s.notFound(g.w, g.r, missing)
		return
	}
	if !c.appOnly && !canGrant(c.user, res.Data.AppID, false) {
		s.mu.Unlock()
		s.denied(g.w, g.r)
		return
	}
	for _, sc := range strings.Fields(req.Scope) {
		if res.Data.AppID == GraphAppID || res.Data.AppID == ExchangeAppID {
			r := resourceForURI(res.Data.AppID)
			if _, ok := r.scope(sc); !ok {
				s.mu.Unlock()
				s.badRequest(g.w, g.r, fmt.Sprintf("Invalid value specified for property 'scope': '%s' is not a delegated permission of %s.", sc, res.Data.DisplayName))
				return
			}
		}
	}
	pid := ""
	if req.PrincipalID != nil {
		pid = *req.PrincipalID
	}
	for _, x := range c.t.grants {
		if x.ClientID == req.ClientID && x.ResourceID == req.ResourceID && ptrEq(x.PrincipalID, pid) {
			s.mu.Unlock()
			s.writeGraphError(g.w, g.r, http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue", "Permission entry already exists.")
			return
		}
	}
	gr := &oauth2Grant{ID: newAssignmentID(), ClientID: req.ClientID, ConsentType: req.ConsentType, ResourceID: req.ResourceID, Scope: req.Scope}
	if pid != "" {
		gr.PrincipalID = &pid
	}
	c.t.grants = append(c.t.grants, gr)
	cp := *gr
	s.mu.Unlock()
	s.writeEntity(g, http.StatusCreated, "oauth2PermissionGrants", &cp)
}

// servicePrincipalsDelta implements /servicePrincipals/delta like /applications/delta: pages of the
// current state ending in an @odata.deltaLink, then the service principals created or deleted since
// (https://learn.microsoft.com/graph/api/serviceprincipal-delta). The emulator changes a service
// principal's credentials only when it creates it, so those are the changes there are.
func (s *Sim) servicePrincipalsDelta(g *graphReq) {
	c := g.c
	if g.r.Method != http.MethodGet {
		s.methodNotAllowed(g)
		return
	}
	if !c.has(permAppRead...) {
		s.denied(g.w, g.r)
		return
	}
	q := g.r.URL.Query()
	sel := selectFields(q)
	link := func(param string, t pageToken) string {
		nv := url.Values{}
		for k, x := range q {
			if k != "$skiptoken" && k != "$deltatoken" && k != "$deltaToken" {
				nv[k] = x
			}
		}
		nv.Set(param, encodeToken(t))
		return g.base + "/v1.0/servicePrincipals/delta?" + nv.Encode()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Number what changed since the last delta request.
	for _, sp := range c.t.sps {
		if sp.deltaSeq == 0 {
			s.seq++
			sp.deltaSeq = s.seq
		}
	}
	for i := range c.t.spRemoved {
		if c.t.spRemoved[i].seq == 0 {
			s.seq++
			c.t.spRemoved[i].seq = s.seq
		}
	}
	seqNow, now := s.seq, s.now().Unix()
	out := map[string]any{"@odata.context": g.contextURL("servicePrincipals", sel)}
	dt := q.Get("$deltatoken")
	if dt == "" {
		dt = q.Get("$deltaToken")
	}
	if dt == "latest" {
		out["value"] = []any{}
		out["@odata.deltaLink"] = link("$deltatoken", pageToken{Seq: seqNow, Issued: now})
		writeJSON(g.w, http.StatusOK, out)
		return
	}
	if dt != "" {
		tok, ok := decodeToken(dt)
		if !ok {
			s.writeGraphError(g.w, g.r, http.StatusBadRequest, "syncStateNotFound", "The sync state generation is not found. Delta token is expired or not valid.")
			return
		}
		if now-tok.Issued > int64((7 * 24 * time.Hour).Seconds()) {
			g.w.Header().Set("Location", g.base+"/v1.0/servicePrincipals/delta")
			s.writeGraphError(g.w, g.r, http.StatusGone, "resyncRequired", "The delta token has expired; the application must restart the synchronization.")
			return
		}
		items := []any{}
		for _, sp := range c.t.sps {
			if sp.deltaSeq > tok.Seq && s.visible(sp.VisibleAt) {
				items = append(items, project(toMap(sp.Data), sel))
			}
		}
		for _, r := range c.t.spRemoved {
			if r.seq > tok.Seq {
				items = append(items, map[string]any{"id": r.id, "@removed": map[string]any{"reason": "changed"}})
			}
		}
		out["value"] = items
		out["@odata.deltaLink"] = link("$deltatoken", pageToken{Seq: seqNow, Issued: now})
		writeJSON(g.w, http.StatusOK, out)
		return
	}
	deltaInitialPage(s, g, q, out, link, seqNow, now, c.t.sps, func(sp *servicePrincipal) bool { return s.visible(sp.VisibleAt) },
		func(sp *servicePrincipal) any { return project(toMap(sp.Data), sel) })
}
