package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
)

// CredentialSignIns returns, per key ID, when each credential of the app
// last signed in, from Graph's beta report
// (GET /beta/reports/appCredentialSignInActivities;
// https://learn.microsoft.com/graph/api/reportroot-list-appcredentialsigninactivities?view=graph-rest-beta).
// It needs AuditLog.Read.All; a rotation uses it only as a hint that the new
// secret is in use, never as a condition.
func (c *Client) CredentialSignIns(ctx context.Context, appID string) (map[string]time.Time, error) {
	root := strings.TrimSuffix(c.base, "/v1.0")
	u, err := url.Parse(root + "/beta/reports/appCredentialSignInActivities?$filter=" + url.QueryEscape(fmt.Sprintf("appId eq '%s'", appID)))
	if err != nil {
		return nil, fmt.Errorf("graph: credential sign-ins: %w", err)
	}
	ri := abs.NewRequestInformation()
	ri.Method = abs.GET
	ri.SetUri(*u)
	ri.Headers.TryAdd("Accept", "application/json")
	res, err := c.adapter.SendPrimitive(ctx, ri, "[]byte", errorMapping)
	if err != nil {
		return nil, mapError("credential sign-ins", err)
	}
	b, ok := res.([]byte)
	if !ok {
		return nil, errors.New("graph: credential sign-ins: empty response")
	}
	var page struct {
		Value []struct {
			KeyID          string `json:"keyId"`
			SignInActivity struct {
				LastSignInDateTime time.Time `json:"lastSignInDateTime"`
			} `json:"signInActivity"`
		} `json:"value"`
	}
	if err := json.Unmarshal(b, &page); err != nil {
		return nil, fmt.Errorf("graph: credential sign-ins: %w", err)
	}
	out := map[string]time.Time{}
	for _, v := range page.Value {
		if t := v.SignInActivity.LastSignInDateTime; !t.IsZero() && t.After(out[strings.ToLower(v.KeyID)]) {
			out[strings.ToLower(v.KeyID)] = t
		}
	}
	return out, nil
}
