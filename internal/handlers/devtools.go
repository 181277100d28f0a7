package handlers

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/appreg-portal/portal/internal/alerts"
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
	d := templates.DevOutboxData{Now: h.dev.Clock.Now().UTC().Format("Mon 2 Jan 2006 15:04 UTC"),
		Ahead: fmt.Sprintf("%.0f days", h.dev.Clock.Offset().Hours()/24)}
	for _, m := range h.dev.Outbox.Messages() {
		d.Messages = append(d.Messages, templates.OutboxRow{At: fmtTime(m.At), Channel: m.Channel, To: m.To, Subject: m.Subject,
			Text: m.Text, HTML: m.HTML, JSON: m.JSON, Outcome: m.Outcome})
	}
	h.render(w, r, http.StatusOK, templates.DevOutboxPage(h.page(r, "Outbox (dev)", templates.SectionAlerts), d))
	return nil
}

// devAdvanceClock moves the demo clock forward and runs the alerts
// (POST /dev/clock), so a newcomer watches them come due.
func (h *Handler) devAdvanceClock(w http.ResponseWriter, r *http.Request) error {
	days, err := strconv.Atoi(r.PostFormValue("days"))
	if err != nil || days < 0 || days > 90 {
		return errBadRequest("Advance by 0 to 90 days.")
	}
	h.dev.Clock.Advance(time.Duration(days) * 24 * time.Hour)
	res, err := h.dev.RunAlerts(r.Context())
	switch {
	case err != nil:
		h.log.WarnContext(r.Context(), "dev alert run", "err", err)
		h.flash(r, fmt.Sprintf("Clock advanced %d days; the alert run had failures (%d deliveries): see the Outbox.", days, res.Failed))
	default:
		h.flash(r, fmt.Sprintf("Clock advanced %d days; the alert run sent %d messages about %d alerts.", days, res.Mails, res.Sent))
	}
	http.Redirect(w, r, "/dev/outbox", http.StatusSeeOther)
	return nil
}
