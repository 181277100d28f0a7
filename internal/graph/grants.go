package graph

import (
	"context"
	"fmt"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/oauth2permissiongrants"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
)

// Grants are the permissions granted to a client service principal: app
// role assignments (application permissions) and AllPrincipals delegated
// grants, both keyed by the resource service principal's object ID.
type Grants struct {
	// AppRoles maps resource service principal ID to the granted app role IDs.
	AppRoles map[string][]string
	// Scopes maps resource service principal ID to the scopes granted for all users.
	Scopes map[string][]string
}

// HasAppRole reports whether app role roleID of resource resourceSPID is granted.
func (g Grants) HasAppRole(resourceSPID, roleID string) bool {
	for _, id := range g.AppRoles[resourceSPID] {
		if strings.EqualFold(id, roleID) {
			return true
		}
	}
	return false
}

// HasScope reports whether the delegated scope is granted for all users.
func (g Grants) HasScope(resourceSPID, scope string) bool {
	return containsFold(g.Scopes[resourceSPID], scope)
}

// ListGrants reads what is granted to the client service principal
// (GET /servicePrincipals/{id}/appRoleAssignments and, withDelegated,
// GET /oauth2PermissionGrants?$filter=clientId eq '{id}'): the wizard's
// check that consent really happened. The first needs Application.Read.All
// (https://learn.microsoft.com/graph/api/serviceprincipal-list-approleassignments),
// which the portal holds app-only in connected tenants; the second needs
// Directory.Read.All or DelegatedPermissionGrant.ReadWrite.All
// (https://learn.microsoft.com/graph/api/serviceprincipal-list-oauth2permissiongrants),
// which only the admin's delegated token has, so Scopes is nil without it.
func (c *Client) ListGrants(ctx context.Context, clientSPID string, withDelegated bool) (Grants, error) {
	g := Grants{AppRoles: map[string][]string{}, Scopes: map[string][]string{}}
	res, err := serviceprincipals.NewServicePrincipalsRequestBuilderInternal(c.pathParams(), c.adapter).
		ByServicePrincipalId(clientSPID).AppRoleAssignments().Get(ctx, nil)
	if err != nil {
		return Grants{}, mapError("list app role assignments", err)
	}
	err = iterate(ctx, c, "list app role assignments", res, models.CreateAppRoleAssignmentCollectionResponseFromDiscriminatorValue, func(a models.AppRoleAssignmentable) {
		rid := uuidString(a.GetResourceId())
		g.AppRoles[rid] = append(g.AppRoles[rid], uuidString(a.GetAppRoleId()))
	})
	if err != nil {
		return Grants{}, err
	}
	if !withDelegated {
		g.Scopes = nil
		return g, nil
	}
	filter := fmt.Sprintf("clientId eq '%s'", clientSPID)
	gres, err := oauth2permissiongrants.NewOauth2PermissionGrantsRequestBuilderInternal(c.pathParams(), c.adapter).Get(ctx,
		&oauth2permissiongrants.Oauth2PermissionGrantsRequestBuilderGetRequestConfiguration{
			QueryParameters: &oauth2permissiongrants.Oauth2PermissionGrantsRequestBuilderGetQueryParameters{Filter: &filter},
		})
	if err != nil {
		return Grants{}, mapError("list delegated grants", err)
	}
	err = iterate(ctx, c, "list delegated grants", gres, models.CreateOAuth2PermissionGrantCollectionResponseFromDiscriminatorValue, func(x models.OAuth2PermissionGrantable) {
		if deref(x.GetConsentType()) != "AllPrincipals" {
			return
		}
		rid := deref(x.GetResourceId())
		g.Scopes[rid] = append(g.Scopes[rid], strings.Fields(deref(x.GetScope()))...)
	})
	if err != nil {
		return Grants{}, err
	}
	return g, nil
}
