package entrasim

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// /applications: https://learn.microsoft.com/graph/api/application-post-applications,
// https://learn.microsoft.com/graph/api/application-upsert, https://learn.microsoft.com/graph/api/application-list,
// https://learn.microsoft.com/graph/api/application-delta, https://learn.microsoft.com/graph/api/application-addpassword,
// https://learn.microsoft.com/graph/api/application-removepassword.

func (s *Sim) graphApplications(g *graphReq) {
	segs := g.segs
	if len(segs) == 1 && !segs[0].hasKey {
		switch g.r.Method {
		case http.MethodGet:
			s.listApplications(g)
		case http.MethodPost:
			s.createApplication(g)
		default:
			s.methodNotAllowed(g)
		}
		return
	}
	if len(segs) >= 2 && !segs[0].hasKey && segs[1].name == "delta" {
		s.applicationsDelta(g)
		return
	}
	// Address the application: /applications/{id}, /applications(appId='…'), /applications(uniqueName='…').
	var keyArg, key string
	rest := segs[1:]
	if segs[0].hasKey {
		keyArg, key = segs[0].keyArg, segs[0].key
	} else {
		key = segs[1].name
		rest = segs[2:]
	}
	if keyArg == "uniqueName" && len(rest) == 0 && g.r.Method == http.MethodPatch {
		s.upsertApplication(g, key)
		return
	}
	c := g.c
	s.mu.Lock()
	var app *application
	for _, a := range c.t.apps {
		switch keyArg {
		case "appId":
			if a.AppID == key {
				app = a
			}
		case "uniqueName":
			if a.Data.UniqueName != nil && *a.Data.UniqueName == key {
				app = a
			}
		default:
			if a.ObjectID == key {
				app = a
			}
		}
	}
	if app != nil && !s.visible(app.VisibleAt) {
		app = nil
	}
	s.mu.Unlock()
	if len(rest) == 0 {
		switch g.r.Method {
		case http.MethodGet:
			if !c.has(permAppRead...) && !(c.appOnly && app != nil && app.AppID == c.appID) {
				s.denied(g.w, g.r)
				return
			}
			if app == nil {
				s.notFound(g.w, g.r, key)
				return
			}
			if !s.keyCredentialsLimit(g) {
				return
			}
			s.mu.Lock()
			v := appView(app, selectFields(g.r.URL.Query()))
			s.mu.Unlock()
			s.writeEntity(g, http.StatusOK, "applications", v)
		case http.MethodPatch:
			if !s.canWriteApp(g, app, permAppWrite) {
				return
			}
			if app == nil {
				s.notFound(g.w, g.r, key)
				return
			}
			body, ok := s.decodeObject(g)
			if !ok {
				return
			}
			s.mu.Lock()
			err := s.patchApp(app, body, false)
			s.mu.Unlock()
			if err != "" {
				s.badRequest(g.w, g.r, err)
				return
			}
			g.w.WriteHeader(http.StatusNoContent)
		case http.MethodDelete:
			if !s.canWriteApp(g, app, permAppWrite) {
				return
			}
			if app == nil {
				s.notFound(g.w, g.r, key)
				return
			}
			s.mu.Lock()
			s.deleteApplication(c.t, app)
			s.mu.Unlock()
			g.w.WriteHeader(http.StatusNoContent)
		default:
			s.methodNotAllowed(g)
		}
		return
	}
	switch rest[0].name {
	case "owners":
		s.appOwners(g, app, key, rest)
		return
	case "appManagementPolicies":
		s.appPolicies(g, app, key, rest)
		return
	}
	if g.r.Method != http.MethodPost {
		s.methodNotAllowed(g)
		return
	}
	switch rest[0].name {
	case "addKey", "removeKey":
		if !s.canRollKeys(g, app) {
			return
		}
		if app == nil {
			s.notFound(g.w, g.r, key)
			return
		}
		if rest[0].name == "addKey" {
			s.addKey(g, app)
		} else {
			s.removeKey(g, app)
		}
	case "addPassword":
		if !s.canWriteApp(g, app, permAppCredWrite) {
			return
		}
		if app == nil {
			s.notFound(g.w, g.r, key)
			return
		}
		s.addPassword(g, app)
	case "removePassword":
		if !s.canWriteApp(g, app, permAppCredWrite) {
			return
		}
		if app == nil {
			s.notFound(g.w, g.r, key)
			return
		}
		var req struct {
			KeyID string `json:"keyId"`
		}
		if err := json.Unmarshal(g.body, &req); err != nil || !isGUID(req.KeyID) {
			s.badRequest(g.w, g.r, "Invalid value specified for property 'keyId' of resource 'PasswordCredential'.")
			return
		}
		s.mu.Lock()
		n := len(app.Data.PasswordCredentials)
		app.Data.PasswordCredentials = slices.DeleteFunc(app.Data.PasswordCredentials, func(p passwordCredential) bool { return strings.EqualFold(p.KeyID, req.KeyID) })
		app.secrets = slices.DeleteFunc(app.secrets, func(r secretRecord) bool { return strings.EqualFold(r.KeyID, req.KeyID) })
		removed := n != len(app.Data.PasswordCredentials)
		if removed {
			s.touchApp(app)
		}
		s.mu.Unlock()
		if !removed {
			s.badRequest(g.w, g.r, fmt.Sprintf("No password credential found with keyId '%s'.", req.KeyID))
			return
		}
		g.w.WriteHeader(http.StatusNoContent)
	default:
		s.writeGraphError(g.w, g.r, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", rest[0].name))
	}
}

// canWriteApp checks the permission and, for Application.ReadWrite.OwnedBy and delegated non-admins,
// ownership. It writes the 403 itself.
func (s *Sim) canWriteApp(g *graphReq, app *application, perms []string) bool {
	c := g.c
	if !c.has(perms...) {
		s.denied(g.w, g.r)
		return false
	}
	if app == nil {
		return true // the caller answers 404
	}
	s.mu.Lock()
	ok := s.ownsApp(c, app)
	s.mu.Unlock()
	if !ok {
		s.denied(g.w, g.r)
	}
	return ok
}

// appView is the application as Graph returns it: keyCredentials.key only when keyCredentials is selected
// (application-list.md), secretText never.
func appView(app *application, sel []string) appData {
	d := app.Data
	d.PasswordCredentials = slices.Clone(app.Data.PasswordCredentials) // removePassword edits in place
	withKey := slices.ContainsFunc(sel, func(f string) bool { return strings.EqualFold(f, "keyCredentials") })
	d.KeyCredentials = make([]keyCredential, len(app.Data.KeyCredentials))
	for i, kc := range app.Data.KeyCredentials {
		if !withKey {
			kc.Key = nil
		}
		d.KeyCredentials[i] = kc
	}
	return d
}

func (s *Sim) listApplications(g *graphReq) {
	c := g.c
	if !c.has(permAppRead...) {
		s.denied(g.w, g.r)
		return
	}
	if !s.keyCredentialsLimit(g) {
		return
	}
	q := g.r.URL.Query()
	terms, ok := parseFilter(q.Get("$filter"), "appId", "displayName", "id", "uniqueName", "publisherDomain")
	if !ok {
		s.writeGraphError(g.w, g.r, http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified for property.")
		return
	}
	sel := selectFields(q)
	s.mu.Lock()
	items := make([]any, 0, len(c.t.apps))
	for _, a := range c.t.apps {
		if !s.visible(a.VisibleAt) {
			continue
		}
		if !matchFilter(terms, func(p string) string {
			switch strings.ToLower(p) {
			case "appid":
				return a.AppID
			case "displayname":
				return a.Data.DisplayName
			case "id":
				return a.ObjectID
			case "uniquename":
				if a.Data.UniqueName != nil {
					return *a.Data.UniqueName
				}
			case "publisherdomain":
				return a.Data.PublisherDomain
			}
			return ""
		}) {
			continue
		}
		items = append(items, appView(a, sel))
	}
	s.mu.Unlock()
	s.writeCollection(g, "applications", items)
}

func (s *Sim) createApplication(g *graphReq) {
	c := g.c
	if !c.has(permAppWrite...) {
		s.denied(g.w, g.r)
		return
	}
	body, ok := s.decodeObject(g)
	if !ok {
		return
	}
	app, errMsg := s.newAppFromBody(c, body, "")
	if errMsg != "" {
		s.badRequest(g.w, g.r, errMsg)
		return
	}
	s.mu.Lock()
	v := appView(app, nil)
	s.mu.Unlock()
	s.writeEntity(g, http.StatusCreated, "applications", v)
}

func (s *Sim) newAppFromBody(c *caller, body map[string]json.RawMessage, uniqueName string) (*application, string) {
	var dn string
	if raw, ok := body["displayName"]; !ok || json.Unmarshal(raw, &dn) != nil || strings.TrimSpace(dn) == "" {
		return nil, "Invalid value specified for property 'displayName' of resource 'Application'."
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	app := s.newApplication(c.t, dn, s.now())
	app.Owners = []string{c.principalID()} // the creator owns what it creates
	if uniqueName != "" {
		app.Data.UniqueName = &uniqueName
	}
	if msg := s.patchApp(app, body, true); msg != "" {
		return nil, msg
	}
	s.insertApplication(c.t, app)
	return app, ""
}

// patchApp merges a PATCH/POST body into the application: known properties replace the current value,
// collections are replaced whole, read-only properties and passwordCredentials are rejected.
func (s *Sim) patchApp(app *application, body map[string]json.RawMessage, creating bool) string {
	cur := toMap(app.Data)
	for k, v := range body {
		if strings.HasPrefix(k, "@odata.") {
			continue
		}
		switch k {
		case "id", "appId", "createdDateTime", "publisherDomain", "deletedDateTime":
			if creating {
				continue
			}
			return fmt.Sprintf("Property '%s' is read-only and cannot be set.", k)
		case "passwordCredentials":
			return "Property 'passwordCredentials' cannot be set with this request; use addPassword."
		case "uniqueName":
			if !creating && app.Data.UniqueName != nil {
				var nv string
				if json.Unmarshal(v, &nv) == nil && nv == *app.Data.UniqueName {
					continue
				}
				return "Property 'uniqueName' is immutable once set."
			}
		}
		if _, known := cur[k]; !known {
			return fmt.Sprintf("Property '%s' does not exist as a declared property or extension property.", k)
		}
		var anyv any
		if err := json.Unmarshal(v, &anyv); err != nil {
			return fmt.Sprintf("Invalid value specified for property '%s'.", k)
		}
		cur[k] = anyv
	}
	b, _ := json.Marshal(cur)
	var d appData
	if err := json.Unmarshal(b, &d); err != nil {
		return "One or more properties contains invalid values."
	}
	if strings.TrimSpace(d.DisplayName) == "" {
		return "Invalid value specified for property 'displayName' of resource 'Application'."
	}
	switch d.SignInAudience {
	case "AzureADMyOrg", "AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount", "PersonalMicrosoftAccount":
	default:
		return "Invalid value specified for property 'signInAudience' of resource 'Application'."
	}
	d.normalize()
	for i := range d.KeyCredentials {
		kc := &d.KeyCredentials[i]
		if kc.KeyID == "" {
			kc.KeyID = newGUID()
		}
		if kc.Key != nil && kc.CustomKeyIdentifier == nil {
			if der, err := base64.StdEncoding.DecodeString(*kc.Key); err == nil {
				sum := sha1.Sum(der)
				th := base64.StdEncoding.EncodeToString(sum[:])
				kc.CustomKeyIdentifier = &th
			}
		}
		if kc.Key == nil {
			// PATCH replaces the collection; keep the stored key of an existing keyId.
			for _, old := range app.Data.KeyCredentials {
				if old.KeyID == kc.KeyID {
					kc.Key = old.Key
				}
			}
		}
		if kc.Type == "" {
			kc.Type = "AsymmetricX509Cert"
		}
		if kc.Usage == "" {
			kc.Usage = "Verify"
		}
	}
	for i := range d.AppRoles {
		if d.AppRoles[i].ID == "" {
			d.AppRoles[i].ID = newGUID()
		}
	}
	app.Data = d
	if !creating {
		s.touchApp(app)
	}
	return ""
}

// upsertApplication implements PATCH /applications(uniqueName='…'): 204 when it exists and was updated,
// 201 with the new object when missing and Prefer: create-if-missing was sent, 404 otherwise
// (https://learn.microsoft.com/graph/api/application-upsert).
func (s *Sim) upsertApplication(g *graphReq, uniqueName string) {
	c := g.c
	s.mu.Lock()
	var app *application
	for _, a := range c.t.apps {
		if a.Data.UniqueName != nil && *a.Data.UniqueName == uniqueName {
			app = a
		}
	}
	s.mu.Unlock()
	body, ok := s.decodeObject(g)
	if !ok {
		return
	}
	if app != nil {
		if !s.canWriteApp(g, app, permAppWrite) {
			return
		}
		s.mu.Lock()
		msg := s.patchApp(app, body, false)
		s.mu.Unlock()
		if msg != "" {
			s.badRequest(g.w, g.r, msg)
			return
		}
		g.w.WriteHeader(http.StatusNoContent)
		return
	}
	if !c.has(permAppWrite...) {
		s.denied(g.w, g.r)
		return
	}
	if !strings.Contains(strings.ToLower(g.r.Header.Get("Prefer")), "create-if-missing") {
		s.notFound(g.w, g.r, uniqueName)
		return
	}
	app, msg := s.newAppFromBody(c, body, uniqueName)
	if msg != "" {
		s.badRequest(g.w, g.r, msg)
		return
	}
	s.mu.Lock()
	v := appView(app, nil)
	s.mu.Unlock()
	s.writeEntity(g, http.StatusCreated, "applications", v)
}

// addPassword generates a secret (returned once, in this response only) and enforces the tenant's
// password-lifetime restriction (CredentialInvalidLifetimeAsPerAppPolicy).
func (s *Sim) addPassword(g *graphReq, app *application) {
	var req struct {
		PasswordCredential *struct {
			DisplayName   *string    `json:"displayName"`
			StartDateTime *time.Time `json:"startDateTime"`
			EndDateTime   *time.Time `json:"endDateTime"`
		} `json:"passwordCredential"`
	}
	if len(strings.TrimSpace(string(g.body))) > 0 {
		if err := json.Unmarshal(g.body, &req); err != nil {
			s.badRequest(g.w, g.r, "Unable to read JSON request payload.")
			return
		}
	}
	s.mu.Lock()
	now := s.now()
	start, name := now, ""
	var end time.Time
	if pc := req.PasswordCredential; pc != nil {
		if pc.StartDateTime != nil {
			start = pc.StartDateTime.UTC()
		}
		if pc.EndDateTime != nil {
			end = pc.EndDateTime.UTC()
		}
		if pc.DisplayName != nil {
			name = *pc.DisplayName
		}
	}
	if end.IsZero() {
		end = start.AddDate(2, 0, 0) // default: startDateTime + 2 years
	}
	// The application's own appManagementPolicy overrides the tenant default.
	limit, policyID := g.c.t.lifetimeLimit(app, "passwordLifetime")
	s.mu.Unlock()
	if !end.After(start) {
		s.badRequest(g.w, g.r, "Invalid value specified for property 'endDateTime' of resource 'PasswordCredential'.")
		return
	}
	if limit > 0 && end.Sub(start) > limit {
		s.writeGraphError(g.w, g.r, http.StatusBadRequest, "CredentialInvalidLifetimeAsPerAppPolicy",
			fmt.Sprintf("Credential lifetime exceeds the max value allowed as per assigned policy '%s'.", policyID),
			graphErrorDetail{Code: "InvalidKeyEndDate", Message: fmt.Sprintf("Key credential end date is invalid. The maximum lifetime allowed by policy is %s.", isoDuration(limit)), Target: "EndDate"})
		return
	}
	text := newSecretText()
	s.mu.Lock()
	pc := app.addPassword(name, start, end, text)
	s.touchApp(app)
	s.mu.Unlock()
	pc.SecretText = &text
	out := toMap(pc)
	out["@odata.context"] = g.base + "/v1.0/$metadata#microsoft.graph.passwordCredential"
	writeJSON(g.w, http.StatusOK, out)
}

// applicationsDelta implements /applications/delta: pages of the current state ending in an
// @odata.deltaLink, then only changes, with removed items as {"id","@removed":{"reason":"changed"}}
// (https://learn.microsoft.com/graph/api/application-delta, /graph/delta-query-overview).
func (s *Sim) applicationsDelta(g *graphReq) {
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
		return g.base + "/v1.0/applications/delta?" + nv.Encode()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seqNow := s.seq
	now := s.now().Unix()
	out := map[string]any{"@odata.context": g.contextURL("applications", sel)}
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
		// Directory delta tokens are valid for 7 days; then the client must start over
		// (delta-query-overview.md: 410 Gone with a Location to a fresh round; errors.md resyncRequired).
		if now-tok.Issued > int64((7 * 24 * time.Hour).Seconds()) {
			restart := url.Values{}
			for k, x := range q {
				if k != "$deltatoken" && k != "$deltaToken" && k != "$skiptoken" {
					restart[k] = x
				}
			}
			loc := g.base + "/v1.0/applications/delta"
			if len(restart) > 0 {
				loc += "?" + restart.Encode()
			}
			g.w.Header().Set("Location", loc)
			s.writeGraphError(g.w, g.r, http.StatusGone, "resyncRequired", "The delta token has expired; the application must restart the synchronization.")
			return
		}
		last := map[string]appChange{}
		var order []string
		for _, ch := range c.t.changes {
			if ch.seq <= tok.Seq {
				continue
			}
			if _, seen := last[ch.appID]; !seen {
				order = append(order, ch.appID)
			}
			last[ch.appID] = ch
		}
		items := []any{}
		for _, id := range order {
			ch := last[id]
			app := c.t.appByID(id)
			if ch.removed || app == nil {
				items = append(items, map[string]any{"id": id, "@removed": map[string]any{"reason": "changed"}})
				continue
			}
			items = append(items, project(appView(app, sel), sel))
		}
		out["value"] = items
		out["@odata.deltaLink"] = link("$deltatoken", pageToken{Seq: seqNow, Issued: now})
		writeJSON(g.w, http.StatusOK, out)
		return
	}
	// Initial round: the current state in pages.
	deltaInitialPage(s, g, q, out, link, seqNow, now, c.t.apps, func(a *application) bool { return s.visible(a.VisibleAt) },
		func(a *application) any { return project(appView(a, sel), sel) })
}

// deltaInitialPage answers one page of a delta query's initial round: the
// visible items from the $skiptoken's offset, then a nextLink, or on the
// last page the deltaLink the next round starts from. s.mu is held.
func deltaInitialPage[T any](s *Sim, g *graphReq, q url.Values, out map[string]any, link func(string, pageToken) string,
	seqNow, now int64, all []T, visible func(T) bool, view func(T) any) {
	off, seqStart := 0, seqNow
	if st := q.Get("$skiptoken"); st != "" {
		tok, ok := decodeToken(st)
		if !ok {
			s.badRequest(g.w, g.r, "Invalid paging token.")
			return
		}
		off, seqStart = tok.Offset, tok.Seq
	}
	var shown []T
	for _, x := range all {
		if visible(x) {
			shown = append(shown, x)
		}
	}
	const pageSize = 100
	end := min(off+pageSize, len(shown))
	items := []any{}
	if off < len(shown) {
		for _, x := range shown[off:end] {
			items = append(items, view(x))
		}
	}
	out["value"] = items
	if end < len(shown) {
		out["@odata.nextLink"] = link("$skiptoken", pageToken{Offset: end, Seq: seqStart})
	} else {
		out["@odata.deltaLink"] = link("$deltatoken", pageToken{Seq: seqStart, Issued: now})
	}
	writeJSON(g.w, http.StatusOK, out)
}
