// Package onboard connects customer tenants to the portal. A consultant
// sends a customer's Global Administrator an admin consent link for the
// portal's own multi-tenant app; when Entra sends the administrator back,
// the portal confirms with an app-only Graph call which tenant actually
// consented. The tenant named in the callback is never trusted by itself:
// anyone can edit a URL.
package onboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/appreg-portal/portal/internal/graph"
)

// Config names the portal app and the Microsoft endpoints.
type Config struct {
	Authority    string // e.g. https://login.microsoftonline.com
	GraphURL     string // e.g. https://graph.microsoft.com/v1.0
	ClientID     string
	ClientSecret string
	RedirectURL  string // {base}/onboarding/callback, registered on the portal app
	HTTPClient   *http.Client
	// Wait bounds how long Confirm waits for a fresh consent to replicate
	// (the app's service principal can take a while to appear). Default 60s.
	Wait time.Duration
}

// Confirmer builds consent links and confirms consents.
type Confirmer struct{ cfg Config }

// New returns a Confirmer; it makes no network call.
func New(cfg Config) *Confirmer {
	cfg.Authority = strings.TrimRight(cfg.Authority, "/")
	if cfg.Wait <= 0 {
		cfg.Wait = 60 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	return &Confirmer{cfg: cfg}
}

// ConsentURL is the v2 admin consent link for the portal app. tenantHint is
// the customer's tenant ID or domain; empty means the administrator's own
// tenant, whichever it is (the organizations endpoint; never common).
func (c *Confirmer) ConsentURL(tenantHint, state string) string {
	seg := "organizations"
	if tenantHint != "" {
		seg = url.PathEscape(tenantHint)
	}
	q := url.Values{
		"client_id":    {c.cfg.ClientID},
		"scope":        {graph.Scope},
		"redirect_uri": {c.cfg.RedirectURL},
		"state":        {state},
	}
	return c.cfg.Authority + "/" + seg + "/v2.0/adminconsent?" + q.Encode()
}

// Tenant is what the app-only call says about the consenting tenant.
type Tenant struct {
	ID            string
	DisplayName   string
	DefaultDomain string
	Domains       []string // verified domains, lower case
}

// ErrNotConsented means the portal still cannot act in the tenant after
// waiting: consent was not (or not yet) granted there.
var ErrNotConsented = errors.New("onboard: the portal app has no access to the tenant")

// Confirm gets an app-only token for tenantID and reads /organization. It
// retries while a fresh consent replicates, up to Config.Wait.
func (c *Confirmer) Confirm(ctx context.Context, tenantID string) (Tenant, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Wait)
	defer cancel()
	wait := 500 * time.Millisecond
	for {
		t, err := c.confirmOnce(ctx, tenantID)
		if err == nil {
			return t, nil
		}
		if refused(err) {
			return Tenant{}, fmt.Errorf("%w: %v", ErrNotConsented, err)
		}
		if !retryable(err) {
			return Tenant{}, err
		}
		select {
		case <-ctx.Done():
			return Tenant{}, fmt.Errorf("%w: %v", ErrNotConsented, err)
		case <-time.After(wait):
		}
		wait = min(wait*2, 8*time.Second)
	}
}

func (c *Confirmer) confirmOnce(ctx context.Context, tenantID string) (Tenant, error) {
	gc, err := graph.NewAppOnlyClient(ctx, graph.AppOnly{LoginBase: c.cfg.Authority, GraphURL: c.cfg.GraphURL,
		ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret, HTTPClient: c.cfg.HTTPClient}, tenantID)
	if err != nil {
		return Tenant{}, err
	}
	org, err := gc.Organization(ctx)
	if err != nil {
		return Tenant{}, err
	}
	t := Tenant{ID: strings.ToLower(org.TenantID), DisplayName: org.DisplayName}
	for _, d := range org.Domains {
		name := strings.ToLower(d.Name)
		t.Domains = append(t.Domains, name)
		if d.IsDefault {
			t.DefaultDomain = name
		}
	}
	if t.ID != strings.ToLower(tenantID) {
		// The token was for tenantID, yet Graph describes another tenant: refuse.
		return Tenant{}, fmt.Errorf("onboard: Graph describes tenant %s, expected %s", t.ID, tenantID)
	}
	return t, nil
}

// refused reports a final answer from the token endpoint: the tenant does
// not exist, or will not issue the portal a token for another reason than
// replication.
func refused(err error) bool {
	return graph.TokenRefused(err) && !retryable(err)
}

// retryable reports errors a fresh consent explains: the token endpoint
// does not know the app in the tenant yet, or Graph has not caught up. A
// wrong secret (AADSTS7000215) or a missing consent (AADSTS65001) is final.
func retryable(err error) bool {
	if errors.Is(graph.TokenError(err), graph.ErrNotReplicatedYet) {
		return true
	}
	if graph.TokenRefused(err) {
		return false
	}
	return errors.Is(err, graph.ErrUnauthenticated) || errors.Is(err, graph.ErrInsufficientPrivileges) || errors.Is(err, graph.ErrThrottled)
}
