package handlers

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/web/templates"
)

// DevTools are `portal dev`'s demo aids: the Outbox of alert messages and
// a demo clock for alert runs. nil outside dev; their routes then do not
// exist.
type DevTools struct {
	Outbox *alerts.Outbox
	Clock  *alerts.Clock
	// RunAlerts runs an alert run now, on the demo clock.
	RunAlerts func(ctx context.Context) (alerts.RunResult, error)
}

// devOutbox shows the alert messages the portal sent or tried (GET /dev/outbox).
func (h *Handler) devOutbox(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	d := templates.DevOutboxData{Now: i18n.From(ctx).WeekdayDateTime(h.dev.Clock.Now()),
		Ahead: i18n.N(ctx, "devoutbox.ahead_days", int(math.Round(h.dev.Clock.Offset().Hours()/24)))}
	for _, m := range h.dev.Outbox.Messages() {
		d.Messages = append(d.Messages, templates.OutboxRow{At: i18n.DateTime(ctx, m.At), Channel: m.Channel, To: m.To, Subject: m.Subject,
			Text: m.Text, HTML: m.HTML, JSON: m.JSON, Outcome: outboxOutcome(i18n.From(ctx), m)})
	}
	h.render(w, r, http.StatusOK, templates.DevOutboxPage(h.page(r, i18n.T(ctx, "devoutbox.page_title"), templates.SectionAlerts), d))
	return nil
}

// devAdvanceClock moves the demo clock forward and runs the alerts
// (POST /dev/clock), so a newcomer watches them come due.
func (h *Handler) devAdvanceClock(w http.ResponseWriter, r *http.Request) error {
	days, err := strconv.Atoi(r.PostFormValue("days"))
	if err != nil || days < 0 || days > 90 {
		return errBadRequest("devoutbox.error.days")
	}
	h.dev.Clock.Advance(time.Duration(days) * 24 * time.Hour)
	res, err := h.dev.RunAlerts(r.Context())
	switch {
	case err != nil:
		h.log.WarnContext(r.Context(), "dev alert run", "err", err)
		h.flash(r, i18n.T(r.Context(), "devoutbox.flash_failed", "Days", i18n.N(r.Context(), "devoutbox.days", days),
			"Deliveries", i18n.N(r.Context(), "devoutbox.deliveries", res.Failed)))
	default:
		h.flash(r, i18n.T(r.Context(), "devoutbox.flash_sent", "Days", i18n.N(r.Context(), "devoutbox.days", days),
			"Messages", i18n.N(r.Context(), "devoutbox.messages", res.Mails), "Alerts", i18n.N(r.Context(), "devoutbox.alerts", res.Sent)))
	}
	http.Redirect(w, r, "/dev/outbox", http.StatusSeeOther)
	return nil
}

// outboxOutcome says whether a message went out, in loc's language.
func outboxOutcome(loc *i18n.Localizer, m alerts.OutboxMessage) string {
	if m.Reason == alerts.ReasonNone && m.Outcome == "sent" {
		return loc.T("devoutbox.sent")
	}
	return m.Reason.TextIn(loc)
}
