package graph

import (
	"context"
	"fmt"
	"time"

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
	if r := res.GetApplicationRestrictions(); r != nil {
		for _, pc := range r.GetPasswordCredentials() {
			if pc == nil || pc.GetRestrictionType() == nil || *pc.GetRestrictionType() != models.PASSWORDLIFETIME_APPCREDENTIALRESTRICTIONTYPE {
				continue
			}
			if st := pc.GetState(); st != nil && *st == models.DISABLED_APPMANAGEMENTRESTRICTIONSTATE {
				continue
			}
			if d := pc.GetMaxLifetime(); d != nil {
				out.MaxLifetime = time.Duration(d.GetWeeks())*7*24*time.Hour + time.Duration(d.GetDays())*24*time.Hour +
					time.Duration(d.GetHours())*time.Hour + time.Duration(d.GetMinutes())*time.Minute
			}
		}
	}
	return out, nil
}
