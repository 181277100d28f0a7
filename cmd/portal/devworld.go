package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/config"
	"github.com/appreg-portal/portal/internal/entrasim"
	"github.com/appreg-portal/portal/internal/graph"
	"github.com/appreg-portal/portal/internal/inventory"
	"github.com/appreg-portal/portal/internal/seal"
	"github.com/appreg-portal/portal/internal/store"
)

// demoWorld is what `portal dev` prepared before the first sign-in.
type demoWorld struct {
	Tenant      string // the customer tenant connected for the demo
	Credentials int    // credentials its scan found
	Mails       int    // alert digests the first alert run sent
}

// prepareDemoWorld makes the demo full at first sign-in: the customer tenant
// Fabrikam, which the demo world's portal app is admin-consented in, is
// connected in the portal, scanned, and the alert run sends its digest to
// the mail sink — so the dashboard, its timeline and the Alerts page show
// real content at once. Northwind stays unconnected, to try onboarding.
//
// The emulator keeps its world in memory and makes new credentials at each
// start, so connected tenants are scanned again at each start: what the
// inventory shows is what the emulator has now.
func prepareDemoWorld(ctx context.Context, cfg config.Config, log *slog.Logger, dv *devAlerts) (demoWorld, error) {
	w := demoWorld{Tenant: "Fabrikam"}
	st, err := store.Open(ctx, cfg.DatabaseURL, store.Options{MaxConns: 2, Timeout: cfg.DBTimeout})
	if err != nil {
		return w, err
	}
	defer st.Close()
	// The same path serve takes; serve finds the schema current afterwards.
	if !migrateUntilDone(ctx, st, log) {
		return w, ctx.Err()
	}
	tenants, err := st.ListTenants(ctx)
	if err != nil {
		return w, err
	}
	var fabrikam *store.Tenant
	for i := range tenants {
		if tenants[i].EntraTenantID == entrasim.DemoFabrikamTenantID {
			fabrikam = &tenants[i]
		}
	}
	if fabrikam == nil {
		t, err := st.CreateTenant(ctx, store.Tenant{EntraTenantID: entrasim.DemoFabrikamTenantID, DisplayName: "Fabrikam",
			DefaultDomain: "fabrikam.example", Status: "connected", Contacts: []string{"it@fabrikam.example"}},
			store.AuditEvent{ActorName: "portal dev", Action: "tenant.connect", Outcome: store.OutcomeSuccess,
				Details: map[string]string{"label": "demo world: connected by portal dev"}})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return w, fmt.Errorf("connect the demo tenant: %w", err)
		}
		if err == nil {
			// A Dutch customer, as most of the catalogue's are: its contact's
			// alert e-mail is in Dutch, the portal-wide recipients' in English.
			if err := st.SetTenantLanguage(ctx, t.ID, "nl", store.AuditEvent{ActorName: "portal dev", Action: "tenant.language",
				Outcome: store.OutcomeSuccess, Details: map[string]string{"language": "nl"}}); err != nil {
				return w, fmt.Errorf("demo tenant language: %w", err)
			}
			t.Language = "nl"
			tenants = append(tenants, t)
		}
	}
	scanner := inventory.New(inventory.Config{Authority: cfg.Entra.Authority, GraphURL: cfg.Entra.GraphURL,
		ClientID: cfg.Entra.ClientID, ClientSecret: cfg.Entra.ClientSecret}, st)
	for _, t := range tenants {
		if t.Status != "connected" {
			continue
		}
		res, err := scanner.Scan(ctx, t)
		if err != nil {
			// A tenant connected in an earlier run lost its consent with the
			// emulator's restart: the Tenants page says so.
			log.Warn("demo world: scan failed", "tenant", t.DisplayName, "err", err)
			continue
		}
		if t.EntraTenantID == entrasim.DemoFabrikamTenantID {
			w.Credentials = res.Found
		}
	}
	res, err := newAlerter(cfg, st, log, dv).Run(ctx)
	if err != nil {
		log.Warn("demo world: alert run failed", "err", err)
	}
	w.Mails = res.Mails
	return w, nil
}

// devGuide is what `portal dev` prints once the portal is ready: where, who
// to sign in as, and what to try first.
func devGuide(baseURL string, demo devEntra, w demoWorld) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nOpen %s and pick a user on the Entra ID emulator's page (%s; no passwords):\n", baseURL, demo.base)
	for _, u := range []struct{ key, role string }{
		{"oscar", "Operator: connects tenants, registers and rotates apps  <- start here"},
		{"ada", "Admin: also the audit log, sessions and users"},
		{"vera", "Viewer: read-only"},
		{"nina", "no portal role: sees the 'ask your administrator' page"},
	} {
		if upn, ok := demo.upns[u.key]; ok {
			fmt.Fprintf(&b, "  %-36s %s\n", upn, u.role)
		}
	}
	fmt.Fprintf(&b, "\n%s is connected and scanned: %d credentials on the dashboard", w.Tenant, w.Credentials)
	if w.Mails > 0 {
		fmt.Fprintf(&b, "; %d alert digest(s) went to the dev mail sink (Fabrikam's contact gets Dutch, the others English): read them at %s/dev/outbox, where a demo clock moves alerts forward", w.Mails, baseURL)
	}
	b.WriteString(".\nTry first:\n")
	b.WriteString("  1. Dashboard: the secrets that expire soonest; Rotate one (sign in to Fabrikam as fiona@fabrikam.example).\n")
	b.WriteString("  2. Catalogue -> Exact Globe+ -> Register in a tenant -> Fabrikam: review, apply, copy the hand-off.\n")
	b.WriteString("  3. Tenants -> Connect a tenant -> Northwind Traders (northwind.example); consent as nils@northwind.example.\n")
	b.WriteString("  4. Nederlands in the header: the portal in Dutch, remembered for you.\n\n")
	return b.String()
}

// newAlerter is the alert sender serve runs, from the configuration.
// With a seal key it also keeps webhook channels, whose URLs it seals.
//
// In `portal dev` (dv set), alert runs use the demo clock and keep a copy
// of each message for the Outbox page.
func newAlerter(cfg config.Config, st *store.Store, log *slog.Logger, dv *devAlerts) *alerts.Alerter {
	var sealer *seal.Sealer
	if len(cfg.SealKey) > 0 {
		// config.Load checked the key's length; a key that still fails only turns channels off.
		if s, err := seal.New(cfg.SealKey); err == nil {
			sealer = s
		} else {
			log.Error("alert channels off: the seal key is not usable", "error", err)
		}
	}
	ac := alerts.Config{
		SMTP: alerts.SMTP{Addr: cfg.Alerts.SMTPAddr, Username: cfg.Alerts.SMTPUsername, Password: cfg.Alerts.SMTPPassword,
			From: cfg.Alerts.SMTPFrom, TLS: cfg.Alerts.SMTPTLS},
		Recipients: cfg.Alerts.Recipients, Thresholds: cfg.Alerts.Thresholds, PortalURL: cfg.BaseURL.String(), Log: log, Sealer: sealer,
		GraphSender: cfg.Alerts.GraphSender,
		Graph: &graphMailer{tenant: cfg.Entra.TenantID, app: graph.AppOnly{LoginBase: cfg.Entra.Authority, GraphURL: cfg.Entra.GraphURL,
			ClientID: cfg.Entra.ClientID, ClientSecret: cfg.Entra.ClientSecret}},
	}
	if dv != nil {
		ac.Now, ac.Outbox = dv.clock.Now, dv.outbox
	}
	return alerts.New(ac, st)
}

// devAlerts are `portal dev`'s alert demo aids: the Outbox of messages and
// the demo clock.
type devAlerts struct {
	outbox *alerts.Outbox
	clock  *alerts.Clock
}
