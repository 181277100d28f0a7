package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/oauth2"
)

// TenantToken is a delegated access token for Microsoft Graph in one tenant,
// from an admin's incremental sign-in there (the registration wizard).
type TenantToken struct {
	AccessToken string
	Expiry      time.Time
	// RefreshToken is set when offline_access was asked for (a rotation
	// that removes the old secret on a date).
	RefreshToken string
}

func (c *Client) tenantConfig(tenantID, redirectURL string, scopes []string) *oauth2.Config {
	base := c.cfg.Authority + "/" + tenantID + "/oauth2/v2.0"
	return &oauth2.Config{ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret, RedirectURL: redirectURL, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: base + "/authorize", TokenURL: base + "/token", AuthStyle: oauth2.AuthStyleInParams}}
}

// TenantAuthURL sends an admin to sign in to tenantID and consent to scopes
// (incremental consent: only what this task needs, asked when it is needed;
// https://learn.microsoft.com/entra/identity-platform/consent-types-developer).
// The tenant-specific endpoint makes Entra refuse accounts of other tenants
// (guests aside, which pre-flight catches by reading /organization).
func (c *Client) TenantAuthURL(tenantID, redirectURL string, scopes []string, p Pending, loginHint string) string {
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(p.Verifier), oauth2.SetAuthURLParam("response_mode", "query"),
		oauth2.SetAuthURLParam("prompt", "select_account")}
	if loginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", loginHint))
	}
	return c.tenantConfig(tenantID, redirectURL, scopes).AuthCodeURL(p.State, opts...)
}

// ExchangeTenantCode redeems the code from TenantAuthURL's sign-in. A code
// Entra refuses is a *Refusal.
func (c *Client) ExchangeTenantCode(ctx context.Context, tenantID, redirectURL string, scopes []string, p Pending, code string) (TenantToken, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, c.cfg.HTTPClient)
	tok, err := c.tenantConfig(tenantID, redirectURL, scopes).Exchange(ctx, code, oauth2.VerifierOption(p.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return TenantToken{}, refuseAs("code_rejected", "auth.refused.tenant_code_rejected", "Entra ID did not accept this sign-in to the tenant (the code was used, has expired, or belongs to another browser). Start the sign-in again.", err)
		}
		return TenantToken{}, fmt.Errorf("auth: redeem tenant code: %w", err)
	}
	if tok.AccessToken == "" {
		return TenantToken{}, refuse("no_access_token", "Entra ID returned no access token. Start the sign-in again.", nil)
	}
	exp := tok.Expiry
	if exp.IsZero() {
		exp = c.cfg.Now().Add(time.Hour)
	}
	return TenantToken{AccessToken: tok.AccessToken, Expiry: exp, RefreshToken: tok.RefreshToken}, nil
}

// RefreshTenantToken redeems a refresh token for a new access token in the
// tenant (and the refresh token Entra may rotate alongside).
func (c *Client) RefreshTenantToken(ctx context.Context, tenantID string, scopes []string, refresh string) (TenantToken, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, c.cfg.HTTPClient)
	tok, err := c.tenantConfig(tenantID, "", scopes).TokenSource(ctx, &oauth2.Token{RefreshToken: refresh}).Token()
	if err != nil {
		return TenantToken{}, fmt.Errorf("auth: refresh tenant token: %w", err)
	}
	return TenantToken{AccessToken: tok.AccessToken, Expiry: tok.Expiry, RefreshToken: tok.RefreshToken}, nil
}
