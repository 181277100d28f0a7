package graph

import (
	"context"
	"fmt"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipalswithappid"
)

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

func toServicePrincipal(sp models.ServicePrincipalable) ServicePrincipal {
	out := ServicePrincipal{ObjectID: deref(sp.GetId()), AppID: deref(sp.GetAppId()), DisplayName: text(sp.GetDisplayName())}
	for _, r := range sp.GetAppRoles() {
		if r == nil {
			continue
		}
		out.AppRoles = append(out.AppRoles, Permission{ID: uuidString(r.GetId()), Value: deref(r.GetValue()),
			DisplayName: text(r.GetDisplayName()), Description: text(r.GetDescription())})
	}
	for _, s := range sp.GetOauth2PermissionScopes() {
		if s == nil {
			continue
		}
		out.Scopes = append(out.Scopes, Permission{ID: uuidString(s.GetId()), Value: deref(s.GetValue()),
			DisplayName: text(s.GetAdminConsentDisplayName()), Description: text(s.GetAdminConsentDescription()),
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

// ServicePrincipalCredentials is a service principal with its own credentials (for example SAML signing
// certificates), which the credential inventory scans too.
type ServicePrincipalCredentials struct {
	ObjectID    string
	AppID       string
	DisplayName string
	NameCleaned bool // as Application.NameCleaned
	Credentials []Credential
	// CredentialsListed: the response carried both credential lists (a
	// delta may leave out properties that did not change).
	CredentialsListed bool
}

// ListServicePrincipalCredentials returns every service principal of the tenant with its
// passwordCredentials and keyCredentials, following @odata.nextLink.
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
	out := []ServicePrincipalCredentials{}
	err = iterate(ctx, c, "list service principals", res, models.CreateServicePrincipalCollectionResponseFromDiscriminatorValue, func(sp models.ServicePrincipalable) {
		out = append(out, ServicePrincipalCredentials{ObjectID: deref(sp.GetId()), AppID: deref(sp.GetAppId()), DisplayName: text(sp.GetDisplayName()),
			NameCleaned: cleaned(sp.GetDisplayName()), Credentials: credentials(sp.GetPasswordCredentials(), sp.GetKeyCredentials())})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
