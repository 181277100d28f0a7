package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/auth"
	"github.com/appreg-portal/portal/internal/config"
	"github.com/appreg-portal/portal/internal/handlers"
	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/inventory"
	"github.com/appreg-portal/portal/internal/jobs"
	"github.com/appreg-portal/portal/internal/metrics"
	"github.com/appreg-portal/portal/internal/onboard"
	"github.com/appreg-portal/portal/internal/store"
)

func newFlagSet(name, summary string, vars []string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("portal "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: portal %s\n\n%s\n", name, summary)
		fs.PrintDefaults()
		if len(vars) > 0 {
			fmt.Fprintln(stderr, "\nEnvironment variables (a secret may instead be read from the file named by NAME_FILE):")
			tw := tabwriter.NewWriter(stderr, 2, 4, 2, ' ', 0)
			for _, v := range config.Vars {
				if !contains(vars, v.Name) {
					continue
				}
				def := ""
				if v.Default != "" {
					def = " (default " + v.Default + ")"
				}
				fmt.Fprintf(tw, "  %s\t%s%s\n", v.Name, v.Help, def)
			}
			tw.Flush()
		}
	}
	return fs
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == "*" || v == s {
			return true
		}
	}
	return false
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "Serves the portal. Migrations are applied at start; until the database is reachable\nand current, /readyz answers 503 and the portal keeps retrying.", []string{"*"}, stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(getenv, config.Serve)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	return serve(ctx, cfg, log, serveHooks{})
}

// serveHooks lets callers (dev, tests) learn when the server listens and
// when it is ready.
type serveHooks struct {
	listening func(addr string) // the listener accepts connections
	ready     func(addr string) // ...and the schema is current
	dev       *devAlerts        // portal dev: the Outbox and the demo clock
}

// serve runs the portal until ctx ends.
// alertSettings is what the Alerts page shows of the alert configuration.
func alertSettings(cfg config.Config, a *alerts.Alerter) handlers.AlertSettings {
	from := cfg.Alerts.SMTPFrom
	if cfg.Alerts.SMTPAddr == "" && cfg.Alerts.GraphSender != "" {
		from = cfg.Alerts.GraphSender + " (Microsoft Graph)"
	}
	return handlers.AlertSettings{Enabled: a.Enabled(), From: from, Recipients: cfg.Alerts.Recipients, Thresholds: a.Thresholds()}
}

// devTools are the handlers' dev aids, in `portal dev` only.
func devTools(dv *devAlerts, a *alerts.Alerter) *handlers.DevTools {
	if dv == nil {
		return nil
	}
	return &handlers.DevTools{Outbox: dv.outbox, Clock: dv.clock, RunAlerts: a.Run}
}

func serve(ctx context.Context, cfg config.Config, log *slog.Logger, hooks serveHooks) error {
	// The message catalogues are embedded; one that does not parse is a
	// broken build, better refused at start than shown as message IDs.
	if err := i18n.Check(); err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, store.Options{MaxConns: cfg.DBMaxConns, Timeout: cfg.DBTimeout})
	if err != nil {
		return err
	}
	defer st.Close()

	scanner := inventory.New(inventory.Config{Authority: cfg.Entra.Authority, GraphURL: cfg.Entra.GraphURL, ClientID: cfg.Entra.ClientID,
		ClientSecret: cfg.Entra.ClientSecret}, st)
	alerter := newAlerter(cfg, st, log, hooks.dev)
	wiz, err := handlers.NewWizard(handlers.WizardConfig{SealKey: cfg.SealKey, Authority: cfg.Entra.Authority, GraphURL: cfg.Entra.GraphURL,
		OwnTenantID: cfg.Entra.TenantID, ClientID: cfg.Entra.ClientID, ClientSecret: cfg.Entra.ClientSecret})
	if err != nil {
		return err
	}
	authc := auth.New(auth.Config{
		Authority:      cfg.Entra.Authority,
		ClientID:       cfg.Entra.ClientID,
		ClientSecret:   cfg.Entra.ClientSecret,
		RedirectURL:    cfg.BaseURL.JoinPath("/auth/callback").String(),
		AllowedTenants: cfg.Entra.AllowedTenants,
	})
	remover := wiz.RotationRemover(st, authc.RefreshTenantToken)
	jcfg := jobs.Config{Pool: st.Pool(), Tenants: st, Scanner: scanner, Log: log, Remover: remover}
	if alerter.Enabled() {
		jcfg.Alerter = alerter
		remover.Remind = alerter.Remind
	} else {
		log.Info("e-mail alerts are off: set PORTAL_SMTP_ADDR and PORTAL_SMTP_FROM to turn them on")
	}
	runner, err := jobs.New(jcfg)
	if err != nil {
		return err
	}
	remover.Rescan = runner.EnqueueScan
	m := metrics.New(st, log)
	if cfg.MetricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", m.Handler())
		msrv := &http.Server{Addr: cfg.MetricsAddr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("listen for metrics on %s: %w", cfg.MetricsAddr, err)
		}
		go func() {
			if err := msrv.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics server stopped", "err", err)
			}
		}()
		defer msrv.Close()
		log.Info("metrics listening", "addr", mln.Addr().String())
	}
	h := handlers.New(handlers.Deps{
		Log: log, BaseURL: cfg.BaseURL, Store: st, FormTargets: []string{originOf(cfg.Entra.Authority)},
		Auth: authc, Wizard: wiz,
		Confirmer: onboard.New(onboard.Config{Authority: cfg.Entra.Authority, GraphURL: cfg.Entra.GraphURL, ClientID: cfg.Entra.ClientID,
			ClientSecret: cfg.Entra.ClientSecret, RedirectURL: cfg.BaseURL.JoinPath("/onboarding/callback").String()}),
		Alerts:          alertSettings(cfg, alerter),
		AlertChannels:   alerter,
		Dev:             devTools(hooks.dev, alerter),
		Scanner:         scanner,
		ScanQueue:       runner,
		Metrics:         m,
		Sessions:        handlers.NewSessionManager(st.Pool(), cfg.BaseURL, cfg.Session.IdleTimeout, cfg.Session.Lifetime),
		BootstrapAdmins: cfg.Entra.BootstrapAdmins,
		TrustedProxies:  cfg.TrustedProxies,
		SessionLifetime: cfg.Session.Lifetime,
	})
	srv := &http.Server{
		Handler:           h.Routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	log.Info("portal listening", "addr", ln.Addr().String(), "base_url", cfg.BaseURL.String())
	// The database may be down at start: migrate in the background, retrying,
	// while /readyz reports why the portal is not ready yet.
	if hooks.listening != nil {
		hooks.listening(ln.Addr().String())
	}
	// Background jobs need the schema, so they start once it is current.
	jobsStarted := make(chan bool, 1)
	go func() {
		if !migrateUntilDone(ctx, st, log) {
			jobsStarted <- false
			return
		}
		// Not ctx: a signal must let running scans finish (Stop below), not cut them off.
		if err := runner.Start(context.WithoutCancel(ctx)); err != nil {
			log.Error("background jobs did not start; scans run only when asked for", "err", err)
			jobsStarted <- false
		} else {
			jobsStarted <- true
		}
		if hooks.ready != nil {
			hooks.ready(ln.Addr().String())
		}
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	select {
	case started := <-jobsStarted:
		if started {
			if err := runner.Stop(sctx); err != nil {
				log.Warn("background jobs did not stop in time", "err", err)
			}
		}
	case <-sctx.Done():
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// migrateUntilDone applies migrations, retrying with back-off while the
// database is unreachable. It reports whether the schema is now current.
func migrateUntilDone(ctx context.Context, st *store.Store, log *slog.Logger) bool {
	wait := time.Second
	for {
		res, err := st.MigrateUp(ctx)
		if err == nil {
			for _, m := range res {
				log.Info("migration applied", "file", m.File, "duration_ms", m.Duration.Milliseconds())
			}
			log.Info("database schema is current")
			// The dashboard's counts are derived from the credentials table; rows that reached it
			// another way (a restore) are counted from now on.
			start := time.Now()
			if err = st.RebuildExpiryCounts(ctx); err == nil {
				log.Info("credential counts rebuilt", "duration_ms", time.Since(start).Milliseconds())
				return true
			}
		}
		if ctx.Err() != nil {
			return false
		}
		log.Error("database not ready; the portal keeps retrying and /readyz reports 503 until it is", "err", err, "retry_in", wait.String())
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		wait = min(wait*2, 30*time.Second)
	}
}

func originOf(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.Index(u[i+3:], "/"); j >= 0 {
			return u[:i+3+j]
		}
	}
	return u
}
