package entrasim

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Well-known application IDs of Microsoft's first-party resources: Microsoft Graph
// (https://learn.microsoft.com/graph/permissions-reference) and Office 365 Exchange Online
// (https://learn.microsoft.com/exchange/client-developer/exchange-web-services/how-to-authenticate-an-ews-application-by-using-oauth).
const (
	GraphAppID    = "00000003-0000-0000-c000-000000000000"
	ExchangeAppID = "00000002-0000-0ff1-ce00-000000000000"
)

// Errors returned by the Go API.
var (
	ErrNotFound      = errors.New("entrasim: not found")
	ErrInvalid       = errors.New("entrasim: invalid input")
	ErrAlreadyExists = errors.New("entrasim: already exists")
)

// Directory role template IDs
// (https://learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference).
var directoryRoleTemplates = map[string]string{
	"Global Administrator":            "62e90394-69f5-4237-9190-012177145e10",
	"Privileged Role Administrator":   "e8611ab8-c189-46e8-94e1-60213ab1f814",
	"Application Administrator":       "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
	"Cloud Application Administrator": "158c047a-c907-4556-b7ef-446551a6b5f7",
	"Application Developer":           "cf1c38e5-3621-4004-a7cb-879624dced7c",
	"Exchange Administrator":          "29232cdf-9323-42fd-ade2-1d097af3e4de",
	"Directory Readers":               "88d8e3e3-8f55-4a1e-953a-9b9898b8876b",
	"Directory Writers":               "9360feb5-f418-4baa-8175-e2a00bac4301",
	"Global Reader":                   "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
}

const (
	roleGlobalAdmin   = "62e90394-69f5-4237-9190-012177145e10"
	rolePrivRoleAdmin = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	roleAppAdmin      = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
	roleCloudAppAdmin = "158c047a-c907-4556-b7ef-446551a6b5f7"
)

type tenant struct {
	ID            string
	DisplayName   string
	Domain        string
	InitialDomain string
	Created       time.Time

	users       []*user
	sps         []*servicePrincipal
	grants      []*oauth2Grant
	assignments []*appRoleAssignment
	dirRoles    map[string]string // role template ID → tenant-specific directoryRole object ID
	outbox      []Mail
	policy      appManagementPolicy
	changes     []appChange // for /applications/delta
	spRemoved   []spRemoval // for /servicePrincipals/delta
	apps        []*application
	deleted     []*application
	keySelects  []time.Time  // recent requests with $select=keyCredentials (Sim clock)
	appPolicies []*appPolicy // /policies/appManagementPolicies
}

// appPolicy is an appManagementPolicy (https://learn.microsoft.com/graph/api/resources/appmanagementpolicy):
// restrictions that override the tenant default for the applications it is assigned to.
type appPolicy struct {
	ID           string
	DisplayName  string
	Description  string
	Enabled      bool
	Restrictions appRestrictions
}

// appRestrictions is an appManagementConfiguration (passwordCredentials, keyCredentials).
type appRestrictions struct {
	PasswordCredentials []credentialRestriction `json:"passwordCredentials"`
	KeyCredentials      []credentialRestriction `json:"keyCredentials"`
}

// credentialRestriction is a passwordCredentialConfiguration or keyCredentialConfiguration.
type credentialRestriction struct {
	RestrictionType                     string  `json:"restrictionType"`
	State                               string  `json:"state"`
	MaxLifetime                         *string `json:"maxLifetime"`
	RestrictForAppsCreatedAfterDateTime *string `json:"restrictForAppsCreatedAfterDateTime"`
}

type appManagementPolicy struct {
	ID                  string
	Enabled             bool
	MaxPasswordLifetime time.Duration // 0 = no restriction
}

type appChange struct {
	seq     int64
	appID   string // object ID
	removed bool
}

type user struct {
	ID                string
	TenantID          string
	DisplayName       string
	UserPrincipalName string
	Roles             []string // role template IDs
}

func (u *user) hasAnyRole(ids ...string) bool {
	for _, id := range ids {
		if slices.Contains(u.Roles, id) {
			return true
		}
	}
	return false
}

func (u *user) isAdmin() bool {
	return u.hasAnyRole(roleGlobalAdmin, rolePrivRoleAdmin, roleAppAdmin, roleCloudAppAdmin)
}

type secretRecord struct {
	KeyID string
	Hash  [32]byte
}

type application struct {
	TenantID  string
	ObjectID  string
	AppID     string
	Created   time.Time
	VisibleAt time.Time
	// Owners are the object IDs of the users and service principals that own the application (the creator
	// first, when Graph created it); GET/POST/DELETE /applications/{id}/owners.
	Owners    []string
	Data      appData
	secrets   []secretRecord
	policyIDs []string                  // assigned appManagementPolicies (at most one)
	credUse   map[string]*credentialUse // by credential keyId: last sign-in with it
}

// credentialUse is the last sign-in with one of an application's credentials, for
// reports/appCredentialSignInActivities.
type credentialUse struct {
	When       time.Time
	RequestID  string
	ResourceID string // service principal object ID of the resource, in the sign-in tenant
	SPObjectID string // the client's service principal in the sign-in tenant
}

type servicePrincipal struct {
	TenantID  string
	Created   time.Time
	VisibleAt time.Time
	Data      spData
	// deltaSeq orders the service principal among changes for
	// /servicePrincipals/delta; 0 until the next delta request numbers it
	// (so every place that creates one needs no change).
	deltaSeq int64
}

// spRemoval is a deleted service principal, numbered like deltaSeq.
type spRemoval struct {
	id  string
	seq int64
}

type appRoleAssignment struct {
	ID                   string  `json:"id"`
	DeletedDateTime      *string `json:"deletedDateTime"`
	AppRoleID            string  `json:"appRoleId"`
	CreatedDateTime      string  `json:"createdDateTime"`
	PrincipalDisplayName string  `json:"principalDisplayName"`
	PrincipalID          string  `json:"principalId"`
	PrincipalType        string  `json:"principalType"`
	ResourceDisplayName  string  `json:"resourceDisplayName"`
	ResourceID           string  `json:"resourceId"`
}

type oauth2Grant struct {
	ID          string  `json:"id"`
	ClientID    string  `json:"clientId"`
	ConsentType string  `json:"consentType"`
	PrincipalID *string `json:"principalId"`
	ResourceID  string  `json:"resourceId"`
	Scope       string  `json:"scope"`
}

// Mail is one message accepted by Graph sendMail.
type Mail struct {
	From            string         `json:"from"`
	Subject         string         `json:"subject"`
	ContentType     string         `json:"contentType"`
	Content         string         `json:"content"`
	To              []string       `json:"to"`
	Cc              []string       `json:"cc,omitempty"`
	SaveToSentItems bool           `json:"saveToSentItems"`
	Received        time.Time      `json:"received"`
	Raw             map[string]any `json:"message"`
}

// User describes a user to create.
type User struct {
	DisplayName       string   `json:"displayName"`
	UserPrincipalName string   `json:"userPrincipalName"`
	DirectoryRoles    []string `json:"directoryRoles"` // e.g. "Global Administrator"
	ID                string   `json:"id,omitempty"`   // optional fixed object ID
}

// AppRole is an app role the application defines (assignable to users).
type AppRole struct {
	Value       string `json:"value"`
	DisplayName string `json:"displayName"`
	Description string `json:"description"`
	ID          string `json:"id,omitempty"` // optional fixed GUID
}

// AppSpec describes an application registration to create (mirrors the control API JSON).
type AppSpec struct {
	DisplayName    string   `json:"displayName"`
	SignInAudience string   `json:"signInAudience"` // default AzureADMyOrg
	RedirectURIs   []string `json:"redirectUris"`   // web platform
	// PublicClientRedirectURIs are the publicClient platform's redirect URIs (PKCE is required for them).
	PublicClientRedirectURIs []string `json:"publicClientRedirectUris,omitempty"`
	// ApplicationPermissions and DelegatedPermissions are Microsoft Graph permission values
	// ("Application.ReadWrite.All", "openid", …) or resource-qualified values
	// ("https://outlook.office365.com/full_access_as_app"). They are granted with admin consent.
	ApplicationPermissions []string  `json:"applicationPermissions"`
	DelegatedPermissions   []string  `json:"delegatedPermissions"`
	Secret                 bool      `json:"secret"`
	AppRoles               []AppRole `json:"appRoles,omitempty"`
	// SecretText fixes the secret's value (demo worlds only); implies Secret.
	SecretText string `json:"secretText,omitempty"`
	// SecretEnd sets the secret's expiry (default: two years from now).
	SecretEnd time.Time `json:"secretEnd,omitzero"`
	// AppID fixes the application (client) ID; ID fixes the object ID.
	AppID string `json:"appId,omitempty"`
	ID    string `json:"id,omitempty"`
	// GroupMembershipClaims "DirectoryRole" or "All" adds the wids claim to ID tokens.
	GroupMembershipClaims string `json:"groupMembershipClaims,omitempty"`
	// IsFallbackPublicClient is the portal's "Allow public client flows": device code without a client
	// credential is refused (AADSTS7000218) unless it is set.
	IsFallbackPublicClient bool `json:"isFallbackPublicClient,omitempty"`
	// Owners are users of the tenant (object IDs or UPNs) made owners of the application.
	Owners []string `json:"owners,omitempty"`
}

// AppCreated is what CreateApplication returns.
type AppCreated struct {
	ID         string `json:"id"`
	AppID      string `json:"appId"`
	SecretText string `json:"secretText,omitempty"`
}

func newGUID() string { return uuid.NewString() }

// newAssignmentID returns a 43-character base64url ID, the shape Graph uses for appRoleAssignment and
// oAuth2PermissionGrant IDs (see the example responses of
// https://learn.microsoft.com/graph/api/serviceprincipal-post-approleassignedto and
// https://learn.microsoft.com/graph/api/oauth2permissiongrant-post).
func newAssignmentID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

const secretAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_~"

// newSecretText returns a 40-character client secret in the shape Entra issues today ("xxx8Q~…").
func newSecretText() string {
	b := make([]byte, 37)
	_, _ = rand.Read(b)
	var sb strings.Builder
	for i, c := range b {
		if i == 3 {
			sb.WriteString("8Q~")
		}
		sb.WriteByte(secretAlphabet[int(c)%len(secretAlphabet)])
	}
	return sb.String()
}

func randToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashSecret(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func secretMatches(h [32]byte, s string) bool {
	g := hashSecret(s)
	return subtle.ConstantTimeCompare(h[:], g[:]) == 1
}

func graphTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func isGUID(s string) bool { return guidRE.MatchString(s) }

// CreateTenant creates a tenant with the Microsoft Graph and Exchange Online service principals.
func (s *Sim) CreateTenant(displayName, domain string) (string, error) {
	return s.createTenant("", displayName, domain)
}

func (s *Sim) createTenant(id, displayName, domain string) (string, error) {
	if displayName == "" || domain == "" {
		return "", fmt.Errorf("%w: displayName and domain are required", ErrInvalid)
	}
	if id == "" {
		id = newGUID()
	} else if !isGUID(id) {
		return "", fmt.Errorf("%w: tenant id %q is not a GUID", ErrInvalid, id)
	}
	domain = strings.ToLower(domain)
	label := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, strings.Split(domain, ".")[0])
	initial := label + ".onmicrosoft.com"
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tenants[id]; ok {
		return "", fmt.Errorf("%w: tenant %s", ErrAlreadyExists, id)
	}
	if _, ok := s.domains[domain]; ok {
		return "", fmt.Errorf("%w: domain %s", ErrAlreadyExists, domain)
	}
	if _, ok := s.domains[initial]; ok {
		initial = label + id[:4] + ".onmicrosoft.com"
	}
	t := &tenant{
		ID: id, DisplayName: displayName, Domain: domain, InitialDomain: initial, Created: s.now(),
		dirRoles: map[string]string{},
		policy:   appManagementPolicy{ID: "00000000-0000-0000-0000-000000000000"},
	}
	s.tenants[id] = t
	s.tenantOrder = append(s.tenantOrder, t)
	s.domains[domain] = t
	s.domains[initial] = t
	for _, r := range firstPartyResources() {
		sp := newSPFromResource(t, r, s.now())
		sp.VisibleAt = time.Time{}
		t.sps = append(t.sps, sp)
	}
	return id, nil
}

// RemoveServicePrincipal deletes the service principal of appID in a tenant, with its grants and
// assignments: for tests of a tenant that never had a resource (Exchange Online in a tenant without
// Exchange).
func (s *Sim) RemoveServicePrincipal(tenantID, appID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[tenantID]
	if !ok {
		return fmt.Errorf("%w: tenant %s", ErrNotFound, tenantID)
	}
	sp := t.spByAppID(appID)
	if sp == nil {
		return fmt.Errorf("%w: service principal of %s", ErrNotFound, appID)
	}
	t.spRemoved = append(t.spRemoved, spRemoval{id: sp.Data.ID})
	t.sps = slices.DeleteFunc(t.sps, func(x *servicePrincipal) bool { return x == sp })
	t.assignments = slices.DeleteFunc(t.assignments, func(a *appRoleAssignment) bool { return a.PrincipalID == sp.Data.ID || a.ResourceID == sp.Data.ID })
	t.grants = slices.DeleteFunc(t.grants, func(g *oauth2Grant) bool { return g.ClientID == sp.Data.ID || g.ResourceID == sp.Data.ID })
	return nil
}

// CreateUser creates a user with the given directory roles (by display name, e.g. "Global Administrator").
func (s *Sim) CreateUser(tenantID string, u User) (string, error) {
	if u.DisplayName == "" || u.UserPrincipalName == "" {
		return "", fmt.Errorf("%w: displayName and userPrincipalName are required", ErrInvalid)
	}
	var roles []string
	for _, name := range u.DirectoryRoles {
		id, ok := directoryRoleTemplates[name]
		if !ok {
			return "", fmt.Errorf("%w: unknown directory role %q", ErrInvalid, name)
		}
		roles = append(roles, id)
	}
	id := u.ID
	if id == "" {
		id = newGUID()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[tenantID]
	if !ok {
		return "", fmt.Errorf("%w: tenant %s", ErrNotFound, tenantID)
	}
	for _, tt := range s.tenantOrder {
		for _, x := range tt.users {
			if strings.EqualFold(x.UserPrincipalName, u.UserPrincipalName) || x.ID == id {
				return "", fmt.Errorf("%w: user %s", ErrAlreadyExists, u.UserPrincipalName)
			}
		}
	}
	for _, r := range roles {
		if _, ok := t.dirRoles[r]; !ok {
			t.dirRoles[r] = newGUID()
		}
	}
	t.users = append(t.users, &user{ID: id, TenantID: tenantID, DisplayName: u.DisplayName, UserPrincipalName: u.UserPrincipalName, Roles: roles})
	return id, nil
}

// CreateApplication registers an application in the tenant, creates its service principal there and grants
// the listed permissions with admin consent.
func (s *Sim) CreateApplication(tenantID string, a AppSpec) (AppCreated, error) {
	if a.DisplayName == "" {
		return AppCreated{}, fmt.Errorf("%w: displayName is required", ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[tenantID]
	if !ok {
		return AppCreated{}, fmt.Errorf("%w: tenant %s", ErrNotFound, tenantID)
	}
	if a.AppID != "" {
		if _, dup := s.appsByAppID[a.AppID]; dup {
			return AppCreated{}, fmt.Errorf("%w: appId %s", ErrAlreadyExists, a.AppID)
		}
	}
	// Resolve permissions first so that a bad name creates nothing.
	type perm struct {
		res  *resource
		id   string
		val  string
		role bool
	}
	var perms []perm
	for _, p := range a.ApplicationPermissions {
		r, v := resolvePermissionName(p)
		if r == nil {
			return AppCreated{}, fmt.Errorf("%w: unknown resource in %q", ErrInvalid, p)
		}
		id, ok := r.roleByValue(v)
		if !ok {
			return AppCreated{}, fmt.Errorf("%w: unknown application permission %q", ErrInvalid, p)
		}
		perms = append(perms, perm{r, id, v, true})
	}
	for _, p := range a.DelegatedPermissions {
		r, v := resolvePermissionName(p)
		if r == nil {
			return AppCreated{}, fmt.Errorf("%w: unknown resource in %q", ErrInvalid, p)
		}
		id, ok := r.scopeByValue(v)
		if !ok {
			return AppCreated{}, fmt.Errorf("%w: unknown delegated permission %q", ErrInvalid, p)
		}
		perms = append(perms, perm{r, id, v, false})
	}
	var owners []string
	for _, o := range a.Owners {
		u := t.userByID(o)
		if u == nil {
			return AppCreated{}, fmt.Errorf("%w: owner %s", ErrNotFound, o)
		}
		owners = append(owners, u.ID)
	}
	now := s.now()
	app := s.newApplication(t, a.DisplayName, now)
	app.Owners = owners
	if a.AppID != "" {
		app.AppID = a.AppID
		app.Data.AppID = a.AppID
	}
	if a.ID != "" {
		app.ObjectID = a.ID
		app.Data.ID = a.ID
	}
	app.VisibleAt = time.Time{} // control-API objects are replicated at once
	if a.SignInAudience != "" {
		app.Data.SignInAudience = a.SignInAudience
	}
	app.Data.Web.RedirectURIs = append([]string{}, a.RedirectURIs...)
	app.Data.PublicClient.RedirectURIs = append([]string{}, a.PublicClientRedirectURIs...)
	if a.GroupMembershipClaims != "" {
		app.Data.GroupMembershipClaims = &a.GroupMembershipClaims
	}
	if a.IsFallbackPublicClient {
		yes := true
		app.Data.IsFallbackPublicClient = &yes
	}
	for _, r := range a.AppRoles {
		id := r.ID
		if id == "" {
			id = newGUID()
		}
		app.Data.AppRoles = append(app.Data.AppRoles, appRoleJSON{
			AllowedMemberTypes: []string{"User"}, Description: r.Description, DisplayName: r.DisplayName,
			ID: id, IsEnabled: true, Value: r.Value, Origin: "Application",
		})
	}
	for _, p := range perms {
		typ := "Scope"
		if p.role {
			typ = "Role"
		}
		app.Data.addRequiredAccess(p.res.AppID, p.id, typ)
	}
	var out AppCreated
	if a.Secret || a.SecretText != "" {
		text := a.SecretText
		if text == "" {
			text = newSecretText()
		}
		end := a.SecretEnd
		if end.IsZero() {
			end = now.AddDate(2, 0, 0)
		}
		app.addPassword("Created by entrasim", now, end, text)
		out.SecretText = text
	}
	s.insertApplication(t, app)
	sp := s.newSPForApp(t, app, now)
	sp.VisibleAt = time.Time{}
	t.sps = append(t.sps, sp)
	// Admin consent for the listed permissions.
	scopes := map[string][]string{}
	for _, p := range perms {
		rsp := t.spByAppID(p.res.AppID)
		if p.role {
			t.assignments = append(t.assignments, &appRoleAssignment{
				ID: newAssignmentID(), AppRoleID: p.id, CreatedDateTime: graphTime(now),
				PrincipalDisplayName: sp.Data.DisplayName, PrincipalID: sp.Data.ID, PrincipalType: "ServicePrincipal",
				ResourceDisplayName: rsp.Data.DisplayName, ResourceID: rsp.Data.ID,
			})
		} else {
			scopes[rsp.Data.ID] = append(scopes[rsp.Data.ID], p.val)
		}
	}
	for rid, sc := range scopes {
		t.grantScopes(sp.Data.ID, rid, "", sc)
	}
	out.ID, out.AppID = app.ObjectID, app.AppID
	return out, nil
}

// AssignAppRole assigns one of the application's app roles (by value) to a user, so that the user's ID
// tokens for that application carry it in the roles claim. The application's service principal in tenantID
// is created if it is missing (a multi-tenant app used in another tenant).
func (s *Sim) AssignAppRole(tenantID, userObjectID, appID, roleValue string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[tenantID]
	if !ok {
		return fmt.Errorf("%w: tenant %s", ErrNotFound, tenantID)
	}
	u := t.userByID(userObjectID)
	if u == nil {
		return fmt.Errorf("%w: user %s", ErrNotFound, userObjectID)
	}
	app := s.appsByAppID[appID]
	if app == nil {
		return fmt.Errorf("%w: application %s", ErrNotFound, appID)
	}
	var roleID string
	for _, r := range app.Data.AppRoles {
		if r.Value == roleValue {
			roleID = r.ID
		}
	}
	if roleID == "" {
		return fmt.Errorf("%w: app role %q", ErrNotFound, roleValue)
	}
	sp := t.spByAppID(appID)
	if sp == nil {
		sp = s.newSPForApp(t, app, s.now())
		sp.VisibleAt = time.Time{}
		t.sps = append(t.sps, sp)
	}
	for _, a := range t.assignments {
		if a.PrincipalID == u.ID && a.ResourceID == sp.Data.ID && a.AppRoleID == roleID {
			return nil
		}
	}
	t.assignments = append(t.assignments, &appRoleAssignment{
		ID: newAssignmentID(), AppRoleID: roleID, CreatedDateTime: graphTime(s.now()),
		PrincipalDisplayName: u.DisplayName, PrincipalID: u.ID, PrincipalType: "User",
		ResourceDisplayName: sp.Data.DisplayName, ResourceID: sp.Data.ID,
	})
	return nil
}

// RevokeConsent deletes every consent the application (by appId) holds in the tenant: its delegated
// permission grants and its app role assignments. Refresh tokens issued to it there stop working and new
// tokens carry no permissions.
func (s *Sim) RevokeConsent(tenantID, appID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[tenantID]
	if !ok {
		return fmt.Errorf("%w: tenant %s", ErrNotFound, tenantID)
	}
	sp := t.spByAppID(appID)
	if sp == nil {
		return fmt.Errorf("%w: service principal for %s", ErrNotFound, appID)
	}
	t.grants = slices.DeleteFunc(t.grants, func(g *oauth2Grant) bool { return g.ClientID == sp.Data.ID })
	t.assignments = slices.DeleteFunc(t.assignments, func(a *appRoleAssignment) bool {
		return a.PrincipalID == sp.Data.ID && a.PrincipalType == "ServicePrincipal"
	})
	for k, rt := range s.refresh {
		if rt.TenantID == tenantID && rt.ClientID == appID {
			delete(s.refresh, k)
		}
	}
	return nil
}

// SetPasswordLifetimePolicy enables the tenant's default app management policy with a maximum password
// lifetime (0 disables it). addPassword beyond it fails with CredentialInvalidLifetimeAsPerAppPolicy.
func (s *Sim) SetPasswordLifetimePolicy(tenantID string, max time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[tenantID]
	if !ok {
		return fmt.Errorf("%w: tenant %s", ErrNotFound, tenantID)
	}
	t.policy.Enabled = max > 0
	t.policy.MaxPasswordLifetime = max
	return nil
}

// Outbox returns the mail sent through Graph sendMail in the tenant.
func (s *Sim) Outbox(tenantID string) []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[tenantID]
	if !ok {
		return nil
	}
	return slices.Clone(t.outbox)
}

// AddCertificate adds a certificate credential (DER) to an application, as the Entra admin center's
// "Upload certificate" does; the app can then authenticate with a client assertion signed by its key.
func (s *Sim) AddCertificate(appObjectID string, der []byte, displayName string, start, end time.Time) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	app := s.apps[appObjectID]
	if app == nil {
		return "", fmt.Errorf("%w: application %s", ErrNotFound, appObjectID)
	}
	kc := newKeyCredential(der, displayName, start, end)
	app.Data.KeyCredentials = append(app.Data.KeyCredentials, kc)
	s.touchApp(app)
	return kc.KeyID, nil
}

// AddSecret adds a client secret with the given validity to an application (seeding only; Graph
// addPassword is the real way). It returns the secret's keyId.
func (s *Sim) AddSecret(appObjectID, displayName, text string, start, end time.Time) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	app := s.apps[appObjectID]
	if app == nil {
		return "", fmt.Errorf("%w: application %s", ErrNotFound, appObjectID)
	}
	if text == "" {
		text = newSecretText()
	}
	pc := app.addPassword(displayName, start, end, text)
	s.touchApp(app)
	return pc.KeyID, nil
}

// ---- internal helpers (callers hold s.mu) ----

func (s *Sim) newApplication(t *tenant, displayName string, now time.Time) *application {
	id, appID := newGUID(), newGUID()
	app := &application{TenantID: t.ID, ObjectID: id, AppID: appID, Created: now, VisibleAt: now.Add(s.lag)}
	app.Data = newAppData(id, appID, displayName, t.Domain, now)
	return app
}

func (s *Sim) insertApplication(t *tenant, app *application) {
	s.apps[app.ObjectID] = app
	s.appsByAppID[app.AppID] = app
	t.apps = append(t.apps, app)
	s.touchApp(app)
}

func (s *Sim) touchApp(app *application) {
	s.seq++
	t := s.tenants[app.TenantID]
	t.changes = append(t.changes, appChange{seq: s.seq, appID: app.ObjectID})
}

func (s *Sim) deleteApplication(t *tenant, app *application) {
	delete(s.apps, app.ObjectID)
	delete(s.appsByAppID, app.AppID)
	t.apps = slices.DeleteFunc(t.apps, func(a *application) bool { return a == app })
	now := graphTime(s.now())
	app.Data.DeletedDateTime = &now
	t.deleted = append(t.deleted, app)
	s.seq++
	t.changes = append(t.changes, appChange{seq: s.seq, appID: app.ObjectID, removed: true})
	// Deleting an application deletes its service principal in the home tenant.
	if sp := t.spByAppID(app.AppID); sp != nil {
		t.deleteSP(sp)
	}
}

func (a *application) addPassword(displayName string, start, end time.Time, text string) passwordCredential {
	pc := passwordCredential{
		DisplayName: strPtr(displayName), EndDateTime: graphTime(end), StartDateTime: graphTime(start),
		KeyID: newGUID(), Hint: text[:3],
	}
	a.Data.PasswordCredentials = append(a.Data.PasswordCredentials, pc)
	a.secrets = append(a.secrets, secretRecord{KeyID: pc.KeyID, Hash: hashSecret(text)})
	return pc
}

func strPtr(s string) *string { return &s }

func (t *tenant) userByID(id string) *user {
	for _, u := range t.users {
		if u.ID == id || strings.EqualFold(u.UserPrincipalName, id) {
			return u
		}
	}
	return nil
}

func (t *tenant) spByAppID(appID string) *servicePrincipal {
	for _, sp := range t.sps {
		if sp.Data.AppID == appID {
			return sp
		}
	}
	return nil
}

func (t *tenant) spByID(id string) *servicePrincipal {
	for _, sp := range t.sps {
		if sp.Data.ID == id {
			return sp
		}
	}
	return nil
}

func (t *tenant) deleteSP(sp *servicePrincipal) {
	t.spRemoved = append(t.spRemoved, spRemoval{id: sp.Data.ID})
	t.sps = slices.DeleteFunc(t.sps, func(x *servicePrincipal) bool { return x == sp })
	t.grants = slices.DeleteFunc(t.grants, func(g *oauth2Grant) bool { return g.ClientID == sp.Data.ID || g.ResourceID == sp.Data.ID })
	t.assignments = slices.DeleteFunc(t.assignments, func(a *appRoleAssignment) bool {
		return a.PrincipalID == sp.Data.ID || a.ResourceID == sp.Data.ID
	})
}

func (t *tenant) appByID(id string) *application {
	for _, a := range t.apps {
		if a.ObjectID == id {
			return a
		}
	}
	return nil
}

// grantScopes adds scopes to the delegated grant of (client, resource, principal), creating it if needed.
// principalID "" means AllPrincipals (admin consent).
func (t *tenant) grantScopes(clientSPID, resourceSPID, principalID string, scopes []string) {
	for _, g := range t.grants {
		if g.ClientID == clientSPID && g.ResourceID == resourceSPID && ptrEq(g.PrincipalID, principalID) {
			have := strings.Fields(g.Scope)
			for _, sc := range scopes {
				if !slices.Contains(have, sc) {
					have = append(have, sc)
				}
			}
			g.Scope = strings.Join(have, " ")
			return
		}
	}
	g := &oauth2Grant{ID: newAssignmentID(), ClientID: clientSPID, ConsentType: "AllPrincipals", ResourceID: resourceSPID, Scope: strings.Join(scopes, " ")}
	if principalID != "" {
		g.ConsentType = "Principal"
		g.PrincipalID = strPtr(principalID)
	}
	t.grants = append(t.grants, g)
}

func ptrEq(p *string, s string) bool {
	if p == nil {
		return s == ""
	}
	return *p == s
}

// consentedScopes returns the delegated scopes the client SP holds on the resource SP for the user (admin
// consent for all principals plus the user's own consent).
func (t *tenant) consentedScopes(clientSPID, resourceSPID, userID string) []string {
	var out []string
	for _, g := range t.grants {
		if g.ClientID != clientSPID || g.ResourceID != resourceSPID {
			continue
		}
		if g.ConsentType == "AllPrincipals" || ptrEq(g.PrincipalID, userID) {
			for _, sc := range strings.Fields(g.Scope) {
				if !slices.Contains(out, sc) {
					out = append(out, sc)
				}
			}
		}
	}
	return out
}

// appRoleValues returns the values of the app roles the principal holds on the resource SP.
func (t *tenant) appRoleValues(principalID string, resource *servicePrincipal) []string {
	var out []string
	for _, a := range t.assignments {
		if a.PrincipalID != principalID || a.ResourceID != resource.Data.ID {
			continue
		}
		for _, r := range resource.Data.AppRoles {
			if r.ID == a.AppRoleID && !slices.Contains(out, r.Value) {
				out = append(out, r.Value)
			}
		}
	}
	return out
}

func (s *Sim) tenantByName(name string) *tenant {
	if t, ok := s.tenants[strings.ToLower(name)]; ok {
		return t
	}
	return s.domains[strings.ToLower(name)]
}

func (s *Sim) userAnywhere(idOrUPN string) (*tenant, *user) {
	for _, t := range s.tenantOrder {
		if u := t.userByID(idOrUPN); u != nil {
			return t, u
		}
	}
	return nil, nil
}

// AddApplicationPermission adds an application permission (a Microsoft Graph value such as "Mail.Send",
// or a resource-qualified one) to an application's configured permissions (requiredResourceAccess), as
// an owner does under API permissions → Add a permission. Like Entra, it grants nothing: the next admin
// consent for ".default" does.
func (s *Sim) AddApplicationPermission(appID, permission string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	app, resource, id, err := s.applicationPermission(appID, permission)
	if err != nil {
		return err
	}
	app.Data.addRequiredAccess(resource, id, "Role")
	return nil
}

// applicationPermission finds an application by appId and an application
// permission by name, as the API permissions page does. s.mu is held.
func (s *Sim) applicationPermission(appID, permission string) (app *application, resourceAppID, roleID string, err error) {
	app = s.appsByAppID[appID]
	if app == nil {
		return nil, "", "", fmt.Errorf("%w: application %s", ErrNotFound, appID)
	}
	r, v := resolvePermissionName(permission)
	if r == nil {
		return nil, "", "", fmt.Errorf("%w: unknown resource in %q", ErrInvalid, permission)
	}
	id, ok := r.roleByValue(v)
	if !ok {
		return nil, "", "", fmt.Errorf("%w: unknown application permission %q", ErrInvalid, permission)
	}
	return app, r.AppID, id, nil
}

// RemoveApplicationPermission removes an application permission from an application's configured
// permissions; like Entra, it revokes nothing that was granted already.
func (s *Sim) RemoveApplicationPermission(appID, permission string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	app, resource, id, err := s.applicationPermission(appID, permission)
	if err != nil {
		return err
	}
	for i := range app.Data.RequiredResourceAccess {
		rra := &app.Data.RequiredResourceAccess[i]
		if rra.ResourceAppID == resource {
			rra.ResourceAccess = slices.DeleteFunc(rra.ResourceAccess, func(ra resourceAccess) bool { return ra.ID == id && ra.Type == "Role" })
		}
	}
	return nil
}

// GrantAdminConsent grants an application's configured permissions in a tenant at the Sim's current
// time, as an administrator's admin consent there would (done out of band, e.g. in the Entra admin center).
func (s *Sim) GrantAdminConsent(tenantID, appID string) error {
	return s.adminConsentAll(tenantID, appID)
}
