// Package store holds all of the portal's SQL. It owns the Postgres pool,
// applies the embedded migrations and offers one method per question or
// change the portal needs. Changes that matter commit together with their
// audit row, in one transaction.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/appreg-portal/portal/migrations"
)

// Sentinel errors; callers test them with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("already exists")
)

// Store is the portal's database.
type Store struct {
	pool    *pgxpool.Pool
	timeout time.Duration
	now     func() time.Time
}

// Options tunes the pool.
type Options struct {
	MaxConns int32         // default 10
	Timeout  time.Duration // deadline on each request; default 5s
}

// Open creates the pool. It does not wait for the database: the portal must
// start (and report not-ready) while Postgres is still down.
func Open(ctx context.Context, url string, o Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message can quote the URL, password included.
		return nil, errors.New("store: the database URL is malformed (check PORTAL_DATABASE_URL)")
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	} else {
		cfg.MaxConns = 10
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	cfg.MaxConnIdleTime = 5 * time.Minute
	cfg.HealthCheckPeriod = 15 * time.Second
	// A half-dead connection after a Postgres restart must not hang a request.
	cfg.ConnConfig.ConnectTimeout = o.Timeout
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: open pool: %w", err)
	}
	return &Store{pool: pool, timeout: o.Timeout, now: time.Now}, nil
}

// Close closes the pool.
func (s *Store) Close() { s.pool.Close() }

// Pool exposes the pool for libraries that share the database (sessions, jobs).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// deadline bounds one database request.
func (s *Store) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	return s.pool.Ping(ctx)
}

// querier is what both the pool and a transaction offer, so helpers compose
// inside a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// mapErr turns driver errors into the store's sentinels.
func mapErr(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return fmt.Errorf("%w: %s", ErrConflict, pgErr.ConstraintName)
	}
	return err
}

// provider builds the goose migration provider over the pool.
func (s *Store) provider() (*goose.Provider, *sql.DB, error) {
	db := stdlib.OpenDBFromPool(s.pool)
	// A session-level advisory lock lets several replicas start at once:
	// one migrates, the others wait.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS, goose.WithSessionLocker(locker))
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("store: migrations: %w", err)
	}
	return p, db, nil
}

// MigrationResult says what one migration step did.
type MigrationResult struct {
	Version   int64
	File      string
	Direction string
	Duration  time.Duration
}

// MigrateUp applies every pending migration.
func (s *Store) MigrateUp(ctx context.Context) ([]MigrationResult, error) {
	p, db, err := s.provider()
	if err != nil {
		return nil, err
	}
	defer db.Close()
	res, err := p.Up(ctx)
	out := results(res)
	if err != nil {
		return out, fmt.Errorf("store: migrate up: %w", err)
	}
	return out, nil
}

// MigrateDown rolls back the latest applied migration.
func (s *Store) MigrateDown(ctx context.Context) ([]MigrationResult, error) {
	p, db, err := s.provider()
	if err != nil {
		return nil, err
	}
	defer db.Close()
	res, err := p.Down(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: migrate down: %w", err)
	}
	return results([]*goose.MigrationResult{res}), nil
}

// MigrationState is one migration's status.
type MigrationState struct {
	Version   int64
	File      string
	Applied   bool
	AppliedAt time.Time
}

// MigrationStatus lists every known migration and whether it is applied.
func (s *Store) MigrationStatus(ctx context.Context) ([]MigrationState, error) {
	p, db, err := s.provider()
	if err != nil {
		return nil, err
	}
	defer db.Close()
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: migration status: %w", err)
	}
	out := make([]MigrationState, 0, len(st))
	for _, m := range st {
		out = append(out, MigrationState{
			Version: m.Source.Version, File: m.Source.Path,
			Applied: m.State == goose.StateApplied, AppliedAt: m.AppliedAt,
		})
	}
	return out, nil
}

// SchemaCurrent reports whether every embedded migration is applied.
func (s *Store) SchemaCurrent(ctx context.Context) (bool, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	p, db, err := s.provider()
	if err != nil {
		return false, err
	}
	defer db.Close()
	cur, target, err := p.GetVersions(ctx)
	if err != nil {
		return false, err
	}
	return cur >= target, nil
}

func results(in []*goose.MigrationResult) []MigrationResult {
	out := make([]MigrationResult, 0, len(in))
	for _, r := range in {
		if r == nil || r.Source == nil {
			continue
		}
		out = append(out, MigrationResult{Version: r.Source.Version, File: r.Source.Path, Direction: r.Direction, Duration: r.Duration})
	}
	return out
}
