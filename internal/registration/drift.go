package registration

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/appreg-portal/portal/internal/catalog"
	"github.com/appreg-portal/portal/internal/graph"
)

// Finding is one way a registration differs from its blueprint, or is unsafe.
type Finding struct {
	// Kind groups findings: permissions, redirects, credentials.
	Kind string
	// Severity is "high", "medium" or "low".
	Severity string
	Title    string
	// Text says what it means; Fix what to do about it.
	Text, Fix string
}

// Finding kinds.
const (
	DriftPermissions = "permissions"
	DriftRedirects   = "redirects"
	DriftCredentials = "credentials"
	DriftOwners      = "owners"
	DriftScope       = "scope"
)

// mailboxPermissions are the application permissions that reach every
// mailbox, calendar or contact folder unless Exchange scopes them
// (https://learn.microsoft.com/exchange/permissions-exo/application-rbac).
var mailboxPermissions = map[string]bool{
	"Mail.Send": true, "Mail.Read": true, "Mail.ReadWrite": true, "Mail.ReadBasic": true, "Mail.ReadBasic.All": true,
	"Calendars.Read": true, "Calendars.ReadWrite": true, "Contacts.Read": true, "Contacts.ReadWrite": true,
	"MailboxSettings.Read": true, "MailboxSettings.ReadWrite": true, "full_access_as_app": true,
}

// DriftScopes are what an administrator's sign-in for a drift check asks
// for: it only reads. Delegated grants are readable with
// DelegatedPermissionGrant.Read.All, which the portal does not hold app-only
// in customer tenants
// (https://learn.microsoft.com/graph/api/oauth2permissiongrant-list).
var DriftScopes = []string{
	"https://graph.microsoft.com/Application.Read.All",
	"https://graph.microsoft.com/DelegatedPermissionGrant.Read.All",
	"https://graph.microsoft.com/User.Read",
}

// oidcScopes are granted along with any sign-in and give only the user's
// basic profile: not drift when a blueprint does not list them.
var oidcScopes = map[string]bool{"openid": true, "profile": true, "email": true, "offline_access": true}

// DriftReader is what a drift check reads (an app-only client in a
// connected tenant is enough: Application.Read.All; delegated grants need
// an administrator's sign-in, see DriftScopes).
type DriftReader interface {
	GetApplication(ctx context.Context, objectID string) (graph.Application, error)
	ListGrants(ctx context.Context, clientSPID string, withDelegated bool) (graph.Grants, error)
	ApplicationOwners(ctx context.Context, objectID string) (int, error)
}

// CheckDrift reads the live app and its application-permission grants and
// compares them with the plan: permissions missing, extra or not consented
// (from the actual app role assignments, not requiredResourceAccess alone),
// redirect URIs and implicit-grant flags, and credential hygiene. portalURIs
// are redirect URIs the portal itself adds (its admin-consent return
// address): not drift. withDelegated reads the delegated grants too, which
// needs a delegated client (DriftScopes); without it delegated consent is
// not checked (NeedsDelegatedCheck says whether that matters). rotating
// names the new secrets of rotations under way on the app: each overlaps
// its old secret on purpose.
func CheckDrift(ctx context.Context, g DriftReader, p Plan, pf Preflight, appObjectID, spObjectID string, now time.Time, withDelegated bool, portalURIs, rotating []string) ([]Finding, error) {
	app, err := g.GetApplication(ctx, appObjectID)
	if err != nil {
		return nil, fmt.Errorf("read the app registration: %w", err)
	}
	app.WebRedirectURIs = slices.DeleteFunc(slices.Clone(app.WebRedirectURIs), func(u string) bool { return slices.Contains(portalURIs, u) })
	var gr graph.Grants
	if spObjectID != "" {
		if gr, err = g.ListGrants(ctx, spObjectID, withDelegated); err != nil {
			return nil, fmt.Errorf("read the app's grants: %w", err)
		}
	}
	owners, err := g.ApplicationOwners(ctx, appObjectID)
	if err != nil {
		return nil, fmt.Errorf("read the app's owners: %w", err)
	}
	return Drift(p, pf, app, gr, owners, now, rotating...), nil
}

// NeedsDelegatedCheck reports whether the blueprint asks for delegated
// permissions, whose consent only a drift check with an administrator's
// sign-in can see.
func NeedsDelegatedCheck(p Plan) bool {
	for _, rp := range p.Permissions {
		if rp.Permission.Type == catalog.Delegated {
			return true
		}
	}
	return false
}

// Drift is CheckDrift's comparison, pure. owners < 0: not known; gr.Scopes
// nil: delegated grants not read.
func Drift(p Plan, pf Preflight, app graph.Application, gr graph.Grants, owners int, now time.Time, rotating ...string) []Finding {
	var out []Finding
	if owners == 0 {
		out = append(out, Finding{Kind: DriftOwners, Severity: "low", Title: "No owners",
			Text: "Nobody is named as responsible for this app registration, so nobody is told about it and only administrators can change it.",
			Fix:  "Add an owner (App registrations → Owners): the person who looks after the product."})
	}
	resourceSP := map[string]string{}
	for _, r := range pf.Resources {
		resourceSP[r.AppID] = r.ObjectID
	}
	// Permissions: what the app declares vs the blueprint, and whether the
	// application permissions are really granted.
	declared := map[string]bool{}
	declaredType := map[string]catalog.PermissionType{}
	for _, ra := range app.RequiredResourceAccess {
		for _, e := range ra.Access {
			key := strings.ToLower(ra.ResourceAppID) + "|" + strings.ToLower(e.ID)
			declared[key] = true
			declaredType[key] = catalog.Delegated
			if strings.EqualFold(e.Type, "Role") {
				declaredType[key] = catalog.Application
			}
		}
	}
	want := map[string]bool{}
	for _, rp := range p.Permissions {
		perm := rp.Permission
		id := pf.IDs[permKey(perm)]
		if id == "" {
			id = perm.ID
		}
		app := strings.ToLower(perm.Resource.AppID)
		want[app+"|"+strings.ToLower(id)] = true
		if !declared[app+"|"+strings.ToLower(id)] {
			out = append(out, Finding{Kind: DriftPermissions, Severity: "high", Title: perm.Name + " (" + string(perm.Type) + ") is missing",
				Text: "The blueprint needs it, but the app registration no longer asks for it: the product's " + perm.Name + " calls will fail.",
				Fix:  "Repair: re-apply the blueprint."})
			continue
		}
		if perm.Type == catalog.Application && !gr.HasAppRole(resourceSP[app], id) {
			out = append(out, Finding{Kind: DriftPermissions, Severity: "high", Title: perm.Name + " is not consented",
				Text: "The app asks for this application permission, but no admin has granted it, so tokens lack the role.",
				Fix:  "Repair with a Global Administrator, or send the admin-consent link."})
		}
		if perm.Type == catalog.Delegated && gr.Scopes != nil && !gr.HasScope(resourceSP[app], perm.Name) {
			out = append(out, Finding{Kind: DriftPermissions, Severity: "high", Title: perm.Name + " (delegated) is not consented for the organisation",
				Text: "The app asks for this delegated permission, but no admin has granted it for all users, so each user is asked to consent (or is refused where users may not consent).",
				Fix:  "Repair: re-apply the blueprint, which grants admin consent, or send the admin-consent link."})
		}
	}
	wantScope := map[string]bool{}
	for _, rp := range p.Permissions {
		if rp.Permission.Type == catalog.Delegated {
			wantScope[strings.ToLower(rp.Permission.Resource.AppID)+"|"+strings.ToLower(rp.Permission.Name)] = true
		}
	}
	for rsp, scopes := range gr.Scopes {
		app := ""
		for a, o := range resourceSP {
			if o == rsp {
				app = a
			}
		}
		if app == "" {
			continue // a resource outside the blueprint: its grants are not ours to judge
		}
		for _, sc := range scopes {
			if !oidcScopes[strings.ToLower(sc)] && !wantScope[app+"|"+strings.ToLower(sc)] {
				out = append(out, Finding{Kind: DriftPermissions, Severity: "high", Title: "An extra delegated permission " + sc + " is granted on " + resourceName(app),
					Text: "An admin granted, for all users, a delegated permission the blueprint does not ask for: the app can act as any user with it.",
					Fix:  "Remove it (Enterprise applications → Permissions → Admin consent)."})
			}
		}
	}
	for key := range declared {
		if !want[key] {
			app, id, _ := strings.Cut(key, "|")
			out = append(out, Finding{Kind: DriftPermissions, Severity: "medium", Title: "An extra permission is asked for: " + permissionName(app, id, declaredType[key]),
				Text: "The app asks for a permission the blueprint does not: more access than the product needs.",
				Fix:  "Remove it in the Entra admin center (API permissions), or re-apply the blueprint."})
		}
	}
	for rsp, roles := range gr.AppRoles {
		for _, id := range roles {
			app := ""
			for a, o := range resourceSP {
				if o == rsp {
					app = a
				}
			}
			if app != "" && !want[app+"|"+strings.ToLower(id)] {
				out = append(out, Finding{Kind: DriftPermissions, Severity: "high", Title: "An extra permission is granted: " + permissionName(app, id, catalog.Application),
					Text: "An admin granted an application permission the blueprint does not ask for.",
					Fix:  "Remove the grant (Enterprise applications → Permissions)."})
			}
		}
	}
	// Redirect URIs and implicit grant.
	if d := diffList(p.Redirects.Web, app.WebRedirectURIs); d != "" {
		out = append(out, Finding{Kind: DriftRedirects, Severity: "medium", Title: "Web redirect URIs differ from the blueprint", Text: d,
			Fix: "Re-apply the blueprint, or check with the vendor why another address is there."})
	}
	if d := diffList(p.Redirects.PublicClient, app.PublicClientRedirectURIs); d != "" {
		out = append(out, Finding{Kind: DriftRedirects, Severity: "medium", Title: "Mobile and desktop redirect URIs differ from the blueprint", Text: d,
			Fix: "Re-apply the blueprint."})
	}
	for _, u := range append(append(append([]string{}, app.WebRedirectURIs...), app.PublicClientRedirectURIs...), app.SPARedirectURIs...) {
		if msg := unsafeRedirect(u); msg != "" {
			out = append(out, Finding{Kind: DriftRedirects, Severity: "high", Title: "Unsafe redirect URI " + u, Text: msg,
				Fix: "Remove it unless the vendor's guide requires it."})
		}
	}
	if app.IDTokenIssuance != p.IDTokens || app.AccessTokenIssuance != p.AccessTokens {
		out = append(out, Finding{Kind: DriftRedirects, Severity: "medium", Title: "Implicit grant flags differ from the blueprint",
			Text: fmt.Sprintf("ID tokens %s (blueprint %s), access tokens %s (blueprint %s). Implicit grant hands tokens to the browser; it should be on only when the product needs it.",
				onOff(app.IDTokenIssuance), onOff(p.IDTokens), onOff(app.AccessTokenIssuance), onOff(p.AccessTokens)),
			Fix: "Re-apply the blueprint."})
	}
	// Credentials.
	active := 0
	for _, c := range app.Credentials {
		if c.End.After(now) && c.Kind == graph.CredentialPassword && !slices.ContainsFunc(rotating, func(k string) bool { return strings.EqualFold(k, c.KeyID) }) {
			active++ // a rotation's new secret overlaps its old one on purpose: the pair counts once
		}
		name := c.DisplayName
		if name == "" {
			name = c.KeyID
		}
		switch {
		case !c.End.After(now):
			out = append(out, Finding{Kind: DriftCredentials, Severity: "medium", Title: "Expired: " + name,
				Text: "It ended on " + c.End.UTC().Format(time.DateOnly) + " and can no longer sign in.", Fix: "Remove it from the app registration."})
		case c.End.Sub(now) <= 30*24*time.Hour:
			out = append(out, Finding{Kind: DriftCredentials, Severity: "high", Title: "Ends within 30 days: " + name,
				Text: "It ends on " + c.End.UTC().Format(time.DateOnly) + "; the product stops working then.", Fix: "Rotate it from the dashboard."})
		}
		if !c.Start.IsZero() {
			life := c.End.Sub(c.Start)
			limit, what := 366*24*time.Hour, "12 months"
			advice, fix := "Microsoft recommends less than 12 months for secrets.", "Rotate it to a shorter one."
			if c.Kind == graph.CredentialCertificate {
				limit, what = 366*24*time.Hour, "365 days"
				advice, fix = "Microsoft recommends certificates valid for at most a year.", "Renew it with a certificate valid for a year or less."
			}
			// The tenant policy read in pre-flight limits secrets (passwordLifetime).
			if c.Kind == graph.CredentialPassword && pf.PolicyMaxDays > 0 && time.Duration(pf.PolicyMaxDays)*24*time.Hour < limit {
				limit, what = time.Duration(pf.PolicyMaxDays+1)*24*time.Hour, fmt.Sprintf("the tenant's %d days", pf.PolicyMaxDays)
			}
			if life > limit {
				out = append(out, Finding{Kind: DriftCredentials, Severity: "low", Title: "Lives longer than " + what + ": " + name,
					Text: fmt.Sprintf("It is valid for %d days. %s", int(life.Hours()/24), advice), Fix: fix})
			}
		}
	}
	// A background service (application permissions only, no sign-in
	// redirect) can use a certificate, which is not sent over the wire.
	if active > 0 && len(p.Redirects.Web) == 0 && len(p.Redirects.PublicClient) == 0 {
		delegated := false
		for _, rp := range p.Permissions {
			delegated = delegated || rp.Permission.Type == catalog.Delegated
		}
		if !delegated {
			out = append(out, Finding{Kind: DriftCredentials, Severity: "low", Title: "A certificate would do",
				Text: "The app signs in only as itself. A certificate proves that without sending a shared secret, and Microsoft recommends it over client secrets.",
				Fix:  "If the product supports certificates, upload one (Certificates & secrets) and remove the secret once it is in use."})
		}
	}
	if active > 1 {
		out = append(out, Finding{Kind: DriftCredentials, Severity: "medium", Title: fmt.Sprintf("%d client secrets are active", active),
			Text: "More than one working secret outside a rotation means one of them may be unused, or held by someone who should not have it.",
			Fix:  "Find out which one the product uses and remove the others."})
	}
	return out
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func resourceName(appID string) string {
	switch strings.ToLower(appID) {
	case graph.MicrosoftGraphAppID:
		return "Microsoft Graph"
	case graph.ExchangeOnlineAppID:
		return "Office 365 Exchange Online"
	}
	return appID
}

// permissionName names a permission the tenant reports by GUID alone, from
// the portal's tables: "Microsoft Graph Mail.ReadWrite (application)". An ID
// the tables do not know stays a GUID: "<id> (application) on <resource>".
func permissionName(appID, id string, typ catalog.PermissionType) string {
	if p, ok := catalog.LookupID(appID, id, typ); ok {
		return p.Resource.Name + " " + p.Name + " (" + string(typ) + ")"
	}
	return id + " (" + string(typ) + ") on " + resourceName(appID)
}

// diffList says which URIs are missing and which extra, or "".
func diffList(want, have []string) string {
	var missing, extra []string
	for _, u := range want {
		if !slices.Contains(have, u) {
			missing = append(missing, u)
		}
	}
	for _, u := range have {
		if !slices.Contains(want, u) {
			extra = append(extra, u)
		}
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "missing: "+strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		parts = append(parts, "not in the blueprint: "+strings.Join(extra, ", "))
	}
	return strings.Join(parts, "; ")
}

// unsafeRedirect says why a redirect URI is risky, or "": wildcards, plain
// http beyond localhost, and URN-style addresses
// (https://learn.microsoft.com/entra/identity-platform/reply-url).
func unsafeRedirect(u string) string {
	if strings.Contains(u, "*") {
		return "A wildcard lets tokens go to any matching address, including ones an attacker controls."
	}
	pu, err := url.Parse(u)
	if err != nil {
		return "It is not a valid address."
	}
	switch {
	case strings.HasPrefix(strings.ToLower(u), "urn:"):
		return "A URN redirect (urn:ietf:wg:oauth:2.0:oob) is a legacy out-of-band flow."
	case pu.Scheme == "http" && pu.Hostname() != "localhost" && pu.Hostname() != "127.0.0.1" && pu.Hostname() != "::1":
		return "Plain http beyond localhost sends authorization codes unencrypted."
	}
	return ""
}

// AdoptReader is what adopting an app made by hand reads (app-only is enough).
type AdoptReader interface {
	GetApplication(ctx context.Context, objectID string) (graph.Application, error)
	ResourceServicePrincipal(ctx context.Context, appID string) (graph.ServicePrincipal, error)
}

// AdoptPreflight reads what tracking an existing app under a blueprint
// needs: the app, its service principal and the resource service principals
// with the permission IDs they offer. It writes nothing.
func AdoptPreflight(ctx context.Context, g AdoptReader, p Plan, appObjectID string, now time.Time) (graph.Application, string, Preflight, error) {
	pf := Preflight{CheckedAt: now.UTC(), IDs: PermissionIDs{}}
	app, err := g.GetApplication(ctx, appObjectID)
	if err != nil {
		return graph.Application{}, "", pf, fmt.Errorf("read the app registration: %w", err)
	}
	spID := ""
	if sp, err := g.ResourceServicePrincipal(ctx, app.AppID); err == nil {
		spID = sp.ObjectID
	} else if !errors.Is(err, graph.ErrNotFound) {
		return graph.Application{}, "", pf, fmt.Errorf("read the app's service principal: %w", err)
	}
	for _, res := range p.Resources() {
		sp, err := g.ResourceServicePrincipal(ctx, res.AppID)
		if err != nil {
			return graph.Application{}, "", pf, fmt.Errorf("look up %s in the tenant: %w", res.Name, err)
		}
		pf.Resources = append(pf.Resources, ResourceSP{AppID: strings.ToLower(res.AppID), Name: sp.DisplayName, ObjectID: sp.ObjectID})
		if err := resolveIDs(p, res, sp, pf.IDs); err != nil {
			return graph.Application{}, "", pf, err
		}
	}
	return app, spID, pf, nil
}

// Advice is what to check that Graph cannot show: mailbox-wide application
// permissions, which Exchange can scope to a group (RBAC for Applications).
// It is not drift: it is shown beside the findings, for every such app.
func Advice(p Plan) []Finding {
	var out []Finding
	// Mailbox-wide application permissions: Graph cannot tell whether Exchange
	// scopes them, so say how to (the blueprint's hardening has the script).
	var wide []string
	for _, rp := range p.Permissions {
		if rp.Permission.Type == catalog.Application && mailboxPermissions[rp.Permission.Name] {
			wide = append(wide, rp.Permission.Name)
		}
	}
	if len(wide) > 0 {
		out = append(out, Finding{Kind: DriftScope, Severity: "info", Title: "Reaches every mailbox unless scoped: " + strings.Join(wide, ", "),
			Text: "These application permissions work on every mailbox in the organisation. Exchange can limit them to a group (RBAC for Applications); Microsoft Graph cannot show whether that is done.",
			Fix:  "In Exchange Online PowerShell: New-ManagementScope and New-ManagementRoleAssignment -App <client ID> for the mailbox group, then Test-ServicePrincipalAuthorization (see the hand-off's hardening steps)."})
	}
	return out
}

// CheckSignIn is the pre-flight of a drift check's sign-in (DriftScopes):
// that it is to tenantID, and who signed in.
func CheckSignIn(ctx context.Context, g Graph, tenantID string) (userID, userName string, err error) {
	org, err := g.Organization(ctx)
	if err != nil {
		return "", "", fmt.Errorf("read the organisation: %w", err)
	}
	if !strings.EqualFold(org.TenantID, tenantID) {
		return "", "", fmt.Errorf("%w: %s (%s)", ErrWrongTenant, org.DisplayName, org.TenantID)
	}
	me, err := g.Me(ctx)
	if err != nil {
		return "", "", fmt.Errorf("read the signed-in user: %w", err)
	}
	return me.ObjectID, me.DisplayName, nil
}
