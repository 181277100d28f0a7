package entrasim

import (
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"time"
)

// The JSON shapes below follow the v1.0 CSDL
// (https://github.com/microsoftgraph/msgraph-metadata/blob/master/schemas/v1.0-Prod.csdl) and the example
// response of https://learn.microsoft.com/graph/api/application-post-applications:
// not-nullable collections are [] rather than null, unset strings are null.

type appData struct {
	ID                     string                   `json:"id"`
	DeletedDateTime        *string                  `json:"deletedDateTime"`
	IsFallbackPublicClient *bool                    `json:"isFallbackPublicClient"`
	AppID                  string                   `json:"appId"`
	ApplicationTemplateID  *string                  `json:"applicationTemplateId"`
	IdentifierUris         []string                 `json:"identifierUris"`
	CreatedDateTime        string                   `json:"createdDateTime"`
	Description            *string                  `json:"description"`
	DisplayName            string                   `json:"displayName"`
	GroupMembershipClaims  *string                  `json:"groupMembershipClaims"`
	Notes                  *string                  `json:"notes"`
	OptionalClaims         any                      `json:"optionalClaims"`
	PublisherDomain        string                   `json:"publisherDomain"`
	SignInAudience         string                   `json:"signInAudience"`
	Tags                   []string                 `json:"tags"`
	UniqueName             *string                  `json:"uniqueName"`
	API                    apiApplication           `json:"api"`
	AppRoles               []appRoleJSON            `json:"appRoles"`
	Info                   infoJSON                 `json:"info"`
	KeyCredentials         []keyCredential          `json:"keyCredentials"`
	PasswordCredentials    []passwordCredential     `json:"passwordCredentials"`
	PublicClient           redirectList             `json:"publicClient"`
	Spa                    redirectList             `json:"spa"`
	RequiredResourceAccess []requiredResourceAccess `json:"requiredResourceAccess"`
	Web                    webApplication           `json:"web"`
}

type apiApplication struct {
	RequestedAccessTokenVersion *int              `json:"requestedAccessTokenVersion"`
	AcceptMappedClaims          *bool             `json:"acceptMappedClaims"`
	KnownClientApplications     []string          `json:"knownClientApplications"`
	Oauth2PermissionScopes      []permissionScope `json:"oauth2PermissionScopes"`
	PreAuthorizedApplications   []any             `json:"preAuthorizedApplications"`
}

type infoJSON struct {
	TermsOfServiceURL   *string `json:"termsOfServiceUrl"`
	SupportURL          *string `json:"supportUrl"`
	PrivacyStatementURL *string `json:"privacyStatementUrl"`
	MarketingURL        *string `json:"marketingUrl"`
	LogoURL             *string `json:"logoUrl"`
}

type redirectList struct {
	RedirectURIs []string `json:"redirectUris"`
}

type webApplication struct {
	HomePageURL           *string               `json:"homePageUrl"`
	LogoutURL             *string               `json:"logoutUrl"`
	RedirectURIs          []string              `json:"redirectUris"`
	ImplicitGrantSettings implicitGrantSettings `json:"implicitGrantSettings"`
}

type implicitGrantSettings struct {
	EnableIDTokenIssuance     bool `json:"enableIdTokenIssuance"`
	EnableAccessTokenIssuance bool `json:"enableAccessTokenIssuance"`
}

type requiredResourceAccess struct {
	ResourceAppID  string           `json:"resourceAppId"`
	ResourceAccess []resourceAccess `json:"resourceAccess"`
}

type resourceAccess struct {
	ID   string `json:"id"`
	Type string `json:"type"` // Scope (delegated) or Role (application)
}

type appRoleJSON struct {
	AllowedMemberTypes []string `json:"allowedMemberTypes"`
	Description        string   `json:"description"`
	DisplayName        string   `json:"displayName"`
	ID                 string   `json:"id"`
	IsEnabled          bool     `json:"isEnabled"`
	Origin             string   `json:"origin,omitempty"`
	Value              string   `json:"value"`
}

type permissionScope struct {
	AdminConsentDescription string  `json:"adminConsentDescription"`
	AdminConsentDisplayName string  `json:"adminConsentDisplayName"`
	ID                      string  `json:"id"`
	IsEnabled               bool    `json:"isEnabled"`
	Type                    string  `json:"type"` // User or Admin
	UserConsentDescription  *string `json:"userConsentDescription"`
	UserConsentDisplayName  *string `json:"userConsentDisplayName"`
	Value                   string  `json:"value"`
}

// passwordCredential per https://learn.microsoft.com/graph/api/resources/passwordcredential.
type passwordCredential struct {
	CustomKeyIdentifier *string `json:"customKeyIdentifier"`
	DisplayName         *string `json:"displayName"`
	EndDateTime         string  `json:"endDateTime"`
	Hint                string  `json:"hint"`
	KeyID               string  `json:"keyId"`
	SecretText          *string `json:"secretText"`
	StartDateTime       string  `json:"startDateTime"`
}

// keyCredential per https://learn.microsoft.com/graph/api/resources/keycredential.
type keyCredential struct {
	CustomKeyIdentifier *string `json:"customKeyIdentifier"`
	DisplayName         *string `json:"displayName"`
	EndDateTime         string  `json:"endDateTime"`
	Key                 *string `json:"key"`
	KeyID               string  `json:"keyId"`
	StartDateTime       string  `json:"startDateTime"`
	Type                string  `json:"type"`
	Usage               string  `json:"usage"`
}

func newKeyCredential(der []byte, displayName string, start, end time.Time) keyCredential {
	sum := sha1.Sum(der)
	thumb := base64.StdEncoding.EncodeToString(sum[:])
	key := base64.StdEncoding.EncodeToString(der)
	if c, err := x509.ParseCertificate(der); err == nil {
		if start.IsZero() {
			start = c.NotBefore
		}
		if end.IsZero() {
			end = c.NotAfter
		}
		if displayName == "" {
			displayName = "CN=" + c.Subject.CommonName
		}
	}
	return keyCredential{
		CustomKeyIdentifier: &thumb, DisplayName: &displayName, EndDateTime: graphTime(end), Key: &key,
		KeyID: newGUID(), StartDateTime: graphTime(start), Type: "AsymmetricX509Cert", Usage: "Verify",
	}
}

func newAppData(id, appID, displayName, domain string, now time.Time) appData {
	v2 := 2
	return appData{
		ID: id, AppID: appID, DisplayName: displayName, CreatedDateTime: graphTime(now),
		IdentifierUris: []string{}, PublisherDomain: domain, SignInAudience: "AzureADMyOrg", Tags: []string{},
		API: apiApplication{RequestedAccessTokenVersion: &v2, KnownClientApplications: []string{},
			Oauth2PermissionScopes: []permissionScope{}, PreAuthorizedApplications: []any{}},
		AppRoles: []appRoleJSON{}, KeyCredentials: []keyCredential{}, PasswordCredentials: []passwordCredential{},
		PublicClient: redirectList{RedirectURIs: []string{}}, Spa: redirectList{RedirectURIs: []string{}},
		RequiredResourceAccess: []requiredResourceAccess{},
		Web:                    webApplication{RedirectURIs: []string{}},
	}
}

func (d *appData) addRequiredAccess(resourceAppID, id, typ string) {
	for i := range d.RequiredResourceAccess {
		rra := &d.RequiredResourceAccess[i]
		if rra.ResourceAppID == resourceAppID {
			for _, ra := range rra.ResourceAccess {
				if ra.ID == id && ra.Type == typ {
					return
				}
			}
			rra.ResourceAccess = append(rra.ResourceAccess, resourceAccess{ID: id, Type: typ})
			return
		}
	}
	d.RequiredResourceAccess = append(d.RequiredResourceAccess, requiredResourceAccess{
		ResourceAppID: resourceAppID, ResourceAccess: []resourceAccess{{ID: id, Type: typ}},
	})
}

// normalize restores [] for collections a PATCH may have set to null.
func (d *appData) normalize() {
	if d.IdentifierUris == nil {
		d.IdentifierUris = []string{}
	}
	if d.Tags == nil {
		d.Tags = []string{}
	}
	if d.AppRoles == nil {
		d.AppRoles = []appRoleJSON{}
	}
	if d.KeyCredentials == nil {
		d.KeyCredentials = []keyCredential{}
	}
	if d.PasswordCredentials == nil {
		d.PasswordCredentials = []passwordCredential{}
	}
	if d.RequiredResourceAccess == nil {
		d.RequiredResourceAccess = []requiredResourceAccess{}
	}
	if d.Web.RedirectURIs == nil {
		d.Web.RedirectURIs = []string{}
	}
	if d.Spa.RedirectURIs == nil {
		d.Spa.RedirectURIs = []string{}
	}
	if d.PublicClient.RedirectURIs == nil {
		d.PublicClient.RedirectURIs = []string{}
	}
	if d.API.Oauth2PermissionScopes == nil {
		d.API.Oauth2PermissionScopes = []permissionScope{}
	}
	if d.API.KnownClientApplications == nil {
		d.API.KnownClientApplications = []string{}
	}
	if d.API.PreAuthorizedApplications == nil {
		d.API.PreAuthorizedApplications = []any{}
	}
	for i := range d.RequiredResourceAccess {
		if d.RequiredResourceAccess[i].ResourceAccess == nil {
			d.RequiredResourceAccess[i].ResourceAccess = []resourceAccess{}
		}
	}
}

// spData follows https://learn.microsoft.com/graph/api/resources/serviceprincipal.
type spData struct {
	ID                        string            `json:"id"`
	DeletedDateTime           *string           `json:"deletedDateTime"`
	AccountEnabled            bool              `json:"accountEnabled"`
	AppDisplayName            string            `json:"appDisplayName"`
	AppDescription            *string           `json:"appDescription"`
	AppID                     string            `json:"appId"`
	AppOwnerOrganizationID    string            `json:"appOwnerOrganizationId"`
	AppRoleAssignmentRequired bool              `json:"appRoleAssignmentRequired"`
	CreatedDateTime           string            `json:"createdDateTime"`
	Description               *string           `json:"description"`
	DisplayName               string            `json:"displayName"`
	Homepage                  *string           `json:"homepage"`
	Notes                     *string           `json:"notes"`
	PublisherName             string            `json:"publisherName"`
	ReplyUrls                 []string          `json:"replyUrls"`
	ServicePrincipalNames     []string          `json:"servicePrincipalNames"`
	ServicePrincipalType      string            `json:"servicePrincipalType"`
	SignInAudience            string            `json:"signInAudience"`
	Tags                      []string          `json:"tags"`
	AppRoles                  []appRoleJSON     `json:"appRoles"`
	KeyCredentials            []keyCredential   `json:"keyCredentials"`
	Oauth2PermissionScopes    []permissionScope `json:"oauth2PermissionScopes"`
	PasswordCredentials       []any             `json:"passwordCredentials"`
}

func newSPFromResource(t *tenant, r *resource, now time.Time) *servicePrincipal {
	return &servicePrincipal{TenantID: t.ID, Created: now, Data: spData{
		ID: newGUID(), AccountEnabled: true, AppDisplayName: r.DisplayName, AppID: r.AppID,
		AppOwnerOrganizationID: "f8cdef31-a31e-4b4a-93e4-5f571e91255a", // Microsoft Services tenant
		CreatedDateTime:        graphTime(now), DisplayName: r.DisplayName, PublisherName: "Microsoft Services",
		ReplyUrls: []string{}, ServicePrincipalNames: append([]string{r.AppID}, r.URIs...),
		ServicePrincipalType: "Application", SignInAudience: "AzureADMultipleOrgs", Tags: []string{},
		AppRoles: r.appRolesJSON(), KeyCredentials: []keyCredential{}, Oauth2PermissionScopes: r.scopesJSON(),
		PasswordCredentials: []any{},
	}}
}

func (s *Sim) newSPForApp(t *tenant, app *application, now time.Time) *servicePrincipal {
	home := s.tenants[app.TenantID]
	roles := make([]appRoleJSON, len(app.Data.AppRoles))
	copy(roles, app.Data.AppRoles)
	scopes := make([]permissionScope, len(app.Data.API.Oauth2PermissionScopes))
	copy(scopes, app.Data.API.Oauth2PermissionScopes)
	reply := append([]string{}, app.Data.Web.RedirectURIs...)
	reply = append(reply, app.Data.PublicClient.RedirectURIs...)
	return &servicePrincipal{TenantID: t.ID, Created: now, VisibleAt: now.Add(s.lag), Data: spData{
		ID: newGUID(), AccountEnabled: true, AppDisplayName: app.Data.DisplayName, AppID: app.AppID,
		AppOwnerOrganizationID: home.ID, CreatedDateTime: graphTime(now), DisplayName: app.Data.DisplayName,
		PublisherName: home.DisplayName, ReplyUrls: reply,
		ServicePrincipalNames: append([]string{app.AppID}, app.Data.IdentifierUris...),
		ServicePrincipalType:  "Application", SignInAudience: app.Data.SignInAudience, Tags: []string{},
		AppRoles: roles, KeyCredentials: []keyCredential{}, Oauth2PermissionScopes: scopes,
		PasswordCredentials: []any{},
	}}
}
