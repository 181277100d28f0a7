package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/google/uuid"

	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/registration"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/web/templates"
)

// adoptStore records an app made by hand as a registration.
type adoptStore interface {
	GetCredential(ctx context.Context, id int64) (store.Credential, error)
	GetTenant(ctx context.Context, id int64) (store.Tenant, error)
	RegistrationByClientID(ctx context.Context, tenantID, clientID string) (store.Registration, error)
	AdoptApplication(ctx context.Context, r store.RegistrationRun, preflight any, audit store.AuditEvent) error
}

// adoptTarget is the app a dashboard credential belongs to.
func (h *Handler) adoptTarget(ctx context.Context, credential string) (store.Credential, store.Tenant, error) {
	id, err := strconv.ParseInt(credential, 10, 64)
	if err != nil {
		return store.Credential{}, store.Tenant{}, errBadRequest("drift.adopt.choose_app")
	}
	c, err := h.adopts.GetCredential(ctx, id)
	if err != nil {
		return c, store.Tenant{}, err
	}
	if c.OwnerKind != "application" {
		return c, store.Tenant{}, errBadRequest("drift.adopt.not_app")
	}
	t, err := h.adopts.GetTenant(ctx, c.TenantID)
	return c, t, err
}

func (h *Handler) adoptData(ctx context.Context, c store.Credential, t store.Tenant, blueprint string, values map[string]string, errs templates.FieldErrors) (templates.AdoptData, error) {
	d := templates.AdoptData{CredentialID: strconv.FormatInt(c.ID, 10), AppName: c.OwnerName, ClientID: c.OwnerAppID, TenantName: t.DisplayName, Errors: errs}
	all, err := h.allBlueprints(ctx)
	if err != nil {
		return d, err
	}
	for _, l := range all {
		d.Blueprints = append(d.Blueprints, templates.Option{Value: l.bp.ID, Label: l.bp.Name})
		if l.bp.ID == blueprint {
			d.Blueprint = blueprint
			for _, p := range l.bp.Parameters {
				d.Params = append(d.Params, templates.WizardParam{Name: p.Name, Label: p.Label, Help: p.Help, Type: string(p.Type),
					Example: p.Example, Optional: p.Optional, Value: values[p.Name], Error: errs.Get(p.Name)})
			}
		}
	}
	return d, nil
}

// adoptForm picks the blueprint an existing app follows (GET /adopt).
func (h *Handler) adoptForm(w http.ResponseWriter, r *http.Request) error {
	c, t, err := h.adoptTarget(r.Context(), r.URL.Query().Get("credential"))
	if err != nil {
		return err
	}
	if reg, err := h.adopts.RegistrationByClientID(r.Context(), t.EntraTenantID, c.OwnerAppID); err == nil && reg.LastRunID != nil {
		http.Redirect(w, r, "/registrations/"+*reg.LastRunID+"/drift", http.StatusSeeOther) // tracked already
		return nil
	}
	d, err := h.adoptData(r.Context(), c, t, r.URL.Query().Get("blueprint"), map[string]string{}, nil)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, templates.AdoptPage(h.page(r, i18n.T(r.Context(), "drift.adopt.page_title", "App", c.OwnerName), templates.SectionRegistrations), d))
	return nil
}

// adopt records the app as a registration of the blueprint, reading (never
// writing) the tenant, then shows its drift (POST /adopt).
func (h *Handler) adopt(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	c, t, err := h.adoptTarget(ctx, r.PostFormValue("credential"))
	if err != nil {
		return err
	}
	l, err := h.findBlueprint(ctx, r.PostFormValue("blueprint"))
	if err != nil {
		return err
	}
	values := map[string]string{}
	for _, p := range l.bp.Parameters {
		values[p.Name] = r.PostFormValue(p.Name)
	}
	plan, errs := registration.NewPlan(l.bp, registration.Choices{DisplayName: c.OwnerName, Params: values})
	if len(errs) > 0 {
		d, err := h.adoptData(ctx, c, t, l.bp.ID, values, fieldErrors(ctx, errs))
		if err != nil {
			return err
		}
		return h.renderInvalid(w, r, templates.AdoptPage(h.page(r, i18n.T(ctx, "drift.adopt.page_title", "App", c.OwnerName), templates.SectionRegistrations), d))
	}
	g, err := h.wizard.AppOnly(ctx, t.EntraTenantID)
	if err != nil {
		return &httpError{status: http.StatusBadGateway, title: "drift.adopt.tenant_unreadable.title",
			message: "drift.adopt.tenant_unreadable.message", args: []any{"Tenant", t.DisplayName, "Why", registration.Why(err).In(i18n.From(ctx))}, err: err}
	}
	app, spID, pf, err := registration.AdoptPreflight(ctx, g, plan, c.OwnerObjectID, h.now())
	if err != nil {
		return &httpError{status: http.StatusBadGateway, title: "drift.adopt.app_unreadable.title",
			message: "drift.adopt.app_unreadable.message", args: []any{"Tenant", t.DisplayName, "Why", registration.Why(err).In(i18n.From(ctx))}, err: err}
	}
	unique := app.UniqueName
	if unique == "" {
		unique = "adopted." + app.ObjectID
	}
	u := userFrom(ctx)
	oid := u.ObjectID
	run := store.RegistrationRun{ID: uuid.NewString(), TenantID: t.EntraTenantID, TenantName: t.DisplayName, BlueprintID: l.bp.ID,
		DisplayName: app.DisplayName, UniqueName: unique, Params: plan.Params, Features: []string{}, SecretMonths: plan.SecretMonths,
		AppObjectID: app.ObjectID, ClientID: app.AppID, SPObjectID: spID, CreatedByOID: &oid, CreatedByName: u.Name}
	err = h.adopts.AdoptApplication(ctx, run, pf, h.auditEvent(r, "registration.adopt", app.DisplayName, map[string]string{"blueprint": l.bp.ID, "client_id": app.AppID}))
	if errors.Is(err, store.ErrConflict) {
		return errBadRequest("drift.adopt.tracked_already")
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/registrations/"+run.ID+"/drift", http.StatusSeeOther)
	return nil
}
