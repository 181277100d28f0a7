// Package graph is the portal's Microsoft Graph client: a narrow API in the portal's terms (applications,
// credentials, service principals, grants) over msgraph-sdk-go. It is the only package that imports the
// SDK, which is heavy to compile.
//
// The client is built with an explicit middleware chain without kiota's CompressionHandler (which can
// lose the body of a POST retried after a 429: https://github.com/microsoft/kiota-http-go/issues/183,
// https://github.com/microsoftgraph/msgraph-sdk-go/issues/341, closed upstream but still reproducible
// with kiota-http-go v1.5.4), a token provider
// wrapping an oauth2.TokenSource that only sends tokens to the configured Graph host, and the JSON, text
// and form serializers registered.
package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	absauth "github.com/microsoft/kiota-abstractions-go/authentication"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	khttp "github.com/microsoft/kiota-http-go"
	formser "github.com/microsoft/kiota-serialization-form-go"
	jsonser "github.com/microsoft/kiota-serialization-json-go"
	textser "github.com/microsoft/kiota-serialization-text-go"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"golang.org/x/oauth2"
)

// DefaultBaseURL is Microsoft Graph v1.0.
const DefaultBaseURL = "https://graph.microsoft.com/v1.0"

// Config configures a Client.
type Config struct {
	// BaseURL is the Graph root including the version (default DefaultBaseURL). Tokens are sent only to
	// its host.
	BaseURL string
	// TokenSource yields access tokens for Microsoft Graph (app-only or delegated).
	TokenSource oauth2.TokenSource
	// HTTPClient supplies the transport (for example one that trusts a test CA); its Transport is wrapped
	// by the middleware chain. Optional.
	HTTPClient *http.Client
	// MaxRetries is how often kiota's RetryHandler retries 429/503/504, honouring Retry-After (default 3,
	// at most 10).
	MaxRetries int
	// ReplicationTimeout bounds the application-level retries of calls that fail right after a create
	// because Graph has not replicated the new object yet (default 60s).
	ReplicationTimeout time.Duration
	// ReplicationBackoff is the first wait between those retries; it doubles up to 10s (default 1s).
	ReplicationBackoff time.Duration
}

// Client calls Microsoft Graph for one tenant with one token source.
type Client struct {
	adapter *msgraphgocore.GraphRequestAdapterBase
	base    string
	cfg     Config
}

var registerOnce sync.Once

// registerSerializers registers the serializers the root GraphServiceClient would register; this package
// uses the request builders directly to keep compile times down.
func registerSerializers() {
	registerOnce.Do(func() {
		abs.RegisterDefaultSerializer(func() absser.SerializationWriterFactory { return jsonser.NewJsonSerializationWriterFactory() })
		abs.RegisterDefaultSerializer(func() absser.SerializationWriterFactory { return textser.NewTextSerializationWriterFactory() })
		abs.RegisterDefaultSerializer(func() absser.SerializationWriterFactory { return formser.NewFormSerializationWriterFactory() })
		abs.RegisterDefaultDeserializer(func() absser.ParseNodeFactory { return jsonser.NewJsonParseNodeFactory() })
		abs.RegisterDefaultDeserializer(func() absser.ParseNodeFactory { return textser.NewTextParseNodeFactory() })
		abs.RegisterDefaultDeserializer(func() absser.ParseNodeFactory { return formser.NewFormParseNodeFactory() })
	})
}

// tokenProvider adapts an oauth2.TokenSource to kiota. It refuses (with an error, not silently) to attach
// a token to a host other than the configured Graph host.
type tokenProvider struct {
	ts    oauth2.TokenSource
	hosts *absauth.AllowedHostsValidator
}

func (p *tokenProvider) GetAuthorizationToken(ctx context.Context, u *url.URL, _ map[string]any) (string, error) {
	if !p.hosts.IsUrlHostValid(u) {
		return "", fmt.Errorf("graph: refusing to send a token to host %q", u.Host)
	}
	t, err := p.ts.Token()
	if err != nil {
		return "", fmt.Errorf("graph: get token: %w", err)
	}
	return t.AccessToken, nil
}

func (p *tokenProvider) GetAllowedHostsValidator() *absauth.AllowedHostsValidator { return p.hosts }

// NewClient builds a Client.
func NewClient(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.TokenSource == nil {
		return nil, errors.New("graph: Config.TokenSource is required")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("graph: invalid BaseURL %q", cfg.BaseURL)
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = 3
	}
	if cfg.MaxRetries > 10 {
		cfg.MaxRetries = 10
	}
	if cfg.ReplicationTimeout <= 0 {
		cfg.ReplicationTimeout = 60 * time.Second
	}
	if cfg.ReplicationBackoff <= 0 {
		cfg.ReplicationBackoff = time.Second
	}
	registerSerializers()
	hosts, err := absauth.NewAllowedHostsValidatorErrorCheck([]string{u.Hostname()})
	if err != nil {
		return nil, fmt.Errorf("graph: allowed hosts: %w", err)
	}
	auth := absauth.NewBaseBearerTokenAuthenticationProvider(&tokenProvider{ts: cfg.TokenSource, hosts: hosts})

	// The middleware chain, in a fixed order and without the CompressionHandler: kiota-http-go builds its
	// default chain from a Go map, so the order differs from client to client, and the CompressionHandler
	// gzips the body into the shared request, so a POST retried after a 429 can arrive empty or broken
	// (with the default chain most retried POSTs did; without compression none did).
	opts := msgraphgocore.GraphClientOptions{GraphServiceVersion: "v1.0", GraphServiceLibraryVersion: "1.89.0"}
	mws := []khttp.Middleware{
		msgraphgocore.NewGraphTelemetryHandler(&opts),
		khttp.NewUrlReplaceHandler(true, msgraphgocore.ReplacementPairs),
		khttp.NewRetryHandlerWithOptions(khttp.RetryHandlerOptions{
			MaxRetries: cfg.MaxRetries, DelaySeconds: 3,
			ShouldRetry: func(time.Duration, int, *http.Request, *http.Response) bool { return true },
		}),
		khttp.NewRedirectHandler(),
		khttp.NewParametersNameDecodingHandler(),
		khttp.NewUserAgentHandler(),
		khttp.NewHeadersInspectionHandler(),
	}
	var parent http.RoundTripper = http.DefaultTransport
	hc := &http.Client{Timeout: 100 * time.Second}
	if cfg.HTTPClient != nil {
		if cfg.HTTPClient.Transport != nil {
			parent = cfg.HTTPClient.Transport
		}
		if cfg.HTTPClient.Timeout > 0 {
			hc.Timeout = cfg.HTTPClient.Timeout
		}
	}
	hc.Transport = khttp.NewCustomTransportWithParentTransport(parent, mws...)
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	adapter, err := msgraphgocore.NewGraphRequestAdapterBaseWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(
		auth, opts, nil, nil, hc)
	if err != nil {
		return nil, fmt.Errorf("graph: request adapter: %w", err)
	}
	adapter.SetBaseUrl(cfg.BaseURL)
	return &Client{adapter: adapter, base: cfg.BaseURL, cfg: cfg}, nil
}

func (c *Client) pathParams() map[string]string {
	return map[string]string{"baseurl": c.base}
}

// retryReplication runs call until it stops failing with ErrReplicationLag or ErrNotFound, backing off
// exponentially, for at most Config.ReplicationTimeout. Use it only for calls right after a create: Graph
// is eventually consistent and does not document a replication SLA (reported in
// https://github.com/microsoftgraph/msgraph-sdk-dotnet/issues/3108 and
// https://github.com/microsoftgraph/msgraph-bicep-types/issues/193;
// https://github.com/Azure/ARO-HCP/pull/6325:
// kiota's RetryHandler does not retry these 400/404s).
func (c *Client) retryReplication(ctx context.Context, call func() error) error {
	deadline := time.Now().Add(c.cfg.ReplicationTimeout)
	wait := c.cfg.ReplicationBackoff
	for {
		err := call()
		if err == nil || !(errors.Is(err, ErrReplicationLag) || errors.Is(err, ErrNotFound)) {
			return err
		}
		if time.Now().Add(wait).After(deadline) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
		wait = min(wait*2, 10*time.Second)
	}
}
