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
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/appreg-portal/portal/internal/graph"
	"github.com/appreg-portal/portal/internal/onboard"
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
}

// recorder stores scan results (internal/store).
type recorder interface {
	RecordScanWithProblems(ctx context.Context, tenantID int64, found []store.Credential, problems []string, at time.Time) (store.ScanResult, error)
	RecordScanFailure(ctx context.Context, tenantID int64, reason string) error
}

// Scanner scans tenants.
type Scanner struct {
	cfg   Config
	store recorder
}

// New returns a Scanner; it makes no network call.
func New(cfg Config, st recorder) *Scanner {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Scanner{cfg: cfg, store: st}
}

// ErrNoAccess means the tenant no longer lets the portal read it (consent
// revoked, app deleted, tenant gone).
var ErrNoAccess = errors.New("inventory: the portal can no longer read this tenant")

// Scan lists every application and service principal credential of the
// tenant and records them. A failed scan records why and changes no
// credential: the last good inventory stays. One odd item never fails the
// whole scan: it is left out or its name cleaned, the rest is recorded, and
// the Tenants page says what happened to it.
func (s *Scanner) Scan(ctx context.Context, t store.Tenant) (store.ScanResult, error) {
	at := s.cfg.Now()
	found, problems, err := s.list(ctx, t.EntraTenantID)
	if err != nil {
		reason := "Microsoft Graph could not be reached or answered with an error; the scan will be retried."
		if errors.Is(err, ErrNoAccess) {
			reason = "The portal can no longer read this tenant: its admin consent may have been revoked. Connect the tenant again."
		}
		return store.ScanResult{}, s.fail(ctx, t, reason, err)
	}
	res, err := s.store.RecordScanWithProblems(ctx, t.ID, found, problems, at)
	if err != nil {
		return store.ScanResult{}, s.fail(ctx, t, "The portal read this tenant but could not store what it found; the scan will be retried. The portal's log has the details.", err)
	}
	return res, nil
}

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

func (s *Scanner) list(ctx context.Context, tenantID string) ([]store.Credential, []string, error) {
	gc, err := graph.NewAppOnlyClient(ctx, graph.AppOnly{LoginBase: s.cfg.Authority, GraphURL: s.cfg.GraphURL,
		ClientID: s.cfg.ClientID, ClientSecret: s.cfg.ClientSecret, HTTPClient: s.cfg.HTTPClient}, tenantID)
	if err != nil {
		if graph.TokenRefused(err) {
			return nil, nil, fmt.Errorf("%w: %w", ErrNoAccess, graph.TokenError(err))
		}
		return nil, nil, fmt.Errorf("inventory: Graph client for %s: %w", tenantID, err)
	}
	apps, err := gc.ListApplications(ctx)
	if err != nil {
		return nil, nil, noAccess(err)
	}
	sps, err := gc.ListServicePrincipalCredentials(ctx)
	if err != nil {
		return nil, nil, noAccess(err)
	}
	found, problems := Credentials(apps, sps)
	// What the portal holds in the tenant: more than it asks for is a
	// problem to show, not a reason to stop inventorying.
	granted, err := onboard.ReadGranted(ctx, gc, s.cfg.ClientID)
	if err != nil {
		problems = append(problems, "The portal could not check which permissions it holds in this tenant; it will try again at the next scan.")
	} else {
		problems = append(problems, granted.Problems()...)
	}
	return found, problems, nil
}

// Credentials turns what Graph listed into inventory rows. Names were made
// safe text by internal/graph; an item whose IDs are not GUIDs or that has
// no end date cannot be tracked and is left out, with a sentence saying so,
// and a name that had to be cleaned is named too, so that an administrator
// can find the odd app in the tenant.
func Credentials(apps []graph.Application, sps []graph.ServicePrincipalCredentials) ([]store.Credential, []string) {
	var out []store.Credential
	var problems []string
	add := func(kind, objectID, appID, name string, cleaned bool, cs []graph.Credential) {
		what := "Application"
		if kind == "service_principal" {
			what = "Enterprise application"
		}
		if name == "" {
			name = "(no name)"
		}
		if _, err := uuid.Parse(objectID); err != nil {
			problems = append(problems, fmt.Sprintf("%s %q was left out: Graph gave it an object ID that is not a GUID (%q).", what, name, trunc.Ellipsis(safetext.Line(objectID), 60)))
			return
		}
		if cleaned {
			problems = append(problems, fmt.Sprintf("%s %q (object ID %s) has a name with control characters, line breaks or invalid text; the portal shows it cleaned. Its credentials are inventoried.", what, name, objectID))
		}
		for _, c := range cs {
			if _, err := uuid.Parse(c.KeyID); err != nil || c.End.IsZero() {
				problems = append(problems, fmt.Sprintf("A credential of %s %q was left out: it has no key ID or no end date, so its expiry cannot be tracked.", strings.ToLower(what), name))
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

func noAccess(err error) error {
	if errors.Is(err, graph.ErrInsufficientPrivileges) || errors.Is(err, graph.ErrUnauthenticated) {
		return fmt.Errorf("%w: %v", ErrNoAccess, err)
	}
	return err
}
