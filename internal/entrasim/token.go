package entrasim

import (
	"crypto/sha256"
	"crypto/subtle"
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

// accessClaims are the claims of the access tokens the Sim issues for Microsoft Graph and Exchange Online.
// Graph access tokens are v1.0 tokens (iss https://sts.windows.net/{tid}/) whose format clients must not
// rely on (https://learn.microsoft.com/entra/identity-platform/access-tokens); Graph here validates them
// fully.
type accessClaims struct {
	Aud            string   `json:"aud"`
	Iss            string   `json:"iss"`
	Iat            int64    `json:"iat"`
	Nbf            int64    `json:"nbf"`
	Exp            int64    `json:"exp"`
	AppDisplayName string   `json:"app_displayname,omitempty"`
	AppID          string   `json:"appid"`
	AppIDAcr       string   `json:"appidacr"`
	IDType         string   `json:"idtyp"`
	Name           string   `json:"name,omitempty"`
	OID            string   `json:"oid"`
	Roles          []string `json:"roles,omitempty"`
	Scp            string   `json:"scp,omitempty"`
	Sub            string   `json:"sub"`
	TID            string   `json:"tid"`
	UniqueName     string   `json:"unique_name,omitempty"`
	UPN            string   `json:"upn,omitempty"`
	UTI            string   `json:"uti"`
	Ver            string   `json:"ver"`
	Wids           []string `json:"wids,omitempty"`
}

type idClaims struct {
	Aud               string   `json:"aud"`
	Iss               string   `json:"iss"`
	Iat               int64    `json:"iat"`
	Nbf               int64    `json:"nbf"`
	Exp               int64    `json:"exp"`
	Email             string   `json:"email,omitempty"`
	Name              string   `json:"name,omitempty"`
	Nonce             string   `json:"nonce,omitempty"`
	OID               string   `json:"oid"`
	PreferredUsername string   `json:"preferred_username,omitempty"`
	RH                string   `json:"rh"`
	Roles             []string `json:"roles,omitempty"`
	Sub               string   `json:"sub"`
	TID               string   `json:"tid"`
	UTI               string   `json:"uti"`
	Ver               string   `json:"ver"`
	Wids              []string `json:"wids,omitempty"`
}

type clientAuth struct {
	app    *application
	method string // secret, assertion, none
	keyID  string // the passwordCredential or keyCredential that authenticated the client
}

// token is the v2.0 token endpoint.
func (s *Sim) token(w http.ResponseWriter, r *http.Request, seg string) {
	if r.Method != http.MethodPost {
		s.writeTokenError(w, http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts POST requests.")
		return
	}
	if err := r.ParseForm(); err != nil {
		s.writeTokenError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must be application/x-www-form-urlencoded.")
		return
	}
	tid, multi, ok := s.resolveTenantSeg(seg)
	if !ok {
		s.writeTokenError(w, http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", seg))
		return
	}
	gt := r.PostFormValue("grant_type")
	ca, terr := s.authenticateClient(r, seg)
	if terr != nil {
		status := http.StatusUnauthorized
		if terr.Error != "invalid_client" {
			status = http.StatusBadRequest
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, status, terr)
		return
	}
	switch gt {
	case "client_credentials":
		if strings.EqualFold(seg, "common") {
			s.writeTokenError(w, http.StatusBadRequest, "invalid_request", 9001023, "The grant type isn't supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.")
			return
		}
		if multi {
			s.writeTokenError(w, http.StatusBadRequest, "invalid_request", 50059, "No tenant-identifying information found in either the request or implied by any provided credentials.")
			return
		}
		s.clientCredentials(w, r, tid, ca)
	case "authorization_code":
		s.redeemCode(w, r, tid, ca)
	case "refresh_token":
		s.redeemRefresh(w, r, tid, ca)
	case "urn:ietf:params:oauth:grant-type:device_code", "device_code":
		// The documented value is the RFC 8628 URN; Entra also accepts the short "device_code", which MSAL
		// sends (microsoft-authentication-library-for-go internal/oauth/ops/internal/grant).
		s.redeemDevice(w, r, ca)
	case "":
		s.writeTokenError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
	default:
		s.writeTokenError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '"+gt+"'.")
	}
}

// authenticateClient identifies the client from HTTP Basic, client_secret, or a certificate client
// assertion (private_key_jwt). Secrets are checked against the app's passwordCredentials; expired secrets
// fail with AADSTS7000222.
func (s *Sim) authenticateClient(r *http.Request, seg string) (clientAuth, *tokenError) {
	clientID := r.PostFormValue("client_id")
	secret := r.PostFormValue("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		// RFC 6749 §2.3.1: form-urlencoded inside Basic (x/oauth2 escapes them).
		if uu, err := url.QueryUnescape(u); err == nil {
			u = uu
		}
		if pp, err := url.QueryUnescape(p); err == nil {
			p = pp
		}
		clientID, secret = u, p
	}
	assertion := r.PostFormValue("client_assertion")
	if clientID == "" && assertion != "" {
		if t, err := jwt.ParseSigned(assertion, []jose.SignatureAlgorithm{jose.RS256, jose.PS256}); err == nil {
			var c jwt.Claims
			if t.UnsafeClaimsWithoutVerification(&c) == nil {
				clientID = c.Subject
			}
		}
	}
	fail := func(code string, n int, msg string) (clientAuth, *tokenError) {
		te := s.newTokenError(code, n, msg)
		return clientAuth{}, &te
	}
	if clientID == "" {
		return fail("invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	app := s.appsByAppID[clientID]
	if app == nil {
		return fail("unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, seg))
	}
	now := s.now()
	switch {
	case secret != "":
		for _, rec := range app.secrets {
			if !secretMatches(rec.Hash, secret) {
				continue
			}
			for _, pc := range app.Data.PasswordCredentials {
				if pc.KeyID != rec.KeyID {
					continue
				}
				end, _ := time.Parse(time.RFC3339Nano, pc.EndDateTime)
				start, _ := time.Parse(time.RFC3339Nano, pc.StartDateTime)
				if !now.Before(end) {
					return fail("invalid_client", 7000222, fmt.Sprintf("The provided client secret keys for app '%s' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.", clientID))
				}
				if now.Before(start) {
					break
				}
				return clientAuth{app: app, method: "secret", keyID: rec.KeyID}, nil
			}
		}
		return fail("invalid_client", 7000215, fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID))
	case assertion != "":
		if t := r.PostFormValue("client_assertion_type"); t != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			return fail("invalid_request", 700025, "Client assertion type is not supported: "+t)
		}
		return s.verifyAssertion(app, assertion, clientID, now, fail)
	}
	return clientAuth{app: app, method: "none"}, nil
}

func (s *Sim) verifyAssertion(app *application, assertion, clientID string, now time.Time, fail func(string, int, string) (clientAuth, *tokenError)) (clientAuth, *tokenError) {
	jws, err := jose.ParseSignedCompact(assertion, []jose.SignatureAlgorithm{jose.RS256, jose.PS256})
	if err != nil {
		return fail("invalid_client", 50027, "JWT token is invalid or malformed.")
	}
	for _, kc := range app.Data.KeyCredentials {
		if kc.Key == nil || kc.Usage != "Verify" {
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
		end, _ := time.Parse(time.RFC3339Nano, kc.EndDateTime)
		if !now.Before(end) {
			return fail("invalid_client", 700027, "The certificate with identifier used to sign the client assertion is expired on application.")
		}
		var c jwt.Claims
		t, err := jwt.ParseSigned(assertion, []jose.SignatureAlgorithm{jose.RS256, jose.PS256})
		if err != nil || t.UnsafeClaimsWithoutVerification(&c) != nil {
			return fail("invalid_client", 50027, "JWT token is invalid or malformed.")
		}
		_ = payload
		if c.Issuer != clientID || c.Subject != clientID {
			return fail("invalid_client", 700021, "Client assertion application identifier doesn't match 'client_id' parameter.")
		}
		if c.Expiry == nil || !now.Before(c.Expiry.Time().Add(5*time.Minute)) {
			return fail("invalid_client", 700024, "Client assertion is not within its valid time range.")
		}
		okAud := false
		for _, a := range c.Audience {
			if strings.Contains(a, "/oauth2/") && strings.HasSuffix(strings.TrimRight(a, "/"), "/token") {
				okAud = true
			}
		}
		if !okAud {
			return fail("invalid_client", 700016, "The audience claim of the client assertion must be the token endpoint.")
		}
		return clientAuth{app: app, method: "assertion", keyID: kc.KeyID}, nil
	}
	return fail("invalid_client", 700027, "Client assertion failed signature validation.")
}

func (s *Sim) requireConfidential(w http.ResponseWriter, ca clientAuth) bool {
	if ca.method == "none" {
		s.writeTokenError(w, http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return false
	}
	return true
}

func (s *Sim) clientCredentials(w http.ResponseWriter, r *http.Request, tid string, ca clientAuth) {
	if !s.requireConfidential(w, ca) {
		return
	}
	scope := r.PostFormValue("scope")
	// Entra ignores the OpenID Connect scopes beside the one /.default (MSAL and azidentity always add
	// openid, offline_access and profile): v2-oauth2-client-creds-grant-flow, scopes-oidc.
	var fields []string
	for _, f := range strings.Fields(scope) {
		if !oidcScopes[strings.ToLower(f)] {
			fields = append(fields, f)
		}
	}
	if len(fields) != 1 || !strings.HasSuffix(fields[0], "/.default") {
		s.writeTokenError(w, http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope))
		return
	}
	res := resourceForURI(strings.TrimSuffix(fields[0], "/.default"))
	if res == nil {
		s.writeTokenError(w, http.StatusBadRequest, "invalid_resource", 500011, fmt.Sprintf("The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", strings.TrimSuffix(fields[0], "/.default"), tid))
		return
	}
	s.mu.Lock()
	t := s.tenants[tid]
	csp := t.spByAppID(ca.app.AppID)
	if csp == nil {
		s.mu.Unlock()
		s.writeTokenError(w, http.StatusBadRequest, "invalid_client", 7000229, "The client application "+ca.app.AppID+" is missing service principal in the tenant "+tid+".")
		return
	}
	roles := t.appRoleValues(csp.Data.ID, t.spByAppID(res.AppID))
	now := s.now()
	s.noteCredentialUse(ca, csp, t.spByAppID(res.AppID), now)
	acr := "1"
	if ca.method == "assertion" {
		acr = "2"
	}
	c := accessClaims{Aud: res.URIs[0], Iss: "https://sts.windows.net/" + tid + "/", Iat: now.Unix(), Nbf: now.Unix(),
		Exp: now.Add(tokenLifetime).Unix(), AppDisplayName: ca.app.Data.DisplayName, AppID: ca.app.AppID, AppIDAcr: acr,
		IDType: "app", OID: csp.Data.ID, Roles: roles, Sub: csp.Data.ID, TID: tid, UTI: randToken(16), Ver: "1.0"}
	s.mu.Unlock()
	k, err := getKey()
	if err != nil {
		s.writeTokenError(w, http.StatusInternalServerError, "server_error", 90000, err.Error())
		return
	}
	at, err := k.signAccess(c)
	if err != nil {
		s.writeTokenError(w, http.StatusInternalServerError, "server_error", 90000, err.Error())
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": int(tokenLifetime.Seconds()),
		"ext_expires_in": int(tokenLifetime.Seconds()), "access_token": at})
}

func (s *Sim) redeemCode(w http.ResponseWriter, r *http.Request, tid string, ca clientAuth) {
	code := r.PostFormValue("code")
	s.mu.Lock()
	ac := s.codes[code]
	now := s.now()
	if ac == nil {
		s.mu.Unlock()
		s.writeTokenError(w, http.StatusBadRequest, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
		return
	}
	if ac.Used {
		s.mu.Unlock()
		s.writeTokenError(w, http.StatusBadRequest, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
		return
	}
	ac.Used = true // single use, even when redemption fails below (RFC 6749 §4.1.2)
	s.mu.Unlock()
	if !now.Before(ac.Expires) {
		s.writeTokenError(w, http.StatusBadRequest, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
		return
	}
	if ac.ClientID != ca.app.AppID {
		s.writeTokenError(w, http.StatusBadRequest, "invalid_grant", 70000, "The provided value for the 'code' parameter is not valid. The code was issued to a different client.")
		return
	}
	if tid != "" && tid != ac.TenantID {
		s.writeTokenError(w, http.StatusBadRequest, "invalid_grant", 700005, "Provided Authorization Code is intended to use against other tenant, thus rejected.")
		return
	}
	if r.PostFormValue("redirect_uri") != ac.RedirectURI {
		s.writeTokenError(w, http.StatusBadRequest, "invalid_grant", 500112, "The reply address '"+r.PostFormValue("redirect_uri")+"' does not match the reply address '"+ac.RedirectURI+"' provided when requesting Authorization code.")
		return
	}
	s.mu.Lock()
	_, public := appRedirectKind(ca.app, ac.RedirectURI)
	s.mu.Unlock()
	if !public && !s.requireConfidential(w, ca) {
		return
	}
	if ac.Challenge != "" {
		v := r.PostFormValue("code_verifier")
		sum := sha256.Sum256([]byte(v))
		if v == "" || subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(ac.Challenge)) != 1 {
			s.writeTokenError(w, http.StatusBadRequest, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
			return
		}
	}
	scopes := ac.Scopes
	if sc := r.PostFormValue("scope"); sc != "" {
		scopes = strings.Fields(sc)
	}
	s.issueUserTokens(w, r, ca, ac.TenantID, ac.UserID, scopes, ac.Nonce)
}

func (s *Sim) redeemRefresh(w http.ResponseWriter, r *http.Request, tid string, ca clientAuth) {
	rt := r.PostFormValue("refresh_token")
	s.mu.Lock()
	g := s.refresh[rt]
	now := s.now()
	// Entra hands out a new refresh token on every redemption but does not revoke the old one: it stays
	// valid until it expires (https://learn.microsoft.com/entra/identity-platform/refresh-tokens).
	s.mu.Unlock()
	if g == nil || !now.Before(g.Expires) {
		s.writeTokenError(w, http.StatusBadRequest, "invalid_grant", 700082, "The refresh token has expired or is invalid. Sign in again.")
		return
	}
	if g.ClientID != ca.app.AppID || (tid != "" && tid != g.TenantID) {
		s.writeTokenError(w, http.StatusBadRequest, "invalid_grant", 70000, "The provided refresh token was issued to a different client or tenant.")
		return
	}
	scopes := g.Scopes
	if sc := r.PostFormValue("scope"); sc != "" {
		scopes = strings.Fields(sc)
		if _, _, err := resolveScopes(scopes); err != nil {
			s.writeTokenError(w, http.StatusBadRequest, "invalid_scope", err.aadsts, err.msg)
			return
		}
	}
	s.issueUserTokens(w, r, ca, g.TenantID, g.UserID, scopes, "")
}

func (s *Sim) redeemDevice(w http.ResponseWriter, r *http.Request, ca clientAuth) {
	// Without a credential, the device code flow is a public client flow: Entra allows it only when the
	// app allows public client flows (isFallbackPublicClient), and otherwise answers invalid_client
	// AADSTS7000218 (https://learn.microsoft.com/troubleshoot/entra/entra-id/app-integration/confidential-client-application-authentication-error-aadsts7000218).
	if ca.method == "none" {
		s.mu.Lock()
		fallback := ca.app.Data.IsFallbackPublicClient != nil && *ca.app.Data.IsFallbackPublicClient
		s.mu.Unlock()
		if !fallback && !s.requireConfidential(w, ca) {
			return
		}
	}
	dc := r.PostFormValue("device_code")
	s.mu.Lock()
	dg := s.devices[dc]
	now := s.now()
	var status string
	if dg != nil {
		status = dg.Status
		if status == "approved" {
			dg.Status = "redeemed"
		}
	}
	s.mu.Unlock()
	switch {
	case dg == nil || dg.ClientID != ca.app.AppID:
		s.writeTokenError(w, http.StatusBadRequest, "invalid_grant", 70000, "The provided value for the 'device_code' parameter is not valid.")
	case !now.Before(dg.Expires):
		s.writeTokenError(w, http.StatusBadRequest, "expired_token", 70019, "The provided value for the input parameter 'device_code' is not valid. This device code has expired.")
	case status == "pending":
		s.writeTokenError(w, http.StatusBadRequest, "authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
	case status == "declined":
		s.writeTokenError(w, http.StatusBadRequest, "authorization_declined", 70000, "The end user denied the authorization request.")
	case status == "redeemed":
		s.writeTokenError(w, http.StatusBadRequest, "invalid_grant", 54005, "The device code was already redeemed.")
	default:
		s.issueUserTokens(w, r, ca, dg.TenantID, dg.UserID, dg.Scopes, "")
	}
}

// issueUserTokens issues the delegated access token (for the one resource the scopes name), the ID token
// when openid was requested and a refresh token when offline_access was.
func (s *Sim) issueUserTokens(w http.ResponseWriter, r *http.Request, ca clientAuth, tid, userID string, scopes []string, nonce string) {
	app, method, keyID := ca.app, ca.method, ca.keyID
	res, _, serr := resolveScopes(scopes)
	if serr != nil {
		s.writeTokenError(w, http.StatusBadRequest, "invalid_scope", serr.aadsts, serr.msg)
		return
	}
	base := s.base(r)
	s.mu.Lock()
	t := s.tenants[tid]
	u := t.userByID(userID)
	csp := t.spByAppID(app.AppID)
	if u == nil || csp == nil {
		s.mu.Unlock()
		s.writeTokenError(w, http.StatusBadRequest, "invalid_grant", 65001, fmt.Sprintf("The user or administrator has not consented to use the application with ID '%s'. Send an interactive authorization request for this user and resource.", app.AppID))
		return
	}
	rsp := t.spByAppID(res.AppID)
	consented := t.consentedScopes(csp.Data.ID, rsp.Data.ID, u.ID)
	if len(t.missingConsent(app, u, requestedDelegated(app, res, scopes), false)) > 0 {
		s.mu.Unlock()
		s.writeTokenError(w, http.StatusBadRequest, "invalid_grant", 65001, fmt.Sprintf("The user or administrator has not consented to use the application with ID '%s' named '%s'. Send an interactive authorization request for this user and resource.", app.AppID, app.Data.DisplayName))
		return
	}
	now := s.now()
	// Entra puts every consented scope of the resource into scp, not only the requested ones.
	var resScopes []string
	for _, v := range consented {
		if strings.EqualFold(v, "offline_access") {
			continue // governs the refresh token, never appears in scp
		}
		if !oidcScopes[strings.ToLower(v)] || res.AppID == GraphAppID {
			resScopes = append(resScopes, v)
		}
	}
	acr := map[string]string{"secret": "1", "assertion": "2", "none": "0"}[method]
	at := accessClaims{Aud: res.URIs[0], Iss: "https://sts.windows.net/" + tid + "/", Iat: now.Unix(), Nbf: now.Unix(),
		Exp: now.Add(tokenLifetime).Unix(), AppDisplayName: app.Data.DisplayName, AppID: app.AppID, AppIDAcr: acr,
		IDType: "user", Name: u.DisplayName, OID: u.ID, Scp: strings.Join(resScopes, " "), Sub: pairwiseSub(u.ID, res.AppID),
		TID: tid, UniqueName: u.UserPrincipalName, UPN: u.UserPrincipalName, UTI: randToken(16), Ver: "1.0",
		Wids: slices.Clone(u.Roles)}
	var idc *idClaims
	wantOIDC := slices.ContainsFunc(scopes, func(x string) bool { return strings.EqualFold(x, "openid") })
	if wantOIDC {
		var appRoles []string
		if asp := t.spByAppID(app.AppID); asp != nil {
			appRoles = t.appRoleValues(u.ID, asp)
		}
		idc = &idClaims{Aud: app.AppID, Iat: now.Unix(), Nbf: now.Unix(), Exp: now.Add(time.Hour).Unix(),
			Email: u.UserPrincipalName, Name: u.DisplayName, Nonce: nonce, OID: u.ID, PreferredUsername: u.UserPrincipalName,
			RH: randToken(12), Roles: appRoles, Sub: pairwiseSub(u.ID, app.AppID), TID: tid, UTI: randToken(16), Ver: "2.0"}
		if g := app.Data.GroupMembershipClaims; g != nil && (*g == "All" || *g == "DirectoryRole") {
			idc.Wids = slices.Clone(u.Roles)
		}
	}
	s.noteCredentialUse(clientAuth{app: app, method: method, keyID: keyID}, csp, rsp, now)
	var refresh string
	if slices.ContainsFunc(scopes, func(x string) bool { return strings.EqualFold(x, "offline_access") }) {
		refresh = "1.AQ" + randToken(64)
		s.refresh[refresh] = &refreshGrant{TenantID: tid, ClientID: app.AppID, UserID: u.ID, Scopes: scopes, Expires: now.Add(refreshLifetime)}
	}
	s.mu.Unlock()
	k, err := getKey()
	if err != nil {
		s.writeTokenError(w, http.StatusInternalServerError, "server_error", 90000, err.Error())
		return
	}
	out := map[string]any{"token_type": "Bearer", "expires_in": int(tokenLifetime.Seconds()), "ext_expires_in": int(tokenLifetime.Seconds())}
	atStr, err := k.signAccess(at)
	if err != nil {
		s.writeTokenError(w, http.StatusInternalServerError, "server_error", 90000, err.Error())
		return
	}
	out["access_token"] = atStr
	var granted []string
	for _, v := range resScopes {
		if oidcScopes[strings.ToLower(v)] || res.AppID == GraphAppID {
			// Microsoft Graph's scopes come back in short form ("User.Read profile openid email"), other
			// resources' qualified (v2-oauth2-device-code, v2-oauth2-auth-code-flow).
			granted = append(granted, v)
		} else {
			granted = append(granted, res.URIs[0]+"/"+v)
		}
	}
	out["scope"] = strings.Join(granted, " ")
	if idc != nil {
		idc.Iss = issuerFor(base, tid)
		idt, err := k.sign(idc)
		if err != nil {
			s.writeTokenError(w, http.StatusInternalServerError, "server_error", 90000, err.Error())
			return
		}
		out["id_token"] = idt
	}
	if refresh != "" {
		out["refresh_token"] = refresh
	}
	if r.PostFormValue("client_info") == "1" {
		// client_info=1 asks for the account's home identifiers: base64url JSON {"uid": oid, "utid": tid},
		// from which MSAL forms the home account ID "<oid>.<tid>"
		// (https://learn.microsoft.com/javascript/api/@azure/msal-common/clientinfo).
		ci, _ := json.Marshal(map[string]string{"uid": u.ID, "utid": tid})
		out["client_info"] = base64.RawURLEncoding.EncodeToString(ci)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}

// pairwiseSub is the pairwise subject: stable per user and application, different across applications.
func pairwiseSub(userID, appID string) string {
	sum := sha256.Sum256([]byte(userID + "|" + appID))
	return base64.RawURLEncoding.EncodeToString(sum[:])[:43]
}

// noteCredentialUse records a sign-in with one of the application's credentials (a secret or a
// certificate), for reports/appCredentialSignInActivities. Callers hold s.mu.
func (s *Sim) noteCredentialUse(ca clientAuth, client, resource *servicePrincipal, now time.Time) {
	if ca.keyID == "" || ca.app == nil {
		return
	}
	if ca.app.credUse == nil {
		ca.app.credUse = map[string]*credentialUse{}
	}
	u := &credentialUse{When: now, RequestID: newGUID()}
	if client != nil {
		u.SPObjectID = client.Data.ID
	}
	if resource != nil {
		u.ResourceID = resource.Data.ID
	}
	ca.app.credUse[ca.keyID] = u
}
