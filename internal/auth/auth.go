// Package auth signs people in to the portal through Entra ID: OpenID
// Connect authorization code flow with PKCE, and the ID token checks that
// go-oidc cannot do alone for Entra's multi-tenant endpoints.
//
// Entra publishes the issuer of its organizations/common endpoints as a
// template, https://login.microsoftonline.com/{tenantid}/v2.0, so go-oidc's
// own issuer check is switched off and replaced here: the token's tid (a
// GUID) is substituted into the template and iss must match it exactly, tid
// must be on the allow-list, and the nonce must match the one bound to the
// browser's pre-login session.
package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/appreg-portal/portal/internal/config"
)

// ClockSkew is how far the portal's clock may differ from Entra's when
// checking token expiry.
const ClockSkew = 2 * time.Minute

// MaxTokenAge is how old (by iat) an ID token may be when it reaches the
// callback: a sign-in takes seconds, so an older token is a replay.
const MaxTokenAge = 10 * time.Minute

// Config configures sign-in.
type Config struct {
	Authority      string   // e.g. https://login.microsoftonline.com
	ClientID       string   // the portal app's client ID
	ClientSecret   string   // its secret
	RedirectURL    string   // {base}/auth/callback
	AllowedTenants []string // tenant IDs whose users may sign in
	HTTPClient     *http.Client
	Now            func() time.Time
}

// Client runs sign-ins. Discovery happens on first use and is retried on the
// next sign-in if Entra was unreachable, so the portal starts without it.
type Client struct {
	cfg Config

	mu       sync.Mutex
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	oauth    *oauth2.Config
}

// New returns a client; it makes no network call.
func New(cfg Config) *Client {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	cfg.Authority = strings.TrimRight(cfg.Authority, "/")
	return &Client{cfg: cfg}
}

// IssuerTemplate is the issuer Entra publishes for multi-tenant endpoints.
func (c *Client) IssuerTemplate() string { return c.cfg.Authority + "/{tenantid}/v2.0" }

// ExpectedIssuer is the exact issuer of tokens for one tenant.
func (c *Client) ExpectedIssuer(tenantID string) string {
	return c.cfg.Authority + "/" + tenantID + "/v2.0"
}

func (c *Client) ensure(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.provider != nil {
		return nil
	}
	ctx = oidc.ClientContext(ctx, c.cfg.HTTPClient)
	// The organizations metadata names the template issuer; accept exactly that.
	ctx = oidc.InsecureIssuerURLContext(ctx, c.IssuerTemplate())
	p, err := oidc.NewProvider(ctx, c.cfg.Authority+"/organizations/v2.0")
	if err != nil {
		return fmt.Errorf("auth: OpenID discovery at %s: %w", c.cfg.Authority, err)
	}
	c.provider = p
	c.verifier = p.VerifierContext(oidc.ClientContext(context.Background(), c.cfg.HTTPClient), &oidc.Config{
		ClientID:             c.cfg.ClientID,
		SupportedSigningAlgs: []string{oidc.RS256},
		SkipIssuerCheck:      true, // checked against the template in Verify
		Now:                  func() time.Time { return c.cfg.Now().Add(-ClockSkew) },
	})
	c.oauth = &oauth2.Config{
		ClientID:     c.cfg.ClientID,
		ClientSecret: c.cfg.ClientSecret,
		RedirectURL:  c.cfg.RedirectURL,
		Endpoint:     p.Endpoint(),
		Scopes:       []string{oidc.ScopeOpenID, "profile", "email"},
	}
	c.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	return nil
}

// EndSessionURL is Entra's sign-out endpoint, returning to postLogout.
func (c *Client) EndSessionURL(postLogout string) string {
	return c.cfg.Authority + "/organizations/oauth2/v2.0/logout?post_logout_redirect_uri=" + urlQueryEscape(postLogout) +
		"&client_id=" + urlQueryEscape(c.cfg.ClientID)
}

// Pending is what the portal remembers between sending the browser to Entra
// and the callback: all single-use and bound to the pre-login session.
type Pending struct {
	State    string
	Nonce    string
	Verifier string // PKCE code verifier
	ReturnTo string
}

// NewPending makes fresh random state, nonce and PKCE verifier.
func NewPending(returnTo string) Pending {
	return Pending{State: oauth2.GenerateVerifier(), Nonce: oauth2.GenerateVerifier(), Verifier: oauth2.GenerateVerifier(), ReturnTo: returnTo}
}

// AuthCodeURL is where to send the browser to sign in.
func (c *Client) AuthCodeURL(ctx context.Context, p Pending, loginHint, domainHint string) (string, error) {
	if err := c.ensure(ctx); err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(p.Nonce), oauth2.S256ChallengeOption(p.Verifier), oauth2.SetAuthURLParam("response_mode", "query")}
	if loginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", loginHint))
	}
	if domainHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("domain_hint", domainHint))
	}
	return c.oauth.AuthCodeURL(p.State, opts...), nil
}

// Identity is a signed-in person, from a verified ID token.
type Identity struct {
	TenantID string
	ObjectID string
	Name     string
	Email    string
	Roles    []string // app roles of the portal app (Portal.Admin, …)
}

// Refusal is a sign-in the portal refused, with a reason for the audit trail
// and a message for the person.
type Refusal struct {
	Reason string // short machine-readable reason, e.g. "issuer_mismatch"
	// ID is the message for the person in the portal's catalogues
	// (internal/i18n), when it is not "auth.refused."+Reason; see MessageID.
	ID      string
	Message string // the message in English, for logs and tests
	Err     error  // detail for the log
}

// MessageID is the catalogue message (internal/i18n) that tells the person
// what happened and what to do: "auth.refused.<reason>" unless one reason
// has several messages.
func (r *Refusal) MessageID() string {
	if r.ID != "" {
		return r.ID
	}
	return "auth.refused." + r.Reason
}

func (r *Refusal) Error() string {
	if r.Err != nil {
		return "sign-in refused (" + r.Reason + "): " + r.Err.Error()
	}
	return "sign-in refused (" + r.Reason + ")"
}

func (r *Refusal) Unwrap() error { return r.Err }

func refuse(reason, message string, err error) error {
	return &Refusal{Reason: reason, Message: message, Err: err}
}

// refuseAs is refuse for one of several messages of a reason (id).
func refuseAs(reason, id, message string, err error) error {
	return &Refusal{Reason: reason, ID: id, Message: message, Err: err}
}

const tryAgain = "Please start the sign-in again from the portal."

// CheckState compares the callback's state with the pending one in constant time.
func CheckState(p Pending, state string) error {
	if p.State == "" {
		return refuse("state_missing", "This sign-in link was already used or has expired, or it was started in another browser. "+tryAgain, nil)
	}
	if subtle.ConstantTimeCompare([]byte(p.State), []byte(state)) != 1 {
		return refuse("state_mismatch", "This sign-in answer does not belong to the sign-in this browser started. "+tryAgain, nil)
	}
	return nil
}

// Exchange redeems the authorization code (with the PKCE verifier) and
// verifies the ID token it returns.
func (c *Client) Exchange(ctx context.Context, p Pending, code string) (Identity, error) {
	if err := c.ensure(ctx); err != nil {
		return Identity{}, err
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, c.cfg.HTTPClient)
	tok, err := c.oauth.Exchange(ctx, code, oauth2.VerifierOption(p.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			// Entra refused the code: used twice, expired, PKCE mismatch, wrong client.
			return Identity{}, refuse("code_rejected", "Entra ID did not accept this sign-in (the code was already used, has expired, or does not match this browser). "+tryAgain, err)
		}
		return Identity{}, fmt.Errorf("auth: redeem code: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, refuse("no_id_token", "Entra ID did not return an ID token. "+tryAgain, nil)
	}
	return c.Verify(ctx, raw, p.Nonce)
}

// Verify checks an ID token: signature (RS256, known key), audience, expiry
// with ClockSkew, the exact per-tenant issuer, the tenant allow-list and the nonce.
func (c *Client) Verify(ctx context.Context, raw, nonce string) (Identity, error) {
	if err := c.ensure(ctx); err != nil {
		return Identity{}, err
	}
	t, err := c.verifier.Verify(ctx, raw)
	if err != nil {
		var exp *oidc.TokenExpiredError
		switch {
		case errors.As(err, &exp):
			return Identity{}, refuse("token_expired", "The sign-in took too long and its token expired. "+tryAgain, err)
		case strings.Contains(err.Error(), "expected audience"):
			return Identity{}, refuse("audience_mismatch", "The sign-in token was issued for another application. "+tryAgain, err)
		default:
			return Identity{}, refuse("token_invalid", "The sign-in token could not be verified. "+tryAgain, err)
		}
	}
	if len(t.Audience) != 1 {
		// Entra v2 ID tokens have one audience; more means someone else's token too.
		return Identity{}, refuseAs("audience_mismatch", "auth.refused.audience_mismatch_many", "The sign-in token was issued for more than this application. "+tryAgain, fmt.Errorf("aud %v", t.Audience))
	}
	now := c.cfg.Now()
	if t.IssuedAt.After(now.Add(ClockSkew)) || t.IssuedAt.Before(now.Add(-MaxTokenAge-ClockSkew)) {
		return Identity{}, refuse("token_stale", "The sign-in token is too old or dated in the future; check that the server's clock is right. "+tryAgain,
			fmt.Errorf("iat %s, now %s", t.IssuedAt.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
	}
	var cl struct {
		AZP               string   `json:"azp"`
		TID               string   `json:"tid"`
		OID               string   `json:"oid"`
		Name              string   `json:"name"`
		PreferredUsername string   `json:"preferred_username"`
		Email             string   `json:"email"`
		Roles             []string `json:"roles"`
		Ver               string   `json:"ver"`
	}
	if err := t.Claims(&cl); err != nil {
		return Identity{}, refuseAs("token_invalid", "auth.refused.token_unreadable", "The sign-in token could not be read. "+tryAgain, err)
	}
	if cl.AZP != "" && cl.AZP != c.cfg.ClientID {
		return Identity{}, refuseAs("audience_mismatch", "auth.refused.audience_mismatch_azp", "The sign-in token was issued to another application. "+tryAgain, fmt.Errorf("azp %q", cl.AZP))
	}
	tid := strings.ToLower(cl.TID)
	if !config.IsGUID(tid) {
		return Identity{}, refuse("tenant_invalid", "The sign-in token names no valid tenant. "+tryAgain, fmt.Errorf("tid %q", cl.TID))
	}
	if t.Issuer != c.ExpectedIssuer(tid) {
		return Identity{}, refuse("issuer_mismatch", "The sign-in token was not issued by your organisation's Entra ID. "+tryAgain,
			fmt.Errorf("iss %q, want %q", t.Issuer, c.ExpectedIssuer(tid)))
	}
	if subtle.ConstantTimeCompare([]byte(t.Nonce), []byte(nonce)) != 1 || nonce == "" {
		return Identity{}, refuse("nonce_mismatch", "The sign-in token does not belong to the sign-in this browser started. "+tryAgain, nil)
	}
	if !slices.Contains(c.cfg.AllowedTenants, tid) {
		return Identity{}, refuse("tenant_not_allowed", "Your organisation is not allowed to use this portal. Ask the portal's administrator to add your tenant.",
			fmt.Errorf("tenant %s not on the allow-list", tid))
	}
	if !config.IsGUID(cl.OID) {
		return Identity{}, refuseAs("token_invalid", "auth.refused.token_no_user", "The sign-in token names no user. "+tryAgain, fmt.Errorf("oid %q", cl.OID))
	}
	email := cl.Email
	if email == "" {
		email = cl.PreferredUsername
	}
	return Identity{TenantID: tid, ObjectID: strings.ToLower(cl.OID), Name: cl.Name, Email: strings.ToLower(email), Roles: cl.Roles}, nil
}
