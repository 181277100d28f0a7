package entrasim

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Login endpoints under {base}/{tenant}/… as on login.microsoftonline.com
// (https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc,
// https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow,
// https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow,
// https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code,
// https://learn.microsoft.com/entra/identity-platform/v2-admin-consent).

const (
	codeLifetime    = 10 * time.Minute
	tokenLifetime   = 3599 * time.Second
	refreshLifetime = 90 * 24 * time.Hour
	deviceLifetime  = 15 * time.Minute
)

type authRequest struct {
	ID                  string
	Kind                string // authorize, adminconsent, adminconsent2, device
	TenantSeg           string
	TenantID            string // "" for common / organizations
	ClientID            string
	RedirectURI         string
	ResponseMode        string
	State               string
	Nonce               string
	CodeChallenge       string
	CodeChallengeMethod string
	Prompt              string
	LoginHint           string
	Scopes              []string // requested scope strings as sent
	Device              *deviceGrant
	Created             time.Time
}

type authCode struct {
	ClientID, RedirectURI, TenantID, UserID string
	Scopes                                  []string
	Nonce                                   string
	Challenge, Method                       string
	Expires                                 time.Time
	Used                                    bool
}

type refreshGrant struct {
	TenantID, ClientID, UserID string
	Scopes                     []string
	Expires                    time.Time
}

type deviceGrant struct {
	DeviceCode, UserCode string
	ClientID, TenantSeg  string
	Scopes               []string
	Expires              time.Time
	Status               string // pending, approved, declined, redeemed
	UserID, TenantID     string
}

func issuerFor(base, tenantID string) string { return base + "/" + tenantID + "/v2.0" }

func (s *Sim) serveLogin(w http.ResponseWriter, r *http.Request) {
	p := strings.Trim(r.URL.Path, "/")
	if p == "devicelogin" {
		s.deviceLogin(w, r)
		return
	}
	seg, rest, _ := strings.Cut(p, "/")
	if seg == "" {
		s.errorPage(w, http.StatusNotFound, 0, "Not found", "This emulator serves Entra ID login endpoints at /{tenant}/… and Microsoft Graph at /v1.0/….")
		return
	}
	switch rest {
	case "v2.0/.well-known/openid-configuration":
		s.discovery(w, r, seg)
	case "discovery/v2.0/keys", "discovery/keys":
		s.keys(w, r)
	case "oauth2/v2.0/authorize":
		s.authorize(w, r, seg)
	case "oauth2/v2.0/token":
		s.token(w, r, seg)
	case "oauth2/v2.0/logout":
		s.logout(w, r)
	case "oauth2/v2.0/devicecode":
		s.deviceCode(w, r, seg)
	case "adminconsent":
		s.adminConsent(w, r, seg, "adminconsent")
	case "v2.0/adminconsent":
		s.adminConsent(w, r, seg, "adminconsent2")
	case "login":
		s.loginSelect(w, r)
	case "consent":
		s.consentSubmit(w, r)
	default:
		s.errorPage(w, http.StatusNotFound, 0, "Not found", "Unknown endpoint.")
	}
}

// resolveTenantSeg maps the {tenant} path segment: a tenant GUID, one of its domains, organizations or
// common. It returns ok=false for an unknown tenant.
func (s *Sim) resolveTenantSeg(seg string) (tenantID string, multi bool, ok bool) {
	switch strings.ToLower(seg) {
	case "common", "organizations":
		return "", true, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenantByName(seg)
	if t == nil {
		return "", false, false
	}
	return t.ID, false, true
}

// discovery serves the OpenID Provider metadata. For common and organizations the issuer is the literal
// template https://…/{tenantid}/v2.0, as Entra publishes it
// (https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc,
// https://learn.microsoft.com/entra/identity-platform/access-tokens).
func (s *Sim) discovery(w http.ResponseWriter, r *http.Request, seg string) {
	tid, multi, ok := s.resolveTenantSeg(seg)
	if !ok {
		s.writeTokenError(w, http.StatusBadRequest, "invalid_tenant", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", seg))
		return
	}
	base := s.base(r)
	issuer := issuerFor(base, "{tenantid}")
	pathSeg := seg
	if !multi {
		issuer = issuerFor(base, tid)
		pathSeg = tid
	}
	ep := base + "/" + pathSeg
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        ep + "/oauth2/v2.0/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              ep + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"issuer":                                issuer,
		"request_uri_parameter_supported":       false,
		"userinfo_endpoint":                     "https://graph.microsoft.com/oidc/userinfo",
		"authorization_endpoint":                ep + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         ep + "/oauth2/v2.0/devicecode",
		"http_logout_supported":                 true,
		"frontchannel_logout_supported":         true,
		"end_session_endpoint":                  ep + "/oauth2/v2.0/logout",
		"claims_supported": []string{"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
			"msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver",
			"at_hash", "c_hash", "email"},
		"kerberos_endpoint":     ep + "/kerberos",
		"tenant_region_scope":   nil,
		"cloud_instance_name":   "microsoftonline.com",
		"cloud_graph_host_name": "graph.windows.net",
		"msgraph_host":          "graph.microsoft.com",
		"rbac_url":              "https://pas.windows.net",
	})
}

func (s *Sim) keys(w http.ResponseWriter, r *http.Request) {
	k, err := getKey()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	b, err := k.jwks(issuerFor(s.base(r), "{tenantid}"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(b)
}

// redirectError sends an OAuth error back to the redirect URI the way Entra does: error,
// error_description with the AADSTS code, and state.
func (s *Sim) redirectError(w http.ResponseWriter, r *http.Request, ar *authRequest, errCode string, aadsts int, msg string) {
	if ar.RedirectURI == "" { // device code: there is nowhere to redirect to
		s.errorPage(w, http.StatusBadRequest, aadsts, "Sign in", msg)
		return
	}
	te := s.newTokenError(errCode, aadsts, msg)
	v := url.Values{"error": {errCode}, "error_description": {te.ErrorDescription}}
	// v2 errors carry admin_consent=True (https://learn.microsoft.com/entra/identity-platform/v2-admin-consent);
	// v1 errors do not (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow).
	if ar.Kind == "adminconsent2" {
		v.Set("admin_consent", "True")
	}
	if ar.State != "" {
		v.Set("state", ar.State)
	}
	s.respond(w, r, ar.RedirectURI, ar.ResponseMode, v)
}

func (s *Sim) respond(w http.ResponseWriter, r *http.Request, redirectURI, mode string, v url.Values) {
	switch mode {
	case "form_post":
		renderFormPost(w, redirectURI, v)
	case "fragment":
		http.Redirect(w, r, redirectURI+"#"+v.Encode(), http.StatusFound)
	default:
		sep := "?"
		if strings.Contains(redirectURI, "?") {
			sep = "&"
		}
		http.Redirect(w, r, redirectURI+sep+v.Encode(), http.StatusFound)
	}
}

// appRedirectKind reports whether uri is registered on the app, and whether on the publicClient platform.
func appRedirectKind(app *application, uri string) (registered, public bool) {
	if slices.Contains(app.Data.PublicClient.RedirectURIs, uri) {
		return true, true
	}
	if slices.Contains(app.Data.Web.RedirectURIs, uri) || slices.Contains(app.Data.Spa.RedirectURIs, uri) {
		return true, false
	}
	return false, false
}

func (s *Sim) authorize(w http.ResponseWriter, r *http.Request, seg string) {
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, http.StatusBadRequest, 900144, "Bad request", "The request could not be parsed.")
		return
	}
	q := r.Form
	tid, _, ok := s.resolveTenantSeg(seg)
	if !ok {
		s.errorPage(w, http.StatusBadRequest, 90002, "Tenant not found", fmt.Sprintf("Tenant '%s' not found.", seg))
		return
	}
	clientID := q.Get("client_id")
	s.mu.Lock()
	app := s.appsByAppID[clientID]
	var registered, public bool
	var audience, homeTenant string
	if app != nil {
		registered, public = appRedirectKind(app, q.Get("redirect_uri"))
		audience, homeTenant = app.Data.SignInAudience, app.TenantID
	}
	s.mu.Unlock()
	if app == nil {
		s.errorPage(w, http.StatusBadRequest, 700016, "Sign in", fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", clientID, seg))
		return
	}
	if !registered {
		s.errorPage(w, http.StatusBadRequest, 50011, "Sign in", fmt.Sprintf("The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'.", q.Get("redirect_uri"), clientID))
		return
	}
	if audience == "AzureADMyOrg" && tid == "" {
		s.errorPage(w, http.StatusBadRequest, 50194, "Sign in", fmt.Sprintf("Application '%s' is not configured as a multi-tenant application. Usage of the /common endpoint is not supported for such applications created after '10/15/2018'. Use a tenant-specific endpoint or configure the application to be multi-tenant.", clientID))
		return
	}
	if audience == "AzureADMyOrg" && tid != homeTenant {
		s.errorPage(w, http.StatusBadRequest, 700016, "Sign in", fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", clientID, seg))
		return
	}
	ar := &authRequest{ID: randToken(24), Kind: "authorize", TenantSeg: seg, TenantID: tid, ClientID: clientID,
		RedirectURI: q.Get("redirect_uri"), ResponseMode: q.Get("response_mode"), State: q.Get("state"),
		Nonce: q.Get("nonce"), CodeChallenge: q.Get("code_challenge"), CodeChallengeMethod: q.Get("code_challenge_method"),
		Prompt: q.Get("prompt"), LoginHint: q.Get("login_hint"), Scopes: strings.Fields(q.Get("scope")), Created: s.Now()}
	switch ar.ResponseMode {
	case "", "query", "form_post", "fragment":
	default:
		ar.ResponseMode = ""
		s.redirectError(w, r, ar, "invalid_request", 70007, "The application returned an unsupported value of 'response_mode' when requesting a token.")
		return
	}
	if q.Get("response_type") != "code" {
		s.redirectError(w, r, ar, "unsupported_response_type", 70005, "The application returned an unsupported response type '"+q.Get("response_type")+"'; the emulator supports the authorization code flow.")
		return
	}
	if ar.CodeChallenge != "" && ar.CodeChallengeMethod != "S256" {
		s.redirectError(w, r, ar, "invalid_request", 501491, "Invalid code_challenge_method: use S256.")
		return
	}
	if public && ar.CodeChallenge == "" {
		s.redirectError(w, r, ar, "invalid_request", 9002325, "Proof Key for Code Exchange is required for cross-origin authorization code redemption.")
		return
	}
	if len(ar.Scopes) == 0 {
		s.redirectError(w, r, ar, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
		return
	}
	if _, _, err := resolveScopes(ar.Scopes); err != nil {
		s.redirectError(w, r, ar, "invalid_scope", err.aadsts, err.msg)
		return
	}
	s.mu.Lock()
	s.pending[ar.ID] = ar
	s.mu.Unlock()
	if s.opts.AutoLogin && ar.LoginHint != "" {
		s.mu.Lock()
		_, u := s.userAnywhere(ar.LoginHint)
		s.mu.Unlock()
		if u != nil {
			s.signedIn(w, r, ar, u.ID, true, false)
			return
		}
	}
	if ar.Prompt == "none" {
		s.redirectError(w, r, ar, "login_required", 50058, "A silent sign-in request was sent but no user is signed in.")
		return
	}
	s.renderSignIn(w, ar)
}

type scopeErr struct {
	aadsts int
	msg    string
}

// resolveScopes splits requested scopes into OpenID Connect scopes and the one resource they are for
// (Microsoft Graph when unqualified). ".default" yields def=true.
func resolveScopes(scopes []string) (res *resource, list []string, e *scopeErr) {
	for _, sc := range scopes {
		if oidcScopes[strings.ToLower(sc)] {
			continue
		}
		r, v := resolvePermissionName(sc)
		if r == nil {
			return nil, nil, &scopeErr{500011, fmt.Sprintf("The resource principal named %s was not found in the tenant. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.", sc)}
		}
		if res != nil && res != r {
			return nil, nil, &scopeErr{700022, "The provided value for the input parameter scope is not valid because it contains more than one resource. Scope " + strings.Join(scopes, " ") + " is not valid."}
		}
		res = r
		if v != ".default" {
			if _, ok := r.scope(v); !ok {
				return nil, nil, &scopeErr{70011, fmt.Sprintf("The provided value for the input parameter 'scope' is not valid. The scope '%s' does not exist.", sc)}
			}
		}
		list = append(list, v)
	}
	if res == nil {
		res = graphResource()
	}
	return res, list, nil
}

// scopeNeed is one delegated permission a request needs consent for, on its resource. The OpenID Connect
// scopes are Microsoft Graph permissions whatever the request's resource is.
type scopeNeed struct {
	res   *resource
	value string
}

// requestedDelegated returns the delegated permissions a request needs consent for: the OIDC scopes (on
// Microsoft Graph), the explicit scopes, and for ".default" the app's statically configured scopes of the
// resource.
func requestedDelegated(app *application, res *resource, scopes []string) []scopeNeed {
	var out []scopeNeed
	add := func(r *resource, v string) {
		if !slices.ContainsFunc(out, func(x scopeNeed) bool { return x.res == r && strings.EqualFold(x.value, v) }) {
			out = append(out, scopeNeed{r, v})
		}
	}
	for _, sc := range scopes {
		if oidcScopes[strings.ToLower(sc)] {
			add(graphResource(), strings.ToLower(sc))
			continue
		}
		_, v := resolvePermissionName(sc)
		if v == ".default" {
			for _, rra := range app.Data.RequiredResourceAccess {
				if rra.ResourceAppID != res.AppID {
					continue
				}
				for _, ra := range rra.ResourceAccess {
					if ra.Type != "Scope" {
						continue
					}
					for _, p := range res.Scopes {
						if p.ID == ra.ID {
							add(res, p.Value)
						}
					}
				}
			}
			continue
		}
		if p, ok := res.scope(v); ok {
			add(res, p.Value)
		}
	}
	return out
}

// missingConsent returns the needs the client does not hold for the user yet (all of them with
// prompt=consent). Callers hold s.mu.
func (t *tenant) missingConsent(app *application, u *user, needs []scopeNeed, force bool) []scopeNeed {
	csp := t.spByAppID(app.AppID)
	var out []scopeNeed
	have := map[*resource][]string{}
	for _, n := range needs {
		if _, ok := have[n.res]; !ok && csp != nil {
			have[n.res] = t.consentedScopes(csp.Data.ID, t.spByAppID(n.res.AppID).Data.ID, u.ID)
		}
		if force || !slices.ContainsFunc(have[n.res], func(x string) bool { return strings.EqualFold(x, n.value) }) {
			out = append(out, n)
		}
	}
	return out
}

// loginSelect handles the sign-in page's form: the user picked an account.
func (s *Sim) loginSelect(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		s.errorPage(w, http.StatusMethodNotAllowed, 0, "Sign in", "Use the sign-in page.")
		return
	}
	s.mu.Lock()
	ar := s.pending[r.PostFormValue("req")]
	s.mu.Unlock()
	if ar == nil {
		s.errorPage(w, http.StatusBadRequest, 50058, "Sign in", "The sign-in request expired. Start again from the application.")
		return
	}
	s.signedIn(w, r, ar, r.PostFormValue("user"), false, false) // a person clicked: show consent if needed
}

// signedIn continues a pending request once the user is known: tenant checks, consent, then the code.
func (s *Sim) signedIn(w http.ResponseWriter, r *http.Request, ar *authRequest, userID string, auto bool, consented bool) {
	s.mu.Lock()
	t, u := s.userAnywhere(userID)
	app := s.appsByAppID[ar.ClientID]
	s.mu.Unlock()
	if u == nil || app == nil {
		s.errorPage(w, http.StatusBadRequest, 50034, "Sign in", "The user account does not exist.")
		return
	}
	s.mu.Lock()
	audience, home := app.Data.SignInAudience, app.TenantID
	s.mu.Unlock()
	if ar.TenantID != "" && ar.TenantID != t.ID {
		s.errorPage(w, http.StatusBadRequest, 50020, "Sign in", fmt.Sprintf("User account '%s' from identity provider does not exist in tenant '%s' and cannot access the application '%s' in that tenant.", u.UserPrincipalName, ar.TenantSeg, ar.ClientID))
		return
	}
	if audience == "AzureADMyOrg" && home != t.ID {
		s.errorPage(w, http.StatusBadRequest, 50020, "Sign in", fmt.Sprintf("User account '%s' does not exist in the application's home tenant.", u.UserPrincipalName))
		return
	}
	switch ar.Kind {
	case "adminconsent", "adminconsent2":
		s.adminConsentSignedIn(w, r, ar, t, u, app, auto)
		return
	}
	res, _, _ := resolveScopes(ar.Scopes)
	s.mu.Lock()
	missing := t.missingConsent(app, u, requestedDelegated(app, res, ar.Scopes), ar.Prompt == "consent")
	needsAdmin := false
	for _, n := range missing {
		if p, ok := n.res.scope(n.value); ok && p.Admin {
			needsAdmin = true
		}
	}
	isAdmin := u.isAdmin()
	s.mu.Unlock()
	if len(missing) > 0 && !consented {
		if needsAdmin && !isAdmin {
			s.redirectError(w, r, ar, "access_denied", 90094, "The grant requires admin permission.")
			return
		}
		if !auto {
			s.renderConsent(w, ar, u, app, missing, isAdmin)
			return
		}
		// Auto sign-in consents as the user would click Accept: on behalf of the organisation when an admin
		// asked for it with prompt=consent.
		s.grantConsent(t, u, app, missing, isAdmin && ar.Prompt == "consent")
	}
	s.finishAuthorize(w, r, ar, t, u)
}

func (s *Sim) grantConsent(t *tenant, u *user, app *application, needs []scopeNeed, org bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	csp := t.spByAppID(app.AppID)
	if csp == nil {
		csp = s.newSPForApp(t, app, s.now())
		csp.VisibleAt = time.Time{}
		t.sps = append(t.sps, csp)
	}
	principal := u.ID
	if org {
		principal = ""
	}
	byRes := map[*resource][]string{}
	var order []*resource
	for _, n := range needs {
		if _, ok := byRes[n.res]; !ok {
			order = append(order, n.res)
		}
		byRes[n.res] = append(byRes[n.res], n.value)
	}
	for _, r := range order {
		t.grantScopes(csp.Data.ID, t.spByAppID(r.AppID).Data.ID, principal, byRes[r])
	}
}

func (s *Sim) finishAuthorize(w http.ResponseWriter, r *http.Request, ar *authRequest, t *tenant, u *user) {
	s.mu.Lock()
	delete(s.pending, ar.ID)
	if ar.Kind == "device" && ar.Device != nil {
		ar.Device.Status = "approved"
		ar.Device.UserID, ar.Device.TenantID = u.ID, t.ID
		s.mu.Unlock()
		renderPage(w, http.StatusOK, "Device sign-in", fmt.Sprintf("You have signed in to the application on your device as %s. You may now close this window.", u.DisplayName), "device-done")
		return
	}
	code := randToken(48)
	s.codes[code] = &authCode{ClientID: ar.ClientID, RedirectURI: ar.RedirectURI, TenantID: t.ID, UserID: u.ID,
		Scopes: ar.Scopes, Nonce: ar.Nonce, Challenge: ar.CodeChallenge, Method: ar.CodeChallengeMethod,
		Expires: s.now().Add(codeLifetime)}
	s.mu.Unlock()
	v := url.Values{"code": {code}, "session_state": {newGUID()}}
	if ar.State != "" {
		v.Set("state", ar.State)
	}
	s.respond(w, r, ar.RedirectURI, ar.ResponseMode, v)
}

// consentSubmit handles the consent page's Accept and Cancel buttons.
func (s *Sim) consentSubmit(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		s.errorPage(w, http.StatusMethodNotAllowed, 0, "Consent", "Use the consent page.")
		return
	}
	s.mu.Lock()
	ar := s.pending[r.PostFormValue("req")]
	t, u := s.userAnywhere(r.PostFormValue("user"))
	var app *application
	if ar != nil {
		app = s.appsByAppID[ar.ClientID]
	}
	s.mu.Unlock()
	if ar == nil || u == nil || app == nil {
		s.errorPage(w, http.StatusBadRequest, 50058, "Consent", "The consent request expired. Start again from the application.")
		return
	}
	if r.PostFormValue("action") != "accept" {
		s.mu.Lock()
		delete(s.pending, ar.ID)
		s.mu.Unlock()
		if ar.Kind == "adminconsent" {
			v := url.Values{"error": {"permission_denied"}, "error_description": {"The admin canceled the request"}}
			if ar.State != "" {
				v.Set("state", ar.State)
			}
			s.respond(w, r, ar.RedirectURI, "", v)
			return
		}
		s.redirectError(w, r, ar, "access_denied", 65004, "User declined to consent to access the app.")
		return
	}
	if ar.Kind == "adminconsent" || ar.Kind == "adminconsent2" {
		s.finishAdminConsent(w, r, ar, t, u, app)
		return
	}
	res, _, _ := resolveScopes(ar.Scopes)
	s.mu.Lock()
	want := requestedDelegated(app, res, ar.Scopes)
	isAdmin := u.isAdmin()
	s.mu.Unlock()
	org := isAdmin && r.PostFormValue("org") == "on"
	s.grantConsent(t, u, app, want, org)
	s.signedIn(w, r, ar, u.ID, false, true)
}

func (s *Sim) logout(w http.ResponseWriter, r *http.Request) {
	target := r.FormValue("post_logout_redirect_uri")
	if target != "" {
		s.mu.Lock()
		ok := false
		for _, a := range s.apps {
			if slices.Contains(a.Data.Web.RedirectURIs, target) || slices.Contains(a.Data.PublicClient.RedirectURIs, target) ||
				slices.Contains(a.Data.Spa.RedirectURIs, target) || (a.Data.Web.LogoutURL != nil && *a.Data.Web.LogoutURL == target) {
				ok = true
				break
			}
		}
		s.mu.Unlock()
		if ok {
			if st := r.FormValue("state"); st != "" {
				sep := "?"
				if strings.Contains(target, "?") {
					sep = "&"
				}
				target += sep + url.Values{"state": {st}}.Encode()
			}
			http.Redirect(w, r, target, http.StatusFound)
			return
		}
	}
	renderPage(w, http.StatusOK, "Signed out", "You signed out of your account. It's a good idea to close all browser windows.", "signed-out")
}

// ---- admin consent (https://learn.microsoft.com/entra/identity-platform/v2-admin-consent,
// https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow,
// https://learn.microsoft.com/entra/identity/enterprise-apps/grant-admin-consent) ----

func (s *Sim) adminConsent(w http.ResponseWriter, r *http.Request, seg, kind string) {
	q := r.URL.Query()
	tid, multi, ok := s.resolveTenantSeg(seg)
	if !ok {
		s.errorPage(w, http.StatusBadRequest, 90002, "Admin consent", fmt.Sprintf("Tenant '%s' not found.", seg))
		return
	}
	if kind == "adminconsent2" && multi && strings.EqualFold(seg, "common") {
		s.errorPage(w, http.StatusBadRequest, 90130, "Admin consent", "Application is not supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.")
		return
	}
	clientID := q.Get("client_id")
	redirect := q.Get("redirect_uri")
	s.mu.Lock()
	app := s.appsByAppID[clientID]
	var regd bool
	if app != nil {
		regd, _ = appRedirectKind(app, redirect)
		if !regd && kind == "adminconsent" {
			// v1 admin consent: the redirect URI "can have additional path segments".
			for _, u := range app.Data.Web.RedirectURIs {
				if strings.HasPrefix(redirect, strings.TrimRight(u, "/")+"/") {
					regd = true
				}
			}
		}
	}
	s.mu.Unlock()
	if app == nil {
		s.errorPage(w, http.StatusBadRequest, 700016, "Admin consent", fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", clientID, seg))
		return
	}
	if redirect == "" || !regd {
		s.errorPage(w, http.StatusBadRequest, 50011, "Admin consent", fmt.Sprintf("The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'.", redirect, clientID))
		return
	}
	ar := &authRequest{ID: randToken(24), Kind: kind, TenantSeg: seg, TenantID: tid, ClientID: clientID, RedirectURI: redirect,
		State: q.Get("state"), LoginHint: q.Get("login_hint"), Scopes: strings.Fields(q.Get("scope")), Created: s.Now()}
	if kind == "adminconsent2" {
		if len(ar.Scopes) == 0 {
			s.redirectError(w, r, ar, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
			return
		}
		if _, _, err := resolveScopes(ar.Scopes); err != nil {
			s.redirectError(w, r, ar, "invalid_scope", err.aadsts, err.msg)
			return
		}
	}
	s.mu.Lock()
	s.pending[ar.ID] = ar
	s.mu.Unlock()
	if s.opts.AutoLogin && ar.LoginHint != "" {
		s.mu.Lock()
		_, u := s.userAnywhere(ar.LoginHint)
		s.mu.Unlock()
		if u != nil {
			s.signedIn(w, r, ar, u.ID, true, false)
			return
		}
	}
	s.renderSignIn(w, ar)
}

// consentItem is one permission an admin consent covers.
type consentItem struct {
	Res   *resource
	Value string
	ID    string
	Role  bool
	Label string
}

// adminConsentItems lists what an admin consent grants: for v1 and for ".default" the app's statically
// configured permissions (requiredResourceAccess), otherwise the explicit delegated scopes.
func adminConsentItems(app *application, ar *authRequest) []consentItem {
	var out []consentItem
	static := func(res *resource) {
		for _, rra := range app.Data.RequiredResourceAccess {
			if res != nil && rra.ResourceAppID != res.AppID {
				continue
			}
			r := resourceForURI(rra.ResourceAppID)
			if r == nil {
				continue
			}
			for _, ra := range rra.ResourceAccess {
				list := r.Scopes
				if ra.Type == "Role" {
					list = r.Roles
				}
				for _, p := range list {
					if p.ID == ra.ID {
						out = append(out, consentItem{Res: r, Value: p.Value, ID: p.ID, Role: ra.Type == "Role", Label: p.DisplayName})
					}
				}
			}
		}
	}
	if ar.Kind == "adminconsent" {
		static(nil)
		return out
	}
	for _, sc := range ar.Scopes {
		if oidcScopes[strings.ToLower(sc)] {
			p, _ := graphResource().scope(sc)
			out = append(out, consentItem{Res: graphResource(), Value: p.Value, ID: p.ID, Label: p.DisplayName})
			continue
		}
		r, v := resolvePermissionName(sc)
		if v == ".default" {
			static(r)
			continue
		}
		if p, ok := r.scope(v); ok {
			out = append(out, consentItem{Res: r, Value: p.Value, ID: p.ID, Label: p.DisplayName})
		}
	}
	return out
}

// canGrant reports whether the user's directory roles allow granting the permission tenant-wide: Microsoft
// Graph app roles only by Global Administrator or Privileged Role Administrator; everything else also by
// Application Administrator or Cloud Application Administrator
// (https://learn.microsoft.com/entra/identity/enterprise-apps/grant-admin-consent).
func canGrant(u *user, resAppID string, role bool) bool {
	if u.hasAnyRole(roleGlobalAdmin, rolePrivRoleAdmin) {
		return true
	}
	if role && resAppID == GraphAppID {
		return false
	}
	return u.hasAnyRole(roleAppAdmin, roleCloudAppAdmin)
}

func (s *Sim) adminConsentSignedIn(w http.ResponseWriter, r *http.Request, ar *authRequest, t *tenant, u *user, app *application, auto bool) {
	s.mu.Lock()
	items := adminConsentItems(app, ar)
	s.mu.Unlock()
	for _, it := range items {
		if !canGrant(u, it.Res.AppID, it.Role) {
			s.redirectError(w, r, ar, "access_denied", 90094, "The grant requires admin permission.")
			return
		}
	}
	if len(items) == 0 && !u.isAdmin() {
		s.redirectError(w, r, ar, "access_denied", 90094, "The grant requires admin permission.")
		return
	}
	if auto {
		s.finishAdminConsent(w, r, ar, t, u, app)
		return
	}
	s.renderAdminConsent(w, ar, u, app, items)
}

func (s *Sim) finishAdminConsent(w http.ResponseWriter, r *http.Request, ar *authRequest, t *tenant, u *user, app *application) {
	s.mu.Lock()
	items := adminConsentItems(app, ar)
	s.mu.Unlock()
	for _, it := range items {
		if !canGrant(u, it.Res.AppID, it.Role) {
			s.redirectError(w, r, ar, "access_denied", 90094, "The grant requires admin permission.")
			return
		}
	}
	s.mu.Lock()
	delete(s.pending, ar.ID)
	csp := t.spByAppID(app.AppID)
	if csp == nil {
		csp = s.newSPForApp(t, app, s.now())
		csp.VisibleAt = time.Time{}
		t.sps = append(t.sps, csp)
	}
	scopes := map[*servicePrincipal][]string{}
	var granted []string
	for _, it := range items {
		rsp := t.spByAppID(it.Res.AppID)
		granted = append(granted, it.Res.URIs[0]+"/"+it.Value)
		if !it.Role {
			scopes[rsp] = append(scopes[rsp], it.Value)
			continue
		}
		dup := false
		for _, a := range t.assignments {
			if a.PrincipalID == csp.Data.ID && a.ResourceID == rsp.Data.ID && a.AppRoleID == it.ID {
				dup = true
			}
		}
		if !dup {
			t.assignments = append(t.assignments, &appRoleAssignment{ID: newAssignmentID(), AppRoleID: it.ID,
				CreatedDateTime: graphTime(s.now()), PrincipalDisplayName: csp.Data.DisplayName, PrincipalID: csp.Data.ID,
				PrincipalType: "ServicePrincipal", ResourceDisplayName: rsp.Data.DisplayName, ResourceID: rsp.Data.ID})
		}
	}
	for rsp, sc := range scopes {
		t.grantScopes(csp.Data.ID, rsp.Data.ID, "", sc)
	}
	s.mu.Unlock()
	v := url.Values{"admin_consent": {"True"}, "tenant": {t.ID}}
	if ar.Kind == "adminconsent2" {
		v.Set("scope", strings.Join(granted, " "))
	}
	if ar.State != "" {
		v.Set("state", ar.State)
	}
	s.respond(w, r, ar.RedirectURI, "", v)
}

// ---- device code (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code) ----

func (s *Sim) deviceCode(w http.ResponseWriter, r *http.Request, seg string) {
	if r.Method != http.MethodPost {
		s.writeTokenError(w, http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts POST requests.")
		return
	}
	if _, _, ok := s.resolveTenantSeg(seg); !ok {
		s.writeTokenError(w, http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found.", seg))
		return
	}
	clientID := r.PostFormValue("client_id")
	s.mu.Lock()
	app := s.appsByAppID[clientID]
	s.mu.Unlock()
	if app == nil {
		s.writeTokenError(w, http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", clientID, seg))
		return
	}
	scopes := strings.Fields(r.PostFormValue("scope"))
	if _, _, err := resolveScopes(scopes); err != nil {
		s.writeTokenError(w, http.StatusBadRequest, "invalid_scope", err.aadsts, err.msg)
		return
	}
	const alpha = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := []byte(randToken(9))
	for i := range b {
		b[i] = alpha[int(b[i])%len(alpha)]
	}
	dg := &deviceGrant{DeviceCode: randToken(48), UserCode: string(b), ClientID: clientID, TenantSeg: seg, Scopes: scopes,
		Expires: s.Now().Add(deviceLifetime), Status: "pending"}
	s.mu.Lock()
	s.devices[dg.DeviceCode] = dg
	s.mu.Unlock()
	uri := s.base(r) + "/devicelogin"
	interval := int(s.deviceInterval().Seconds())
	writeJSON(w, http.StatusOK, map[string]any{
		"user_code": dg.UserCode, "device_code": dg.DeviceCode, "verification_uri": uri,
		"expires_in": int(deviceLifetime.Seconds()), "interval": interval,
		"message": fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.", uri, dg.UserCode),
	})
}

func (s *Sim) deviceInterval() time.Duration {
	if s.opts.DeviceCodeInterval > 0 {
		return s.opts.DeviceCodeInterval
	}
	return 5 * time.Second
}

// ApproveDeviceCode completes a device code flow as the user would in a browser (tests and scripts).
func (s *Sim) ApproveDeviceCode(userCode, userIDOrUPN string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, u := s.userAnywhere(userIDOrUPN)
	if u == nil {
		return fmt.Errorf("%w: user %s", ErrNotFound, userIDOrUPN)
	}
	for _, dg := range s.devices {
		if dg.UserCode == userCode && dg.Status == "pending" {
			dg.Status, dg.UserID, dg.TenantID = "approved", u.ID, t.ID
			return nil
		}
	}
	return fmt.Errorf("%w: device code %s", ErrNotFound, userCode)
}

// deviceLogin is the verification page: enter the code, then sign in as on /authorize.
func (s *Sim) deviceLogin(w http.ResponseWriter, r *http.Request) {
	code := strings.ToUpper(strings.TrimSpace(r.FormValue("otc")))
	if code == "" {
		renderDeviceForm(w, "")
		return
	}
	s.mu.Lock()
	var dg *deviceGrant
	for _, d := range s.devices {
		if d.UserCode == code && d.Status == "pending" && s.now().Before(d.Expires) {
			dg = d
		}
	}
	s.mu.Unlock()
	if dg == nil {
		renderDeviceForm(w, "That code didn't work. Check the code and try again.")
		return
	}
	tid, _, _ := s.resolveTenantSeg(dg.TenantSeg)
	ar := &authRequest{ID: randToken(24), Kind: "device", TenantSeg: dg.TenantSeg, TenantID: tid, ClientID: dg.ClientID,
		Scopes: dg.Scopes, Device: dg, Created: s.Now()}
	s.mu.Lock()
	s.pending[ar.ID] = ar
	s.mu.Unlock()
	s.renderSignIn(w, ar)
}
