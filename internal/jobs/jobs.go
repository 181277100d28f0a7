// Package jobs runs the portal's background work on River, a Postgres-backed
// job queue: several portal replicas share one database safely, and a job
// survives restarts. Today that work is scanning tenants: every connected
// tenant periodically, and a tenant right after it connects.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/appreg-portal/portal/internal/store"
)

// RiverSchemaVersion is the River migration the portal's schema is at
// (migrations/00008_create_river_tables.sql).
const RiverSchemaVersion = 8

// ScanInterval is how often every connected tenant is scanned.
const ScanInterval = 6 * time.Hour

// Scanner scans one tenant (internal/inventory).
type Scanner interface {
	Scan(ctx context.Context, t store.Tenant) (store.ScanResult, error)
}

// Tenants finds the tenants to scan (internal/store).
type Tenants interface {
	GetTenant(ctx context.Context, id int64) (store.Tenant, error)
	ListTenants(ctx context.Context) ([]store.Tenant, error)
}

// ScanTenantArgs asks for one tenant's scan.
type ScanTenantArgs struct {
	TenantID int64 `json:"tenant_id"`
}

// Kind names the job in River's table.
func (ScanTenantArgs) Kind() string { return "scan_tenant" }

// InsertOpts keeps at most one waiting or running scan per tenant: asking
// again meanwhile is a no-op.
func (ScanTenantArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByArgs: true,
		ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
			rivertype.JobStateScheduled, rivertype.JobStateRetryable}}}
}

// ScanAllArgs asks for a scan of every connected tenant.
type ScanAllArgs struct{}

// Kind names the job in River's table.
func (ScanAllArgs) Kind() string { return "scan_all_tenants" }

type scanTenantWorker struct {
	river.WorkerDefaults[ScanTenantArgs]
	tenants Tenants
	scanner Scanner
	log     *slog.Logger
}

func (w *scanTenantWorker) Timeout(*river.Job[ScanTenantArgs]) time.Duration { return 5 * time.Minute }

func (w *scanTenantWorker) Work(ctx context.Context, job *river.Job[ScanTenantArgs]) error {
	t, err := w.tenants.GetTenant(ctx, job.Args.TenantID)
	if errors.Is(err, store.ErrNotFound) {
		return river.JobCancel(fmt.Errorf("tenant %d is gone", job.Args.TenantID))
	}
	if err != nil {
		return err
	}
	if t.Status != "connected" {
		return nil // disconnected since the job was queued
	}
	res, err := w.scanner.Scan(ctx, t)
	if err != nil {
		return err // River retries with back-off; the scan recorded why it failed
	}
	w.log.InfoContext(ctx, "tenant scanned", "tenant", t.EntraTenantID, "found", res.Found, "new", res.New, "removed", res.Removed)
	return nil
}

type scanAllWorker struct {
	river.WorkerDefaults[ScanAllArgs]
	tenants Tenants
}

func (w *scanAllWorker) Work(ctx context.Context, job *river.Job[ScanAllArgs]) error {
	ts, err := w.tenants.ListTenants(ctx)
	if err != nil {
		return err
	}
	client := river.ClientFromContext[pgx.Tx](ctx)
	var params []river.InsertManyParams
	for _, t := range ts {
		if t.Status == "connected" {
			params = append(params, river.InsertManyParams{Args: ScanTenantArgs{TenantID: t.ID}})
		}
	}
	if len(params) == 0 {
		return nil
	}
	_, err = client.InsertMany(ctx, params)
	return err
}

// Config configures the job runner.
type Config struct {
	Pool    *pgxpool.Pool
	Tenants Tenants
	Scanner Scanner
	Log     *slog.Logger
	// ScanInterval overrides ScanInterval (tests); RunOnStart scans every
	// tenant as soon as the runner starts.
	ScanInterval time.Duration
	RunOnStart   bool
	// PollInterval is how often idle workers look for jobs (River's
	// default 1s; tests use less).
	PollInterval time.Duration
}

// Runner owns the River client.
type Runner struct {
	client *river.Client[pgx.Tx]
}

// New builds the runner; Start begins working jobs.
func New(cfg Config) (*Runner, error) {
	if cfg.ScanInterval == 0 {
		cfg.ScanInterval = ScanInterval
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &scanTenantWorker{tenants: cfg.Tenants, scanner: cfg.Scanner, log: cfg.Log})
	river.AddWorker(workers, &scanAllWorker{tenants: cfg.Tenants})
	rc := &river.Config{
		Logger:  cfg.Log,
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4}},
		Workers: workers,
		PeriodicJobs: []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(cfg.ScanInterval),
			func() (river.JobArgs, *river.InsertOpts) { return ScanAllArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: cfg.RunOnStart})},
	}
	if cfg.PollInterval > 0 {
		rc.FetchPollInterval = cfg.PollInterval
		rc.FetchCooldown = cfg.PollInterval / 2
	}
	client, err := river.NewClient(riverpgxv5.New(cfg.Pool), rc)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return &Runner{client: client}, nil
}

// Start works jobs until Stop. The schema must be current.
func (r *Runner) Start(ctx context.Context) error { return r.client.Start(ctx) }

// Stop lets running jobs finish (bounded by ctx).
func (r *Runner) Stop(ctx context.Context) error { return r.client.Stop(ctx) }

// EnqueueScan queues a scan of one tenant; a scan already waiting is reused.
func (r *Runner) EnqueueScan(ctx context.Context, tenantID int64) error {
	_, err := r.client.Insert(ctx, ScanTenantArgs{TenantID: tenantID}, nil)
	if err != nil {
		return fmt.Errorf("jobs: enqueue scan: %w", err)
	}
	return nil
}
