package graph

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
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
	// the object." (what the service returns; not documented on
	// https://learn.microsoft.com/graph/api/serviceprincipal-post-approleassignedto).
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

// AppRoleAssignment is one application permission granted to a service principal.
type AppRoleAssignment struct {
	ResourceID string // the resource service principal's object ID
	AppRoleID  string
	Created    time.Time
}

// AppRoleAssignments lists the application permissions granted to the client service principal with
// when each was granted (GET /servicePrincipals/{id}/appRoleAssignments; Application.Read.All app-only,
// https://learn.microsoft.com/graph/api/serviceprincipal-list-approleassignments). The portal reads its
// own grants in a customer tenant with it after consent: an admin consent for ".default" grants whatever
// is configured on the app, so the portal checks what it actually got.
func (c *Client) AppRoleAssignments(ctx context.Context, clientSPID string) ([]AppRoleAssignment, error) {
	res, err := serviceprincipals.NewServicePrincipalsRequestBuilderInternal(c.pathParams(), c.adapter).
		ByServicePrincipalId(clientSPID).AppRoleAssignments().Get(ctx, nil)
	if err != nil {
		return nil, mapError("list app role assignments", err)
	}
	var out []AppRoleAssignment
	err = iterate(ctx, c, "list app role assignments", res, models.CreateAppRoleAssignmentCollectionResponseFromDiscriminatorValue, func(a models.AppRoleAssignmentable) {
		if a == nil {
			return
		}
		out = append(out, AppRoleAssignment{ResourceID: uuidString(a.GetResourceId()), AppRoleID: strings.ToLower(uuidString(a.GetAppRoleId())),
			Created: deref(a.GetCreatedDateTime())})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
