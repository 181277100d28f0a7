// Package registration runs the registration wizard: one blueprint applied
// in one tenant, from a plan (pure, from the blueprint and the admin's
// choices) through a pre-flight (what the tenant and the signed-in admin
// allow) to the apply, a list of idempotent Graph writes each recorded in
// Postgres before it is made, so that a run survives restarts, resumes from
// its failed step, and two replicas never apply it twice.
//
// The secret is the one write that is not idempotent (every addPassword
// makes another). It is made in the request that shows it, recorded by key
// ID before the response is written, and a secret left behind by an
// interrupted attempt (named after the run) is removed before a new one is
// made. Its value is never stored.
package registration

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/appreg-portal/portal/internal/catalog"
	"github.com/appreg-portal/portal/internal/graph"
)

// Scopes are the delegated Microsoft Graph permissions a run asks the
// tenant's admin for, incrementally, when the admin acts in that tenant:
// the three writes and what pre-flight reads (the admin's roles through
// User.Read, the app management policy through Policy.Read.All). The portal
// keeps no standing write permission.
var Scopes = []string{
	"https://graph.microsoft.com/Application.ReadWrite.All",
	"https://graph.microsoft.com/AppRoleAssignment.ReadWrite.All",
	"https://graph.microsoft.com/DelegatedPermissionGrant.ReadWrite.All",
	"https://graph.microsoft.com/Policy.Read.All",
	"https://graph.microsoft.com/User.Read",
}

// MaxDisplayName is the longest app name the wizard accepts (Graph allows
// 256 characters; the Entra admin center shows far fewer).
const MaxDisplayName = 120

// UniqueName is the application's uniqueName for a blueprint: the key that
// makes "register again" an update of the same app, never a second one.
func UniqueName(blueprintID string) string { return "appreg-portal." + blueprintID }

// Choices are what the admin picks on the wizard's first page.
type Choices struct {
	DisplayName  string
	Params       map[string]string
	Features     []string
	SecretMonths int
}

// Plan is exactly what a run writes, before pre-flight has looked at the
// tenant.
type Plan struct {
	Blueprint    *catalog.Blueprint
	DisplayName  string
	UniqueName   string
	Audience     string
	Redirects    catalog.RedirectURIs
	IDTokens     bool
	AccessTokens bool
	Permissions  []catalog.ResolvedPermission
	SecretMonths int
	Params       map[string]string
	Features     []string
}

// Field names of the wizard's own inputs (parameters use the blueprint's names).
const (
	FieldDisplayName  = "display_name"
	FieldSecretMonths = "secret_months"
	FieldFeatures     = "features"
)

// NewPlan checks the admin's choices against the blueprint. It returns the
// plan, or a message per field that is wrong.
func NewPlan(bp *catalog.Blueprint, c Choices) (Plan, map[string]Message) {
	errs := map[string]Message{}
	// The catalogue words its own parameter checks (in English for now).
	for name, text := range bp.ValidateParams(c.Params) {
		errs[name] = Verbatim(text)
	}
	p := Plan{Blueprint: bp, UniqueName: UniqueName(bp.ID), Audience: bp.Registration.SignInAudience,
		IDTokens: bp.Registration.Web.ImplicitGrant.IDTokens, AccessTokens: bp.Registration.Web.ImplicitGrant.AccessTokens,
		Params: map[string]string{}, Features: c.Features}
	for _, prm := range bp.Parameters {
		if v := strings.TrimSpace(c.Params[prm.Name]); v != "" {
			p.Params[prm.Name] = v
		}
	}
	if p.Audience == "" {
		p.Audience = catalog.AudienceMyOrg
	}
	p.DisplayName = strings.TrimSpace(c.DisplayName)
	if p.DisplayName == "" && len(errs) == 0 {
		p.DisplayName = bp.DisplayName(p.Params)
	}
	switch {
	case p.DisplayName == "" && len(errs) == 0:
		errs[FieldDisplayName] = Msg("wizard.field.name_missing")
	case utf8.RuneCountInString(p.DisplayName) > MaxDisplayName:
		errs[FieldDisplayName] = Msg("wizard.field.name_too_long", "Max", MaxDisplayName)
	case strings.ContainsFunc(p.DisplayName, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		errs[FieldDisplayName] = Msg("wizard.field.name_control")
	}
	maxMonths := bp.Secret.MaxLifetimeMonths
	if maxMonths <= 0 || maxMonths > catalog.MaxSecretLifetimeMonths {
		maxMonths = catalog.MaxSecretLifetimeMonths
	}
	p.SecretMonths = c.SecretMonths
	if p.SecretMonths == 0 {
		p.SecretMonths = bp.Secret.DefaultLifetimeMonths
	}
	if p.SecretMonths < 1 || p.SecretMonths > maxMonths {
		errs[FieldSecretMonths] = Msg("wizard.field.months_range", "Max", maxMonths)
	}
	perms, err := bp.SelectPermissions(c.Features)
	if err != nil {
		errs[FieldFeatures] = Msg("wizard.field.features")
	}
	p.Permissions = perms
	if len(errs) > 0 {
		return Plan{}, errs
	}
	if p.Redirects, err = bp.RedirectURIs(p.Params); err != nil {
		errs[firstParamIn(bp)] = Msg("wizard.field.redirect_uri")
		return Plan{}, errs
	}
	return p, nil
}

func firstParamIn(bp *catalog.Blueprint) string {
	for _, u := range append(bp.Registration.Web.RedirectURIs, bp.Registration.PublicClient.RedirectURIs...) {
		for _, prm := range bp.Parameters {
			if strings.Contains(u, "{{"+prm.Name+"}}") {
				return prm.Name
			}
		}
	}
	return FieldDisplayName
}

// SecretName is the client secret's description in Entra: it names the
// portal and the run, so a secret left by an interrupted attempt can be
// found and removed.
func SecretName(runID string, now time.Time) string {
	short := runID
	if len(short) > 8 {
		short = short[:8]
	}
	return "AppReg Portal " + now.UTC().Format(time.DateOnly) + " (run " + short + ")"
}

// SecretEnd is when the secret ends: months from now, clamped to the
// tenant's policy (less a day, so clocks that differ do not trip it).
func SecretEnd(now time.Time, months int, policyMax time.Duration) (end time.Time, clamped bool) {
	end = now.AddDate(0, months, 0)
	if policyMax > 0 && end.Sub(now) > policyMax {
		return now.Add(policyMax - 24*time.Hour), true
	}
	return end, false
}

// ResourceAccess is the requiredResourceAccess to write, with permission
// IDs the table lacks taken from the tenant (ids: resource appId + "|" +
// type + "|" + name → GUID, from pre-flight).
func (p Plan) ResourceAccess(ids map[string]string) ([]catalog.ResourceAccess, error) {
	perms := make([]catalog.ResolvedPermission, len(p.Permissions))
	copy(perms, p.Permissions)
	for i, rp := range perms {
		if id, ok := ids[permKey(rp.Permission)]; ok && id != "" {
			perms[i].Permission.ID = id
		}
	}
	return catalog.RequiredResourceAccess(perms)
}

func permKey(p catalog.Permission) string {
	return strings.ToLower(p.Resource.AppID) + "|" + string(p.Type) + "|" + p.Name
}

// Spec is the application as Graph gets it. extraWeb are redirect URIs the
// portal adds for itself (the admin-consent return address).
func (p Plan) Spec(ids map[string]string, extraWeb ...string) (graph.ApplicationSpec, error) {
	rra, err := p.ResourceAccess(ids)
	if err != nil {
		return graph.ApplicationSpec{}, err
	}
	web := append(append([]string{}, p.Redirects.Web...), extraWeb...)
	return graph.ApplicationSpec{
		DisplayName: p.DisplayName, SignInAudience: p.Audience,
		WebRedirectURIs: web, PublicClientRedirectURIs: p.Redirects.PublicClient,
		EnableIDTokenIssuance: p.IDTokens, EnableAccessTokenIssuance: p.AccessTokens,
		RequiredResourceAccess: rra,
		Notes:                  "Registered by AppReg Portal from blueprint " + p.Blueprint.ID + ".",
	}, nil
}

// Resources are the resource applications the plan asks permissions of, in order.
func (p Plan) Resources() []catalog.Resource {
	var out []catalog.Resource
	seen := map[string]bool{}
	for _, rp := range p.Permissions {
		app := strings.ToLower(rp.Permission.Resource.AppID)
		if !seen[app] {
			seen[app] = true
			out = append(out, rp.Permission.Resource)
		}
	}
	return out
}

// ParseMonths reads the secret lifetime field ("" → 0: the blueprint's default).
func ParseMonths(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, true
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}
