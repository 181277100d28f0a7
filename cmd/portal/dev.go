package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/appreg-portal/portal/internal/config"
	"github.com/appreg-portal/portal/internal/pgcluster"
)

func cmdDev(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("dev", "A first look with nothing configured. Without PORTAL_DATABASE_URL it runs a local\nPostgres cluster that persists under -data; the portal is served on -addr.",
		[]string{"PORTAL_DATABASE_URL", "PORTAL_LOG_LEVEL"}, stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to serve the portal on (loopback only: dev has no real sign-in secrets)")
	dataDir := fs.String("data", ".data", "where the local Postgres cluster keeps its files")
	if err := fs.Parse(args); err != nil {
		return err
	}
	start := time.Now()
	env := map[string]string{
		"PORTAL_ADDR":       *addr,
		"PORTAL_BASE_URL":   "http://" + *addr,
		"PORTAL_LOG_FORMAT": "text",
	}
	cfg, err := config.Load(func(k string) string {
		if v, ok := env[k]; ok && getenv(k) == "" {
			return v
		}
		return getenv(k)
	}, config.Dev)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)

	if cfg.DatabaseURL == "" {
		c, err := startDevCluster(ctx, *dataDir, stdout)
		if err != nil {
			return err
		}
		defer func() {
			fmt.Fprintln(stdout, "stopping the local Postgres cluster")
			if err := c.Stop(false); err != nil {
				log.Error("stop Postgres", "err", err)
			}
		}()
		cfg.DatabaseURL = c.URL("portal")
	}

	return serve(ctx, cfg, log, serveHooks{ready: func(string) {
		fmt.Fprintf(stdout, "\nAppReg Portal is running at %s (ready in %s). Press Ctrl+C to stop.\n\n", cfg.BaseURL, time.Since(start).Round(time.Millisecond))
	}})
}

// startDevCluster starts (creating if needed) the cluster under dir and
// makes sure the "portal" database exists.
func startDevCluster(ctx context.Context, dir string, stdout io.Writer) (*pgcluster.Cluster, error) {
	abs, err := filepath.Abs(filepath.Join(dir, "pg"))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, err
	}
	c, err := pgcluster.New(filepath.Join(abs, "data"))
	if err != nil {
		return nil, err
	}
	if !c.Exists() {
		fmt.Fprintf(stdout, "creating a local Postgres cluster in %s\n", c.DataDir)
		if err := c.Init(ctx); err != nil {
			return nil, err
		}
	}
	if c.Running(ctx) {
		return nil, fmt.Errorf("a Postgres server is already running on %s: is another 'portal dev' running? Stop it first", c.DataDir)
	}
	if err := c.Start(ctx, false); err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		_ = c.Stop(false)
		return nil, err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE DATABASE portal`); err != nil {
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42P04" { // 42P04: duplicate_database
			_ = c.Stop(false)
			return nil, err
		}
	}
	return c, nil
}
