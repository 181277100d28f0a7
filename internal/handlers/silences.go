package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/appreg-portal/portal/internal/i18n"
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

// silenceWhat says what a silence does, in the language of ctx: "Snoozed
// until 14 Dec 2026", "Was snoozed until … (ended; alerts go out again)".
func silenceWhat(ctx context.Context, sl store.AlertSilence, now time.Time) string {
	var id string
	switch {
	case sl.Scope == store.SilenceTenant:
		id = "credential.silence.tenant"
	case sl.Scope == store.SilenceApplication:
		id = "credential.silence.application"
	case sl.Kind == store.SilenceExclude:
		id = "credential.silence.excluded"
	case sl.Kind == store.SilenceAcknowledge:
		id = "credential.silence.acknowledged"
	default:
		id = "credential.silence.snoozed"
	}
	if !sl.Active(now) {
		id += "_ended"
	}
	until := ""
	if sl.Until != nil {
		until = i18n.ShortDate(ctx, *sl.Until)
	}
	return i18n.T(ctx, id, "Until", until)
}

// silenceView is a silence as the credential's page shows it.
func silenceView(ctx context.Context, sl store.AlertSilence, now time.Time) templates.SilenceView {
	return templates.SilenceView{ID: strconv.FormatInt(sl.ID, 10), What: silenceWhat(ctx, sl, now), By: sl.CreatedBy,
		On: i18n.ShortDate(ctx, sl.CreatedAt), Reason: sl.Reason, Active: sl.Active(now)}
}

// silenceSentence says what a silence does, who set it and why, in one
// line of English; silenceSentenceIn says it in the language of ctx.
func silenceSentence(sl store.AlertSilence, now time.Time) string {
	return silenceSentenceIn(context.Background(), sl, now)
}

// silenceSentenceIn is silenceSentence in the language of ctx.
func silenceSentenceIn(ctx context.Context, sl store.AlertSilence, now time.Time) string {
	v := silenceView(ctx, sl, now)
	if v.By == "" {
		return i18n.T(ctx, "credential.silence.set", "What", v.What, "On", v.On, "Reason", v.Reason)
	}
	return i18n.T(ctx, "credential.silence.set_by", "What", v.What, "By", v.By, "On", v.On, "Reason", v.Reason)
}

// reasonProblem says what is wrong with the reason given for a silence, or "".
func reasonProblem(ctx context.Context, reason string) string {
	switch {
	case reason == "":
		return i18n.T(ctx, "credential.alerts.error.reason_missing")
	case len(reason) > 500:
		return i18n.T(ctx, "credential.alerts.error.reason_too_long")
	}
	return ""
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
		v := silenceView(ctx, sl, now)
		if operator {
			switch sl.Scope {
			case store.SilenceTenant:
				// Lifted on the Tenants page, where it was set and where its effect on every credential shows.
			case store.SilenceApplication:
				v.LiftLabel = i18n.T(ctx, "credential.silence.lift_application")
			default:
				v.LiftLabel = i18n.T(ctx, "credential.silence.lift")
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
		return &httpError{status: http.StatusConflict, title: "credential.error.gone.title", message: "credential.error.gone"}
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
			errs["until"] = i18n.T(ctx, "credential.alerts.error.until_missing")
		case err != nil:
			errs["until"] = i18n.T(ctx, "credential.alerts.error.until_format")
		case !day.After(now):
			errs["until"] = i18n.T(ctx, "credential.alerts.error.until_past")
		case day.Sub(now) > maxSnooze:
			errs["until"] = i18n.T(ctx, "credential.alerts.error.until_too_far")
		default:
			sl.Until = &day // alerts resume at the start of that day, UTC
		}
	case "acknowledge":
		if !c.EndsAt.After(now) {
			errs["until"] = i18n.T(ctx, "credential.alerts.error.expired")
		}
		sl.Kind, sl.Until = store.SilenceAcknowledge, &c.EndsAt
	case "exclude-credential":
		sl.Kind = store.SilenceExclude
	case "exclude-application":
		if c.OwnerAppID == "" {
			return errBadRequest("credential.alerts.error.no_client_id")
		}
		sl.Kind, sl.Scope, sl.CredentialID, sl.OwnerAppID = store.SilenceExclude, store.SilenceApplication, nil, c.OwnerAppID
	default:
		return errBadRequest("credential.alerts.error.what")
	}
	if msg := reasonProblem(ctx, reason); msg != "" {
		errs["reason"] = msg
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
		h.flash(r, i18n.T(ctx, "credential.alerts.flash_snoozed", "Until", i18n.ShortDate(ctx, *sl.Until)))
	case store.SilenceAcknowledge:
		h.flash(r, i18n.T(ctx, "credential.alerts.flash_acknowledged"))
	default:
		h.flash(r, i18n.T(ctx, "credential.alerts.flash_excluded"))
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
	h.flash(r, i18n.T(ctx, "credential.alerts.flash_lifted"))
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
	if msg := reasonProblem(r.Context(), reason); msg != "" {
		d, err := h.tenantsData(r)
		if err != nil {
			return err
		}
		for i := range d.Tenants {
			if d.Tenants[i].ID == strconv.FormatInt(id, 10) {
				d.Tenants[i].Errors = templates.FieldErrors{"exclude": msg}
			}
		}
		return h.renderInvalid(w, r, templates.TenantsPage(h.page(r, i18n.T(r.Context(), "nav.tenants"), templates.SectionTenants), d))
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
	h.flash(r, i18n.T(r.Context(), "credential.alerts.flash_tenant_excluded"))
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
	h.flash(r, i18n.T(r.Context(), "credential.alerts.flash_tenant_included"))
	http.Redirect(w, r, "/tenants", http.StatusSeeOther)
	return nil
}
