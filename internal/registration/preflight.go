package registration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/appreg-portal/portal/internal/catalog"
	"github.com/appreg-portal/portal/internal/graph"
)

// Graph is what a run needs of Microsoft Graph (*graph.Client, with the
// admin's delegated token).
type Graph interface {
	Me(ctx context.Context) (graph.User, error)
	MyDirectoryRoles(ctx context.Context) ([]graph.DirectoryRole, error)
	Organization(ctx context.Context) (graph.Organization, error)
	AppManagementPolicy(ctx context.Context) (graph.PasswordPolicy, error)
	AppPasswordPolicy(ctx context.Context, appObjectID string) (time.Duration, bool, error)
	ApplicationByUniqueName(ctx context.Context, uniqueName string) (graph.Application, error)
	ResourceServicePrincipal(ctx context.Context, appID string) (graph.ServicePrincipal, error)

	UpsertApplication(ctx context.Context, uniqueName string, spec graph.ApplicationSpec) (graph.Application, bool, error)
	UpsertServicePrincipal(ctx context.Context, appID string) (graph.ServicePrincipal, bool, error)
	GrantAppRole(ctx context.Context, clientSPID, resourceSPID, appRoleID string) error
	GrantDelegated(ctx context.Context, clientSPID, resourceSPID string, scopes []string) error
	AddPassword(ctx context.Context, appObjectID, displayName string, end time.Time) (graph.Secret, error)
	RemovePassword(ctx context.Context, appObjectID, keyID string) error
	GetApplication(ctx context.Context, objectID string) (graph.Application, error)
	ApplicationOwners(ctx context.Context, objectID string) (int, error)
	ListGrants(ctx context.Context, clientSPID string, withDelegated bool) (graph.Grants, error)
}

// Preflight is what the wizard learned about the tenant and the signed-in
// admin before anything is written. It is stored with the run (no secrets).
type Preflight struct {
	CheckedAt time.Time `json:"checkedAt"`
	UserID    string    `json:"userId"`
	UserName  string    `json:"userName"`
	UserUPN   string    `json:"userUpn"`
	Roles     []string  `json:"roles"`
	// CanGrantGraphRoles: Global or Privileged Role Administrator, who may
	// grant Microsoft Graph application permissions.
	CanGrantGraphRoles bool `json:"canGrantGraphRoles"`
	// CanGrantOthers: also Application or Cloud Application Administrator,
	// who may grant everything else.
	CanGrantOthers bool `json:"canGrantOthers"`
	// PolicyMaxDays is the longest secret the tenant allows (0: no limit),
	// or the app's own policy when AppPolicy.
	PolicyMaxDays int  `json:"policyMaxDays"`
	AppPolicy     bool `json:"appPolicy,omitempty"`
	// Existing is the app this blueprint registered before in the tenant.
	Existing  *ExistingApp  `json:"existing,omitempty"`
	Resources []ResourceSP  `json:"resources"`
	IDs       PermissionIDs `json:"ids,omitempty"`
	Warnings  []string      `json:"warnings,omitempty"`
}

// PermissionIDs maps resource appId|type|name to the GUID found in the tenant.
type PermissionIDs = map[string]string

// ExistingApp is an application found by the blueprint's uniqueName.
type ExistingApp struct {
	ObjectID    string `json:"objectId"`
	AppID       string `json:"appId"`
	DisplayName string `json:"displayName"`
	Secrets     int    `json:"secrets"`
}

// ResourceSP is a resource service principal in the tenant.
type ResourceSP struct {
	AppID    string `json:"appId"`
	Name     string `json:"name"`
	ObjectID string `json:"objectId,omitempty"`
	// Create: missing, and the run creates it (Exchange Online's is missing
	// in tenants that never had Exchange).
	Create bool `json:"create,omitempty"`
}

// PolicyMax is the tenant's longest secret lifetime, 0 if none.
func (pf Preflight) PolicyMax() time.Duration {
	return time.Duration(pf.PolicyMaxDays) * 24 * time.Hour
}

// CanGrant reports whether the signed-in admin may grant p tenant-wide.
func (pf Preflight) CanGrant(p catalog.Permission) bool {
	if p.ConsentRole() == catalog.RolePrivilegedRoleAdmin {
		return pf.CanGrantGraphRoles
	}
	return pf.CanGrantOthers
}

// Resource returns the pre-flight's record of a resource.
func (pf Preflight) Resource(appID string) (ResourceSP, bool) {
	for _, r := range pf.Resources {
		if strings.EqualFold(r.AppID, appID) {
			return r, true
		}
	}
	return ResourceSP{}, false
}

// ErrWrongTenant: the admin signed in to another tenant than the run's.
var ErrWrongTenant = errors.New("registration: signed in to another tenant")

// wrongTenant says which tenant the admin signed in to instead.
func wrongTenant(org graph.Organization) error {
	return problem(ErrWrongTenant, Msg("wizard.err.wrong_tenant_named", "Tenant", org.DisplayName, "TenantID", org.TenantID))
}

// WarnCannotGrant is the pre-flight's warning (a message ID) that the
// signed-in admin can grant nothing for the organisation.
const WarnCannotGrant = "wizard.warn_cannot_grant"

// RunPreflight reads, with the admin's token, everything the review needs.
// It writes nothing.
func RunPreflight(ctx context.Context, g Graph, tenantID string, p Plan, now time.Time) (Preflight, error) {
	pf, err := readAdmin(ctx, g, tenantID, now)
	if err != nil {
		return Preflight{}, err
	}
	app, err := g.ApplicationByUniqueName(ctx, p.UniqueName)
	switch {
	case err == nil:
		n := 0
		for _, c := range app.Credentials {
			if c.Kind == graph.CredentialPassword {
				n++
			}
		}
		pf.Existing = &ExistingApp{ObjectID: app.ObjectID, AppID: app.AppID, DisplayName: app.DisplayName, Secrets: n}
		if err := pf.readAppPolicy(ctx, g, app.ObjectID); err != nil {
			return Preflight{}, err
		}
	case errors.Is(err, graph.ErrNotFound):
	default:
		return Preflight{}, fmt.Errorf("look for an earlier registration: %w", err)
	}
	pf.IDs = PermissionIDs{}
	for _, res := range p.Resources() {
		sp, err := g.ResourceServicePrincipal(ctx, res.AppID)
		switch {
		case err == nil:
			pf.Resources = append(pf.Resources, ResourceSP{AppID: strings.ToLower(res.AppID), Name: sp.DisplayName, ObjectID: sp.ObjectID})
			if err := resolveIDs(p, res, sp, pf.IDs); err != nil {
				return Preflight{}, err
			}
		case errors.Is(err, graph.ErrNotFound) && strings.EqualFold(res.AppID, graph.ExchangeOnlineAppID):
			pf.Resources = append(pf.Resources, ResourceSP{AppID: strings.ToLower(res.AppID), Name: res.Name, Create: true})
		case errors.Is(err, graph.ErrNotFound):
			return Preflight{}, problem(ErrResourceMissing, Msg("wizard.err.resource_missing", "Resource", res.Name, "AppID", res.AppID))
		default:
			return Preflight{}, fmt.Errorf("look up %s in the tenant: %w", res.Name, err)
		}
	}
	if !pf.CanGrantOthers {
		// Kept with the pre-flight as a message ID; the review words it.
		pf.Warnings = append(pf.Warnings, WarnCannotGrant)
	}
	return pf, nil
}

// readAdmin is the part of every pre-flight about the tenant and the admin:
// that the sign-in is to tenantID, who signed in, what their directory roles
// let them grant, and the tenant's longest secret.
func readAdmin(ctx context.Context, g Graph, tenantID string, now time.Time) (Preflight, error) {
	pf := Preflight{CheckedAt: now.UTC()}
	org, err := g.Organization(ctx)
	if err != nil {
		return pf, fmt.Errorf("read the organisation: %w", err)
	}
	if !strings.EqualFold(org.TenantID, tenantID) {
		return pf, wrongTenant(org)
	}
	me, err := g.Me(ctx)
	if err != nil {
		return pf, fmt.Errorf("read the signed-in user: %w", err)
	}
	pf.UserID, pf.UserName, pf.UserUPN = me.ObjectID, me.DisplayName, me.UserPrincipalName
	roles, err := g.MyDirectoryRoles(ctx)
	if err != nil {
		return pf, fmt.Errorf("read the signed-in user's roles: %w", err)
	}
	for _, r := range roles {
		pf.Roles = append(pf.Roles, r.DisplayName)
		switch r.TemplateID {
		case graph.RoleGlobalAdministrator, graph.RolePrivilegedRoleAdministrator:
			pf.CanGrantGraphRoles, pf.CanGrantOthers = true, true
		case graph.RoleApplicationAdministrator, graph.RoleCloudApplicationAdministrator:
			pf.CanGrantOthers = true
		}
	}
	pol, err := g.AppManagementPolicy(ctx)
	if err != nil {
		return pf, fmt.Errorf("read the app management policy: %w", err)
	}
	if pol.Enabled && pol.MaxLifetime > 0 {
		pf.PolicyMaxDays = int(pol.MaxLifetime / (24 * time.Hour))
	}
	return pf, nil
}

// readAppPolicy applies an app's own management policy, which overrides the
// tenant default.
func (pf *Preflight) readAppPolicy(ctx context.Context, g Graph, appObjectID string) error {
	max, ok, err := g.AppPasswordPolicy(ctx, appObjectID)
	if err != nil {
		return fmt.Errorf("read the app's own management policy: %w", err)
	}
	if ok {
		pf.PolicyMaxDays, pf.AppPolicy = int(max/(24*time.Hour)), true
	}
	return nil
}

// ErrResourceMissing: a permission's API is not in the tenant.
var ErrResourceMissing = errors.New("registration: resource service principal missing")

// resolveIDs checks the plan's permissions of one resource against what
// its service principal offers: by value, as Microsoft recommends, since a
// table can be out of date. A permission the tenant does not offer is an
// error, never dropped.
func resolveIDs(p Plan, res catalog.Resource, sp graph.ServicePrincipal, ids PermissionIDs) error {
	for _, rp := range p.Permissions {
		perm := rp.Permission
		if !strings.EqualFold(perm.Resource.AppID, res.AppID) {
			continue
		}
		list := sp.Scopes
		if perm.Type == catalog.Application {
			list = sp.AppRoles
		}
		found := ""
		for _, x := range list {
			if strings.EqualFold(x.Value, perm.Name) {
				found = strings.ToLower(x.ID)
			}
		}
		if found == "" {
			return problem(ErrUnknownPermission, Msg("wizard.err.unknown_permission", "Resource", res.Name, "Type", Msg("wizard.permission_type."+string(perm.Type)), "Permission", perm.Name))
		}
		ids[permKey(perm)] = found
	}
	return nil
}

// ErrUnknownPermission: the tenant's resource does not offer a permission the blueprint names.
var ErrUnknownPermission = errors.New("registration: permission not offered by the resource")
