package graph

import (
	"context"
	"fmt"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/applications"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/policies"
)

// PasswordPolicy is the tenant default app management policy's password lifetime restriction.
type PasswordPolicy struct {
	Enabled     bool
	MaxLifetime time.Duration // 0 = no restriction
}

// AppManagementPolicy reads the tenant's default app management policy's password lifetime restriction
// (GET /policies/defaultAppManagementPolicy), so the wizard can clamp a secret's lifetime in pre-flight.
func (c *Client) AppManagementPolicy(ctx context.Context) (PasswordPolicy, error) {
	res, err := policies.NewPoliciesRequestBuilderInternal(c.pathParams(), c.adapter).DefaultAppManagementPolicy().Get(ctx, nil)
	if err != nil {
		return PasswordPolicy{}, mapError("get app management policy", err)
	}
	if res == nil {
		return PasswordPolicy{}, fmt.Errorf("get app management policy: %w", ErrNotFound)
	}
	out := PasswordPolicy{Enabled: deref(res.GetIsEnabled())}
	out.MaxLifetime = passwordLifetime(res.GetApplicationRestrictions())
	return out, nil
}

// AppPasswordPolicy reads the app management policy assigned to one
// application, which overrides the tenant default
// (GET /applications/{id}/appManagementPolicies;
// https://learn.microsoft.com/graph/api/application-list-appmanagementpolicies).
// ok is false when none is assigned or it is disabled.
func (c *Client) AppPasswordPolicy(ctx context.Context, appObjectID string) (max time.Duration, ok bool, err error) {
	res, err := applications.NewApplicationsRequestBuilderInternal(c.pathParams(), c.adapter).ByApplicationId(appObjectID).AppManagementPolicies().Get(ctx, nil)
	if err != nil {
		return 0, false, mapError("list the app's management policies", err)
	}
	if res == nil {
		return 0, false, nil
	}
	for _, p := range res.GetValue() {
		if p == nil || !deref(p.GetIsEnabled()) {
			continue
		}
		if d := passwordLifetime(p.GetRestrictions()); d > 0 {
			return d, true, nil
		}
	}
	return 0, false, nil
}

// passwordLifetime is the passwordLifetime restriction's maximum, 0 if none is enforced.
func passwordLifetime(r models.AppManagementApplicationConfigurationable) time.Duration {
	var out time.Duration
	if r != nil {
		for _, pc := range r.GetPasswordCredentials() {
			if pc == nil || pc.GetRestrictionType() == nil || *pc.GetRestrictionType() != models.PASSWORDLIFETIME_APPCREDENTIALRESTRICTIONTYPE {
				continue
			}
			if st := pc.GetState(); st != nil && *st == models.DISABLED_APPMANAGEMENTRESTRICTIONSTATE {
				continue
			}
			if d := pc.GetMaxLifetime(); d != nil {
				out = time.Duration(d.GetWeeks())*7*24*time.Hour + time.Duration(d.GetDays())*24*time.Hour +
					time.Duration(d.GetHours())*time.Hour + time.Duration(d.GetMinutes())*time.Minute
			}
		}
	}
	return out
}
