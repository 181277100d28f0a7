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
	"time"

	"github.com/appreg-portal/portal/internal/graph"
	"github.com/appreg-portal/portal/internal/store"
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
	RecordScan(ctx context.Context, tenantID int64, found []store.Credential, at time.Time) (store.ScanResult, error)
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
// credential: the last good inventory stays.
func (s *Scanner) Scan(ctx context.Context, t store.Tenant) (store.ScanResult, error) {
	at := s.cfg.Now()
	found, err := s.list(ctx, t.EntraTenantID)
	if err != nil {
		reason := "Microsoft Graph could not be reached or answered with an error; the scan will be retried."
		if errors.Is(err, ErrNoAccess) {
			reason = "The portal can no longer read this tenant: its admin consent may have been revoked. Connect the tenant again."
		}
		if rerr := s.store.RecordScanFailure(ctx, t.ID, reason); rerr != nil {
			return store.ScanResult{}, errors.Join(err, rerr)
		}
		return store.ScanResult{}, err
	}
	return s.store.RecordScan(ctx, t.ID, found, at)
}

func (s *Scanner) list(ctx context.Context, tenantID string) ([]store.Credential, error) {
	gc, err := graph.NewAppOnlyClient(ctx, graph.AppOnly{LoginBase: s.cfg.Authority, GraphURL: s.cfg.GraphURL,
		ClientID: s.cfg.ClientID, ClientSecret: s.cfg.ClientSecret, HTTPClient: s.cfg.HTTPClient}, tenantID)
	if err != nil {
		if graph.TokenRefused(err) {
			return nil, fmt.Errorf("%w: %w", ErrNoAccess, graph.TokenError(err))
		}
		return nil, fmt.Errorf("inventory: Graph client for %s: %w", tenantID, err)
	}
	apps, err := gc.ListApplications(ctx)
	if err != nil {
		return nil, noAccess(err)
	}
	sps, err := gc.ListServicePrincipalCredentials(ctx)
	if err != nil {
		return nil, noAccess(err)
	}
	var out []store.Credential
	add := func(kind, objectID, appID, name string, cs []graph.Credential) {
		for _, c := range cs {
			if c.KeyID == "" || c.End.IsZero() {
				continue // nothing to track without an ID and an end date
			}
			cr := store.Credential{OwnerKind: kind, OwnerObjectID: objectID, OwnerAppID: appID, OwnerName: name, KeyID: c.KeyID,
				Kind: c.Kind, DisplayName: c.DisplayName, Hint: c.Hint, Thumbprint: c.Thumbprint, EndsAt: c.End}
			if !c.Start.IsZero() {
				start := c.Start
				cr.StartsAt = &start
			}
			out = append(out, cr)
		}
	}
	for _, a := range apps {
		add("application", a.ObjectID, a.AppID, a.DisplayName, a.Credentials)
	}
	for _, sp := range sps {
		add("service_principal", sp.ObjectID, sp.AppID, sp.DisplayName, sp.Credentials)
	}
	return out, nil
}

func noAccess(err error) error {
	if errors.Is(err, graph.ErrInsufficientPrivileges) || errors.Is(err, graph.ErrUnauthenticated) {
		return fmt.Errorf("%w: %v", ErrNoAccess, err)
	}
	return err
}
