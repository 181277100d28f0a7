package entrasim

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Owners, per-application appManagementPolicies, addKey/removeKey and the beta
// reports/appCredentialSignInActivities, each as its learn.microsoft.com page describes.

// ---- owners (application-list-owners, application-post-owners, application-delete-owners) ----

// directoryObjectJSON is a user or service principal of the tenant as a directoryObject with its
// @odata.type, or nil. Callers hold s.mu.
func (s *Sim) directoryObjectJSON(t *tenant, id string) map[string]any {
	if u := t.userByID(id); u != nil && u.ID == id {
		m := userJSON(u)
		m["@odata.type"] = "#microsoft.graph.user"
		return m
	}
	for _, sp := range t.sps {
		if sp.Data.ID == id {
			m := toMap(sp.Data)
			m["@odata.type"] = "#microsoft.graph.servicePrincipal"
			return m
		}
	}
	return nil
}

// refTarget reads the object ID from a $ref body {"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/{id}"}.
func refTarget(body []byte) (string, bool) {
	var req struct {
		ID string `json:"@odata.id"`
	}
	if json.Unmarshal(body, &req) != nil || req.ID == "" {
		return "", false
	}
	u, err := url.Parse(req.ID)
	if err != nil {
		return "", false
	}
	p := strings.TrimRight(u.Path, "/")
	id := p[strings.LastIndex(p, "/")+1:]
	if i := strings.Index(id, "("); i >= 0 { // directoryObjects('{id}')
		id = strings.Trim(id[i+1:], "')")
	}
	return id, id != ""
}

// canManageOwners: application-post-owners needs Application.ReadWrite.All (Application.ReadWrite.OwnedBy
// "isn't sufficient to add another owner") or Directory.ReadWrite.All; signed-in users must also be an
// owner or an application administrator. It writes the 403 itself.
func (s *Sim) canManageOwners(g *graphReq, app *application) bool {
	c := g.c
	if !c.has("Application.ReadWrite.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All") {
		s.denied(g.w, g.r)
		return false
	}
	if c.appOnly {
		return true
	}
	s.mu.Lock()
	ok := s.ownsApp(c, app)
	s.mu.Unlock()
	if !ok {
		s.denied(g.w, g.r)
	}
	return ok
}

func (s *Sim) appOwners(g *graphReq, app *application, key string, rest []segment) {
	c := g.c
	switch {
	case len(rest) == 1 && g.r.Method == http.MethodGet:
		if !c.has(permAppRead...) && !(c.appOnly && app != nil && app.AppID == c.appID) {
			s.denied(g.w, g.r)
			return
		}
		if app == nil {
			s.notFound(g.w, g.r, key)
			return
		}
		s.mu.Lock()
		items := []any{}
		for _, id := range app.Owners {
			if o := s.directoryObjectJSON(c.t, id); o != nil {
				items = append(items, o)
			}
		}
		s.mu.Unlock()
		s.writeCollection(g, "directoryObjects", items)
	case len(rest) == 2 && rest[1].name == "$ref" && g.r.Method == http.MethodPost:
		if !s.canManageOwners(g, app) {
			return
		}
		if app == nil {
			s.notFound(g.w, g.r, key)
			return
		}
		id, ok := refTarget(g.body)
		if !ok {
			s.badRequest(g.w, g.r, "Invalid request body: a reference needs @odata.id, for example https://graph.microsoft.com/v1.0/directoryObjects/{id}.")
			return
		}
		s.mu.Lock()
		exists := s.directoryObjectJSON(c.t, id) != nil
		dup := slices.Contains(app.Owners, id)
		if exists && !dup {
			app.Owners = append(app.Owners, id)
		}
		s.mu.Unlock()
		switch {
		case !exists:
			s.notFound(g.w, g.r, id)
		case dup:
			s.badRequest(g.w, g.r, "One or more added object references already exist for the following modified properties: 'owners'.")
		default:
			g.w.WriteHeader(http.StatusNoContent)
		}
	case len(rest) == 3 && rest[2].name == "$ref" && g.r.Method == http.MethodDelete:
		if !s.canManageOwners(g, app) {
			return
		}
		if app == nil {
			s.notFound(g.w, g.r, key)
			return
		}
		id := rest[1].name
		s.mu.Lock()
		had := slices.Contains(app.Owners, id)
		app.Owners = slices.DeleteFunc(app.Owners, func(x string) bool { return x == id })
		s.mu.Unlock()
		if !had {
			s.notFound(g.w, g.r, id)
			return
		}
		g.w.WriteHeader(http.StatusNoContent)
	default:
		s.methodNotAllowed(g)
	}
}

// ---- appManagementPolicies (appmanagementpolicy-*.md, application-*-appmanagementpolicies.md) ----

func (p *appPolicy) json() map[string]any {
	norm := func(rs []credentialRestriction) []any {
		out := []any{}
		for _, r := range rs {
			out = append(out, map[string]any{"restrictionType": r.RestrictionType, "state": r.State,
				"maxLifetime": r.MaxLifetime, "restrictForAppsCreatedAfterDateTime": r.RestrictForAppsCreatedAfterDateTime,
				"excludeActors": nil})
		}
		return out
	}
	return map[string]any{"id": p.ID, "deletedDateTime": nil, "displayName": p.DisplayName, "description": p.Description,
		"isEnabled": p.Enabled, "restrictions": map[string]any{"passwordCredentials": norm(p.Restrictions.PasswordCredentials),
			"keyCredentials": norm(p.Restrictions.KeyCredentials)}}
}

// applyPolicyBody merges a create or update body into the policy; it returns a message for a 400.
func applyPolicyBody(p *appPolicy, body []byte, creating bool) string {
	var req struct {
		DisplayName  *string          `json:"displayName"`
		Description  *string          `json:"description"`
		IsEnabled    *bool            `json:"isEnabled"`
		Restrictions *appRestrictions `json:"restrictions"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return "Unable to read JSON request payload."
	}
	if creating && (req.DisplayName == nil || strings.TrimSpace(*req.DisplayName) == "") {
		return "Invalid value specified for property 'displayName' of resource 'AppManagementPolicy'."
	}
	if creating && req.Description == nil {
		return "Invalid value specified for property 'description' of resource 'AppManagementPolicy'."
	}
	if req.Restrictions != nil {
		check := func(rs []credentialRestriction, allowed ...string) string {
			for i := range rs {
				r := &rs[i]
				if !slices.Contains(allowed, r.RestrictionType) {
					return fmt.Sprintf("Invalid value specified for property 'restrictionType': '%s'.", r.RestrictionType)
				}
				if r.State == "" {
					r.State = "enabled"
				}
				if strings.HasSuffix(r.RestrictionType, "Lifetime") {
					if r.MaxLifetime == nil {
						return "Property 'maxLifetime' is required for restriction type '" + r.RestrictionType + "'."
					}
					if _, err := parseISODuration(*r.MaxLifetime); err != nil {
						return "Invalid value specified for property 'maxLifetime'."
					}
				}
			}
			return ""
		}
		if msg := check(req.Restrictions.PasswordCredentials, "passwordAddition", "passwordLifetime", "symmetricKeyAddition",
			"symmetricKeyLifetime", "customPasswordAddition"); msg != "" {
			return msg
		}
		if msg := check(req.Restrictions.KeyCredentials, "asymmetricKeyLifetime", "trustedCertificateAuthority"); msg != "" {
			return msg
		}
		if req.Restrictions.PasswordCredentials == nil {
			req.Restrictions.PasswordCredentials = []credentialRestriction{}
		}
		if req.Restrictions.KeyCredentials == nil {
			req.Restrictions.KeyCredentials = []credentialRestriction{}
		}
		p.Restrictions = *req.Restrictions
	}
	if req.DisplayName != nil {
		p.DisplayName = *req.DisplayName
	}
	if req.Description != nil {
		p.Description = *req.Description
	}
	if req.IsEnabled != nil {
		p.Enabled = *req.IsEnabled
	}
	return ""
}

func (t *tenant) appPolicyByID(id string) *appPolicy {
	for _, p := range t.appPolicies {
		if strings.EqualFold(p.ID, id) {
			return p
		}
	}
	return nil
}

// graphAppManagementPolicies serves /policies/appManagementPolicies[/{id}[/appliesTo[/$ref]]].
func (s *Sim) graphAppManagementPolicies(g *graphReq) {
	c := g.c
	segs := g.segs[2:] // after policies/appManagementPolicies
	if len(segs) == 0 {
		switch g.r.Method {
		case http.MethodGet:
			if !c.has(permPolicyRead...) {
				s.denied(g.w, g.r)
				return
			}
			s.mu.Lock()
			items := []any{}
			for _, p := range c.t.appPolicies {
				items = append(items, p.json())
			}
			s.mu.Unlock()
			s.writeCollection(g, "policies/appManagementPolicies", items)
		case http.MethodPost:
			if !c.has(permPolicyWrite...) {
				s.denied(g.w, g.r)
				return
			}
			p := &appPolicy{ID: newGUID(), Restrictions: appRestrictions{PasswordCredentials: []credentialRestriction{}, KeyCredentials: []credentialRestriction{}}}
			if msg := applyPolicyBody(p, g.body, true); msg != "" {
				s.badRequest(g.w, g.r, msg)
				return
			}
			s.mu.Lock()
			c.t.appPolicies = append(c.t.appPolicies, p)
			v := p.json()
			s.mu.Unlock()
			s.writeEntity(g, http.StatusCreated, "policies/appManagementPolicies", v)
		default:
			s.methodNotAllowed(g)
		}
		return
	}
	id := segs[0].name
	s.mu.Lock()
	p := c.t.appPolicyByID(id)
	s.mu.Unlock()
	if len(segs) == 1 {
		switch g.r.Method {
		case http.MethodGet:
			if !c.has(permPolicyRead...) {
				s.denied(g.w, g.r)
				return
			}
			if p == nil {
				s.notFound(g.w, g.r, id)
				return
			}
			s.mu.Lock()
			v := p.json()
			s.mu.Unlock()
			s.writeEntity(g, http.StatusOK, "policies/appManagementPolicies", v)
		case http.MethodPatch:
			if !c.has(permPolicyWrite...) {
				s.denied(g.w, g.r)
				return
			}
			if p == nil {
				s.notFound(g.w, g.r, id)
				return
			}
			s.mu.Lock()
			msg := applyPolicyBody(p, g.body, false)
			s.mu.Unlock()
			if msg != "" {
				s.badRequest(g.w, g.r, msg)
				return
			}
			g.w.WriteHeader(http.StatusNoContent)
		case http.MethodDelete:
			if !c.has(permPolicyWrite...) {
				s.denied(g.w, g.r)
				return
			}
			if p == nil {
				s.notFound(g.w, g.r, id)
				return
			}
			s.mu.Lock()
			c.t.appPolicies = slices.DeleteFunc(c.t.appPolicies, func(x *appPolicy) bool { return x == p })
			for _, a := range c.t.apps {
				a.policyIDs = slices.DeleteFunc(a.policyIDs, func(x string) bool { return x == p.ID })
			}
			s.mu.Unlock()
			g.w.WriteHeader(http.StatusNoContent)
		default:
			s.methodNotAllowed(g)
		}
		return
	}
	if segs[1].name != "appliesTo" {
		s.writeGraphError(g.w, g.r, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", segs[1].name))
		return
	}
	switch {
	case len(segs) == 2 && g.r.Method == http.MethodGet:
		// appmanagementpolicy-list-appliesto: Policy.Read.All and Application.Read.All.
		if !c.has(permPolicyRead...) || !c.has(permAppRead...) {
			s.denied(g.w, g.r)
			return
		}
		if p == nil {
			s.notFound(g.w, g.r, id)
			return
		}
		s.mu.Lock()
		items := []any{}
		for _, a := range c.t.apps {
			if slices.Contains(a.policyIDs, p.ID) {
				m := toMap(appView(a, nil))
				m["@odata.type"] = "#microsoft.graph.application"
				items = append(items, m)
			}
		}
		s.mu.Unlock()
		s.writeCollection(g, "directoryObjects", items)
	case len(segs) == 3 && segs[2].name == "$ref" && g.r.Method == http.MethodPost:
		target, ok := refTarget(g.body)
		if !ok {
			s.badRequest(g.w, g.r, "Invalid request body: a reference needs @odata.id.")
			return
		}
		s.mu.Lock()
		app := s.apps[target]
		if app != nil && app.TenantID != c.t.ID {
			app = nil
		}
		s.mu.Unlock()
		s.assignAppPolicy(g, app, target, p, id)
	default:
		s.methodNotAllowed(g)
	}
}

// assignAppPolicy assigns the policy to the application: "Only one policy object can be assigned to an
// application or service principal" (appmanagementpolicy-post-appliesto, application-post-appmanagementpolicies);
// permissions Application.Read.All and Policy.ReadWrite.ApplicationConfiguration.
func (s *Sim) assignAppPolicy(g *graphReq, app *application, appKey string, p *appPolicy, policyKey string) {
	if !g.c.has(permPolicyWrite...) || !g.c.has(permAppRead...) {
		s.denied(g.w, g.r)
		return
	}
	if app == nil {
		s.notFound(g.w, g.r, appKey)
		return
	}
	if p == nil {
		s.notFound(g.w, g.r, policyKey)
		return
	}
	s.mu.Lock()
	assigned := slices.Clone(app.policyIDs)
	if len(assigned) == 0 {
		app.policyIDs = []string{p.ID}
	}
	s.mu.Unlock()
	switch {
	case slices.Contains(assigned, p.ID):
		s.badRequest(g.w, g.r, "One or more added object references already exist for the following modified properties: 'appManagementPolicies'.")
	case len(assigned) > 0:
		s.badRequest(g.w, g.r, "Only one policy object can be assigned to an application or service principal.")
	default:
		g.w.WriteHeader(http.StatusNoContent)
	}
}

// appPolicies serves /applications/{id}/appManagementPolicies[/$ref | /{policyId}/$ref].
func (s *Sim) appPolicies(g *graphReq, app *application, key string, rest []segment) {
	c := g.c
	switch {
	case len(rest) == 1 && g.r.Method == http.MethodGet:
		if !c.has(permPolicyRead...) && !c.has(permAppRead...) {
			s.denied(g.w, g.r)
			return
		}
		if app == nil {
			s.notFound(g.w, g.r, key)
			return
		}
		s.mu.Lock()
		items := []any{}
		for _, id := range app.policyIDs {
			if p := c.t.appPolicyByID(id); p != nil {
				items = append(items, p.json())
			}
		}
		s.mu.Unlock()
		s.writeCollection(g, "policies/appManagementPolicies", items)
	case len(rest) == 2 && rest[1].name == "$ref" && g.r.Method == http.MethodPost:
		id, ok := refTarget(g.body)
		if !ok {
			s.badRequest(g.w, g.r, "Invalid request body: a reference needs @odata.id, for example https://graph.microsoft.com/v1.0/policies/appManagementPolicies/{id}.")
			return
		}
		s.mu.Lock()
		p := c.t.appPolicyByID(id)
		s.mu.Unlock()
		s.assignAppPolicy(g, app, key, p, id)
	case len(rest) == 3 && rest[2].name == "$ref" && g.r.Method == http.MethodDelete:
		if !c.has(permPolicyWrite...) || !c.has(permAppRead...) {
			s.denied(g.w, g.r)
			return
		}
		if app == nil {
			s.notFound(g.w, g.r, key)
			return
		}
		id := rest[1].name
		s.mu.Lock()
		had := slices.Contains(app.policyIDs, id)
		app.policyIDs = slices.DeleteFunc(app.policyIDs, func(x string) bool { return x == id })
		s.mu.Unlock()
		if !had {
			s.notFound(g.w, g.r, id)
			return
		}
		g.w.WriteHeader(http.StatusNoContent)
	default:
		s.methodNotAllowed(g)
	}
}

// lifetimeLimit is the maximum credential lifetime that applies to the application: from its enabled
// appManagementPolicy when one is assigned, which "overrides" the tenant default
// (https://learn.microsoft.com/graph/api/resources/appmanagementpolicy), else from the tenant's
// defaultAppManagementPolicy. kind is passwordLifetime or asymmetricKeyLifetime. It returns 0 when none
// applies, and the ID of the policy it came from. Callers hold s.mu.
func (t *tenant) lifetimeLimit(app *application, kind string) (time.Duration, string) {
	for _, id := range app.policyIDs {
		p := t.appPolicyByID(id)
		if p == nil {
			continue
		}
		if !p.Enabled {
			break // a disabled policy restricts nothing; the tenant default applies
		}
		list := p.Restrictions.PasswordCredentials
		if kind == "asymmetricKeyLifetime" {
			list = p.Restrictions.KeyCredentials
		}
		for _, r := range list {
			if r.RestrictionType != kind || r.State == "disabled" || r.MaxLifetime == nil {
				continue
			}
			if r.RestrictForAppsCreatedAfterDateTime != nil {
				if after, err := time.Parse(time.RFC3339, *r.RestrictForAppsCreatedAfterDateTime); err == nil && !app.Created.After(after) {
					continue
				}
			}
			if d, err := parseISODuration(*r.MaxLifetime); err == nil {
				return d, p.ID
			}
		}
		return 0, ""
	}
	if kind == "passwordLifetime" && t.policy.Enabled && t.policy.MaxPasswordLifetime > 0 {
		return t.policy.MaxPasswordLifetime, t.policy.ID
	}
	return 0, ""
}

// ---- addKey / removeKey (application-addkey, application-removekey) ----

// verifyProof checks addKey's proof of possession: a JWT signed with the private key of one of the
// application's valid certificates, aud 00000002-0000-0000-c000-000000000000, iss the application's
// object ID, and exp - nbf at most 10 minutes. Callers hold s.mu.
func verifyProof(app *application, proof string, now time.Time) bool {
	jws, err := jose.ParseSignedCompact(proof, []jose.SignatureAlgorithm{jose.RS256, jose.PS256})
	if err != nil {
		return false
	}
	for _, kc := range app.Data.KeyCredentials {
		if kc.Key == nil || kc.Type != "AsymmetricX509Cert" {
			continue
		}
		start, _ := time.Parse(time.RFC3339Nano, kc.StartDateTime)
		end, _ := time.Parse(time.RFC3339Nano, kc.EndDateTime)
		if now.Before(start) || !now.Before(end) {
			continue
		}
		der, err := base64.StdEncoding.DecodeString(*kc.Key)
		if err != nil {
			continue
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			continue
		}
		payload, err := jws.Verify(cert.PublicKey)
		if err != nil {
			continue
		}
		var c jwt.Claims
		if json.Unmarshal(payload, &c) != nil || c.Issuer != app.ObjectID || !slices.Contains([]string(c.Audience), "00000002-0000-0000-c000-000000000000") {
			return false
		}
		if c.NotBefore == nil || c.Expiry == nil || c.Expiry.Time().Sub(c.NotBefore.Time()) > 10*time.Minute+time.Second {
			return false
		}
		leeway := 5 * time.Minute
		return now.Add(leeway).After(c.NotBefore.Time()) && now.Before(c.Expiry.Time().Add(leeway))
	}
	return false
}

// canRollKeys: "An application does not need any specific permission to roll its own keys"; others need
// Application.ReadWrite.OwnedBy (as owner), Application.ReadWrite.All or Directory.ReadWrite.All.
func (s *Sim) canRollKeys(g *graphReq, app *application) bool {
	if g.c.appOnly && app != nil && app.AppID == g.c.appID {
		return true
	}
	return s.canWriteApp(g, app, permAppCredWrite)
}

func (s *Sim) addKey(g *graphReq, app *application) {
	var req struct {
		KeyCredential *struct {
			Type          string     `json:"type"`
			Usage         string     `json:"usage"`
			Key           string     `json:"key"`
			DisplayName   *string    `json:"displayName"`
			StartDateTime *time.Time `json:"startDateTime"`
			EndDateTime   *time.Time `json:"endDateTime"`
		} `json:"keyCredential"`
		PasswordCredential *struct {
			SecretText string `json:"secretText"`
		} `json:"passwordCredential"`
		Proof string `json:"proof"`
	}
	if err := json.Unmarshal(g.body, &req); err != nil {
		s.badRequest(g.w, g.r, "Unable to read JSON request payload.")
		return
	}
	if req.Proof == "" {
		s.denied(g.w, g.r)
		return
	}
	s.mu.Lock()
	now := s.now()
	ok := verifyProof(app, req.Proof, now)
	s.mu.Unlock()
	if !ok {
		s.writeGraphError(g.w, g.r, http.StatusUnauthorized, "Authentication_MissingOrMalformed", "Access Token missing or malformed.")
		return
	}
	kc := req.KeyCredential
	if kc == nil || kc.Key == "" || kc.Type == "" || kc.Usage == "" {
		s.badRequest(g.w, g.r, "The type, usage and key of keyCredential are required.")
		return
	}
	switch {
	case kc.Type == "AsymmetricX509Cert" && kc.Usage == "Verify":
	case kc.Type == "X509CertAndPassword" && kc.Usage == "Sign":
		if req.PasswordCredential == nil || req.PasswordCredential.SecretText == "" {
			s.badRequest(g.w, g.r, "passwordCredential.secretText is required for keys of type X509CertAndPassword.")
			return
		}
	default:
		s.badRequest(g.w, g.r, fmt.Sprintf("Invalid value specified for property 'usage' of resource 'KeyCredential': type %s with usage %s.", kc.Type, kc.Usage))
		return
	}
	der, err := base64.StdEncoding.DecodeString(kc.Key)
	if err != nil {
		s.badRequest(g.w, g.r, "Invalid value specified for property 'key' of resource 'KeyCredential'.")
		return
	}
	if _, err := x509.ParseCertificate(der); err != nil {
		s.badRequest(g.w, g.r, "Invalid value specified for property 'key' of resource 'KeyCredential'.")
		return
	}
	var start, end time.Time
	if kc.StartDateTime != nil {
		start = kc.StartDateTime.UTC()
	}
	if kc.EndDateTime != nil {
		end = kc.EndDateTime.UTC()
	}
	name := ""
	if kc.DisplayName != nil {
		name = *kc.DisplayName
	}
	cred := newKeyCredential(der, name, start, end)
	cred.Type, cred.Usage = kc.Type, kc.Usage
	s.mu.Lock()
	cs, _ := time.Parse(time.RFC3339Nano, cred.StartDateTime)
	ce, _ := time.Parse(time.RFC3339Nano, cred.EndDateTime)
	limit, policyID := g.c.t.lifetimeLimit(app, "asymmetricKeyLifetime")
	if limit > 0 && ce.Sub(cs) > limit {
		s.mu.Unlock()
		s.writeGraphError(g.w, g.r, http.StatusBadRequest, "CredentialInvalidLifetimeAsPerAppPolicy",
			fmt.Sprintf("Credential lifetime exceeds the max value allowed as per assigned policy '%s'.", policyID))
		return
	}
	app.Data.KeyCredentials = append(app.Data.KeyCredentials, cred)
	s.touchApp(app)
	s.mu.Unlock()
	out := toMap(cred)
	out["key"] = nil // returned only with $select on a single object (application-list.md)
	out["@odata.context"] = g.base + "/v1.0/$metadata#microsoft.graph.keyCredential"
	writeJSON(g.w, http.StatusOK, out)
}

func (s *Sim) removeKey(g *graphReq, app *application) {
	var req struct {
		KeyID string `json:"keyId"`
		Proof string `json:"proof"`
	}
	if err := json.Unmarshal(g.body, &req); err != nil || !isGUID(req.KeyID) {
		s.badRequest(g.w, g.r, "Invalid value specified for property 'keyId' of resource 'KeyCredential'.")
		return
	}
	if req.Proof == "" {
		s.denied(g.w, g.r)
		return
	}
	s.mu.Lock()
	ok := verifyProof(app, req.Proof, s.now())
	if !ok {
		s.mu.Unlock()
		s.writeGraphError(g.w, g.r, http.StatusUnauthorized, "Authentication_MissingOrMalformed", "Access Token missing or malformed.")
		return
	}
	n := len(app.Data.KeyCredentials)
	app.Data.KeyCredentials = slices.DeleteFunc(app.Data.KeyCredentials, func(k keyCredential) bool { return strings.EqualFold(k.KeyID, req.KeyID) })
	removed := n != len(app.Data.KeyCredentials)
	if removed {
		s.touchApp(app)
	}
	s.mu.Unlock()
	if !removed {
		s.badRequest(g.w, g.r, fmt.Sprintf("No key credential found with keyId '%s'.", req.KeyID))
		return
	}
	g.w.WriteHeader(http.StatusNoContent)
}

// ---- beta reports/appCredentialSignInActivities (reportroot-list-appcredentialsigninactivities) ----

func (s *Sim) graphReports(g *graphReq) {
	if len(g.segs) < 2 || g.segs[1].name != "appCredentialSignInActivities" || len(g.segs) > 3 {
		s.writeGraphError(g.w, g.r, http.StatusBadRequest, "BadRequest", "Resource not found for the segment.")
		return
	}
	if g.r.Method != http.MethodGet {
		s.methodNotAllowed(g)
		return
	}
	if !g.c.has("AuditLog.Read.All", "Directory.Read.All") {
		s.denied(g.w, g.r)
		return
	}
	terms, ok := parseFilter(g.r.URL.Query().Get("$filter"), "keyId", "appId", "appObjectId", "keyType", "servicePrincipalObjectId")
	if !ok {
		s.writeGraphError(g.w, g.r, http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported Query.")
		return
	}
	s.mu.Lock()
	var items []any
	for _, a := range g.c.t.apps {
		add := func(keyID, keyType, usage, created, expires string) {
			u := a.credUse[keyID]
			if u == nil {
				return // the report lists credentials with sign-in activity
			}
			m := map[string]any{"id": base64.StdEncoding.EncodeToString([]byte(keyID + "|application")),
				"appId": a.AppID, "appObjectId": a.ObjectID, "createdDateTime": created, "credentialOrigin": "application",
				"expirationDateTime": expires, "keyId": keyID, "keyType": keyType, "keyUsage": usage,
				"resourceId": u.ResourceID, "servicePrincipalObjectId": u.SPObjectID,
				"signInActivity": map[string]any{"lastSignInDateTime": graphTime(u.When), "lastSignInRequestId": u.RequestID}}
			if matchFilter(terms, func(p string) string { v, _ := m[p].(string); return v }) {
				items = append(items, m)
			}
		}
		for _, pc := range a.Data.PasswordCredentials {
			add(pc.KeyID, "clientSecret", "sign", pc.StartDateTime, pc.EndDateTime)
		}
		for _, kc := range a.Data.KeyCredentials {
			add(kc.KeyID, "certificate", strings.ToLower(kc.Usage), kc.StartDateTime, kc.EndDateTime)
		}
	}
	s.mu.Unlock()
	if len(g.segs) == 3 {
		for _, it := range items {
			if m := it.(map[string]any); m["id"] == g.segs[2].name {
				s.writeEntity(g, http.StatusOK, "reports/appCredentialSignInActivities", m)
				return
			}
		}
		s.notFound(g.w, g.r, g.segs[2].name)
		return
	}
	s.writeCollection(g, "reports/appCredentialSignInActivities", items)
}
