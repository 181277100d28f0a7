package handlers

import (
	"context"
	"errors"
	"net/http"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/i18n"
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

// channelKinds are the kinds of channel, with the message that names each.
var channelKinds = map[string]string{alerts.ChannelTeams: "alerts_page.channels.kind.teams", alerts.ChannelSlack: "alerts_page.channels.kind.slack",
	alerts.ChannelWebhook: "alerts_page.channels.kind.webhook"}

// channelsData fills the Alerts page's channels section (admins).
func (h *Handler) channelsData(ctx context.Context, d *templates.AlertsData) error {
	chs, err := h.channelStore.AlertChannels(ctx)
	if err != nil {
		return err
	}
	loc := i18n.From(ctx)
	for _, c := range chs {
		row := templates.ChannelRow{ID: strconv.FormatInt(c.ID, 10), Name: c.Name, Kind: c.Kind, Scope: loc.T("alerts_page.channels.scope_all"),
			Host: c.URLHint, AddedBy: c.CreatedBy}
		if id, ok := channelKinds[c.Kind]; ok {
			row.Kind = loc.T(id)
		}
		if c.TenantID != nil {
			row.Scope, row.ScopeIsTenant = c.TenantName, true
		}
		d.Channels = append(d.Channels, row)
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
		return errBadRequest("alerts_page.error.need_key")
	}
	nc := alerts.NewChannel{Kind: r.PostFormValue("kind"), Name: strings.TrimSpace(r.PostFormValue("name")), URL: strings.TrimSpace(r.PostFormValue("url")),
		Secret: r.PostFormValue("secret")}
	if _, ok := channelKinds[nc.Kind]; !ok {
		return errBadRequest("alerts_page.error.kind")
	}
	tenant := r.PostFormValue("tenant")
	if tenant != "" {
		id, err := strconv.ParseInt(tenant, 10, 64)
		if err != nil {
			return errBadRequest("alerts_page.error.tenant")
		}
		nc.TenantID = &id
	}
	errs := templates.FieldErrors{}
	if nc.Name == "" || len(nc.Name) > 100 {
		errs["name"] = i18n.T(r.Context(), "alerts_page.error.channel_name")
	}
	if alerts.CheckChannelURL(nc.URL) != "" {
		// internal/alerts decides; the words are the page's: an address
		// that is not whole, or one that is not https.
		id := "alerts_page.error.url_https"
		if u, err := url.Parse(nc.URL); err != nil || u.Host == "" || u.User != nil {
			id = "alerts_page.error.url_whole"
		}
		errs["url"] = i18n.T(r.Context(), id)
	}
	switch {
	case nc.Kind == alerts.ChannelWebhook && len(nc.Secret) < 32:
		errs["secret"] = i18n.T(r.Context(), "alerts_page.error.secret")
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
		return h.renderInvalid(w, r, templates.AlertsPage(h.alertsPageData(r), d))
	}
	if u := userFrom(r.Context()); u != nil {
		nc.CreatedBy = u.Name
	}
	if _, err := h.channels.AddChannel(r.Context(), nc, h.auditEvent(r, "alerts.channel.add", "", nil)); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errBadRequest("alerts_page.error.tenant_gone")
		}
		return err
	}
	h.flash(r, i18n.T(r.Context(), "alerts_page.flash.channel_added"))
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
		h.flash(r, i18n.T(r.Context(), "alerts_page.flash.test_delivered"))
	} else {
		h.flash(r, i18n.T(r.Context(), "alerts_page.flash.test_failed", "Reason", alertReasonText(i18n.From(r.Context()), string(reason))))
	}
	http.Redirect(w, r, "/alerts", http.StatusSeeOther)
	return nil
}

// testMail sends a test e-mail (POST /admin/alert-mail-test).
func (h *Handler) testMail(w http.ResponseWriter, r *http.Request) error {
	to := strings.TrimSpace(r.PostFormValue("to"))
	if a, err := netmail.ParseAddress(to); err != nil || a.Address != to {
		return errBadRequest("alerts_page.error.mail_to")
	}
	reason := alerts.ReasonBadConfig
	if h.channels != nil {
		reason = h.channels.TestMail(r.Context(), to)
	}
	if err := h.sessionStore.RecordAudit(r.Context(), h.testAudit(r, "alerts.mail.test", to, reason)); err != nil {
		return err
	}
	if reason == alerts.ReasonNone {
		h.flash(r, i18n.T(r.Context(), "alerts_page.flash.mail_sent", "To", to))
	} else {
		h.flash(r, i18n.T(r.Context(), "alerts_page.flash.mail_failed", "Reason", alertReasonText(i18n.From(r.Context()), string(reason))))
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
	h.flash(r, i18n.T(r.Context(), "alerts_page.flash.channel_removed"))
	http.Redirect(w, r, "/alerts", http.StatusSeeOther)
	return nil
}
