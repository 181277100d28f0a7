package graph

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	abs "github.com/microsoft/kiota-abstractions-go"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/applications"
	"github.com/microsoftgraph/msgraph-sdk-go/applicationswithuniquename"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/oauth2permissiongrants"
	"github.com/microsoftgraph/msgraph-sdk-go/organization"
	"github.com/microsoftgraph/msgraph-sdk-go/policies"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipalswithappid"
)

// Well-known resource application IDs (graph-entra.md §5.1).
const (
	MicrosoftGraphAppID   = "00000003-0000-0000-c000-000000000000"
	ExchangeOnlineAppID   = "00000002-0000-0ff1-ce00-000000000000"
	CredentialPassword    = "password"
	CredentialCertificate = "certificate"
)

// Organization is the tenant as /organization describes it.
type Organization struct {
	TenantID    string
	DisplayName string
	Domains     []Domain
}

// Domain is a verified domain of the tenant.
type Domain struct {
	Name      string
	IsDefault bool
	IsInitial bool
}

// Credential is a client secret (password) or certificate of an application. Secret values are never
// part of it.
type Credential struct {
	Kind        string // CredentialPassword or CredentialCertificate
	KeyID       string
	DisplayName string
	Hint        string // first three characters of a secret
	Thumbprint  string // base64 customKeyIdentifier of a certificate
	Start       time.Time
	End         time.Time
}

// Application is an app registration with its credentials.
type Application struct {
	ObjectID       string
	AppID          string
	DisplayName    string
	UniqueName     string
	SignInAudience string
	Credentials    []Credential
}

// ApplicationSpec is what UpsertApplication writes.
type ApplicationSpec struct {
	DisplayName               string
	SignInAudience            string // default AzureADMyOrg
	WebRedirectURIs           []string
	PublicClientRedirectURIs  []string
	SPARedirectURIs           []string
	EnableIDTokenIssuance     bool
	EnableAccessTokenIssuance bool
	RequiredResourceAccess    []RequiredResource
	Tags                      []string
	Notes                     string
}

// RequiredResource lists the permissions an application requests on one resource.
type RequiredResource struct {
	ResourceAppID string
	Permissions   []PermissionRef
}

// PermissionRef names one permission by ID; Type is "Role" (application) or "Scope" (delegated).
type PermissionRef struct {
	ID   string
	Type string
}

// Permission is an app role or delegated scope a resource service principal offers.
type Permission struct {
	ID          string
	Value       string
	DisplayName string
	Description string
	AdminOnly   bool // delegated scope that needs admin consent
}

// ServicePrincipal is a service principal with the permissions it offers as a resource.
type ServicePrincipal struct {
	ObjectID    string
	AppID       string
	DisplayName string
	AppRoles    []Permission
	Scopes      []Permission
}

// Secret is a new client secret; Text is returned by Graph exactly once.
type Secret struct {
	KeyID       string
	DisplayName string
	Hint        string
	Text        string
	Start       time.Time
	End         time.Time
}

// PasswordPolicy is the tenant default app management policy's password lifetime restriction.
type PasswordPolicy struct {
	Enabled     bool
	MaxLifetime time.Duration // 0 = no restriction
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func uuidString(p *uuid.UUID) string {
	if p == nil {
		return ""
	}
	return p.String()
}

// Organization returns the tenant (GET /organization).
func (c *Client) Organization(ctx context.Context) (Organization, error) {
	res, err := organization.NewOrganizationRequestBuilderInternal(c.pathParams(), c.adapter).Get(ctx, nil)
	if err != nil {
		return Organization{}, mapError("get organization", err)
	}
	if res == nil || len(res.GetValue()) == 0 || res.GetValue()[0] == nil {
		return Organization{}, fmt.Errorf("get organization: %w", ErrNotFound)
	}
	o := res.GetValue()[0]
	out := Organization{TenantID: deref(o.GetId()), DisplayName: deref(o.GetDisplayName())}
	for _, d := range o.GetVerifiedDomains() {
		if d == nil {
			continue
		}
		out.Domains = append(out.Domains, Domain{Name: deref(d.GetName()), IsDefault: deref(d.GetIsDefault()), IsInitial: deref(d.GetIsInitial())})
	}
	return out, nil
}

func toApplication(a models.Applicationable) Application {
	out := Application{ObjectID: deref(a.GetId()), AppID: deref(a.GetAppId()), DisplayName: deref(a.GetDisplayName()),
		UniqueName: deref(a.GetUniqueName()), SignInAudience: deref(a.GetSignInAudience())}
	for _, p := range a.GetPasswordCredentials() {
		if p == nil {
			continue
		}
		out.Credentials = append(out.Credentials, Credential{Kind: CredentialPassword, KeyID: uuidString(p.GetKeyId()),
			DisplayName: deref(p.GetDisplayName()), Hint: deref(p.GetHint()), Start: deref(p.GetStartDateTime()), End: deref(p.GetEndDateTime())})
	}
	for _, k := range a.GetKeyCredentials() {
		if k == nil {
			continue
		}
		cr := Credential{Kind: CredentialCertificate, KeyID: uuidString(k.GetKeyId()), DisplayName: deref(k.GetDisplayName()),
			Start: deref(k.GetStartDateTime()), End: deref(k.GetEndDateTime())}
		if id := k.GetCustomKeyIdentifier(); len(id) > 0 {
			cr.Thumbprint = base64.StdEncoding.EncodeToString(id)
		}
		out.Credentials = append(out.Credentials, cr)
	}
	return out
}

// ListApplications returns every application of the tenant with its credentials, following
// @odata.nextLink with the SDK's PageIterator ($top=999, the maximum).
func (c *Client) ListApplications(ctx context.Context) ([]Application, error) {
	top := int32(999)
	cfg := &applications.ApplicationsRequestBuilderGetRequestConfiguration{
		QueryParameters: &applications.ApplicationsRequestBuilderGetQueryParameters{
			Select: []string{"id", "appId", "displayName", "uniqueName", "signInAudience", "passwordCredentials", "keyCredentials"},
			Top:    &top,
		},
	}
	res, err := applications.NewApplicationsRequestBuilderInternal(c.pathParams(), c.adapter).Get(ctx, cfg)
	if err != nil {
		return nil, mapError("list applications", err)
	}
	if res == nil {
		return nil, errors.New("graph: list applications: empty response")
	}
	it, err := msgraphgocore.NewPageIterator[models.Applicationable](res, c.adapter, models.CreateApplicationCollectionResponseFromDiscriminatorValue)
	if err != nil {
		return nil, fmt.Errorf("graph: list applications: page iterator: %w", err)
	}
	out := []Application{}
	err = it.Iterate(ctx, func(a models.Applicationable) bool {
		if a != nil {
			out = append(out, toApplication(a))
		}
		return true
	})
	if err != nil {
		return nil, mapError("list applications", err)
	}
	return out, nil
}

// Validate rejects a spec Graph would misread: every permission needs a GUID
// and the type Role or Scope. (An unparsable ID used to be dropped silently,
// registering an app without a permission it was meant to have.)
func (spec ApplicationSpec) Validate() error {
	for _, rr := range spec.RequiredResourceAccess {
		if _, err := uuid.Parse(rr.ResourceAppID); err != nil {
			return fmt.Errorf("graph: application spec: resource %q is not an appId", rr.ResourceAppID)
		}
		for _, p := range rr.Permissions {
			if _, err := uuid.Parse(p.ID); err != nil {
				return fmt.Errorf("graph: application spec: permission %q of resource %s is not a GUID", p.ID, rr.ResourceAppID)
			}
			if p.Type != "Role" && p.Type != "Scope" {
				return fmt.Errorf("graph: application spec: permission %s has type %q, want Role or Scope", p.ID, p.Type)
			}
		}
	}
	return nil
}

func (spec ApplicationSpec) model() models.Applicationable {
	a := models.NewApplication()
	a.SetDisplayName(&spec.DisplayName)
	aud := spec.SignInAudience
	if aud == "" {
		aud = "AzureADMyOrg"
	}
	a.SetSignInAudience(&aud)
	web := models.NewWebApplication()
	web.SetRedirectUris(nonNil(spec.WebRedirectURIs))
	ig := models.NewImplicitGrantSettings()
	ig.SetEnableIdTokenIssuance(&spec.EnableIDTokenIssuance)
	ig.SetEnableAccessTokenIssuance(&spec.EnableAccessTokenIssuance)
	web.SetImplicitGrantSettings(ig)
	a.SetWeb(web)
	pc := models.NewPublicClientApplication()
	pc.SetRedirectUris(nonNil(spec.PublicClientRedirectURIs))
	a.SetPublicClient(pc)
	spa := models.NewSpaApplication()
	spa.SetRedirectUris(nonNil(spec.SPARedirectURIs))
	a.SetSpa(spa)
	rras := []models.RequiredResourceAccessable{}
	for _, rr := range spec.RequiredResourceAccess {
		m := models.NewRequiredResourceAccess()
		id := rr.ResourceAppID
		m.SetResourceAppId(&id)
		var ras []models.ResourceAccessable
		for _, p := range rr.Permissions {
			ra := models.NewResourceAccess()
			u := uuid.MustParse(p.ID) // checked by Validate
			ra.SetId(&u)
			t := p.Type
			ra.SetTypeEscaped(&t)
			ras = append(ras, ra)
		}
		m.SetResourceAccess(ras)
		rras = append(rras, m)
	}
	a.SetRequiredResourceAccess(rras)
	a.SetTags(nonNil(spec.Tags))
	if spec.Notes != "" {
		a.SetNotes(&spec.Notes)
	}
	return a
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// UpsertApplication creates or updates the application with the given uniqueName:
// PATCH /applications(uniqueName='…') with Prefer: create-if-missing (201 created, 204 updated; see
// https://learn.microsoft.com/graph/api/application-upsert). It returns the application and whether it
// was created.
func (c *Client) UpsertApplication(ctx context.Context, uniqueName string, spec ApplicationSpec) (Application, bool, error) {
	if uniqueName == "" || spec.DisplayName == "" {
		return Application{}, false, errors.New("graph: upsert application: uniqueName and DisplayName are required")
	}
	if err := spec.Validate(); err != nil {
		return Application{}, false, err
	}
	headers := abs.NewRequestHeaders()
	headers.Add("Prefer", "create-if-missing")
	b := applicationswithuniquename.NewApplicationsWithUniqueNameRequestBuilderInternal(c.pathParams(), c.adapter, &uniqueName)
	res, err := b.Patch(ctx, spec.model(), &applicationswithuniquename.ApplicationsWithUniqueNameRequestBuilderPatchRequestConfiguration{Headers: headers})
	if err != nil {
		return Application{}, false, mapError("upsert application", err)
	}
	if res != nil {
		return toApplication(res), true, nil
	}
	// 204: updated, no body. Read it back (retrying while a just-created app is still replicating).
	var got models.Applicationable
	err = c.retryReplication(ctx, func() error {
		var err error
		got, err = b.Get(ctx, nil)
		return mapError("get application", err)
	})
	if err != nil {
		return Application{}, false, err
	}
	if got == nil {
		return Application{}, false, fmt.Errorf("get application: %w", ErrNotFound)
	}
	return toApplication(got), false, nil
}

func toServicePrincipal(sp models.ServicePrincipalable) ServicePrincipal {
	out := ServicePrincipal{ObjectID: deref(sp.GetId()), AppID: deref(sp.GetAppId()), DisplayName: deref(sp.GetDisplayName())}
	for _, r := range sp.GetAppRoles() {
		if r == nil {
			continue
		}
		out.AppRoles = append(out.AppRoles, Permission{ID: uuidString(r.GetId()), Value: deref(r.GetValue()),
			DisplayName: deref(r.GetDisplayName()), Description: deref(r.GetDescription())})
	}
	for _, s := range sp.GetOauth2PermissionScopes() {
		if s == nil {
			continue
		}
		out.Scopes = append(out.Scopes, Permission{ID: uuidString(s.GetId()), Value: deref(s.GetValue()),
			DisplayName: deref(s.GetAdminConsentDisplayName()), Description: deref(s.GetAdminConsentDescription()),
			AdminOnly: deref(s.GetTypeEscaped()) == "Admin"})
	}
	return out
}

// UpsertServicePrincipal creates the application's service principal if it is missing
// (PATCH /servicePrincipals(appId='…') with Prefer: create-if-missing) and returns it. Right after the
// application was created Graph may not know it yet (NoBackingApplicationObject): that is retried with
// back-off until Config.ReplicationTimeout.
func (c *Client) UpsertServicePrincipal(ctx context.Context, appID string) (ServicePrincipal, bool, error) {
	headers := abs.NewRequestHeaders()
	headers.Add("Prefer", "create-if-missing")
	b := serviceprincipalswithappid.NewServicePrincipalsWithAppIdRequestBuilderInternal(c.pathParams(), c.adapter, &appID)
	var res models.ServicePrincipalable
	err := c.retryReplication(ctx, func() error {
		var err error
		res, err = b.Patch(ctx, models.NewServicePrincipal(), &serviceprincipalswithappid.ServicePrincipalsWithAppIdRequestBuilderPatchRequestConfiguration{Headers: headers})
		return mapError("upsert service principal", err)
	})
	if err != nil {
		return ServicePrincipal{}, false, err
	}
	if res != nil {
		return toServicePrincipal(res), true, nil
	}
	sp, err := c.ResourceServicePrincipal(ctx, appID)
	return sp, false, err
}

// ResourceServicePrincipal returns the service principal of appID in this tenant with its app roles and
// delegated scopes (GET /servicePrincipals(appId='…')). Permission IDs are global, but the service
// principal's object ID differs per tenant: look it up in every tenant.
func (c *Client) ResourceServicePrincipal(ctx context.Context, appID string) (ServicePrincipal, error) {
	b := serviceprincipalswithappid.NewServicePrincipalsWithAppIdRequestBuilderInternal(c.pathParams(), c.adapter, &appID)
	res, err := b.Get(ctx, &serviceprincipalswithappid.ServicePrincipalsWithAppIdRequestBuilderGetRequestConfiguration{
		QueryParameters: &serviceprincipalswithappid.ServicePrincipalsWithAppIdRequestBuilderGetQueryParameters{
			Select: []string{"id", "appId", "displayName", "appRoles", "oauth2PermissionScopes"},
		},
	})
	if err != nil {
		return ServicePrincipal{}, mapError("get service principal", err)
	}
	if res == nil {
		return ServicePrincipal{}, fmt.Errorf("get service principal: %w", ErrNotFound)
	}
	return toServicePrincipal(res), nil
}

// AddPassword adds a client secret ending at end (POST /applications/{id}/addPassword). The returned
// Secret.Text is the only time Graph discloses the value. A lifetime beyond the tenant's app management
// policy fails with ErrPolicyViolation. A 404 right after the application was created is retried.
func (c *Client) AddPassword(ctx context.Context, appObjectID, displayName string, end time.Time) (Secret, error) {
	body := applications.NewItemAddPasswordPostRequestBody()
	pc := models.NewPasswordCredential()
	pc.SetDisplayName(&displayName)
	if !end.IsZero() {
		e := end.UTC()
		pc.SetEndDateTime(&e)
	}
	body.SetPasswordCredential(pc)
	b := applications.NewApplicationsRequestBuilderInternal(c.pathParams(), c.adapter).ByApplicationId(appObjectID).AddPassword()
	var res models.PasswordCredentialable
	err := c.retryReplication(ctx, func() error {
		var err error
		res, err = b.Post(ctx, body, nil)
		return mapError("add password", err)
	})
	if err != nil {
		return Secret{}, err
	}
	if res == nil || res.GetSecretText() == nil {
		return Secret{}, errors.New("graph: add password: response without secretText")
	}
	return Secret{KeyID: uuidString(res.GetKeyId()), DisplayName: deref(res.GetDisplayName()), Hint: deref(res.GetHint()),
		Text: *res.GetSecretText(), Start: deref(res.GetStartDateTime()), End: deref(res.GetEndDateTime())}, nil
}

// RemovePassword removes a client secret (POST /applications/{id}/removePassword).
func (c *Client) RemovePassword(ctx context.Context, appObjectID, keyID string) error {
	id, err := uuid.Parse(keyID)
	if err != nil {
		return fmt.Errorf("graph: remove password: keyId: %w", err)
	}
	body := applications.NewItemRemovePasswordPostRequestBody()
	body.SetKeyId(&id)
	err = applications.NewApplicationsRequestBuilderInternal(c.pathParams(), c.adapter).ByApplicationId(appObjectID).RemovePassword().Post(ctx, body, nil)
	return mapError("remove password", err)
}

// GrantAppRole grants an application permission: assigns app role appRoleID of the resource service
// principal to the client service principal (POST /servicePrincipals/{resource}/appRoleAssignedTo). A grant
// that already exists is not an error. In a delegated call Microsoft Graph app roles need a Global or
// Privileged Role Administrator (ErrInsufficientPrivileges otherwise).
func (c *Client) GrantAppRole(ctx context.Context, clientSPID, resourceSPID, appRoleID string) error {
	a := models.NewAppRoleAssignment()
	pid, err1 := uuid.Parse(clientSPID)
	rid, err2 := uuid.Parse(resourceSPID)
	roleID, err3 := uuid.Parse(appRoleID)
	if err := errors.Join(err1, err2, err3); err != nil {
		return fmt.Errorf("graph: grant app role: %w", err)
	}
	a.SetPrincipalId(&pid)
	a.SetResourceId(&rid)
	a.SetAppRoleId(&roleID)
	b := serviceprincipals.NewServicePrincipalsRequestBuilderInternal(c.pathParams(), c.adapter).ByServicePrincipalId(resourceSPID).AppRoleAssignedTo()
	err := c.retryReplication(ctx, func() error {
		_, err := b.Post(ctx, a, nil)
		return mapError("grant app role", err)
	})
	var ge *Error
	// Graph answers a duplicate with 400 Request_BadRequest "Permission being assigned already exists on
	// the object." (graph-entra.md §1.7).
	if errors.As(err, &ge) && ge.Status == 400 && strings.Contains(ge.Message, "already exists") {
		return nil
	}
	return err
}

// GrantDelegated grants delegated scopes to the client for all users (an AllPrincipals
// oauth2PermissionGrant). Graph keeps one grant per client and resource, so an existing grant gets the
// scopes added (PATCH).
func (c *Client) GrantDelegated(ctx context.Context, clientSPID, resourceSPID string, scopes []string) error {
	g := models.NewOAuth2PermissionGrant()
	ct := "AllPrincipals"
	scope := strings.Join(scopes, " ")
	g.SetClientId(&clientSPID)
	g.SetResourceId(&resourceSPID)
	g.SetConsentType(&ct)
	g.SetScope(&scope)
	b := oauth2permissiongrants.NewOauth2PermissionGrantsRequestBuilderInternal(c.pathParams(), c.adapter)
	err := c.retryReplication(ctx, func() error {
		_, err := b.Post(ctx, g, nil)
		return mapError("grant delegated permissions", err)
	})
	if !errors.Is(err, ErrConflict) {
		return err
	}
	filter := fmt.Sprintf("clientId eq '%s'", clientSPID)
	res, err := b.Get(ctx, &oauth2permissiongrants.Oauth2PermissionGrantsRequestBuilderGetRequestConfiguration{
		QueryParameters: &oauth2permissiongrants.Oauth2PermissionGrantsRequestBuilderGetQueryParameters{Filter: &filter},
	})
	if err != nil {
		return mapError("list delegated grants", err)
	}
	if res == nil {
		return fmt.Errorf("list delegated grants: %w", ErrNotFound)
	}
	for _, x := range res.GetValue() {
		if x == nil || deref(x.GetResourceId()) != resourceSPID || deref(x.GetConsentType()) != "AllPrincipals" {
			continue
		}
		have := strings.Fields(deref(x.GetScope()))
		for _, s := range scopes {
			if !containsFold(have, s) {
				have = append(have, s)
			}
		}
		p := models.NewOAuth2PermissionGrant()
		merged := strings.Join(have, " ")
		p.SetScope(&merged)
		_, err := b.ByOAuth2PermissionGrantId(deref(x.GetId())).Patch(ctx, p, nil)
		return mapError("update delegated grant", err)
	}
	return fmt.Errorf("grant delegated permissions: %w", ErrConflict)
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// AppManagementPolicy reads the tenant's default app management policy's password lifetime restriction
// (GET /policies/defaultAppManagementPolicy), so the wizard can clamp a secret's lifetime in pre-flight.
func (c *Client) AppManagementPolicy(ctx context.Context) (PasswordPolicy, error) {
	res, err := policies.NewPoliciesRequestBuilderInternal(c.pathParams(), c.adapter).DefaultAppManagementPolicy().Get(ctx, nil)
	if err != nil {
		return PasswordPolicy{}, mapError("get app management policy", err)
	}
	if res == nil {
		return PasswordPolicy{}, fmt.Errorf("get app management policy: %w", ErrNotFound)
	}
	out := PasswordPolicy{Enabled: deref(res.GetIsEnabled())}
	if r := res.GetApplicationRestrictions(); r != nil {
		for _, pc := range r.GetPasswordCredentials() {
			if pc == nil || pc.GetRestrictionType() == nil || *pc.GetRestrictionType() != models.PASSWORDLIFETIME_APPCREDENTIALRESTRICTIONTYPE {
				continue
			}
			if st := pc.GetState(); st != nil && *st == models.DISABLED_APPMANAGEMENTRESTRICTIONSTATE {
				continue
			}
			if d := pc.GetMaxLifetime(); d != nil {
				out.MaxLifetime = time.Duration(d.GetWeeks())*7*24*time.Hour + time.Duration(d.GetDays())*24*time.Hour +
					time.Duration(d.GetHours())*time.Hour + time.Duration(d.GetMinutes())*time.Minute
			}
		}
	}
	return out, nil
}

// ServicePrincipalCredentials is a service principal with its own credentials (for example SAML signing
// certificates), which the credential inventory scans too.
type ServicePrincipalCredentials struct {
	ObjectID    string
	AppID       string
	DisplayName string
	Credentials []Credential
}

// ListServicePrincipalCredentials returns every service principal of the tenant with its
// passwordCredentials and keyCredentials, following @odata.nextLink with the PageIterator.
func (c *Client) ListServicePrincipalCredentials(ctx context.Context) ([]ServicePrincipalCredentials, error) {
	top := int32(999)
	cfg := &serviceprincipals.ServicePrincipalsRequestBuilderGetRequestConfiguration{
		QueryParameters: &serviceprincipals.ServicePrincipalsRequestBuilderGetQueryParameters{
			Select: []string{"id", "appId", "displayName", "passwordCredentials", "keyCredentials"},
			Top:    &top,
		},
	}
	res, err := serviceprincipals.NewServicePrincipalsRequestBuilderInternal(c.pathParams(), c.adapter).Get(ctx, cfg)
	if err != nil {
		return nil, mapError("list service principals", err)
	}
	if res == nil {
		return nil, errors.New("graph: list service principals: empty response")
	}
	it, err := msgraphgocore.NewPageIterator[models.ServicePrincipalable](res, c.adapter, models.CreateServicePrincipalCollectionResponseFromDiscriminatorValue)
	if err != nil {
		return nil, fmt.Errorf("graph: list service principals: page iterator: %w", err)
	}
	out := []ServicePrincipalCredentials{}
	err = it.Iterate(ctx, func(sp models.ServicePrincipalable) bool {
		if sp == nil {
			return true
		}
		s := ServicePrincipalCredentials{ObjectID: deref(sp.GetId()), AppID: deref(sp.GetAppId()), DisplayName: deref(sp.GetDisplayName())}
		for _, p := range sp.GetPasswordCredentials() {
			if p != nil {
				s.Credentials = append(s.Credentials, Credential{Kind: CredentialPassword, KeyID: uuidString(p.GetKeyId()),
					DisplayName: deref(p.GetDisplayName()), Hint: deref(p.GetHint()), Start: deref(p.GetStartDateTime()), End: deref(p.GetEndDateTime())})
			}
		}
		for _, k := range sp.GetKeyCredentials() {
			if k != nil {
				cr := Credential{Kind: CredentialCertificate, KeyID: uuidString(k.GetKeyId()), DisplayName: deref(k.GetDisplayName()),
					Start: deref(k.GetStartDateTime()), End: deref(k.GetEndDateTime())}
				if id := k.GetCustomKeyIdentifier(); len(id) > 0 {
					cr.Thumbprint = base64.StdEncoding.EncodeToString(id)
				}
				s.Credentials = append(s.Credentials, cr)
			}
		}
		out = append(out, s)
		return true
	})
	if err != nil {
		return nil, mapError("list service principals", err)
	}
	return out, nil
}

// DeleteApplication deletes an application registration (DELETE /applications/{id}); Graph moves it to
// deleted items and deletes its service principal.
func (c *Client) DeleteApplication(ctx context.Context, appObjectID string) error {
	err := applications.NewApplicationsRequestBuilderInternal(c.pathParams(), c.adapter).ByApplicationId(appObjectID).Delete(ctx, nil)
	return mapError("delete application", err)
}

// ApplicationByUniqueName returns the application with the given uniqueName
// (GET /applications(uniqueName='…')), or an error wrapping ErrNotFound.
func (c *Client) ApplicationByUniqueName(ctx context.Context, uniqueName string) (Application, error) {
	res, err := applicationswithuniquename.NewApplicationsWithUniqueNameRequestBuilderInternal(c.pathParams(), c.adapter, &uniqueName).Get(ctx, nil)
	if err != nil {
		return Application{}, mapError("get application", err)
	}
	if res == nil {
		return Application{}, fmt.Errorf("get application: %w", ErrNotFound)
	}
	return toApplication(res), nil
}

// GetApplication returns an application by object ID with its credentials.
func (c *Client) GetApplication(ctx context.Context, objectID string) (Application, error) {
	res, err := applications.NewApplicationsRequestBuilderInternal(c.pathParams(), c.adapter).ByApplicationId(objectID).Get(ctx, nil)
	if err != nil {
		return Application{}, mapError("get application", err)
	}
	if res == nil {
		return Application{}, fmt.Errorf("get application: %w", ErrNotFound)
	}
	return toApplication(res), nil
}
