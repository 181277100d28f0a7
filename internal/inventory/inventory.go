// Package inventory scans connected tenants for the client secrets and
// certificates of every app registration and service principal, including
// those the portal did not create, and records what it finds. It reads
// app-only with the portal app's Application.Read.All: it never changes a
// tenant and never sees a secret's value.
package inventory

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/appreg-portal/portal/internal/graph"
	"github.com/appreg-portal/portal/internal/onboard"
	"github.com/appreg-portal/portal/internal/problem"
	"github.com/appreg-portal/portal/internal/safetext"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/internal/trunc"
)

// Config names the portal app and the Microsoft endpoints.
type Config struct {
	Authority    string
	GraphURL     string
	ClientID     string
	ClientSecret string
	HTTPClient   *http.Client
	Now          func() time.Time
	// KeyCredentialsPerMinute is how many Graph requests that select
	// keyCredentials one tenant is sent a minute (default 140): Graph
	// allows 150 and answers more with 429 and a long Retry-After
	// (https://learn.microsoft.com/graph/api/application-list, "$select
	// keyCredentials ... throttled"); the margin is for the wizard's reads.
	KeyCredentialsPerMinute int
}

// recorder stores scan results (internal/store).
type recorder interface {
	RecordScanScope(ctx context.Context, tenantID int64, found []store.Credential, at time.Time, scope store.ScanScope) (store.ScanResult, error)
	RecordScanFailure(ctx context.Context, tenantID int64, reason string) error
	TenantDeltaLinks(ctx context.Context, tenantID int64) (store.DeltaLinks, error)
	TenantScanProblems(ctx context.Context, tenantID int64) (string, error)
	StartScan(ctx context.Context, tenantID int64, d time.Duration) error
	EndScan(ctx context.Context, tenantID int64) error
}

// scanLease bounds how long a scan holds its tenant: the River job's
// timeout is 5 minutes, a scan asked for on the page 45 seconds.
const scanLease = 6 * time.Minute

// ErrScanRunning means the tenant is being scanned already (by this
// replica or another); nothing was done.
var ErrScanRunning = store.ErrScanRunning

// Scanner scans tenants.
type Scanner struct {
	cfg    Config
	store  recorder
	mu     sync.Mutex
	limits map[string]*window // per Entra tenant
}

// New returns a Scanner; it makes no network call.
func New(cfg Config, st recorder) *Scanner {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.KeyCredentialsPerMinute <= 0 {
		cfg.KeyCredentialsPerMinute = 140
	}
	return &Scanner{cfg: cfg, store: st, limits: map[string]*window{}}
}

// limit returns the tenant's window of keyCredentials requests.
func (s *Scanner) limit(tenantID string) *window {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.limits[tenantID]
	if w == nil {
		w = &window{size: s.cfg.KeyCredentialsPerMinute, now: s.cfg.Now}
		s.limits[tenantID] = w
	}
	return w
}

// window keeps one tenant's requests that select keyCredentials under a
// number a minute, waiting for a slot rather than meeting Graph's 429.
type window struct {
	size  int
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error // nil: a timer
	mu    sync.Mutex
	sent  []time.Time
}

// wait blocks until a request may go out, and counts it.
func (w *window) wait(ctx context.Context) error {
	for {
		w.mu.Lock()
		now := w.now()
		w.sent = slices.DeleteFunc(w.sent, func(t time.Time) bool { return !now.Before(t.Add(time.Minute)) })
		if len(w.sent) < w.size {
			w.sent = append(w.sent, now)
			w.mu.Unlock()
			return nil
		}
		d := w.sent[0].Add(time.Minute).Sub(now)
		w.mu.Unlock()
		sleep := w.sleep
		if sleep == nil {
			sleep = sleepCtx
		}
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// scanTransport counts a scan's Graph requests and holds back those that
// select keyCredentials to the tenant's window.
type scanTransport struct {
	parent    http.RoundTripper
	graphHost string // and path prefix: the token endpoint may share the host (the emulator)
	graphPath string
	limit     *window
	requests  atomic.Int64
}

func (t *scanTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host == t.graphHost && strings.HasPrefix(r.URL.Path, t.graphPath) {
		t.requests.Add(1)
		if strings.Contains(strings.ToLower(r.URL.Query().Get("$select")), "keycredentials") {
			if err := t.limit.wait(r.Context()); err != nil {
				return nil, err
			}
		}
	}
	return t.parent.RoundTrip(r)
}

// ErrNoAccess means the tenant no longer lets the portal read it (consent
// revoked, app deleted, tenant gone).
var ErrNoAccess = errors.New("inventory: the portal can no longer read this tenant")

// Scan reads the tenant's application and service principal credentials
// and records them. The first scan, and any after Graph asks to start over,
// lists everything (pages of 999); later scans read only what changed since
// (/applications/delta and /servicePrincipals/delta: one request each when
// nothing changed). A failed scan records why and changes no credential: the
// last good inventory stays. One odd item never fails the whole scan: it is
// left out or its name cleaned, the rest is recorded, and the Tenants page
// says what happened to it.
func (s *Scanner) Scan(ctx context.Context, t store.Tenant) (store.ScanResult, error) {
	if err := s.store.StartScan(ctx, t.ID, scanLease); err != nil {
		return store.ScanResult{}, err
	}
	// Not ctx: a scan cut off by its deadline must still give the tenant back. Should
	// that fail too, the lease runs out by itself after scanLease.
	defer func() { _ = s.store.EndScan(context.WithoutCancel(ctx), t.ID) }()
	at := s.cfg.Now()
	tr := &scanTransport{parent: http.DefaultTransport, limit: s.limit(t.EntraTenantID)}
	if u, err := url.Parse(s.cfg.GraphURL); err == nil {
		tr.graphHost, tr.graphPath = u.Host, u.Path
	}
	hc := &http.Client{Transport: tr}
	if s.cfg.HTTPClient != nil {
		hc.Timeout = s.cfg.HTTPClient.Timeout
		if s.cfg.HTTPClient.Transport != nil {
			tr.parent = s.cfg.HTTPClient.Transport
		}
	}
	res, err := s.scan(ctx, t, hc, at)
	res.Requests = int(tr.requests.Load())
	if err != nil {
		// Stored as a message of the catalogues (internal/problem): the Tenants page says it in its reader's language.
		reason := problem.New("tenants.scan_error.graph")
		switch {
		case errors.Is(err, ErrNoAccess):
			reason = problem.New("tenants.scan_error.no_access")
		case errors.Is(err, errRecord):
			reason = problem.New("tenants.scan_error.record")
		}
		return res, s.fail(ctx, t, reason.String(), err)
	}
	return res, nil
}

// errRecord marks a scan that read Graph but could not store the result.
var errRecord = errors.New("inventory: record the scan")

// fail records why a scan failed, so the Tenants page always says why, even
// when the scan's own context has run out.
func (s *Scanner) fail(ctx context.Context, t store.Tenant, reason string, err error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if rerr := s.store.RecordScanFailure(ctx, t.ID, reason); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

// record stores what a scan found, with the problems of its odd items and
// of the portal's own permissions in the tenant (more than it asks for is a
// problem to show, not a reason to stop inventorying).
func (s *Scanner) record(ctx context.Context, gc *graph.Client, t store.Tenant, apps []graph.Application, sps []graph.ServicePrincipalCredentials, at time.Time, scope store.ScanScope) (store.ScanResult, error) {
	creds, problems := Credentials(apps, sps)
	if !scope.Full {
		// A delta scan re-reads only what changed: what earlier scans found
		// odd about the rest still stands. Read under the scan's lease, not
		// from t, which may predate the last scan.
		earlier, err := s.store.TenantScanProblems(ctx, t.ID)
		if err != nil {
			return store.ScanResult{}, err
		}
		problems = append(problems, itemProblemsKept(earlier, append(slices.Clone(scope.Owners), scope.RemovedOwners...), problems)...)
	}
	granted, err := onboard.ReadGranted(ctx, gc, s.cfg.ClientID)
	if err != nil {
		problems = append(problems, problem.New("tenants.problem.granted_unknown").String())
	} else {
		problems = append(problems, granted.Problems()...)
	}
	scope.Problems = problems
	res, err := s.store.RecordScanScope(ctx, t.ID, creds, at, scope)
	if err != nil {
		return res, fmt.Errorf("%w: %w", errRecord, err)
	}
	return res, nil
}

func (s *Scanner) scan(ctx context.Context, t store.Tenant, hc *http.Client, at time.Time) (store.ScanResult, error) {
	gc, err := graph.NewAppOnlyClient(ctx, graph.AppOnly{LoginBase: s.cfg.Authority, GraphURL: s.cfg.GraphURL,
		ClientID: s.cfg.ClientID, ClientSecret: s.cfg.ClientSecret, HTTPClient: hc}, t.EntraTenantID)
	if err != nil {
		if graph.TokenRefused(err) {
			return store.ScanResult{}, fmt.Errorf("%w: %w", ErrNoAccess, graph.TokenError(err))
		}
		return store.ScanResult{}, fmt.Errorf("inventory: Graph client for %s: %w", t.EntraTenantID, err)
	}
	links, err := s.store.TenantDeltaLinks(ctx, t.ID)
	if err != nil {
		return store.ScanResult{}, err
	}
	if links.Applications != "" && links.ServicePrincipals != "" {
		res, done, err := s.deltaScan(ctx, gc, t, links, at)
		if err != nil || done {
			return res, err
		}
	}
	// Everything: the delta links first, so the next scan sees every change made from now on.
	// They only save work later: without one, the next scan lists everything again.
	if links.Applications, err = gc.LatestApplicationsDeltaLink(ctx); err != nil {
		links.Applications = ""
	}
	if links.ServicePrincipals, err = gc.LatestServicePrincipalsDeltaLink(ctx); err != nil {
		links.ServicePrincipals = ""
	}
	apps, err := gc.ListApplications(ctx)
	if err != nil {
		return store.ScanResult{}, noAccess(err)
	}
	sps, err := gc.ListServicePrincipalCredentials(ctx)
	if err != nil {
		return store.ScanResult{}, noAccess(err)
	}
	return s.record(ctx, gc, t, apps, sps, at, store.ScanScope{Full: true, DeltaLinks: links})
}

// deltaScan reads what changed since the last scan and records it. done is
// false when Graph asks to start over or leaves credential lists out: the
// caller then lists everything.
func (s *Scanner) deltaScan(ctx context.Context, gc *graph.Client, t store.Tenant, links store.DeltaLinks, at time.Time) (res store.ScanResult, done bool, err error) {
	apps, err := gc.ApplicationsDelta(ctx, links.Applications)
	if errors.Is(err, graph.ErrResyncRequired) {
		return store.ScanResult{}, false, nil
	}
	if err != nil {
		return store.ScanResult{}, false, noAccess(err)
	}
	sps, err := gc.ServicePrincipalsDelta(ctx, links.ServicePrincipals)
	if errors.Is(err, graph.ErrResyncRequired) {
		return store.ScanResult{}, false, nil
	}
	if err != nil {
		return store.ScanResult{}, false, noAccess(err)
	}
	scope := store.ScanScope{RemovedOwners: append(apps.Removed, sps.Removed...),
		DeltaLinks: store.DeltaLinks{Applications: apps.DeltaLink, ServicePrincipals: sps.DeltaLink}}
	for _, a := range apps.Changed {
		if !a.CredentialsListed {
			return store.ScanResult{}, false, nil
		}
		scope.Owners = append(scope.Owners, a.ObjectID)
	}
	for _, sp := range sps.Changed {
		if !sp.CredentialsListed {
			return store.ScanResult{}, false, nil
		}
		scope.Owners = append(scope.Owners, sp.ObjectID)
	}
	res, err = s.record(ctx, gc, t, apps.Changed, sps.Changed, at, scope)
	res.Delta = true
	return res, true, err
}

// Credentials turns what Graph listed into inventory rows. Names were made
// safe text by internal/graph; an item whose IDs are not GUIDs or that has
// no end date cannot be tracked and is left out, with a sentence saying so,
// and a name that had to be cleaned is named too, so that an administrator
// can find the odd app in the tenant. Problems are stored lines of
// internal/problem ("tenants.problem.item.*" messages).
func Credentials(apps []graph.Application, sps []graph.ServicePrincipalCredentials) ([]store.Credential, []string) {
	var out []store.Credential
	var problems []string
	add := func(kind, objectID, appID, name string, cleaned bool, cs []graph.Credential) {
		// kind ("application", "service_principal") ends the message ID: the
		// words for each differ by language.
		item := func(what string, args ...string) {
			problems = append(problems, problem.New(itemPrefix+what+"."+kind, append([]string{"Name", name}, args...)...).String())
		}
		if name == "" {
			name = "(no name)"
		}
		if _, err := uuid.Parse(objectID); err != nil {
			item("bad_id", "ObjectID", trunc.Ellipsis(safetext.Line(objectID), 60))
			return
		}
		if cleaned {
			item("cleaned", "ObjectID", objectID)
		}
		for _, c := range cs {
			if _, err := uuid.Parse(c.KeyID); err != nil || c.End.IsZero() {
				// The object ID is not in the words, but lets a delta scan tell whose problem it is (itemProblemsKept).
				item("credential", "ObjectID", objectID)
				continue
			}
			cr := store.Credential{OwnerKind: kind, OwnerObjectID: objectID, OwnerAppID: safetext.Line(appID), OwnerName: name, KeyID: c.KeyID,
				Kind: c.Kind, DisplayName: c.DisplayName, Hint: c.Hint, Thumbprint: safetext.Line(c.Thumbprint), EndsAt: c.End}
			if !c.Start.IsZero() {
				start := c.Start
				cr.StartsAt = &start
			}
			out = append(out, cr)
		}
	}
	for _, a := range apps {
		add("application", a.ObjectID, a.AppID, a.DisplayName, a.NameCleaned, a.Credentials)
	}
	for _, sp := range sps {
		add("service_principal", sp.ObjectID, sp.AppID, sp.DisplayName, sp.NameCleaned, sp.Credentials)
	}
	return out, problems
}

// itemPrefix starts the message IDs of the problems Credentials reports
// about items.
const itemPrefix = "tenants.problem.item."

// itemPrefixes start the problems about items that scans stored in English
// words, before problems were messages.
var itemPrefixes = []string{"Application ", "Enterprise application ", "A credential of "}

// itemProblemsKept returns the item problems of an earlier scan (one a
// line) that still stand after a delta scan: those not about an owner it
// read again or saw deleted, and not said again already.
func itemProblemsKept(earlier string, reread []string, now []string) []string {
	var out []string
	for line := range strings.SplitSeq(earlier, "\n") {
		isItem := slices.ContainsFunc(itemPrefixes, func(p string) bool { return strings.HasPrefix(line, p) })
		if p, ok := problem.Parse(line); ok {
			isItem = strings.HasPrefix(p.ID, itemPrefix)
		}
		about := slices.ContainsFunc(reread, func(id string) bool { return id != "" && strings.Contains(line, id) })
		if isItem && !about && !slices.Contains(now, line) && !slices.Contains(out, line) {
			out = append(out, line)
		}
	}
	return out
}

func noAccess(err error) error {
	if errors.Is(err, graph.ErrInsufficientPrivileges) || errors.Is(err, graph.ErrUnauthenticated) {
		return fmt.Errorf("%w: %v", ErrNoAccess, err)
	}
	return err
}
