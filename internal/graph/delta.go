package graph

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/applications"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
)

// ErrResyncRequired means a delta link can no longer be followed (expired
// after 7 days, or unknown to Graph): the caller lists everything again and
// starts a new delta round
// (https://learn.microsoft.com/graph/delta-query-overview#synchronization-reset).
var ErrResyncRequired = errors.New("graph: the delta link is no longer valid; list everything again")

// ApplicationChanges is one round of /applications/delta: what changed in
// the tenant's applications since the link it started from.
type ApplicationChanges struct {
	// Changed holds each added or changed application with all its
	// credentials (the delta selects them, so the list is complete).
	Changed []Application
	// Removed holds the object IDs of deleted applications.
	Removed []string
	// DeltaLink is where the next round starts.
	DeltaLink string
	// Requests is how many Graph requests the round took.
	Requests int
}

// applicationDeltaSelect is what a delta round reads of each application.
const applicationDeltaSelect = "id,appId,displayName,passwordCredentials,keyCredentials"

// LatestApplicationsDeltaLink returns a delta link that starts now, without
// listing anything ($deltatoken=latest). Taken before a full listing, it
// makes the next scan see every change made since
// (https://learn.microsoft.com/graph/api/application-delta).
func (c *Client) LatestApplicationsDeltaLink(ctx context.Context) (string, error) {
	q := url.Values{"$select": {applicationDeltaSelect}, "$deltatoken": {"latest"}}
	res, err := applications.NewDeltaRequestBuilder(c.base+"/applications/delta?"+q.Encode(), c.adapter).GetAsDeltaGetResponse(ctx, nil)
	if err != nil {
		return "", mapDeltaError("applications delta", err)
	}
	link := deref(res.GetOdataDeltaLink())
	if link == "" {
		return "", errors.New("graph: applications delta: no delta link")
	}
	return link, nil
}

// ApplicationsDelta follows a delta link to its end: every page of changes,
// then the next delta link. An unchanged tenant costs one request.
func (c *Client) ApplicationsDelta(ctx context.Context, deltaLink string) (ApplicationChanges, error) {
	var out ApplicationChanges
	if !strings.HasPrefix(deltaLink, c.base+"/") {
		return out, ErrResyncRequired // a link for another Graph (configuration changed): start over
	}
	link := deltaLink
	for link != "" {
		res, err := applications.NewDeltaRequestBuilder(link, c.adapter).GetAsDeltaGetResponse(ctx, nil)
		out.Requests++
		if err != nil {
			return ApplicationChanges{}, mapDeltaError("applications delta", err)
		}
		for _, a := range res.GetValue() {
			if a == nil {
				continue
			}
			if _, removed := a.GetAdditionalData()["@removed"]; removed {
				out.Removed = append(out.Removed, deref(a.GetId()))
				continue
			}
			out.Changed = append(out.Changed, toApplication(a))
		}
		link = deref(res.GetOdataNextLink())
		if next := deref(res.GetOdataDeltaLink()); next != "" {
			out.DeltaLink, link = next, ""
		}
	}
	if out.DeltaLink == "" {
		return ApplicationChanges{}, errors.New("graph: applications delta: the round ended without a delta link")
	}
	return out, nil
}

// ServicePrincipalChanges is one round of /servicePrincipals/delta.
type ServicePrincipalChanges struct {
	Changed   []ServicePrincipalCredentials // each added or changed service principal, credentials complete
	Removed   []string                      // object IDs of deleted service principals
	DeltaLink string
	Requests  int
}

const servicePrincipalDeltaSelect = "id,appId,displayName,passwordCredentials,keyCredentials"

// LatestServicePrincipalsDeltaLink is LatestApplicationsDeltaLink for
// service principals (https://learn.microsoft.com/graph/api/serviceprincipal-delta).
func (c *Client) LatestServicePrincipalsDeltaLink(ctx context.Context) (string, error) {
	q := url.Values{"$select": {servicePrincipalDeltaSelect}, "$deltatoken": {"latest"}}
	res, err := serviceprincipals.NewDeltaRequestBuilder(c.base+"/servicePrincipals/delta?"+q.Encode(), c.adapter).GetAsDeltaGetResponse(ctx, nil)
	if err != nil {
		return "", mapDeltaError("service principals delta", err)
	}
	link := deref(res.GetOdataDeltaLink())
	if link == "" {
		return "", errors.New("graph: service principals delta: no delta link")
	}
	return link, nil
}

// ServicePrincipalsDelta is ApplicationsDelta for service principals.
func (c *Client) ServicePrincipalsDelta(ctx context.Context, deltaLink string) (ServicePrincipalChanges, error) {
	var out ServicePrincipalChanges
	if !strings.HasPrefix(deltaLink, c.base+"/") {
		return out, ErrResyncRequired
	}
	link := deltaLink
	for link != "" {
		res, err := serviceprincipals.NewDeltaRequestBuilder(link, c.adapter).GetAsDeltaGetResponse(ctx, nil)
		out.Requests++
		if err != nil {
			return ServicePrincipalChanges{}, mapDeltaError("service principals delta", err)
		}
		for _, sp := range res.GetValue() {
			if sp == nil {
				continue
			}
			if _, removed := sp.GetAdditionalData()["@removed"]; removed {
				out.Removed = append(out.Removed, deref(sp.GetId()))
				continue
			}
			out.Changed = append(out.Changed, ServicePrincipalCredentials{ObjectID: deref(sp.GetId()), AppID: deref(sp.GetAppId()),
				DisplayName: deref(sp.GetDisplayName()), Credentials: credentials(sp.GetPasswordCredentials(), sp.GetKeyCredentials()),
				CredentialsListed: sp.GetPasswordCredentials() != nil && sp.GetKeyCredentials() != nil})
		}
		link = deref(res.GetOdataNextLink())
		if next := deref(res.GetOdataDeltaLink()); next != "" {
			out.DeltaLink, link = next, ""
		}
	}
	if out.DeltaLink == "" {
		return ServicePrincipalChanges{}, errors.New("graph: service principals delta: the round ended without a delta link")
	}
	return out, nil
}

// mapDeltaError turns Graph's "start over" answers (410 Gone, resyncRequired,
// syncStateNotFound) into ErrResyncRequired.
func mapDeltaError(op string, err error) error {
	err = mapError(op, err)
	var ge *Error
	if errors.As(err, &ge) && (ge.Status == http.StatusGone || ge.Code == "resyncRequired" || ge.Code == "syncStateNotFound" ||
		ge.Code == "syncStateInvalid") {
		return errors.Join(ErrResyncRequired, err)
	}
	return err
}
