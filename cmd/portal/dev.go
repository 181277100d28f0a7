package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/appreg-portal/portal/internal/config"
	"github.com/appreg-portal/portal/internal/entrasim"
	"github.com/appreg-portal/portal/internal/handlers"
	"github.com/appreg-portal/portal/internal/pgcluster"
	"github.com/appreg-portal/portal/internal/seal"
)

func cmdDev(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("dev", "A first look with nothing configured. Without PORTAL_DATABASE_URL it runs a local\nPostgres cluster that persists under -data; the portal is served on -addr.",
		[]string{"PORTAL_DATABASE_URL", "PORTAL_LOG_LEVEL"}, stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to serve the portal on (loopback only: dev has no real sign-in secrets)")
	dataDir := fs.String("data", ".data", "where the local Postgres cluster keeps its files")
	entraAddr := fs.String("entra-addr", "127.0.0.1:8081", "address for the embedded Entra ID and Graph emulator")
	smtpAddr := fs.String("smtp-addr", "127.0.0.1:2525", "address for the dev mail sink that logs alert e-mail (used unless PORTAL_SMTP_ADDR is set)")
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

	// The Entra emulator with the demo world: the operator tenant with the
	// portal app and demo users for each role, and two customer tenants.
	demo, stopSim, err := startDevEntra(*entraAddr, log)
	if err != nil {
		return err
	}
	defer stopSim()
	cfg.Entra.Authority, cfg.Entra.GraphURL = demo.base, demo.base+"/v1.0"
	cfg.Entra.TenantID, cfg.Entra.ClientID, cfg.Entra.ClientSecret = demo.tenantID, demo.clientID, demo.clientSecret
	cfg.Entra.AllowedTenants = []string{demo.tenantID}

	// Alerts go to a local mail sink that logs them, unless a real server is configured.
	if cfg.Alerts.SMTPAddr == "" {
		addr, stopMail, err := startDevMail(*smtpAddr, log)
		if err != nil {
			return err
		}
		defer stopMail()
		cfg.Alerts.SMTPAddr, cfg.Alerts.SMTPFrom, cfg.Alerts.SMTPTLS = addr, "portal@contoso-consulting.example", "none"
		if len(cfg.Alerts.Recipients) == 0 {
			cfg.Alerts.Recipients = []string{"alerts@contoso-consulting.example"}
		}
	}

	// A seal key that survives restarts, so a wizard run's sign-in does too.
	if cfg.SealKey == nil {
		if cfg.SealKey, err = devSealKey(*dataDir); err != nil {
			return err
		}
	}

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
		fmt.Fprintf(stdout, "\nAppReg Portal is running at %s (ready in %s). Press Ctrl+C to stop.\n", cfg.BaseURL, time.Since(start).Round(time.Millisecond))
		fmt.Fprintf(stdout, "Entra ID emulator at %s; sign in as any demo user:\n%s\n", demo.base, demo.users)
	}})
}

type devEntra struct {
	base, tenantID, clientID, clientSecret string
	users                                  string // one line per demo user
}

// startDevEntra serves the emulator with the demo world on addr.
func startDevEntra(addr string, log *slog.Logger) (devEntra, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return devEntra{}, nil, fmt.Errorf("start the Entra emulator on %s: %w (use -entra-addr to pick another address)", addr, err)
	}
	sim := entrasim.New(entrasim.Options{})
	base := "http://" + ln.Addr().String()
	sim.SetBaseURL(base)
	res, err := sim.LoadSeed(bytes.NewReader(entrasim.DemoSeed))
	if err != nil {
		ln.Close()
		return devEntra{}, nil, fmt.Errorf("load the demo world: %w", err)
	}
	portal, ok := res.Applications["portal"]
	if !ok {
		ln.Close()
		return devEntra{}, nil, errors.New("the demo world has no portal application")
	}
	// Loopback names only: no DNS rebinding into the emulator's /_sim API.
	srv := &http.Server{Handler: handlers.LoopbackOnly(sim), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("Entra emulator stopped", "err", err)
		}
	}()
	var users strings.Builder
	for _, k := range []string{"ada", "oscar", "vera", "nina"} {
		if upn, ok := res.UserPrincipalNames[k]; ok {
			fmt.Fprintf(&users, "  %s\n", upn)
		}
	}
	d := devEntra{base: base, tenantID: res.TenantOf["portal"], clientID: portal.AppID, clientSecret: portal.SecretText, users: users.String()}
	return d, func() { srv.Close() }, nil
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

// devSealKey reads the dev seal key from dir/seal.key, making it (0600) on
// first use.
func devSealKey(dir string) ([]byte, error) {
	path := filepath.Join(dir, "seal.key")
	if b, err := os.ReadFile(path); err == nil {
		return seal.ParseKey(string(b))
	}
	// 0755 like the cluster's parent: as root the cluster runs as postgres,
	// which must reach .data/pg. The key file itself is 0600.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("dev seal key: %w", err)
	}
	k := seal.NewKey()
	if err := os.WriteFile(path, []byte(k+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("dev seal key: %w", err)
	}
	return seal.ParseKey(k)
}
