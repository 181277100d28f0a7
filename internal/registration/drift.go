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
	// Title, Text (what it means) and Fix (what to do about it) in English,
	// for logs and tests; pages word TitleMsg, TextMsg and FixMsg in the
	// reader's language.
	Title, Text, Fix          string
	TitleMsg, TextMsg, FixMsg Message
}

// finding is a Finding worded by its messages.
func finding(kind, severity string, title, text, fix Message) Finding {
	return Finding{Kind: kind, Severity: severity, Title: title.English(), Text: text.English(), Fix: fix.English(),
		TitleMsg: title, TextMsg: text, FixMsg: fix}
}

// permType is a permission's type as a message ("application", "delegated").
func permType(t catalog.PermissionType) Message { return Msg("wizard.permission_type." + string(t)) }

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
		out = append(out, finding(DriftOwners, "low", Msg("drift.no_owners.title"), Msg("drift.no_owners.text"), Msg("drift.no_owners.fix")))
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
			out = append(out, finding(DriftPermissions, "high", Msg("drift.missing.title", "Permission", perm.Name, "Type", permType(perm.Type)),
				Msg("drift.missing.text", "Permission", perm.Name), Msg("drift.fix_reapply")))
			continue
		}
		if perm.Type == catalog.Application && !gr.HasAppRole(resourceSP[app], id) {
			out = append(out, finding(DriftPermissions, "high", Msg("drift.not_consented.title", "Permission", perm.Name),
				Msg("drift.not_consented.text"), Msg("drift.not_consented.fix")))
		}
		if perm.Type == catalog.Delegated && gr.Scopes != nil && !gr.HasScope(resourceSP[app], perm.Name) {
			out = append(out, finding(DriftPermissions, "high", Msg("drift.delegated_not_consented.title", "Permission", perm.Name),
				Msg("drift.delegated_not_consented.text"), Msg("drift.delegated_not_consented.fix")))
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
				out = append(out, finding(DriftPermissions, "high", Msg("drift.extra_delegated.title", "Permission", sc, "Resource", resourceName(app)),
					Msg("drift.extra_delegated.text"), Msg("drift.extra_delegated.fix")))
			}
		}
	}
	for key := range declared {
		if !want[key] {
			app, id, _ := strings.Cut(key, "|")
			out = append(out, finding(DriftPermissions, "medium", Msg("drift.extra_declared.title", "Permission", permissionName(app, id, declaredType[key])),
				Msg("drift.extra_declared.text"), Msg("drift.extra_declared.fix")))
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
				out = append(out, finding(DriftPermissions, "high", Msg("drift.extra_granted.title", "Permission", permissionName(app, id, catalog.Application)),
					Msg("drift.extra_granted.text"), Msg("drift.extra_granted.fix")))
			}
		}
	}
	// Redirect URIs and implicit grant.
	if d := diffList(p.Redirects.Web, app.WebRedirectURIs); !d.IsZero() {
		out = append(out, finding(DriftRedirects, "medium", Msg("drift.web_uris.title"), d, Msg("drift.web_uris.fix")))
	}
	if d := diffList(p.Redirects.PublicClient, app.PublicClientRedirectURIs); !d.IsZero() {
		out = append(out, finding(DriftRedirects, "medium", Msg("drift.public_uris.title"), d, Msg("drift.fix_reapply_short")))
	}
	for _, u := range append(append(append([]string{}, app.WebRedirectURIs...), app.PublicClientRedirectURIs...), app.SPARedirectURIs...) {
		if why := unsafeRedirect(u); !why.IsZero() {
			out = append(out, finding(DriftRedirects, "high", Msg("drift.unsafe_uri.title", "URI", u), why, Msg("drift.unsafe_uri.fix")))
		}
	}
	if app.IDTokenIssuance != p.IDTokens || app.AccessTokenIssuance != p.AccessTokens {
		out = append(out, finding(DriftRedirects, "medium", Msg("drift.implicit.title"),
			Msg("drift.implicit.text", "IDTokens", onOff(app.IDTokenIssuance), "BlueprintIDTokens", onOff(p.IDTokens),
				"AccessTokens", onOff(app.AccessTokenIssuance), "BlueprintAccessTokens", onOff(p.AccessTokens)),
			Msg("drift.fix_reapply_short")))
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
			out = append(out, finding(DriftCredentials, "medium", Msg("drift.expired.title", "Name", name),
				Msg("drift.expired.text", "Date", Date(c.End)), Msg("drift.expired.fix")))
		case c.End.Sub(now) <= 30*24*time.Hour:
			out = append(out, finding(DriftCredentials, "high", Msg("drift.ends_soon.title", "Name", name),
				Msg("drift.ends_soon.text", "Date", Date(c.End)), Msg("drift.ends_soon.fix")))
		}
		if !c.Start.IsZero() {
			life := c.End.Sub(c.Start)
			limit, what := 366*24*time.Hour, Msg("drift.limit_12_months")
			advice, fix := Msg("drift.advice_secret_lifetime"), Msg("drift.fix_shorter_secret")
			if c.Kind == graph.CredentialCertificate {
				limit, what = 366*24*time.Hour, Msg("drift.limit_365_days")
				advice, fix = Msg("drift.advice_certificate_lifetime"), Msg("drift.fix_shorter_certificate")
			}
			// The tenant policy read in pre-flight limits secrets (passwordLifetime).
			if c.Kind == graph.CredentialPassword && pf.PolicyMaxDays > 0 && time.Duration(pf.PolicyMaxDays)*24*time.Hour < limit {
				limit, what = time.Duration(pf.PolicyMaxDays+1)*24*time.Hour, Plural("drift.limit_tenant_days", pf.PolicyMaxDays)
			}
			if life > limit {
				out = append(out, finding(DriftCredentials, "low", Msg("drift.lives_long.title", "Limit", what, "Name", name),
					Plural("drift.lives_long.text", int(life.Hours()/24), "Advice", advice), fix))
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
			out = append(out, finding(DriftCredentials, "low", Msg("drift.certificate.title"), Msg("drift.certificate.text"), Msg("drift.certificate.fix")))
		}
	}
	if active > 1 {
		out = append(out, finding(DriftCredentials, "medium", Plural("drift.secrets_active.title", active),
			Msg("drift.secrets_active.text"), Msg("drift.secrets_active.fix")))
	}
	return out
}

func onOff(b bool) Message {
	if b {
		return Msg("drift.on")
	}
	return Msg("drift.off")
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
func permissionName(appID, id string, typ catalog.PermissionType) Message {
	if p, ok := catalog.LookupID(appID, id, typ); ok {
		return Msg("drift.permission_named", "Resource", p.Resource.Name, "Permission", p.Name, "Type", permType(typ))
	}
	return Msg("drift.permission_unknown", "ID", id, "Type", permType(typ), "Resource", resourceName(appID))
}

// diffList says which URIs are missing and which extra, or nothing.
func diffList(want, have []string) Message {
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
	switch {
	case len(missing) > 0 && len(extra) > 0:
		return Msg("drift.uris_missing_and_extra", "Missing", strings.Join(missing, ", "), "Extra", strings.Join(extra, ", "))
	case len(missing) > 0:
		return Msg("drift.uris_missing", "Missing", strings.Join(missing, ", "))
	case len(extra) > 0:
		return Msg("drift.uris_extra", "Extra", strings.Join(extra, ", "))
	}
	return Message{}
}

// unsafeRedirect says why a redirect URI is risky, or "": wildcards, plain
// http beyond localhost, and URN-style addresses
// (https://learn.microsoft.com/entra/identity-platform/reply-url).
func unsafeRedirect(u string) Message {
	if strings.Contains(u, "*") {
		return Msg("drift.unsafe_uri.wildcard")
	}
	pu, err := url.Parse(u)
	if err != nil {
		return Msg("drift.unsafe_uri.invalid")
	}
	switch {
	case strings.HasPrefix(strings.ToLower(u), "urn:"):
		return Msg("drift.unsafe_uri.urn")
	case pu.Scheme == "http" && pu.Hostname() != "localhost" && pu.Hostname() != "127.0.0.1" && pu.Hostname() != "::1":
		return Msg("drift.unsafe_uri.http")
	}
	return Message{}
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
		out = append(out, finding(DriftScope, "info", Msg("drift.mailbox_scope.title", "Permissions", strings.Join(wide, ", ")),
			Msg("drift.mailbox_scope.text"), Msg("drift.mailbox_scope.fix")))
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
		return "", "", wrongTenant(org)
	}
	me, err := g.Me(ctx)
	if err != nil {
		return "", "", fmt.Errorf("read the signed-in user: %w", err)
	}
	return me.ObjectID, me.DisplayName, nil
}
