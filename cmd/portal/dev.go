package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/appreg-portal/portal/internal/alerts"
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
	if err := checkDevAddr(*addr); err != nil {
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
	demo, stopSim, err := startDevEntra(*entraAddr, cfg.BaseURL, log)
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

	// The demo world is full at first sign-in: Fabrikam connected and scanned,
	// its alert digest sent to the mail sink.
	dv := &devAlerts{outbox: alerts.NewOutbox(200), clock: &alerts.Clock{}}
	world, err := prepareDemoWorld(ctx, cfg, log, dv)
	if err != nil {
		return err
	}

	return serve(ctx, cfg, log, serveHooks{dev: dv, ready: func(string) {
		fmt.Fprintf(stdout, "\nAppReg Portal is running at %s (ready in %s). Press Ctrl+C to stop.\n", cfg.BaseURL, time.Since(start).Round(time.Millisecond))
		fmt.Fprint(stdout, devGuide(cfg.BaseURL.String(), demo, world))
	}})
}

// checkDevAddr refuses a non-loopback -addr with a reason, rather than
// the configuration's complaint about an http PORTAL_BASE_URL nobody set.
func checkDevAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err == nil && port != "" && port != "0" && (host == "127.0.0.1" || host == "localhost" || host == "[::1]" || host == "::1") {
		return nil
	}
	return fmt.Errorf("-addr %q: portal dev serves on loopback only, e.g. -addr 127.0.0.1:18480 (its demo world has a fixed, public portal secret); "+
		"to serve others, run 'portal serve' behind https", addr)
}

// portalRedirectPaths are the portal's redirect URIs below its base URL, as
// the portal app must register them (internal/handlers/routes.go): sign-in,
// sign-out, tenant onboarding and the wizard's sign-in to a tenant.
var portalRedirectPaths = []string{"/auth/callback", "/signed-out", "/onboarding/callback", "/registrations/callback"}

// portalRedirectURIs are the redirect URIs for a portal served at base. On
// loopback, 127.0.0.1 and localhost both work, as a person may type either.
func portalRedirectURIs(base *url.URL) []string {
	hosts := []string{base.Host}
	if h, port := base.Hostname(), base.Port(); port != "" && (h == "127.0.0.1" || h == "localhost") {
		hosts = []string{net.JoinHostPort("127.0.0.1", port), net.JoinHostPort("localhost", port)}
	}
	var out []string
	for _, h := range hosts {
		u := *base
		u.Host = h
		for _, p := range portalRedirectPaths {
			out = append(out, u.JoinPath(p).String())
		}
	}
	return out
}

// demoSeedFor is the demo world with the portal app's redirect URIs for the
// address dev serves on added (the seed has them for 127.0.0.1:8080 only):
// every -addr must sign in, or Entra answers AADSTS50011.
func demoSeedFor(base *url.URL) ([]byte, error) {
	var seed entrasim.Seed
	if err := json.Unmarshal(entrasim.DemoSeed, &seed); err != nil {
		return nil, fmt.Errorf("read the demo world: %w", err)
	}
	found := false
	for i := range seed.Tenants {
		for j := range seed.Tenants[i].Applications {
			a := &seed.Tenants[i].Applications[j]
			if a.Key != "portal" {
				continue
			}
			found = true
			for _, u := range portalRedirectURIs(base) {
				if !slices.Contains(a.RedirectURIs, u) {
					a.RedirectURIs = append(a.RedirectURIs, u)
				}
			}
		}
	}
	if !found {
		return nil, errors.New("the demo world has no portal application")
	}
	return json.Marshal(seed)
}

type devEntra struct {
	base, tenantID, clientID, clientSecret string
	upns                                   map[string]string // demo user key → sign-in name
}

// startDevEntra serves the emulator with the demo world on addr, its portal
// app accepting the redirect URIs of a portal at portalBase.
func startDevEntra(addr string, portalBase *url.URL, log *slog.Logger) (devEntra, func(), error) {
	seed, err := demoSeedFor(portalBase)
	if err != nil {
		return devEntra{}, nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return devEntra{}, nil, fmt.Errorf("start the Entra emulator on %s: %w (use -entra-addr to pick another address)", addr, err)
	}
	sim := entrasim.New(entrasim.Options{})
	base := "http://" + ln.Addr().String()
	sim.SetBaseURL(base)
	res, err := sim.LoadSeed(bytes.NewReader(seed))
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
	d := devEntra{base: base, tenantID: res.TenantOf["portal"], clientID: portal.AppID, clientSecret: portal.SecretText, upns: res.UserPrincipalNames}
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
