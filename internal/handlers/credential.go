package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/appreg-portal/portal/internal/auth"
	"github.com/appreg-portal/portal/internal/catalog"
	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/web/templates"
)

// credentialDetailStore is what a credential's page reads.
type credentialDetailStore interface {
	CredentialByID(ctx context.Context, id int64) (store.CredentialDetail, error)
	CredentialHistory(ctx context.Context, entraTenantID, keyID string, limit int) ([]store.AuditEvent, error)
	RegistrationByClientID(ctx context.Context, tenantID, clientID string) (store.Registration, error)
	OpenRotations(ctx context.Context) (map[string]store.Rotation, error)
}

// entraAppURL links an app registration (or, for a service principal's own
// credential, the enterprise application) in the Microsoft Entra admin
// center, in the credential's tenant.
// https://learn.microsoft.com/en-us/entra/identity-platform/howto-create-service-principal-portal
func entraAppURL(c store.CredentialDetail) string {
	if c.OwnerKind == "service_principal" {
		return "https://entra.microsoft.com/" + url.PathEscape(c.EntraTenantID) + "#view/Microsoft_AAD_IAM/ManagedAppMenuBlade/~/Overview/objectId/" +
			url.PathEscape(c.OwnerObjectID) + "/appId/" + url.PathEscape(c.OwnerAppID)
	}
	return "https://entra.microsoft.com/" + url.PathEscape(c.EntraTenantID) + "#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/Credentials/appId/" +
		url.PathEscape(c.OwnerAppID)
}

// eventWords tells an audit action about a credential in a sentence: the
// message IDs by action.
var eventWords = map[string]string{
	"registration.secret": "credential.event.registration_secret",
	"rotation.start":      "credential.event.rotation_start",
	"rotation.secret":     "credential.event.rotation_secret",
	"rotation.schedule":   "credential.event.rotation_schedule",
	"rotation.done":       "credential.event.rotation_done",
	"alerts.silence":      "credential.event.alerts_silence",
	"alerts.silence.lift": "credential.event.alerts_silence_lift",
}

// credentialPage shows one credential: what it is, where it lives, the
// registration and hand-off when the portal made its app, and its history
// (GET /credentials/{id}).
func (h *Handler) credentialPage(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil {
		return errNotFound()
	}
	d, title, err := h.credentialData(r, id)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, templates.CredentialPage(h.page(r, title, templates.SectionDashboard), d))
	return nil
}

// credentialData is what the credential's page shows, and its title.
func (h *Handler) credentialData(r *http.Request, id int64) (templates.CredentialDetailData, string, error) {
	ctx := r.Context()
	c, err := h.details.CredentialByID(ctx, id)
	if err != nil {
		return templates.CredentialDetailData{}, "", err
	}
	now := h.now()
	operator := auth.Rank(userFrom(ctx).Role) >= auth.Rank(auth.RoleOperator)
	open := map[string]store.Rotation{}
	if operator {
		if open, err = h.details.OpenRotations(ctx); err != nil {
			return templates.CredentialDetailData{}, "", err
		}
	}
	row := localRow(ctx, c.Credential, now)
	row.ID, row.KeyID = strconv.FormatInt(c.ID, 10), c.KeyID
	credentialActionsIn(ctx, &row, c.Credential, operator, open)
	d := templates.CredentialDetailData{Row: row, TenantName: c.TenantName, TenantID: c.EntraTenantID, OwnerName: c.OwnerName,
		OwnerKind: i18n.T(ctx, ownerKindID(c.OwnerKind)+"_lower"), AppID: c.OwnerAppID, ObjectID: c.OwnerObjectID, KeyID: c.KeyID, Thumbprint: c.Thumbprint,
		Ends: row.Ends, FirstSeen: i18n.DateTime(ctx, c.FirstSeenAt), LastSeen: i18n.DateTime(ctx, c.LastSeenAt), EntraURL: entraAppURL(c), CanTrack: operator}
	if c.StartsAt != nil {
		d.Starts = i18n.DateTime(ctx, *c.StartsAt)
	}
	if c.RemovedAt != nil {
		d.Removed = i18n.DateTime(ctx, *c.RemovedAt)
	}
	if c.OwnerKind == "application" {
		reg, err := h.details.RegistrationByClientID(ctx, c.EntraTenantID, c.OwnerAppID)
		switch {
		case err == nil:
			d.Registration = h.credentialRegistration(ctx, reg)
		case errors.Is(err, store.ErrNotFound):
			d.CanAdopt = operator && c.RemovedAt == nil
		default:
			return templates.CredentialDetailData{}, "", err
		}
	}
	events, err := h.details.CredentialHistory(ctx, c.EntraTenantID, c.KeyID, 50)
	if err != nil {
		return templates.CredentialDetailData{}, "", err
	}
	for _, e := range events {
		id := eventWords[e.Action]
		if e.Details["old_key_id"] != "" && strings.EqualFold(e.Details["old_key_id"], c.KeyID) && e.Action == "rotation.secret" {
			id = "credential.event.successor_added"
		}
		what := i18n.T(ctx, "credential.event.other", "Action", e.Action)
		if id != "" {
			what = i18n.T(ctx, id)
		}
		switch e.Outcome {
		case store.OutcomeSuccess:
		case store.OutcomeDenied:
			what = i18n.T(ctx, "credential.event.outcome_denied", "What", what)
		case store.OutcomeFailure:
			what = i18n.T(ctx, "credential.event.outcome_failure", "What", what)
		default:
			what = i18n.T(ctx, "credential.event.outcome_other", "What", what, "Outcome", e.Outcome)
		}
		ev := templates.CredentialEvent{When: i18n.DateTime(ctx, e.OccurredAt), Who: e.ActorName, What: what, Failed: e.Outcome != store.OutcomeSuccess}
		if strings.HasPrefix(e.Action, "alerts.silence") {
			ev.Reason = e.Details["reason"]
		}
		d.History = append(d.History, ev)
	}
	if d.Alerts, err = h.credentialAlerts(ctx, c.Credential, operator); err != nil {
		return templates.CredentialDetailData{}, "", err
	}
	return d, i18n.T(ctx, "credential.page_title", "Owner", c.OwnerName, "Kind", row.Kind), nil
}

// credentialRegistration is the registration a credential's app came from,
// with its blueprint's hand-off filled in (the secret itself is never known).
func (h *Handler) credentialRegistration(ctx context.Context, reg store.Registration) *templates.CredentialRegistration {
	cr := &templates.CredentialRegistration{BlueprintID: reg.BlueprintID, BlueprintName: reg.BlueprintID, AppliedBy: reg.AppliedByName, AppliedAt: i18n.DateTime(ctx, reg.AppliedAt)}
	if reg.LastRunID != nil {
		cr.RunID = *reg.LastRunID
	}
	l, err := h.findBlueprint(ctx, reg.BlueprintID)
	if err != nil {
		return cr // a custom blueprint deleted since: the registration still says which it was
	}
	cr.BlueprintName = l.bp.Name
	cr.Handoff = handoffViews(l.bp, catalog.Values{ClientID: reg.ClientID, TenantID: reg.TenantID, ServicePrincipalID: reg.SPObjectID, Params: reg.Params})
	return cr
}
