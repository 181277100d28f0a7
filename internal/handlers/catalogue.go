package handlers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/appreg-portal/portal/internal/auth"
	"github.com/appreg-portal/portal/internal/catalog"
	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/web/templates"
)

// blueprintStore keeps custom blueprints.
type blueprintStore interface {
	CreateCustomBlueprint(ctx context.Context, b store.CustomBlueprint, audit store.AuditEvent) error
	ListCustomBlueprints(ctx context.Context) ([]store.CustomBlueprint, error)
	GetCustomBlueprint(ctx context.Context, id string) (store.CustomBlueprint, error)
	DeleteCustomBlueprint(ctx context.Context, id string, audit store.AuditEvent) error
}

// loadedBlueprint is a built-in or custom blueprint, parsed.
type loadedBlueprint struct {
	bp        *catalog.Blueprint
	custom    bool
	createdBy string
	source    []byte
}

// allBlueprints returns the built-ins and the custom ones. A stored custom
// blueprint that no longer validates (the format's rules grew stricter) is
// logged and left out rather than breaking the catalogue.
func (h *Handler) allBlueprints(ctx context.Context) ([]loadedBlueprint, error) {
	var out []loadedBlueprint
	for _, b := range catalog.Builtins() {
		out = append(out, loadedBlueprint{bp: b})
	}
	customs, err := h.blueprints.ListCustomBlueprints(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range customs {
		b, err := catalog.ParseCustom([]byte(c.Source))
		if err != nil {
			h.log.WarnContext(ctx, "stored custom blueprint does not validate", "id", c.ID, "err", err)
			continue
		}
		out = append(out, loadedBlueprint{bp: b, custom: true, createdBy: c.CreatedByName, source: []byte(c.Source)})
	}
	return out, nil
}

func (h *Handler) findBlueprint(ctx context.Context, id string) (loadedBlueprint, error) {
	if b, ok := catalog.Builtin(id); ok {
		src, _ := catalog.BuiltinYAML(id)
		return loadedBlueprint{bp: b, source: src}, nil
	}
	c, err := h.blueprints.GetCustomBlueprint(ctx, id)
	if err != nil {
		return loadedBlueprint{}, err
	}
	b, err := catalog.ParseCustom([]byte(c.Source))
	if err != nil {
		return loadedBlueprint{}, fmt.Errorf("stored custom blueprint %s: %w", id, err)
	}
	return loadedBlueprint{bp: b, custom: true, createdBy: c.CreatedByName, source: []byte(c.Source)}, nil
}

var privilegeRank = map[catalog.PrivilegeLevel]int{catalog.PrivilegeLow: 1, catalog.PrivilegeMedium: 2, catalog.PrivilegeHigh: 3, catalog.PrivilegeCritical: 4}

// blueprintCard is a blueprint's card, with its description in the
// reader's language when the blueprint has one.
func blueprintCard(ctx context.Context, l loadedBlueprint) templates.BlueprintCard {
	b := l.bp
	desc, lang := b.DescriptionIn(i18n.From(ctx).Lang())
	c := templates.BlueprintCard{ID: b.ID, Name: b.Name, Vendor: b.Vendor, Description: desc, DescriptionLang: string(lang),
		Permissions: len(b.Permissions), UsesEWS: b.UsesEWS(), Custom: l.custom, Doubts: len(b.Doubts), Highest: string(catalog.PrivilegeLow)}
	var products []string
	for _, a := range b.AppliesTo {
		if a.Versions != "" {
			products = append(products, a.Product+" ("+a.Versions+")")
		} else {
			products = append(products, a.Product)
		}
	}
	c.Products = strings.Join(products, ", ")
	for _, rp := range b.ResolvedPermissions() {
		if !rp.Optional && privilegeRank[rp.Permission.Privilege] > privilegeRank[catalog.PrivilegeLevel(c.Highest)] {
			c.Highest = string(rp.Permission.Privilege)
		}
	}
	return c
}

// matches reports whether a blueprint matches a search: every word must be in
// its name, vendor, products, description or permission names.
func matches(b *catalog.Blueprint, q string) bool {
	var hay strings.Builder
	hay.WriteString(b.Name + " " + b.Vendor + " " + b.Description + " " + b.Descriptions.EN + " " + b.Descriptions.NL + " " + b.ID)
	for _, a := range b.AppliesTo {
		hay.WriteString(" " + a.Product)
	}
	for _, p := range b.Permissions {
		hay.WriteString(" " + p.Name)
	}
	text := strings.ToLower(hay.String())
	for _, w := range strings.Fields(strings.ToLower(q)) {
		if !strings.Contains(text, w) {
			return false
		}
	}
	return true
}

func (h *Handler) cataloguePage(w http.ResponseWriter, r *http.Request) error {
	all, err := h.allBlueprints(r.Context())
	if err != nil {
		return err
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	d := templates.CatalogueData{Query: q, CanCreate: auth.Rank(userFrom(r.Context()).Role) >= auth.Rank(auth.RoleOperator), ForTenant: tenantParam(r)}
	for _, l := range all {
		if matches(l.bp, q) {
			d.Cards = append(d.Cards, blueprintCard(r.Context(), l))
		}
	}
	h.render(w, r, http.StatusOK, templates.CataloguePage(h.page(r, i18n.T(r.Context(), "catalogue.title"), templates.SectionCatalogue), d))
	return nil
}

// audienceIn says who can sign in, in the reader's language; an audience
// the portal has no words for is shown as Microsoft names it.
func audienceIn(ctx context.Context, audience string) string {
	switch audience {
	case catalog.AudienceMyOrg, catalog.AudienceMultipleOrgs, catalog.AudienceMultipleOrgsAndMS:
		return i18n.T(ctx, "catalogue.audience."+audience)
	}
	return audience
}

// describeAll tells templated values in words (see catalog.Blueprint.Describe).
func describeAll(b *catalog.Blueprint, vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = b.Describe(v, true)
	}
	return out
}

func (h *Handler) blueprintPage(w http.ResponseWriter, r *http.Request) error {
	l, err := h.findBlueprint(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	b := l.bp
	loc := i18n.From(r.Context())
	d := templates.BlueprintDetail{
		Card: blueprintCard(r.Context(), l), Lang: string(b.SourceLang()), SourceTitle: b.Source.Title, SourcePublisher: b.Source.Publisher, SourceDocumentID: b.Source.DocumentID,
		SourceDate: b.Source.Date, SourceURL: b.Source.URL, DisplayName: b.Registration.DisplayName,
		SignInAudience: audienceIn(r.Context(), b.Registration.SignInAudience), WebRedirectURIs: b.Registration.Web.RedirectURIs,
		PublicRedirectURIs: b.Registration.PublicClient.RedirectURIs, ImplicitAccess: b.Registration.Web.ImplicitGrant.AccessTokens,
		ImplicitID: b.Registration.Web.ImplicitGrant.IDTokens, SecretDefault: b.Secret.DefaultLifetimeMonths, SecretMax: b.Secret.MaxLifetimeMonths,
		SecretVendorSays: b.Secret.VendorSays, SecretPortalDoes: b.Secret.PortalDoes, Warnings: b.Warnings, CreatedBy: l.createdBy,
		CanDelete:   l.custom && auth.Rank(userFrom(r.Context()).Role) >= auth.Rank(auth.RoleOperator),
		CanRegister: auth.Rank(userFrom(r.Context()).Role) >= auth.Rank(auth.RoleOperator), ForTenant: tenantParam(r),
	}
	d.DisplayName = b.Describe(d.DisplayName, true)
	d.WebRedirectURIs, d.PublicRedirectURIs = describeAll(b, d.WebRedirectURIs), describeAll(b, d.PublicRedirectURIs)
	for _, a := range b.AppliesTo {
		d.AppliesTo = append(d.AppliesTo, strings.TrimSpace(a.Product+" "+a.Versions))
	}
	for _, p := range b.Parameters {
		d.Parameters = append(d.Parameters, templates.ParameterView{Name: p.Name, Label: p.Label, Help: p.Help, Type: string(p.Type), Example: p.Example, Optional: p.Optional})
	}
	for _, rp := range b.ResolvedPermissions() {
		pm := rp.Permission
		explanation, microsofts := rp.ExplanationIn(loc)
		d.Permissions = append(d.Permissions, templates.PermissionView{
			Resource: pm.Resource.Name, Name: rp.Name, Type: string(rp.Type), TypeText: catalog.TypeIn(loc, rp.Type), GUID: pm.ID, Verified: !pm.NeedsTenantCheck(),
			DisplayName: pm.DisplayName, Description: pm.Description, AdminConsent: catalog.ConsentIn(loc, pm.AdminConsent),
			Privilege: string(pm.Privilege), PrivilegeText: catalog.PrivilegeIn(loc, pm.Privilege), Summary: rp.SummaryIn(loc),
			Explanation: explanation, MicrosoftText: microsofts, Reason: rp.Reason, Optional: rp.Optional, Feature: rp.Feature,
		})
	}
	// Nothing is registered yet: the templates are told in words ("<client ID>",
	// "the server name"); the wizard fills in the real values.
	for _, place := range b.Handoff {
		hv := templates.HandoffView{Title: place.Title, MenuPath: place.MenuPath, Note: b.Describe(place.Note, false)}
		for _, st := range place.Steps {
			hv.Steps = append(hv.Steps, b.Describe(st, false))
		}
		for _, f := range place.Fields {
			hv.Fields = append(hv.Fields, templates.HandoffFieldView{Label: f.Label, Value: b.Describe(f.Value, true), Note: b.Describe(f.Note, false),
				Secret: strings.Contains(f.Value, "{{"+catalog.VarClientSecret+"}}")})
		}
		d.Handoff = append(d.Handoff, hv)
	}
	if n := b.EWSNoticeIn(loc, catalog.Values{}); n != nil {
		d.EWS = &templates.AdviceView{Title: n.Title, Text: n.Text, PowerShell: n.PowerShell}
		d.EWSGraphVariant, d.EWSNote = n.GraphVariant, n.Note
	}
	for _, a := range b.Hardening {
		d.Hardening = append(d.Hardening, templates.AdviceView{Title: a.Title, Text: b.Describe(a.Text, false), PowerShell: b.Describe(a.PowerShell, true)})
	}
	for _, dt := range b.Doubts {
		d.Doubts = append(d.Doubts, templates.DoubtView{About: dt.About, Guide: dt.Guide, Note: dt.Note})
	}
	h.render(w, r, http.StatusOK, templates.BlueprintPage(h.page(r, i18n.T(r.Context(), "catalogue.blueprint_title", "Name", b.Name), templates.SectionCatalogue), d))
	return nil
}

func (h *Handler) blueprintYAML(w http.ResponseWriter, r *http.Request) error {
	l, err := h.findBlueprint(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+l.bp.ID+`.yaml"`)
	_, err = w.Write(l.source)
	return err
}

func (h *Handler) newBlueprintForm(w http.ResponseWriter, r *http.Request) error {
	d := templates.BlueprintFormData{Source: string(catalog.CustomTemplate())}
	if from := r.URL.Query().Get("from"); from != "" {
		l, err := h.findBlueprint(r.Context(), from)
		if err != nil {
			return err
		}
		// A copy needs an ID of its own: suggest one.
		cp := *l.bp
		cp.ID = l.bp.ID + "-custom"
		cp.Name = l.bp.Name + " (custom)"
		src, err := catalog.Marshal(&cp)
		if err != nil {
			return err
		}
		d.Source, d.From = string(src), from
	}
	h.render(w, r, http.StatusOK, templates.BlueprintFormPage(h.page(r, i18n.T(r.Context(), "catalogue.form_title"), templates.SectionCatalogue), d))
	return nil
}

// createBlueprint validates a pasted or uploaded blueprint and stores it.
// Every problem is shown with its line and field; nothing is stored unless
// the whole file is valid.
func (h *Handler) createBlueprint(w http.ResponseWriter, r *http.Request) error {
	page := h.page(r, i18n.T(r.Context(), "catalogue.form_title"), templates.SectionCatalogue)
	formErr := func(d templates.BlueprintFormData, status int) error {
		h.render(w, r, status, templates.BlueprintFormPage(page, d))
		return nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, 2*catalog.MaxFileSize+64<<10)
	if err := r.ParseMultipartForm(2 * catalog.MaxFileSize); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return formErr(templates.BlueprintFormData{Problem: i18n.T(r.Context(), "catalogue.too_large", "KiB", catalog.MaxFileSize>>10)}, http.StatusRequestEntityTooLarge)
		}
		return errBadRequest("catalogue.form_unreadable")
	}
	source := r.FormValue("source")
	if f, fh, err := r.FormFile("file"); err == nil {
		defer f.Close()
		if fh.Size > 0 {
			b, err := io.ReadAll(io.LimitReader(f, catalog.MaxFileSize+1))
			if err != nil {
				return errBadRequest("catalogue.upload_unreadable")
			}
			source = string(b)
		}
	}
	d := templates.BlueprintFormData{Source: source}
	if strings.TrimSpace(source) == "" {
		d.Problem = i18n.T(r.Context(), "catalogue.paste_or_choose")
		return h.renderInvalid(w, r, templates.BlueprintFormPage(page, d))
	}
	b, err := catalog.ParseCustom([]byte(source))
	if err != nil {
		var verrs catalog.ValidationErrors
		if !errors.As(err, &verrs) {
			return err
		}
		for _, e := range verrs {
			d.Errors = append(d.Errors, templates.BlueprintError{Line: e.Line, Field: e.Field, Message: e.MessageIn(i18n.From(r.Context()))})
		}
		return h.renderInvalid(w, r, templates.BlueprintFormPage(page, d))
	}
	err = h.blueprints.CreateCustomBlueprint(r.Context(), store.CustomBlueprint{ID: b.ID, Name: b.Name, Vendor: b.Vendor, Source: source},
		h.auditEvent(r, "blueprint.create", b.Name, map[string]string{"id": b.ID}))
	if errors.Is(err, store.ErrConflict) {
		d.Errors = []templates.BlueprintError{{Line: b.Line("id"), Field: "id", Message: i18n.T(r.Context(), "catalogue.id_exists", "ID", strconv.Quote(b.ID))}}
		return formErr(d, http.StatusConflict)
	}
	if err != nil {
		return err
	}
	h.flash(r, i18n.T(r.Context(), "catalogue.saved", "Name", b.Name))
	http.Redirect(w, r, "/catalogue/"+b.ID, http.StatusSeeOther)
	return nil
}

func (h *Handler) deleteBlueprint(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	if _, ok := catalog.Builtin(id); ok {
		return errForbidden("catalogue.builtin_undeletable")
	}
	err := h.blueprints.DeleteCustomBlueprint(r.Context(), id, h.auditEvent(r, "blueprint.delete", "", map[string]string{"id": id}))
	if err != nil {
		return err
	}
	h.flash(r, i18n.T(r.Context(), "catalogue.deleted", "ID", id))
	http.Redirect(w, r, "/catalogue", http.StatusSeeOther)
	return nil
}

// tenantParam is the ?tenant= a page passes on to the wizard: a tenant ID
// (GUID) or nothing.
func tenantParam(r *http.Request) string {
	t := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("tenant")))
	if _, err := uuid.Parse(t); err != nil {
		return ""
	}
	return t
}
