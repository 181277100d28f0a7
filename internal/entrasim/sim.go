// Package entrasim emulates the parts of Microsoft Entra ID (login.microsoftonline.com) and Microsoft
// Graph (graph.microsoft.com) that the portal uses, so that tests and the `portal dev` demo run without a
// tenant. Login endpoints are served at {base}/{tenant}/… and Graph at {base}/v1.0/…, the way Microsoft
// serves them; real clients (msgraph-sdk-go, golang.org/x/oauth2, go-oidc) work against it unchanged.
//
// Every behaviour traces to Microsoft's documentation or a documented real-world response; the sources are
// named by URL in the tests and comments.
package entrasim

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a Sim.
type Options struct {
	// AutoLogin makes /authorize sign in the user named by a valid login_hint without showing a page (and
	// give consent where that user may give it), so scripts and tests can run flows without a browser.
	AutoLogin bool
	// Now is the clock the Sim starts from (default time.Now). SetNow and Advance shift it.
	Now func() time.Time
	// ReplicationLag makes new applications and service principals invisible to reads for this long.
	ReplicationLag time.Duration
	// DeviceCodeInterval is the polling interval the device code endpoint announces (default 5s, as Entra).
	DeviceCodeInterval time.Duration
	// TrailingEmptyPage makes collections that end exactly on a page boundary, or fit one page, end with an
	// @odata.nextLink to an empty last page, as Graph sometimes answers; clients must keep following
	// nextLink until there is none (https://learn.microsoft.com/graph/paging; msgraph-sdk-go-core #193).
	TrailingEmptyPage bool
	// DisableServiceLimits turns off Graph's documented per-tenant limit of 150 requests a minute that
	// $select keyCredentials on applications and service principals (application-list.md), for load tests.
	DisableServiceLimits bool
}

// Sim is one emulated world of Entra ID tenants and Microsoft Graph. It is an http.Handler and safe for
// concurrent use.
type Sim struct {
	opts Options

	mu          sync.Mutex
	baseURL     string
	clockOffset atomic.Int64 // nanoseconds added to opts.Now; atomic so error writers can read the clock under mu
	lag         time.Duration

	tenants     map[string]*tenant // by tenant ID
	tenantOrder []*tenant
	domains     map[string]*tenant // lower-case domain → tenant
	apps        map[string]*application
	appsByAppID map[string]*application

	pending map[string]*authRequest
	codes   map[string]*authCode
	refresh map[string]*refreshGrant
	devices map[string]*deviceGrant // by device_code
	tokens  map[string]*accessClaims

	faults   []*faultRule
	requests []RecordedRequest
	seq      int64
}

// New returns an empty world. Use CreateTenant, LoadSeed or the control API to populate it.
func New(opts Options) *Sim {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Sim{
		opts:        opts,
		lag:         opts.ReplicationLag,
		tenants:     map[string]*tenant{},
		domains:     map[string]*tenant{},
		apps:        map[string]*application{},
		appsByAppID: map[string]*application{},
		pending:     map[string]*authRequest{},
		codes:       map[string]*authCode{},
		refresh:     map[string]*refreshGrant{},
		devices:     map[string]*deviceGrant{},
		tokens:      map[string]*accessClaims{},
	}
	s.addFirstPartyClients()
	return s
}

// SetBaseURL sets the public base URL (scheme and host, no trailing slash). Issuers become
// base + "/" + tenantID + "/v2.0" and Graph links base + "/v1.0/…". Without it, the base is taken from
// each request's Host.
func (s *Sim) SetBaseURL(base string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.baseURL = strings.TrimRight(base, "/")
}

// BaseURL returns the base URL set with SetBaseURL ("" if none).
func (s *Sim) BaseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseURL
}

func (s *Sim) base(r *http.Request) string {
	s.mu.Lock()
	b := s.baseURL
	s.mu.Unlock()
	if b != "" {
		return b
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// Now returns the Sim's current time.
func (s *Sim) Now() time.Time { return s.now() }

func (s *Sim) now() time.Time { return s.opts.Now().Add(time.Duration(s.clockOffset.Load())).UTC() }

// SetNow moves the Sim's clock to t; it keeps ticking from there.
func (s *Sim) SetNow(t time.Time) {
	s.clockOffset.Store(int64(t.Sub(s.opts.Now())))
}

// Advance moves the Sim's clock forward by d (tokens and secrets expire).
func (s *Sim) Advance(d time.Duration) {
	s.clockOffset.Add(int64(d))
}

// SetReplicationLag makes objects created from now on invisible to reads for d, as Graph's eventual
// consistency does (404 Request_ResourceNotFound, or 400 NoBackingApplicationObject when creating the
// service principal of a new application).
func (s *Sim) SetReplicationLag(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lag = d
}

// RecordedRequest is one request the Sim received, with its decoded (gunzipped) body.
type RecordedRequest struct {
	Method string
	Path   string
	Query  string
	Body   []byte
	Status int // status the Sim answered with
}

// Requests returns the requests received so far (oldest first; the most recent 10,000). Tests use it to check, for example, that a
// POST retried after a 429 arrived with its body intact.
func (s *Sim) Requests() []RecordedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]RecordedRequest, len(s.requests))
	copy(out, s.requests)
	return out
}

const maxRecorded = 10000

// ServeHTTP dispatches to the control API (/_sim/…), Microsoft Graph (/v1.0/…) or the login endpoints
// ({tenant}/…).
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		http.Error(w, "bad request body", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sw := &statusWriter{ResponseWriter: w, status: 200}
	defer func() {
		s.mu.Lock()
		if len(s.requests) >= maxRecorded { // keep the most recent ones
			s.requests = append(s.requests[:0:0], s.requests[maxRecorded/10:]...)
		}
		s.requests = append(s.requests, RecordedRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: body, Status: sw.status})
		s.mu.Unlock()
	}()
	p := r.URL.Path
	if strings.HasPrefix(p, "/_sim/") {
		s.serveControl(sw, r, body)
		return
	}
	if f := s.matchFault(r.Method, p); f != nil {
		s.writeFault(sw, r, f)
		return
	}
	switch {
	case p == "/v1.0" || strings.HasPrefix(p, "/v1.0/") || p == "/beta" || strings.HasPrefix(p, "/beta/"):
		s.serveGraph(sw, r, body)
	default:
		s.serveLogin(sw, r)
	}
}

// readBody reads the whole request body, gunzipping it when it arrives gzip-encoded (msgraph-sdk-go's
// default CompressionHandler sends Content-Encoding: gzip).
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") && len(b) > 0 {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("gunzip body: %w", err)
		}
		b, err = io.ReadAll(zr)
		if err != nil {
			return nil, fmt.Errorf("gunzip body: %w", err)
		}
		r.Header.Del("Content-Encoding")
	}
	return b, nil
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status = code
		w.wrote = true
	}
	w.ResponseWriter.WriteHeader(code)
}
