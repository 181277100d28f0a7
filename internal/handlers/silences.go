package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/internal/trunc"
	"github.com/appreg-portal/portal/web/templates"
)

// silenceStore keeps alerts quiet: exclusions, acknowledgements, snoozes.
type silenceStore interface {
	SetAlertSilence(ctx context.Context, sl store.AlertSilence, audit store.AuditEvent) (store.AlertSilence, error)
	LiftAlertSilence(ctx context.Context, id int64, audit store.AuditEvent) (store.AlertSilence, error)
	SilencesForCredential(ctx context.Context, credentialID int64) ([]store.AlertSilence, error)
	TenantExclusions(ctx context.Context) (map[int64]store.AlertSilence, error)
}

// maxSnooze is how far ahead a snooze may end: longer is an exclusion, and
// should say so.
const maxSnooze = 366 * 24 * time.Hour

// silenceSentence says what a silence does, who set it and why.
func silenceSentence(sl store.AlertSilence, now time.Time) string {
	var what string
	switch {
	case sl.Scope == store.SilenceTenant:
		what = "Alerts for this tenant are excluded"
	case sl.Scope == store.SilenceApplication:
		what = "Alerts for every credential of this application are excluded"
	case sl.Kind == store.SilenceExclude:
		what = "Alerts for this credential are excluded"
	case sl.Kind == store.SilenceAcknowledge:
		what = "Acknowledged: no reminders until it expires"
	default:
		what = "Snoozed until " + sl.Until.UTC().Format("2 Jan 2006")
	}
	if !sl.Active(now) {
		what = "Was " + strings.ToLower(what[:1]) + what[1:] + " (ended; alerts go out again)"
	}
	by := ""
	if sl.CreatedBy != "" {
		by = " by " + sl.CreatedBy
	}
	return fmt.Sprintf("%s — set%s on %s: %s", what, by, sl.CreatedAt.UTC().Format("2 Jan 2006"), sl.Reason)
}

// credentialAlerts is the alerts section of a credential's page.
func (h *Handler) credentialAlerts(ctx context.Context, c store.Credential, operator bool) (templates.CredentialAlerts, error) {
	now := h.now()
	out := templates.CredentialAlerts{CanSilence: operator && c.RemovedAt == nil,
		MinDate: now.AddDate(0, 0, 1).UTC().Format(time.DateOnly), MaxDate: now.Add(maxSnooze).UTC().Format(time.DateOnly)}
	sls, err := h.silences.SilencesForCredential(ctx, c.ID)
	if err != nil {
		return out, err
	}
	for _, sl := range sls {
		v := templates.SilenceView{ID: strconv.FormatInt(sl.ID, 10), Sentence: silenceSentence(sl, now), Active: sl.Active(now)}
		if operator {
			switch sl.Scope {
			case store.SilenceTenant:
				// Lifted on the Tenants page, where it was set and where its effect on every credential shows.
			case store.SilenceApplication:
				v.LiftLabel = "Send this application's alerts again"
			default:
				v.LiftLabel = "Resume alerts"
			}
		}
		out.Silences = append(out.Silences, v)
	}
	return out, nil
}

// silenceCredential acknowledges, snoozes or excludes a credential, or
// excludes its application (POST /credentials/{id}/alerts).
func (h *Handler) silenceCredential(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil {
		return errNotFound()
	}
	c, err := h.details.CredentialByID(ctx, id)
	if err != nil {
		return err
	}
	if c.RemovedAt != nil {
		return &httpError{status: http.StatusConflict, title: "Already gone", message: "This credential is no longer in the tenant; it raises no alerts."}
	}
	what, untilRaw, reason := r.PostFormValue("what"), strings.TrimSpace(r.PostFormValue("until")), strings.TrimSpace(r.PostFormValue("reason"))
	errs := templates.FieldErrors{}
	now := h.now()
	sl := store.AlertSilence{TenantID: c.TenantID, Scope: store.SilenceCredential, CredentialID: &c.ID, Reason: reason}
	if u := userFrom(ctx); u != nil {
		sl.CreatedBy = u.Name
	}
	switch what {
	case "snooze":
		sl.Kind = store.SilenceSnooze
		day, err := time.Parse(time.DateOnly, untilRaw)
		switch {
		case untilRaw == "":
			errs["until"] = "Choose the date the alerts should start again."
		case err != nil:
			errs["until"] = "Enter a date such as 2027-01-14."
		case !day.After(now):
			errs["until"] = "Choose a date after today."
		case day.Sub(now) > maxSnooze:
			errs["until"] = "A snooze lasts at most a year; exclude the credential instead."
		default:
			sl.Until = &day // alerts resume at the start of that day, UTC
		}
	case "acknowledge":
		if !c.EndsAt.After(now) {
			errs["until"] = "It has expired already; snooze or exclude it instead."
		}
		sl.Kind, sl.Until = store.SilenceAcknowledge, &c.EndsAt
	case "exclude-credential":
		sl.Kind = store.SilenceExclude
	case "exclude-application":
		if c.OwnerAppID == "" {
			return errBadRequest("This credential's application has no client ID to exclude by.")
		}
		sl.Kind, sl.Scope, sl.CredentialID, sl.OwnerAppID = store.SilenceExclude, store.SilenceApplication, nil, c.OwnerAppID
	default:
		return errBadRequest("Choose to snooze, acknowledge or exclude.")
	}
	switch {
	case reason == "":
		errs["reason"] = "Say why, so others know when the alerts should come back."
	case len(reason) > 500:
		errs["reason"] = "Keep it under 500 characters."
	}
	if len(errs) > 0 {
		d, title, err := h.credentialData(r, id)
		if err != nil {
			return err
		}
		d.Alerts.What, d.Alerts.Until, d.Alerts.Reason, d.Alerts.Errors = what, trunc.String(untilRaw, 20), trunc.String(reason, 500), errs
		return h.renderInvalid(w, r, templates.CredentialPage(h.page(r, title, templates.SectionDashboard), d))
	}
	if _, err := h.silences.SetAlertSilence(ctx, sl, h.auditEvent(r, "alerts.silence", "", nil)); err != nil {
		return err
	}
	switch sl.Kind {
	case store.SilenceSnooze:
		h.flash(r, "Snoozed: no alerts about this credential until "+sl.Until.Format("2 Jan 2006")+".")
	case store.SilenceAcknowledge:
		h.flash(r, "Acknowledged: no more reminders; the alert on expiry still goes out.")
	default:
		h.flash(r, "Excluded from alerts until you resume them.")
	}
	http.Redirect(w, r, "/credentials/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
	return nil
}

// liftCredentialSilence resumes alerts silenced for a credential or its
// application (POST /credentials/{id}/alerts/{silence}/lift).
func (h *Handler) liftCredentialSilence(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err1 := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	sid, err2 := strconv.ParseInt(chi.URLParam(r, "silence"), 10, 64)
	if err1 != nil || err2 != nil {
		return errNotFound()
	}
	sls, err := h.silences.SilencesForCredential(ctx, id)
	if err != nil {
		return err
	}
	// Only a silence that applies to this credential, and not its tenant's (lifted on the Tenants page).
	found := false
	for _, sl := range sls {
		found = found || (sl.ID == sid && sl.Scope != store.SilenceTenant)
	}
	if !found {
		return errNotFound()
	}
	if _, err := h.silences.LiftAlertSilence(ctx, sid, h.auditEvent(r, "alerts.silence.lift", "", nil)); err != nil {
		return err
	}
	h.flash(r, "Alerts resume at the next alert run.")
	http.Redirect(w, r, "/credentials/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
	return nil
}

// excludeTenant excludes a tenant from alerts (POST /tenants/{id}/alerts/exclude).
func (h *Handler) excludeTenant(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil {
		return errNotFound()
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	msg := ""
	switch {
	case reason == "":
		msg = "Say why, so others know when the alerts should come back."
	case len(reason) > 500:
		msg = "Keep it under 500 characters."
	}
	if msg != "" {
		d, err := h.tenantsData(r)
		if err != nil {
			return err
		}
		for i := range d.Tenants {
			if d.Tenants[i].ID == strconv.FormatInt(id, 10) {
				d.Tenants[i].Errors = templates.FieldErrors{"exclude": msg}
			}
		}
		return h.renderInvalid(w, r, templates.TenantsPage(h.page(r, "Tenants", templates.SectionTenants), d))
	}
	sl := store.AlertSilence{TenantID: id, Scope: store.SilenceTenant, Kind: store.SilenceExclude, Reason: reason}
	if u := userFrom(r.Context()); u != nil {
		sl.CreatedBy = u.Name
	}
	if _, err := h.silences.SetAlertSilence(r.Context(), sl, h.auditEvent(r, "alerts.silence", "", nil)); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errNotFound()
		}
		return err
	}
	h.flash(r, "The tenant is excluded from alerts until you include it again.")
	http.Redirect(w, r, "/tenants", http.StatusSeeOther)
	return nil
}

// includeTenant sends a tenant's alerts again (POST /tenants/{id}/alerts/include).
func (h *Handler) includeTenant(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil {
		return errNotFound()
	}
	ex, err := h.silences.TenantExclusions(r.Context())
	if err != nil {
		return err
	}
	sl, ok := ex[id]
	if !ok {
		return errNotFound()
	}
	if _, err := h.silences.LiftAlertSilence(r.Context(), sl.ID, h.auditEvent(r, "alerts.silence.lift", "", nil)); err != nil {
		return err
	}
	h.flash(r, "The tenant's alerts go out again from the next alert run.")
	http.Redirect(w, r, "/tenants", http.StatusSeeOther)
	return nil
}
