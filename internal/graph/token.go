package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// DefaultLoginBase is Entra ID's login host.
const DefaultLoginBase = "https://login.microsoftonline.com"

// Scope is the static scope for app-only Microsoft Graph tokens: every application permission granted
// to the app (v2-oauth2-client-creds-grant-flow).
const Scope = "https://graph.microsoft.com/.default"

// AppOnlyTokenSource returns a caching token source for app-only Graph tokens of clientID in tenantID
// (client credentials with a secret at {loginBase}/{tenantID}/oauth2/v2.0/token). loginBase defaults to
// DefaultLoginBase; in tests and `portal dev` it is the emulator's base URL. hc, if not nil, carries the
// requests (for example a client trusting the emulator's CA).
func AppOnlyTokenSource(ctx context.Context, loginBase, tenantID, clientID, clientSecret string, hc *http.Client) oauth2.TokenSource {
	if loginBase == "" {
		loginBase = DefaultLoginBase
	}
	cc := clientcredentials.Config{ClientID: clientID, ClientSecret: clientSecret,
		TokenURL: strings.TrimRight(loginBase, "/") + "/" + tenantID + "/oauth2/v2.0/token", Scopes: []string{Scope}}
	if hc != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, hc)
	}
	return cc.TokenSource(ctx)
}

// AppOnly names the portal app for app-only calls into customer tenants.
type AppOnly struct {
	LoginBase    string // default DefaultLoginBase
	GraphURL     string // default DefaultBaseURL
	ClientID     string
	ClientSecret string
	HTTPClient   *http.Client
}

// NewAppOnlyClient returns a Graph client for tenantID whose first token is
// fetched now, so a tenant that will not issue one (no consent, no such
// tenant, wrong secret) fails here with the token endpoint's
// *oauth2.RetrieveError rather than on the first Graph call.
func NewAppOnlyClient(ctx context.Context, a AppOnly, tenantID string) (*Client, error) {
	ts := AppOnlyTokenSource(ctx, a.LoginBase, tenantID, a.ClientID, a.ClientSecret, a.HTTPClient)
	if _, err := ts.Token(); err != nil {
		return nil, err
	}
	return NewClient(ctx, Config{BaseURL: a.GraphURL, TokenSource: ts, HTTPClient: a.HTTPClient})
}

// NewDelegatedClient returns a Graph client that acts as the signed-in admin
// with an access token from the authorization code flow. The token is used
// as it is, never refreshed: a wizard run asks the admin to sign in again
// when it has expired.
func NewDelegatedClient(ctx context.Context, graphURL, accessToken string, hc *http.Client) (*Client, error) {
	return NewClient(ctx, Config{BaseURL: graphURL, HTTPClient: hc,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: accessToken, TokenType: "Bearer"})})
}

// TokenError explains why Entra would not issue a token for a tenant: it
// wraps err with ErrNoConsent, and with ErrNotReplicatedYet as well when the
// app is not (yet) in the tenant at all. Other errors are returned as they are.
func TokenError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return err
	}
	d := re.ErrorDescription
	switch {
	// AADSTS700016: the app is not in the directory; AADSTS7000229: it has no
	// service principal there; AADSTS65001: no consent
	// (https://learn.microsoft.com/entra/identity-platform/reference-error-codes).
	case strings.Contains(d, "AADSTS700016"), strings.Contains(d, "AADSTS7000229"):
		return fmt.Errorf("%w: %w: %w", ErrNoConsent, ErrNotReplicatedYet, err)
	case strings.Contains(d, "AADSTS65001"), re.ErrorCode == "unauthorized_client", re.ErrorCode == "consent_required":
		return fmt.Errorf("%w: %w", ErrNoConsent, err)
	}
	return err
}

// TokenRefused reports whether the token endpoint answered with a refusal
// (4xx: no consent, no such tenant, a wrong secret…) rather than failing
// (5xx) or not answering. Only ErrNotReplicatedYet may change by waiting.
func TokenRefused(err error) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500
}
