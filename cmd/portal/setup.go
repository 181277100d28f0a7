package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/appreg-portal/portal/internal/catalog"
	"github.com/appreg-portal/portal/internal/config"
	"github.com/appreg-portal/portal/internal/graph"
	"github.com/appreg-portal/portal/internal/onboard"
	"github.com/appreg-portal/portal/internal/registration"
	"github.com/appreg-portal/portal/internal/seal"
)

// setupClientID is the Microsoft Graph Command Line Tools, the first-party
// public client Microsoft Graph PowerShell signs in with: `portal setup`
// uses the device code flow under it, so it needs no app registration of
// its own to create the portal's
// (https://learn.microsoft.com/powershell/microsoftgraph/authentication-commands,
// https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code).
const setupClientID = "14d82eec-204b-4c2f-b7e8-296a70dab67e"

// setupUniqueName is the portal app's uniqueName: running setup again
// updates the same app (PATCH /applications(uniqueName='…')), never a second.
const setupUniqueName = "appreg-portal"

// setupSecretName names the client secrets setup makes, so a later run can
// remove the ones it replaced (and no other).
const setupSecretName = "AppReg Portal (portal setup)"

// The portal app's Microsoft Graph permissions, declared on the app and
// admin-consented in the operator's tenant; customer tenants grant the same
// through the portal's consent links.
var (
	// Application permissions, for the portal acting as itself in every
	// connected tenant: the scan of app registrations and their credentials
	// (Application.Read.All) and the confirmation of which tenant consented,
	// with its name and domains (Organization.Read.All).
	// The lists live in internal/onboard, which the Connect page and the
	// consent check read: what setup declares is what the page promises.
	portalAppPermissions = onboard.ScanPermissions
	// Delegated permissions, for signing people in (OpenID Connect) and
	// reading who they are. The wizard's and rotation's write permissions
	// (registration.Scopes) are deliberately not declared: they are asked
	// for incrementally, per run, from the administrator of the tenant being
	// changed, so admin consent here gives nobody a standing write permission.
	portalDelegatedPermissions = onboard.SignInPermissions
	// portalAppRoles are the roles the portal maps to Admin, Operator and
	// Viewer (internal/auth).
	portalAppRoles = []graph.AppRole{
		{Value: "Portal.Admin", DisplayName: "Portal administrator", Description: "Manages the portal: tenants, blueprints, users, sessions and the audit log."},
		{Value: "Portal.Operator", DisplayName: "Portal operator", Description: "Connects tenants, registers and rotates applications."},
		{Value: "Portal.Viewer", DisplayName: "Portal viewer", Description: "Reads the inventory and the expiry dashboard."},
	}
)

// setupFiles are the files setup writes in -out, all 0600 in a 0700 folder.
const (
	setupEnvFile    = "portal.env"
	setupSecretFile = "client-secret"
	setupSealFile   = "seal-key"
)

func cmdSetup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("setup", "Creates or updates the portal's own multi-tenant app registration in your Entra tenant and writes\n"+
		"the configuration 'portal serve' needs. You sign in with a code in a browser (device code flow) as a\n"+
		"Global Administrator or Privileged Role Administrator. Running it again updates the same app.",
		[]string{"PORTAL_BASE_URL", "PORTAL_ENTRA_AUTHORITY", "PORTAL_GRAPH_URL"}, stderr)
	baseFlag := fs.String("base-url", getenv("PORTAL_BASE_URL"), "the portal's public URL, e.g. https://portal.example.com (https except on localhost)")
	tenant := fs.String("tenant", "organizations", "your tenant ID or domain; 'organizations' lets you sign in to the one your account is in")
	name := fs.String("name", "AppReg Portal", "display name of the app registration")
	out := fs.String("out", "portal-config", "folder for portal.env, client-secret and seal-key (0700; files 0600)")
	newSecret := fs.Bool("new-secret", false, "make a new client secret even when the one in -out is still valid (the old one is removed)")
	months := fs.Int("secret-months", 12, "lifetime of a new client secret in months (clamped to the tenant's app management policy)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	authority := strings.TrimRight(cmpOr(getenv("PORTAL_ENTRA_AUTHORITY"), graph.DefaultLoginBase), "/")
	graphURL := strings.TrimRight(cmpOr(getenv("PORTAL_GRAPH_URL"), graph.DefaultBaseURL), "/")
	base, err := setupBaseURL(*baseFlag)
	if err != nil {
		return err
	}
	if *months < 1 || *months > 24 {
		return fmt.Errorf("-secret-months %d: give 1 to 24 (Microsoft recommends less than 12)", *months)
	}
	dir, err := filepath.Abs(*out)
	if err != nil {
		return err
	}
	prev := readSetupEnv(filepath.Join(dir, setupEnvFile))

	// 1. Sign in as the operator's administrator: device code, public client.
	oc := &oauth2.Config{ClientID: setupClientID, Scopes: registration.Scopes, Endpoint: oauth2.Endpoint{
		DeviceAuthURL: authority + "/" + url.PathEscape(*tenant) + "/oauth2/v2.0/devicecode",
		TokenURL:      authority + "/" + url.PathEscape(*tenant) + "/oauth2/v2.0/token",
		AuthStyle:     oauth2.AuthStyleInParams,
	}}
	da, err := oc.DeviceAuth(ctx)
	if err != nil {
		return fmt.Errorf("start the sign-in at %s: %w", authority, err)
	}
	fmt.Fprintf(stdout, "To sign in, open %s and enter the code %s\n", da.VerificationURI, da.UserCode)
	fmt.Fprintln(stdout, "Sign in as a Global Administrator or Privileged Role Administrator of your tenant, and consent for it.")
	tok, err := oc.DeviceAccessToken(ctx, da)
	if err != nil {
		return fmt.Errorf("sign-in: %w", err)
	}
	g, err := graph.NewDelegatedClient(ctx, graphURL, tok.AccessToken, nil)
	if err != nil {
		return err
	}
	me, err := g.Me(ctx)
	if err != nil {
		return fmt.Errorf("read who signed in: %s", registration.Explain(err))
	}
	tenantID, err := tokenTenant(tok.AccessToken)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Signed in as %s in tenant %s.\n", cmpOr(me.UserPrincipalName, me.DisplayName), tenantID)

	// 2. The app: upserted by uniqueName, keeping the IDs of its app roles.
	graphSP, err := g.ResourceServicePrincipal(ctx, graph.MicrosoftGraphAppID)
	if err != nil {
		return fmt.Errorf("read Microsoft Graph's permissions: %s", registration.Explain(err))
	}
	access, roleIDs, err := portalPermissions(graphSP)
	if err != nil {
		return err
	}
	existing, err := g.ApplicationByUniqueName(ctx, setupUniqueName)
	if err != nil && !errors.Is(err, graph.ErrNotFound) {
		return fmt.Errorf("look for an earlier portal app: %s", registration.Explain(err))
	}
	app, created, err := g.UpsertApplication(ctx, setupUniqueName, graph.ApplicationSpec{
		DisplayName:            *name,
		SignInAudience:         "AzureADMultipleOrgs",
		WebRedirectURIs:        portalRedirectURIs(base),
		RequiredResourceAccess: []catalog.ResourceAccess{access},
		AppRoles:               keepRoleIDs(portalAppRoles, existing.AppRoles),
		Notes:                  "Made by `portal setup` for " + base.String() + ". Run it again to update this app.",
	})
	if err != nil {
		return fmt.Errorf("create the portal app: %s", registration.Explain(err))
	}
	verb := "updated"
	if created {
		verb = "created"
	}
	fmt.Fprintf(stdout, "App registration %q %s: client ID %s.\n", app.DisplayName, verb, app.AppID)

	// 3. Admin consent in this tenant: the service principal, one app role
	// assignment per application permission, one AllPrincipals grant.
	sp, _, err := g.UpsertServicePrincipal(ctx, app.AppID)
	if err != nil {
		return fmt.Errorf("create the portal's service principal: %s", registration.Explain(err))
	}
	for _, id := range roleIDs {
		if err := g.GrantAppRole(ctx, sp.ObjectID, graphSP.ObjectID, id); err != nil {
			return fmt.Errorf("grant an application permission: %s", registration.Explain(err))
		}
	}
	if err := g.GrantDelegated(ctx, sp.ObjectID, graphSP.ObjectID, portalDelegatedPermissions); err != nil {
		return fmt.Errorf("grant the sign-in permissions: %s", registration.Explain(err))
	}
	fmt.Fprintf(stdout, "Admin consent granted in your tenant: %s (application), %s (delegated).\n",
		strings.Join(portalAppPermissions, ", "), strings.Join(portalDelegatedPermissions, " "))

	// The operator who ran setup becomes the first portal administrator
	// through the app role (not PORTAL_BOOTSTRAP_ADMINS, which would
	// outlive a later removal of the role).
	adminRole := slices.IndexFunc(app.AppRoles, func(r graph.AppRole) bool { return r.Value == "Portal.Admin" })
	if adminRole < 0 {
		return errors.New("the portal app has no Portal.Admin role after the update")
	}
	if err := g.GrantAppRole(ctx, me.ObjectID, sp.ObjectID, app.AppRoles[adminRole].ID); err != nil {
		return fmt.Errorf("assign you the Portal.Admin role: %s", registration.Explain(err))
	}
	fmt.Fprintf(stdout, "%s has the Portal.Admin role; assign others under Enterprise applications -> %s -> Users and groups.\n",
		cmpOr(me.UserPrincipalName, me.DisplayName), app.DisplayName)

	// 4. The client secret: kept when the one in -out is still on the app
	// and good for 30 days; otherwise a new one replaces those setup made.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	secretPath, sealPath := filepath.Join(dir, setupSecretFile), filepath.Join(dir, setupSealFile)
	keyID := prev.keyID
	if *newSecret || !secretStillGood(app, keyID, secretPath, time.Now()) {
		end := time.Now().AddDate(0, *months, 0)
		if pol, err := g.AppManagementPolicy(ctx); err == nil && pol.Enabled && pol.MaxLifetime > 0 && time.Until(end) > pol.MaxLifetime {
			end = time.Now().Add(pol.MaxLifetime)
			fmt.Fprintf(stdout, "Your tenant allows secrets for at most %s: the new one ends %s.\n", pol.MaxLifetime, end.Format(time.DateOnly))
		}
		s, err := g.AddPassword(ctx, app.ObjectID, setupSecretName, end)
		if err != nil {
			return fmt.Errorf("make a client secret: %s", registration.Explain(err))
		}
		if err := writeFile0600(secretPath, s.Text+"\n"); err != nil {
			return fmt.Errorf("write the client secret (it was made: run setup again with -new-secret): %w", err)
		}
		keyID = s.KeyID
		for _, c := range app.Credentials {
			if c.Kind == graph.CredentialPassword && c.DisplayName == setupSecretName && !strings.EqualFold(c.KeyID, s.KeyID) {
				if err := g.RemovePassword(ctx, app.ObjectID, c.KeyID); err != nil {
					fmt.Fprintf(stderr, "could not remove the replaced secret %s: %s\n", c.KeyID, registration.Explain(err))
				}
			}
		}
		fmt.Fprintf(stdout, "New client secret (key ID %s, ends %s) written to %s.\n", s.KeyID, s.End.Format(time.DateOnly), secretPath)
	} else {
		fmt.Fprintf(stdout, "The client secret in %s is still valid: kept (use -new-secret to replace it).\n", secretPath)
	}

	// 5. The seal key is made once: a new one would make sealed tokens and
	// share links unreadable.
	if _, err := os.Stat(sealPath); errors.Is(err, os.ErrNotExist) {
		if err := writeFile0600(sealPath, seal.NewKey()+"\n"); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}

	env := []string{
		"# AppReg Portal configuration written by `portal setup` on " + time.Now().UTC().Format(time.RFC3339) + ".",
		"# Load it with `set -a; . ./" + setupEnvFile + "; set +a`, systemd's EnvironmentFile= or Compose's env_file.",
		"# Secrets are in the files named by *_FILE (0600), never in this file.",
		"# setup: client secret key ID " + keyID,
		"PORTAL_BASE_URL=" + base.String(),
		"PORTAL_TENANT_ID=" + tenantID,
		"PORTAL_CLIENT_ID=" + app.AppID,
		"PORTAL_CLIENT_SECRET_FILE=" + secretPath,
		"PORTAL_SEAL_KEY_FILE=" + sealPath,
	}
	if len(prev.admins) > 0 { // set by hand: kept
		env = append(env, "PORTAL_BOOTSTRAP_ADMINS="+strings.Join(prev.admins, ","))
	}
	if authority != graph.DefaultLoginBase {
		env = append(env, "PORTAL_ENTRA_AUTHORITY="+authority)
	}
	if graphURL != graph.DefaultBaseURL {
		env = append(env, "PORTAL_GRAPH_URL="+graphURL)
	}
	env = append(env, "# Still yours to set: PORTAL_DATABASE_URL (or _FILE), PORTAL_SMTP_* and PORTAL_ALERT_RECIPIENTS for alerts.")
	envPath := filepath.Join(dir, setupEnvFile)
	if err := writeFile0600(envPath, strings.Join(env, "\n")+"\n"); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Configuration written to %s.\nNext: set PORTAL_DATABASE_URL, load %s and run 'portal serve'; sign in at %s as %s.\n",
		envPath, setupEnvFile, base.String(), cmpOr(me.UserPrincipalName, me.DisplayName))
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// setupBaseURL checks the portal's public URL as serve will (https except
// on loopback), so the redirect URIs written are the ones serve uses.
func setupBaseURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("-base-url (or PORTAL_BASE_URL) is required: the portal's public URL, e.g. https://portal.example.com")
	}
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"PORTAL_BASE_URL": raw}[k]
	}, config.Dev)
	if err != nil {
		return nil, err
	}
	return cfg.BaseURL, nil
}

// portalPermissions resolves the portal's permissions to Microsoft Graph's
// IDs in this tenant: the requiredResourceAccess entry, and the app role IDs
// to assign.
func portalPermissions(graphSP graph.ServicePrincipal) (catalog.ResourceAccess, []string, error) {
	ra := catalog.ResourceAccess{ResourceAppID: graph.MicrosoftGraphAppID}
	var roles []string
	for _, v := range portalAppPermissions {
		i := slices.IndexFunc(graphSP.AppRoles, func(p graph.Permission) bool { return p.Value == v })
		if i < 0 {
			return ra, nil, fmt.Errorf("the Microsoft Graph service principal in this tenant offers no application permission %s", v)
		}
		id := strings.ToLower(graphSP.AppRoles[i].ID)
		ra.Access = append(ra.Access, catalog.AccessEntry{ID: id, Type: "Role"})
		roles = append(roles, id)
	}
	for _, v := range portalDelegatedPermissions {
		i := slices.IndexFunc(graphSP.Scopes, func(p graph.Permission) bool { return strings.EqualFold(p.Value, v) })
		if i < 0 {
			return ra, nil, fmt.Errorf("the Microsoft Graph service principal in this tenant offers no delegated permission %s", v)
		}
		ra.Access = append(ra.Access, catalog.AccessEntry{ID: strings.ToLower(graphSP.Scopes[i].ID), Type: "Scope"})
	}
	return ra, roles, nil
}

// keepRoleIDs gives each wanted role the ID it already has on the app (by
// value), or a new one: Graph refuses to change an enabled role's ID.
func keepRoleIDs(want, have []graph.AppRole) []graph.AppRole {
	out := make([]graph.AppRole, len(want))
	for i, r := range want {
		r.ID = uuid.NewString()
		for _, h := range have {
			if h.Value == r.Value && h.ID != "" {
				r.ID = h.ID
			}
		}
		out[i] = r
	}
	return out
}

// secretStillGood reports whether the secret setup wrote before is still on
// the app and valid for another 30 days.
func secretStillGood(app graph.Application, keyID, path string, now time.Time) bool {
	if keyID == "" {
		return false
	}
	if b, err := os.ReadFile(path); err != nil || strings.TrimSpace(string(b)) == "" {
		return false
	}
	for _, c := range app.Credentials {
		if c.Kind == graph.CredentialPassword && strings.EqualFold(c.KeyID, keyID) {
			return c.End.IsZero() || c.End.After(now.AddDate(0, 0, 30))
		}
	}
	return false
}

// tokenTenant reads the tenant (tid) from an access token setup has just
// received from the token endpoint itself; it is only read, never trusted
// for anything beyond naming the tenant in the configuration.
func tokenTenant(accessToken string) (string, error) {
	claims, err := jwtPayload(accessToken)
	if err != nil {
		return "", fmt.Errorf("read the tenant from the sign-in: %w", err)
	}
	tid, _ := claims["tid"].(string)
	if !config.IsGUID(tid) {
		return "", errors.New("the sign-in named no tenant (tid)")
	}
	return strings.ToLower(tid), nil
}

// setupEnv is what an earlier run wrote.
type setupEnv struct {
	keyID  string
	admins []string
}

var keyIDLine = regexp.MustCompile(`^# setup: client secret key ID ([0-9a-fA-F-]+)$`)

func readSetupEnv(path string) setupEnv {
	var e setupEnv
	f, err := os.Open(path)
	if err != nil {
		return e
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if m := keyIDLine.FindStringSubmatch(line); m != nil {
			e.keyID = m[1]
		}
		if v, ok := strings.CutPrefix(line, "PORTAL_BOOTSTRAP_ADMINS="); ok {
			for _, a := range strings.Split(v, ",") {
				if a = strings.TrimSpace(a); a != "" {
					e.admins = append(e.admins, a)
				}
			}
		}
	}
	return e
}

// writeFile0600 writes a file only its owner can read, replacing it
// atomically so a reader never sees half of it.
func writeFile0600(path, content string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// jwtPayload decodes a JWT's claims without checking its signature.
func jwtPayload(token string) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	if err := json.Unmarshal(b, &claims); err != nil {
		return nil, err
	}
	return claims, nil
}
