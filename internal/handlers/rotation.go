package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/appreg-portal/portal/internal/auth"
	"github.com/appreg-portal/portal/internal/catalog"
	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/registration"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/web/templates"
)

// rotationStore keeps secret rotations.
type rotationStore interface {
	registration.RotationStore
	GetCredential(ctx context.Context, id int64) (store.Credential, error)
	GetTenant(ctx context.Context, id int64) (store.Tenant, error)
	CreateRotation(ctx context.Context, r store.Rotation, credentialID int64, createdByOID string, audit store.AuditEvent) (store.Rotation, error)
	GetRotation(ctx context.Context, id string) (store.Rotation, error)
	SetRotationPreflight(ctx context.Context, id string, preflight any) error
	SaveRotationToken(ctx context.Context, id string, sealed, sealedRefresh []byte, userName string, expires time.Time) error
	ScheduleRotationRemoval(ctx context.Context, id string, at time.Time, audit store.AuditEvent) error
	RotationToken(ctx context.Context, id string) ([]byte, error)
	OpenRotations(ctx context.Context) (map[string]store.Rotation, error)
	RegistrationByClientID(ctx context.Context, tenantID, clientID string) (store.Registration, error)
}

// Session value of keyRegKind for a rotation's sign-in.
const keyRegKind = "reg.kind"

func rotationAAD(id string) []byte { return []byte("rotation-token:" + id) }

// startRotation records a rotation of one scanned secret (POST /rotations).
func (h *Handler) startRotation(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := strconv.ParseInt(r.PostFormValue("credential"), 10, 64)
	if err != nil {
		return errBadRequest("rotation.choose_secret")
	}
	c, err := h.rotations.GetCredential(ctx, id)
	if err != nil {
		return err
	}
	if c.Kind != "password" || c.OwnerKind != "application" {
		return errBadRequest("rotation.only_secrets")
	}
	t, err := h.rotations.GetTenant(ctx, c.TenantID)
	if err != nil {
		return err
	}
	if open, err := h.rotations.OpenRotations(ctx); err != nil {
		return err
	} else if rot, ok := open[strings.ToLower(c.KeyID)]; ok {
		http.Redirect(w, r, "/rotations/"+rot.ID, http.StatusSeeOther) // one rotation per secret at a time
		return nil
	}
	u := userFrom(ctx)
	rid := uuid.NewString()
	end := c.EndsAt
	rot, err := h.rotations.CreateRotation(ctx, store.Rotation{ID: rid, TenantID: t.EntraTenantID, TenantName: t.DisplayName,
		AppObjectID: c.OwnerObjectID, ClientID: c.OwnerAppID, AppName: c.OwnerName, OldKeyID: c.KeyID, OldName: c.DisplayName, OldEnd: &end,
		NewName: registration.RotatedName(c.DisplayName, rid, h.now()), CreatedByName: u.Name}, c.ID, u.ObjectID,
		h.auditEvent(r, "rotation.start", c.OwnerName, map[string]string{"old_key_id": c.KeyID}))
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/rotations/"+rot.ID, http.StatusSeeOther)
	return nil
}

func (h *Handler) loadRotation(ctx context.Context, id string) (store.Rotation, registration.RotationPreflight, error) {
	var pf registration.RotationPreflight
	if _, err := uuid.Parse(id); err != nil {
		return store.Rotation{}, pf, errNotFound()
	}
	rot, err := h.rotations.GetRotation(ctx, id)
	if err != nil {
		return rot, pf, err
	}
	if rot.Preflight != "" {
		if err := json.Unmarshal([]byte(rot.Preflight), &pf); err != nil {
			return rot, pf, err
		}
	}
	return rot, pf, nil
}

// rotationData is the rotation's page in the request's language; the
// rotation's stored message is localized here (registration.Message).
func (h *Handler) rotationData(ctx context.Context, rot store.Rotation, pf registration.RotationPreflight) templates.RotationData {
	l := i18n.From(ctx)
	d := templates.RotationData{ID: rot.ID, State: rot.State, Error: registration.LocalizeStored(l, rot.Error), TenantID: rot.TenantID, TenantName: rot.TenantName,
		AppName: rot.AppName, ClientID: rot.ClientID, OldName: rot.OldName, OldKeyID: rot.OldKeyID, NewName: rot.NewName,
		SignedInAs: pf.UserName + " (" + pf.UserUPN + ")", Roles: pf.Roles, OtherSecrets: pf.OtherSecrets, Certificates: pf.Certificates,
		OldFound: pf.OldFound, Months: registration.DefaultRotationMonths, NewHint: rot.NewHint}
	if rot.OldEnd != nil {
		d.OldEnds = l.Date(*rot.OldEnd)
	}
	if rot.NewEnd != nil {
		d.NewEnds = l.Date(*rot.NewEnd)
	}
	if rot.RemoveAfter != nil {
		d.RemoveOn = l.Date(*rot.RemoveAfter)
	}
	// A week of overlap, but never on or after the old secret's own end (the
	// schedule would be refused), and within the 90 days a kept sign-in lasts.
	now := h.now()
	limit := removalLimit(now, rot.OldEnd)
	suggest := now.AddDate(0, 0, 7)
	if !suggest.Before(limit) {
		suggest = limit.AddDate(0, 0, -1)
	}
	if !suggest.After(now) {
		suggest = limit
	}
	d.SuggestRemoveOn = suggest.UTC().Format(time.DateOnly)
	d.MinRemoveOn, d.MaxRemoveOn = now.AddDate(0, 0, 1).UTC().Format(time.DateOnly), limit.UTC().Format(time.DateOnly)
	end, clamped := registration.SecretEnd(h.now(), d.Months, pf.PolicyMax())
	d.PlannedEnd = l.Date(end)
	if clamped {
		id := "rotation.clamp.tenant"
		if pf.AppPolicy {
			id = "rotation.clamp.app"
		}
		d.ClampNote = l.T(id, "Days", pf.PolicyMaxDays, "Date", d.PlannedEnd)
	}
	return d
}

// rotationPage shows a rotation wherever it is (GET /rotations/{id}).
func (h *Handler) rotationPage(w http.ResponseWriter, r *http.Request) error {
	rot, pf, err := h.loadRotation(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	d := h.rotationData(r.Context(), rot, pf)
	h.addRotationHandoff(r.Context(), rot, &d)
	h.addSignInHint(r.Context(), rot, &d)
	if d.Shares, err = h.shareRows(r.Context(), rot.ID); err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, templates.RotationPage(h.rotationPageData(r, rot), d, ""))
	return nil
}

// rotationPageData is the rotation page's title and section.
func (h *Handler) rotationPageData(r *http.Request, rot store.Rotation) templates.PageData {
	return h.page(r, i18n.T(r.Context(), "rotation.title", "App", rot.AppName), templates.SectionDashboard)
}

// rotationSignIn sends the admin to sign in to the rotation's tenant.
func (h *Handler) rotationSignIn(w http.ResponseWriter, r *http.Request) error {
	rot, _, err := h.loadRotation(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	p := auth.NewPending("")
	ctx := r.Context()
	h.sessions.Put(ctx, keyRegState, p.State)
	h.sessions.Put(ctx, keyRegVerifier, p.Verifier)
	h.sessions.Put(ctx, keyRegRun, rot.ID)
	h.sessions.Put(ctx, keyRegKind, "rotation")
	http.Redirect(w, r, h.auth.TenantAuthURL(rot.TenantID, h.registrationCallbackURL(), registration.RotationScopes, p, ""), http.StatusSeeOther)
	return nil
}

// rotationCallback finishes the rotation's sign-in (from runCallback).
func (h *Handler) rotationCallback(w http.ResponseWriter, r *http.Request, p auth.Pending, id string) error {
	ctx := r.Context()
	rot, _, err := h.loadRotation(ctx, id)
	if err != nil {
		return err
	}
	back := "/rotations/" + id
	fail := func(msg string) error { // a stored registration.Message
		if err := h.rotations.SetRotationError(ctx, id, "", msg); err != nil {
			return err
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
		return nil
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return fail(registration.Msg("rotation.error.sign_in_cancelled", "Tenant", rot.TenantName).Stored())
	}
	g, tok, refused, err := h.tenantSignIn(ctx, rot.TenantID, registration.RotationScopes, p, q.Get("code"))
	if err != nil {
		return err
	}
	if !refused.IsZero() {
		return fail(refused.Stored())
	}
	pf, err := registration.RunRotationPreflight(ctx, g, rot.TenantID, rot.AppObjectID, rot.OldKeyID, h.now())
	if err != nil {
		if errors.Is(err, registration.ErrWrongTenant) {
			return fail(registration.Msg("rotation.error.wrong_tenant", "Tenant", rot.TenantName).Stored())
		}
		msg := registration.Msg("rotation.error.preflight_failed", "Reason", registration.ExplainRotation(err))
		return fail(msg.Stored())
	}
	var sealedRefresh []byte
	if tok.RefreshToken != "" {
		sealedRefresh = h.wizard.Sealer.Seal([]byte(tok.RefreshToken), rotationAAD(id))
	}
	if err := h.rotations.SaveRotationToken(ctx, id, h.wizard.Sealer.Seal([]byte(tok.AccessToken), rotationAAD(id)), sealedRefresh, pf.UserName, tok.Expiry); err != nil {
		return err
	}
	if err := h.rotations.SetRotationPreflight(ctx, id, pf); err != nil {
		return err
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
	return nil
}

// rotationGraph opens the rotation's sealed token; ok is false when the admin must sign in again.
func (h *Handler) rotationGraph(ctx context.Context, id string) (registration.Graph, bool, error) {
	sealed, err := h.rotations.RotationToken(ctx, id)
	return h.openSealed(ctx, sealed, err, rotationAAD(id))
}

// rotationApply adds the new secret and shows it once (POST /rotations/{id}/apply).
func (h *Handler) rotationApply(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	rot, pf, err := h.loadRotation(ctx, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	back := "/rotations/" + rot.ID
	months := registration.DefaultRotationMonths
	if v := strings.TrimSpace(r.PostFormValue("months")); v != "" {
		if months, err = strconv.Atoi(v); err != nil || months < 1 || months > 24 {
			d := h.rotationData(ctx, rot, pf)
			d.Error = i18n.T(ctx, "rotation.error.lifetime")
			return h.renderInvalid(w, r, templates.RotationPage(h.rotationPageData(r, rot), d, ""))
		}
	}
	g, ok, err := h.rotationGraph(ctx, rot.ID)
	if err != nil {
		return err
	}
	if !ok {
		if err := h.rotations.SetRotationError(ctx, rot.ID, "", registration.Msg("rotation.error.sign_in_expired", "Tenant", rot.TenantName).Stored()); err != nil {
			return err
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
		return nil
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(3 * time.Minute))
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	sec, err := registration.RotateAdd(actx, h.rotations, g, rot.ID, months, pf, h.now(), h.actor(r))
	if errors.Is(err, store.ErrLeaseHeld) {
		http.Redirect(w, r, back, http.StatusSeeOther) // done already, or under way elsewhere: the page says which
		return nil
	}
	if err != nil {
		h.log.WarnContext(ctx, "rotation add failed", "request_id", RequestID(ctx), "rotation", rot.ID, "err", err)
		http.Redirect(w, r, back, http.StatusSeeOther)
		return nil
	}
	rot, pf, err = h.loadRotation(context.WithoutCancel(ctx), rot.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	pd := h.rotationPageData(r, rot)
	pd.NoHistory = true
	d := h.rotationData(ctx, rot, pf)
	h.addRotationHandoff(ctx, rot, &d)
	if r.PostFormValue("share") == "on" {
		days, _ := strconv.Atoi(r.PostFormValue("share_days"))
		link, exp, err := h.makeShareLink(r, store.ShareLink{RotationID: rot.ID, Label: rot.AppName}, days, sec.Text)
		if err != nil {
			h.log.ErrorContext(ctx, "make share link", "request_id", RequestID(ctx), "rotation", rot.ID, "err", err)
			d.Error = i18n.T(ctx, "rotation.error.share_failed")
		} else {
			d.ShareLink, d.ShareExpires = link, i18n.DateTime(ctx, exp)
		}
	}
	if d.Shares, err = h.shareRows(ctx, rot.ID); err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, templates.RotationPage(pd, d, sec.Text))
	return nil
}

// rotationConfirm removes the old secret once the admin confirms the new
// one is in use (POST /rotations/{id}/confirm).
func (h *Handler) rotationConfirm(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	rot, _, err := h.loadRotation(ctx, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	back := "/rotations/" + rot.ID
	g, ok, err := h.rotationGraph(ctx, rot.ID)
	if err != nil {
		return err
	}
	if !ok {
		if err := h.rotations.SetRotationError(ctx, rot.ID, "", registration.Msg("rotation.error.sign_in_expired_confirm", "Tenant", rot.TenantName).Stored()); err != nil {
			return err
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
		return nil
	}
	err = registration.RotateRemoveOld(context.WithoutCancel(ctx), h.rotations, g, rot.ID, h.actor(r))
	switch {
	case err == nil && rot.InventoryTenant != nil && h.scanQueue != nil:
		// The dashboard drops the old secret as soon as this scan is done,
		// not at the next scheduled one.
		if err := h.scanQueue.EnqueueScan(ctx, *rot.InventoryTenant); err != nil {
			h.log.WarnContext(ctx, "queue scan after rotation", "request_id", RequestID(ctx), "rotation", rot.ID, "err", err)
		}
	case err != nil && !errors.Is(err, store.ErrLeaseHeld):
		h.log.WarnContext(ctx, "rotation remove failed", "request_id", RequestID(ctx), "rotation", rot.ID, "err", err)
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
	return nil
}

// credentialActionsIn fills in what an operator may do with a credential
// of the inventory: rotate it, follow the rotation under way, or read why
// the portal does not rotate it; and track its app for drift. The texts
// are in ctx's language.
func credentialActionsIn(ctx context.Context, row *templates.CredentialRow, c store.Credential, canRotate bool, open map[string]store.Rotation) {
	row.CanRotate = canRotate && c.Kind == "password" && c.OwnerKind == "application"
	switch {
	case !canRotate || row.CanRotate:
	case c.Kind != "password":
		row.NotRotated = i18n.T(ctx, "rotation.action.not_certificate")
	default:
		row.NotRotated = i18n.T(ctx, "rotation.action.not_enterprise_app")
	}
	if rot, ok := open[strings.ToLower(c.KeyID)]; ok {
		row.RotationID = rot.ID
		switch {
		case rot.NewKeyID == "":
			row.RotationState = i18n.T(ctx, "rotation.action.started")
		case rot.RemoveAfter != nil:
			row.RotationState = i18n.T(ctx, "rotation.action.added_scheduled", "Hint", rot.NewHint, "Date", rot.RemoveAfter.UTC().Format(time.DateOnly))
		default:
			row.RotationState = i18n.T(ctx, "rotation.action.added", "Hint", rot.NewHint)
		}
	}
	row.CanTrack = canRotate && c.OwnerKind == "application"
}

// addRotationHandoff shows where the new secret goes when the portal made
// the app from a blueprint.
func (h *Handler) addRotationHandoff(ctx context.Context, rot store.Rotation, d *templates.RotationData) {
	reg, err := h.rotations.RegistrationByClientID(ctx, rot.TenantID, rot.ClientID)
	if err != nil {
		return // made by hand: the page gives the general steps
	}
	l, err := h.findBlueprint(ctx, reg.BlueprintID)
	if err != nil {
		return
	}
	v := catalog.Values{ClientID: rot.ClientID, TenantID: rot.TenantID, ServicePrincipalID: reg.SPObjectID, Params: reg.Params}
	if rot.NewEnd != nil {
		v.SecretExpires = *rot.NewEnd
	}
	d.BlueprintName, d.Handoff = l.bp.Name, handoffViews(l.bp, v)
}

// rotationSchedule sets the date the old secret is removed without a
// confirmation (POST /rotations/{id}/schedule).
// removalLimit is the latest a scheduled removal may fall: the old secret's
// end, and at most 90 days on (the sign-in kept for it lasts no longer).
func removalLimit(now time.Time, oldEnd *time.Time) time.Time {
	limit := now.AddDate(0, 0, 90)
	if oldEnd != nil && oldEnd.Before(limit) {
		limit = *oldEnd
	}
	return limit
}

func (h *Handler) rotationSchedule(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	rot, pf, err := h.loadRotation(ctx, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	day, err := time.Parse(time.DateOnly, strings.TrimSpace(r.PostFormValue("remove_on")))
	now := h.now()
	limit := removalLimit(now, rot.OldEnd)
	var msg string
	switch {
	case err != nil:
		msg = i18n.T(ctx, "rotation.remove_on.bad_date")
	case !day.After(now):
		msg = i18n.T(ctx, "rotation.remove_on.after_today")
	case day.After(limit):
		msg = i18n.T(ctx, "rotation.remove_on.before", "Date", limit.UTC().Format(time.DateOnly))
	}
	if msg != "" {
		d := h.rotationData(ctx, rot, pf)
		d.Errors = templates.FieldErrors{"remove_on": msg}
		h.addRotationHandoff(ctx, rot, &d)
		return h.renderInvalid(w, r, templates.RotationPage(h.rotationPageData(r, rot), d, ""))
	}
	if err := h.rotations.ScheduleRotationRemoval(ctx, rot.ID, day, h.auditEvent(r, "rotation.schedule", rot.AppName,
		map[string]string{"rotation": rot.ID, "remove_on": day.Format(time.DateOnly)})); err != nil {
		return err
	}
	http.Redirect(w, r, "/rotations/"+rot.ID, http.StatusSeeOther)
	return nil
}

// signInReader is what reads the credentials' last sign-ins (*graph.Client).
type signInReader interface {
	CredentialSignIns(ctx context.Context, appID string) (map[string]time.Time, error)
}

// addSignInHint says when the old and the new secret last signed in, where
// Graph reports it: a hint for the confirmation, never a condition.
func (h *Handler) addSignInHint(ctx context.Context, rot store.Rotation, d *templates.RotationData) {
	if rot.State != store.RotOverlap || rot.NewKeyID == "" {
		return
	}
	g, ok, err := h.rotationGraph(ctx, rot.ID)
	if err != nil || !ok {
		return
	}
	sr, ok := g.(signInReader)
	if !ok {
		return
	}
	seen, err := sr.CredentialSignIns(ctx, rot.ClientID)
	if err != nil {
		h.log.InfoContext(ctx, "no credential sign-in report", "rotation", rot.ID, "err", err)
		return
	}
	d.SignInsKnown = true
	if t, ok := seen[strings.ToLower(rot.NewKeyID)]; ok {
		d.NewLastUsed = i18n.DateTime(ctx, t)
	}
	if t, ok := seen[strings.ToLower(rot.OldKeyID)]; ok {
		d.OldLastUsed = i18n.DateTime(ctx, t)
	}
}
