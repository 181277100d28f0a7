// Package jobs runs the portal's background work on River, a Postgres-backed
// job queue: several portal replicas share one database safely, and a job
// survives restarts: scanning tenants (every connected tenant periodically,
// and a tenant right after it connects) and sending expiry alerts hourly.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/appreg-portal/portal/internal/alerts"
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

// AlertInterval is how often due alerts are queued and sent.
const AlertInterval = time.Hour

// Alerter sends the alerts that are due (internal/alerts).
type Alerter interface {
	Run(ctx context.Context) (alerts.RunResult, error)
}

// AlertRunArgs asks for an alert run.
type AlertRunArgs struct{}

// Kind names the job in River's table.
func (AlertRunArgs) Kind() string { return "alert_run" }

// InsertOpts keeps at most one alert run waiting or running (River
// requires the running state in ByState); the alerter's lock also keeps
// runs from overlapping should two ever be worked at once.
func (AlertRunArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByState: []rivertype.JobState{rivertype.JobStateAvailable,
		rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled, rivertype.JobStateRetryable}}}
}

type alertRunWorker struct {
	river.WorkerDefaults[AlertRunArgs]
	alerter Alerter
	log     *slog.Logger
}

func (w *alertRunWorker) Work(ctx context.Context, job *river.Job[AlertRunArgs]) error {
	res, err := w.alerter.Run(ctx)
	if errors.Is(err, alerts.ErrRunBusy) {
		return river.JobSnooze(5 * time.Second) // another replica's run is under way: this one follows it
	}
	if res.Mails > 0 || res.Failed > 0 {
		w.log.InfoContext(ctx, "alert run", "queued", res.Queued, "sent", res.Sent, "failed", res.Failed, "mails", res.Mails)
	}
	// Failed deliveries stay open and are retried by the next run: the run
	// itself only fails when the database does.
	if err != nil && res.Failed == 0 {
		return err
	}
	return nil
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

// ScanQueue is the queue scans run on, apart from alert runs and removals,
// so a thousand queued scans never hold up an alert; ScanWorkers bounds how
// many tenants one replica scans at once.
const (
	ScanQueue   = "scans"
	ScanWorkers = 4
)

// InsertOpts keeps at most one waiting or running scan per tenant: asking
// again meanwhile is a no-op.
func (ScanTenantArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: ScanQueue, MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByArgs: true,
		ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
			rivertype.JobStateScheduled, rivertype.JobStateRetryable}}}
}

// ScanAllArgs asks for a scan of every connected tenant.
type ScanAllArgs struct {
	// SpreadSeconds spreads the scans evenly over this period, in tenant
	// order, instead of queueing them all for now: the periodic job spreads
	// a thousand tenants over its 6 hours (Graph's per-tenant limits are
	// per minute, and the portal's machine is small).
	SpreadSeconds int `json:"spread_seconds,omitempty"`
}

// Kind names the job in River's table.
func (ScanAllArgs) Kind() string { return "scan_all_tenants" }

type scanTenantWorker struct {
	river.WorkerDefaults[ScanTenantArgs]
	tenants Tenants
	scanner Scanner
	alerts  bool // queue an alert run after a scan that found something new
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
	if errors.Is(err, store.ErrScanRunning) {
		return river.JobSnooze(time.Minute) // scanned right now elsewhere (the page, another replica): look again later
	}
	if err != nil {
		return err // River retries with back-off; the scan recorded why it failed
	}
	w.log.InfoContext(ctx, "tenant scanned", "tenant", t.EntraTenantID, "found", res.Found, "new", res.New, "removed", res.Removed)
	if w.alerts && res.New > 0 {
		// New credentials may already be due: alert now rather than at the next hourly run.
		if _, err := river.ClientFromContext[pgx.Tx](ctx).Insert(ctx, AlertRunArgs{}, nil); err != nil {
			w.log.WarnContext(ctx, "queue alert run", "err", err) // the hourly run catches up
		}
	}
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
	var connected []int64
	for _, t := range ts {
		if t.Status == "connected" {
			connected = append(connected, t.ID)
		}
	}
	if len(connected) == 0 {
		return nil
	}
	slices.Sort(connected) // a stable order: each tenant keeps its place in the period across runs and restarts
	now := time.Now()
	step := time.Duration(job.Args.SpreadSeconds) * time.Second / time.Duration(len(connected))
	params := make([]river.InsertManyParams, len(connected))
	for i, id := range connected {
		params[i] = river.InsertManyParams{Args: ScanTenantArgs{TenantID: id}}
		if step > 0 && i > 0 {
			opts := ScanTenantArgs{}.InsertOpts()
			opts.ScheduledAt = now.Add(time.Duration(i) * step)
			params[i].InsertOpts = &opts
		}
	}
	// A tenant whose scan is still waiting or running keeps it (unique by tenant).
	_, err = client.InsertMany(ctx, params)
	return err
}

// RemovalInterval is how often due old secrets of rotations are removed.
const RemovalInterval = 15 * time.Minute

// Remover removes old secrets whose rotation named a date (internal/registration).
type Remover interface {
	RemoveDue(ctx context.Context) (int, error)
}

// RemoveDueArgs removes the old secrets that are due.
type RemoveDueArgs struct{}

// Kind names the job in River's table.
func (RemoveDueArgs) Kind() string { return "remove_rotated_secrets" }

type removeDueWorker struct {
	river.WorkerDefaults[RemoveDueArgs]
	remover Remover
	log     *slog.Logger
}

func (w *removeDueWorker) Work(ctx context.Context, job *river.Job[RemoveDueArgs]) error {
	n, err := w.remover.RemoveDue(ctx)
	if n > 0 {
		w.log.InfoContext(ctx, "old secrets removed on their date", "count", n)
	}
	return err // the failed ones are shown on their rotation and tried again on the next run
}

// Config configures the job runner.
type Config struct {
	Pool    *pgxpool.Pool
	Tenants Tenants
	Scanner Scanner
	// Alerter, if set, runs every AlertInterval (and once at start).
	Alerter Alerter
	// Remover, if set, runs every RemovalInterval (RemovalEvery in tests).
	Remover      Remover
	RemovalEvery time.Duration
	Log          *slog.Logger
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
	river.AddWorker(workers, &scanTenantWorker{tenants: cfg.Tenants, scanner: cfg.Scanner, alerts: cfg.Alerter != nil, log: cfg.Log})
	river.AddWorker(workers, &scanAllWorker{tenants: cfg.Tenants})
	periodic := []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(cfg.ScanInterval),
		func() (river.JobArgs, *river.InsertOpts) {
			return ScanAllArgs{SpreadSeconds: int(cfg.ScanInterval.Seconds())}, nil
		},
		&river.PeriodicJobOpts{RunOnStart: cfg.RunOnStart})}
	if cfg.Alerter != nil {
		river.AddWorker(workers, &alertRunWorker{alerter: cfg.Alerter, log: cfg.Log})
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(AlertInterval),
			func() (river.JobArgs, *river.InsertOpts) { return AlertRunArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}))
	}
	if cfg.Remover != nil {
		every := cfg.RemovalEvery
		if every == 0 {
			every = RemovalInterval
		}
		river.AddWorker(workers, &removeDueWorker{remover: cfg.Remover, log: cfg.Log})
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(every),
			func() (river.JobArgs, *river.InsertOpts) { return RemoveDueArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}))
	}
	rc := &river.Config{
		Logger:       cfg.Log,
		Queues:       map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4}, ScanQueue: {MaxWorkers: ScanWorkers}},
		Workers:      workers,
		PeriodicJobs: periodic,
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

// EnqueueScan queues a scan of one tenant now; a scan already waiting is
// reused, and one scheduled later in the period is brought forward.
func (r *Runner) EnqueueScan(ctx context.Context, tenantID int64) error {
	res, err := r.client.Insert(ctx, ScanTenantArgs{TenantID: tenantID}, nil)
	if err != nil {
		return fmt.Errorf("jobs: enqueue scan: %w", err)
	}
	if res.UniqueSkippedAsDuplicate && res.Job.State == rivertype.JobStateScheduled {
		if _, err := r.client.JobRetry(ctx, res.Job.ID); err != nil {
			return fmt.Errorf("jobs: bring scan forward: %w", err)
		}
	}
	return nil
}

// EnqueueScanAllSpread queues a scan of every connected tenant spread over
// the period, as the periodic job does every ScanInterval.
func (r *Runner) EnqueueScanAllSpread(ctx context.Context, period time.Duration) error {
	if _, err := r.client.Insert(ctx, ScanAllArgs{SpreadSeconds: int(period.Seconds())}, nil); err != nil {
		return fmt.Errorf("jobs: enqueue spread scan of all tenants: %w", err)
	}
	return nil
}

// EnqueueScanAll queues a scan of every connected tenant now, bounded by
// ScanWorkers per replica.
func (r *Runner) EnqueueScanAll(ctx context.Context) error {
	if _, err := r.client.Insert(ctx, ScanAllArgs{}, nil); err != nil {
		return fmt.Errorf("jobs: enqueue scan of all tenants: %w", err)
	}
	return nil
}
