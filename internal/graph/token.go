package graph

import (
	"context"
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
