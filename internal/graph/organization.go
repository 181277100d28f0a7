package graph

import (
	"context"
	"fmt"

	"github.com/microsoftgraph/msgraph-sdk-go/organization"
)

// Organization is the tenant as /organization describes it.
type Organization struct {
	TenantID    string
	DisplayName string
	Domains     []Domain
}

// Domain is a verified domain of the tenant.
type Domain struct {
	Name      string
	IsDefault bool
	IsInitial bool
}

// Organization returns the tenant (GET /organization).
func (c *Client) Organization(ctx context.Context) (Organization, error) {
	res, err := organization.NewOrganizationRequestBuilderInternal(c.pathParams(), c.adapter).Get(ctx, nil)
	if err != nil {
		return Organization{}, mapError("get organization", err)
	}
	if res == nil || len(res.GetValue()) == 0 || res.GetValue()[0] == nil {
		return Organization{}, fmt.Errorf("get organization: %w", ErrNotFound)
	}
	o := res.GetValue()[0]
	out := Organization{TenantID: deref(o.GetId()), DisplayName: text(o.GetDisplayName())}
	for _, d := range o.GetVerifiedDomains() {
		if d == nil {
			continue
		}
		out.Domains = append(out.Domains, Domain{Name: text(d.GetName()), IsDefault: deref(d.GetIsDefault()), IsInitial: deref(d.GetIsInitial())})
	}
	return out, nil
}
