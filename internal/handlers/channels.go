package handlers

import (
	"context"
	"errors"
	"net/http"
	netmail "net/mail"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/internal/trunc"
	"github.com/appreg-portal/portal/web/templates"
)

// AlertChannels adds webhook channels (sealing their URLs) and sends
// tests (internal/alerts); nil when alerts are off.
type AlertChannels interface {
	ChannelsEnabled() bool
	AddChannel(ctx context.Context, nc alerts.NewChannel, audit store.AuditEvent) (store.AlertChannel, error)
	TestChannel(ctx context.Context, id int64) (alerts.Reason, error)
	TestMail(ctx context.Context, to string) alerts.Reason
}

// channelStore lists and removes channels.
type channelStore interface {
	AlertChannels(ctx context.Context) ([]store.AlertChannel, error)
	DeleteAlertChannel(ctx context.Context, id int64, audit store.AuditEvent) error
}

var channelKinds = map[string]string{alerts.ChannelTeams: "Teams", alerts.ChannelSlack: "Slack", alerts.ChannelWebhook: "JSON webhook"}

// channelsData fills the Alerts page's channels section (admins).
func (h *Handler) channelsData(ctx context.Context, d *templates.AlertsData) error {
	chs, err := h.channelStore.AlertChannels(ctx)
	if err != nil {
		return err
	}
	for _, c := range chs {
		scope := "every tenant"
		if c.TenantID != nil {
			scope = c.TenantName
		}
		d.Channels = append(d.Channels, templates.ChannelRow{ID: strconv.FormatInt(c.ID, 10), Name: c.Name, Kind: channelKinds[c.Kind], Scope: scope,
			Host: c.URLHint, AddedBy: c.CreatedBy})
	}
	d.CanAddChannels = h.channels != nil && h.channels.ChannelsEnabled()
	tenants, err := h.tenants.ListTenants(ctx)
	if err != nil {
		return err
	}
	for _, t := range tenants {
		d.TenantChoices = append(d.TenantChoices, templates.TenantChoice{ID: strconv.FormatInt(t.ID, 10), Name: t.DisplayName})
	}
	return nil
}

// addChannel adds a webhook channel (POST /admin/alert-channels). The URL
// and secret are never logged, audited or shown again.
func (h *Handler) addChannel(w http.ResponseWriter, r *http.Request) error {
	if h.channels == nil || !h.channels.ChannelsEnabled() {
		return errBadRequest("Channels need PORTAL_SEAL_KEY.")
	}
	nc := alerts.NewChannel{Kind: r.PostFormValue("kind"), Name: strings.TrimSpace(r.PostFormValue("name")), URL: strings.TrimSpace(r.PostFormValue("url")),
		Secret: r.PostFormValue("secret")}
	if _, ok := channelKinds[nc.Kind]; !ok {
		return errBadRequest("Choose Teams, Slack or JSON webhook.")
	}
	tenant := r.PostFormValue("tenant")
	if tenant != "" {
		id, err := strconv.ParseInt(tenant, 10, 64)
		if err != nil {
			return errBadRequest("Choose a tenant from the list.")
		}
		nc.TenantID = &id
	}
	errs := templates.FieldErrors{}
	if nc.Name == "" || len(nc.Name) > 100 {
		errs["name"] = "Give the channel a name of at most 100 characters, such as “Ops team in Teams”."
	}
	if msg := alerts.CheckChannelURL(nc.URL); msg != "" {
		errs["url"] = msg
	}
	switch {
	case nc.Kind == alerts.ChannelWebhook && len(nc.Secret) < 32:
		errs["secret"] = "Enter a signing secret of at least 32 characters; the receiver checks each message with it."
	case nc.Kind != alerts.ChannelWebhook:
		nc.Secret = ""
	}
	if len(errs) > 0 {
		d, err := h.alertsData(r)
		if err != nil {
			return err
		}
		// The URL and secret are not re-shown: they are keys.
		d.Channel = templates.ChannelForm{Kind: nc.Kind, Name: trunc.String(nc.Name, 100), Tenant: tenant, Errors: errs}
		return h.renderInvalid(w, r, templates.AlertsPage(h.page(r, "Alerts", templates.SectionAlerts), d))
	}
	if u := userFrom(r.Context()); u != nil {
		nc.CreatedBy = u.Name
	}
	if _, err := h.channels.AddChannel(r.Context(), nc, h.auditEvent(r, "alerts.channel.add", "", nil)); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errBadRequest("That tenant is gone.")
		}
		return err
	}
	h.flash(r, "Channel added. Send a test to check it.")
	http.Redirect(w, r, "/alerts", http.StatusSeeOther)
	return nil
}

// testChannel sends a test message (POST /admin/alert-channels/{id}/test)
// and says whether it arrived, in words.
func (h *Handler) testChannel(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || h.channels == nil {
		return errNotFound()
	}
	reason, err := h.channels.TestChannel(r.Context(), id)
	if err != nil {
		return err
	}
	if err := h.sessionStore.RecordAudit(r.Context(), h.testAudit(r, "alerts.channel.test", strconv.FormatInt(id, 10), reason)); err != nil {
		return err
	}
	if reason == alerts.ReasonNone {
		h.flash(r, "Test message delivered: the webhook accepted it.")
	} else {
		h.flash(r, "The test message was not delivered. "+reason.Text())
	}
	http.Redirect(w, r, "/alerts", http.StatusSeeOther)
	return nil
}

// testMail sends a test e-mail (POST /admin/alert-mail-test).
func (h *Handler) testMail(w http.ResponseWriter, r *http.Request) error {
	to := strings.TrimSpace(r.PostFormValue("to"))
	if a, err := netmail.ParseAddress(to); err != nil || a.Address != to {
		return errBadRequest("Enter one plain e-mail address.")
	}
	reason := alerts.ReasonBadConfig
	if h.channels != nil {
		reason = h.channels.TestMail(r.Context(), to)
	}
	if err := h.sessionStore.RecordAudit(r.Context(), h.testAudit(r, "alerts.mail.test", to, reason)); err != nil {
		return err
	}
	if reason == alerts.ReasonNone {
		h.flash(r, "Test e-mail accepted by the mail server for "+to+".")
	} else {
		h.flash(r, "The test e-mail was not sent. "+reason.Text())
	}
	http.Redirect(w, r, "/alerts", http.StatusSeeOther)
	return nil
}

func (h *Handler) testAudit(r *http.Request, action, target string, reason alerts.Reason) store.AuditEvent {
	e := h.auditEvent(r, action, target, map[string]string{"reason": string(reason)})
	if reason != alerts.ReasonNone {
		e.Outcome = store.OutcomeFailure
	}
	return e
}

// deleteChannel removes a channel (POST /admin/alert-channels/{id}/delete).
func (h *Handler) deleteChannel(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil {
		return errNotFound()
	}
	if err := h.channelStore.DeleteAlertChannel(r.Context(), id, h.auditEvent(r, "alerts.channel.remove", "", nil)); err != nil {
		return err
	}
	h.flash(r, "Channel removed; alerts not yet sent to it are dropped.")
	http.Redirect(w, r, "/alerts", http.StatusSeeOther)
	return nil
}
