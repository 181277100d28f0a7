package graph

import (
	"context"
	"errors"
	"strings"

	abs "github.com/microsoft/kiota-abstractions-go"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
)

// User is the signed-in user of a delegated client.
type User struct {
	ObjectID          string
	DisplayName       string
	UserPrincipalName string
}

// DirectoryRole is an Entra directory role a user holds, by template ID (the
// same in every tenant) and name.
type DirectoryRole struct {
	TemplateID  string
	DisplayName string
}

// Directory role template IDs that decide who may grant what
// (https://learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference).
const (
	RoleGlobalAdministrator           = "62e90394-69f5-4237-9190-012177145e10"
	RolePrivilegedRoleAdministrator   = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	RoleApplicationAdministrator      = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
	RoleCloudApplicationAdministrator = "158c047a-c907-4556-b7ef-446551a6b5f7"
)

var errorMapping = abs.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue}

// get sends a GET for a path below the Graph root (the SDK's request
// builders for /me would pull in one more large package for two calls).
func (c *Client) get(ctx context.Context, path string, factory absser.ParsableFactory) (absser.Parsable, error) {
	ri := abs.NewRequestInformation()
	ri.Method = abs.GET
	ri.UrlTemplate = "{+baseurl}" + path
	ri.PathParameters = c.pathParams()
	ri.Headers.TryAdd("Accept", "application/json")
	return c.adapter.Send(ctx, ri, factory, errorMapping)
}

// Me returns the signed-in user (GET /me; delegated clients only).
func (c *Client) Me(ctx context.Context) (User, error) {
	res, err := c.get(ctx, "/me?%24select=id,displayName,userPrincipalName", models.CreateUserFromDiscriminatorValue)
	if err != nil {
		return User{}, mapError("get me", err)
	}
	u, ok := res.(models.Userable)
	if !ok || u == nil || u.GetId() == nil {
		return User{}, errors.New("graph: get me: response without a user")
	}
	return User{ObjectID: deref(u.GetId()), DisplayName: text(u.GetDisplayName()), UserPrincipalName: text(u.GetUserPrincipalName())}, nil
}

// MyDirectoryRoles returns the directory roles the signed-in user holds,
// directly or through groups (GET /me/transitiveMemberOf, keeping the
// directoryRole objects; User.Read suffices for the signed-in user:
// https://learn.microsoft.com/graph/api/user-list-transitivememberof).
func (c *Client) MyDirectoryRoles(ctx context.Context) ([]DirectoryRole, error) {
	res, err := c.get(ctx, "/me/transitiveMemberOf", models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue)
	if err != nil {
		return nil, mapError("list my directory roles", err)
	}
	out := []DirectoryRole{}
	err = iterate(ctx, c, "list my directory roles", res, models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue, func(o models.DirectoryObjectable) {
		if r, ok := o.(models.DirectoryRoleable); ok {
			out = append(out, DirectoryRole{TemplateID: strings.ToLower(deref(r.GetRoleTemplateId())), DisplayName: text(r.GetDisplayName())})
		}
	})
	return out, err
}
