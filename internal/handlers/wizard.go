package handlers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/appreg-portal/portal/internal/auth"
	"github.com/appreg-portal/portal/internal/catalog"
	"github.com/appreg-portal/portal/internal/graph"
	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/registration"
	"github.com/appreg-portal/portal/internal/safetext"
	"github.com/appreg-portal/portal/internal/seal"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/web/templates"

	"github.com/appreg-portal/portal/internal/trunc"
)

// Wizard configures the registration wizard.
type Wizard struct {
	// Sealer encrypts the admin's delegated token at rest.
	Sealer *seal.Sealer
	// SealKey also derives the admin-consent links' state (an HMAC of the
	// run ID: reproducible on every visit, unguessable without the key).
	SealKey []byte
	// Authority is Entra's login host (admin-consent links).
	Authority string
	// Delegated opens Graph as the signed-in admin of a tenant.
	Delegated func(ctx context.Context, accessToken string) (registration.Graph, error)
	// AppOnly opens Graph as the portal app in a connected tenant (reading
	// grants back after a Global Administrator consented).
	AppOnly func(ctx context.Context, tenantID string) (registration.Graph, error)
	// OwnTenantID is the operator's tenant, always offered.
	OwnTenantID string
}

// WizardConfig is what NewWizard needs.
type WizardConfig struct {
	SealKey                []byte
	Authority, GraphURL    string
	OwnTenantID            string
	ClientID, ClientSecret string
	HTTPClient             *http.Client  // optional (tests trusting the emulator's CA)
	ReplicationBackoff     time.Duration // first wait while Graph replicates (default 1s)
}

// NewWizard wires the wizard: the sealer for delegated tokens and the two
// ways it opens Graph.
func NewWizard(c WizardConfig) (Wizard, error) {
	sealer, err := seal.New(c.SealKey)
	if err != nil {
		return Wizard{}, fmt.Errorf("PORTAL_SEAL_KEY: %w", err)
	}
	appOnly := graph.AppOnly{LoginBase: c.Authority, GraphURL: c.GraphURL, ClientID: c.ClientID, ClientSecret: c.ClientSecret, HTTPClient: c.HTTPClient}
	return Wizard{Sealer: sealer, SealKey: c.SealKey, Authority: c.Authority, OwnTenantID: c.OwnTenantID,
		Delegated: func(ctx context.Context, token string) (registration.Graph, error) {
			return graph.NewClient(ctx, graph.Config{BaseURL: c.GraphURL, HTTPClient: c.HTTPClient, ReplicationBackoff: c.ReplicationBackoff,
				TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token, TokenType: "Bearer"})})
		},
		AppOnly: func(ctx context.Context, tenantID string) (registration.Graph, error) {
			cl, err := graph.NewAppOnlyClient(ctx, appOnly, tenantID)
			if err != nil {
				return nil, graph.TokenError(err)
			}
			return cl, nil
		},
	}, nil
}

// registrationStore keeps wizard runs and what they registered.
type registrationStore interface {
	registration.Store
	CreateRun(ctx context.Context, r store.RegistrationRun, audit store.AuditEvent) (store.RegistrationRun, error)
	GetRun(ctx context.Context, id string) (store.RegistrationRun, error)
	RunByConsentState(ctx context.Context, stateHash []byte) (store.RegistrationRun, error)
	ListRuns(ctx context.Context, tenantID string, limit int) ([]store.RegistrationRun, error)
	SetPreflight(ctx context.Context, id string, preflight any, secretMonths int) error
	SaveRunToken(ctx context.Context, runID string, sealed []byte, userOID, userName string, expires time.Time) error
	RunToken(ctx context.Context, runID string) ([]byte, string, error)
	DeleteRunToken(ctx context.Context, runID string) error
	DeleteExpiredRunTokens(ctx context.Context) (int64, error)
	Steps(ctx context.Context, runID string) ([]store.RegistrationStep, error)
	SetConsentLink(ctx context.Context, runID string, stateHash []byte) error
	ListRegistrations(ctx context.Context, tenantID string) ([]store.Registration, error)
	AppCredentials(ctx context.Context, entraTenantID, clientID string) ([]store.Credential, error)
	TenantByEntraID(ctx context.Context, entraTenantID string) (store.Tenant, error)
	RecordAudit(ctx context.Context, e store.AuditEvent) error
	DiscardRun(ctx context.Context, id string, audit store.AuditEvent) error
}

// Session keys of a pending sign-in to a customer tenant.
const (
	keyRegState    = "reg.state"
	keyRegVerifier = "reg.verifier"
	keyRegRun      = "reg.run"
)

func (h *Handler) registrationCallbackURL() string {
	return h.baseURL.JoinPath("/registrations/callback").String()
}

func (h *Handler) consentReturnURL() string {
	return h.baseURL.JoinPath("/registrations/consented").String()
}

// wizardTenants are the tenants a run may target: the operator's own and
// every connected one.
func (h *Handler) wizardTenants(ctx context.Context) ([]templates.WizardTenant, error) {
	ts, err := h.tenants.ListTenants(ctx)
	if err != nil {
		return nil, err
	}
	var out []templates.WizardTenant
	own := h.wizard.OwnTenantID
	if own != "" {
		out = append(out, templates.WizardTenant{ID: own, Name: i18n.T(ctx, "wizard.own_tenant_named", "TenantID", own), Own: true})
	}
	for _, t := range ts {
		if t.Status == "connected" && !strings.EqualFold(t.EntraTenantID, own) {
			out = append(out, templates.WizardTenant{ID: t.EntraTenantID, Name: t.DisplayName})
		}
	}
	return out, nil
}

func (h *Handler) wizardStartData(l loadedBlueprint, tenants []templates.WizardTenant, tenant string, values map[string]string, features []string, name string, months int, errs map[string]string) templates.WizardStartData {
	b := l.bp
	d := templates.WizardStartData{BlueprintID: b.ID, BlueprintName: b.Name, Vendor: b.Vendor, DisplayName: name, SecretMonths: months,
		SecretMax: b.Secret.MaxLifetimeMonths, Errors: errs, ShareDays: MaxShareDays}
	if d.SecretMax <= 0 || d.SecretMax > catalog.MaxSecretLifetimeMonths {
		d.SecretMax = catalog.MaxSecretLifetimeMonths
	}
	if d.SecretMonths == 0 {
		d.SecretMonths = b.Secret.DefaultLifetimeMonths
	}
	for _, t := range tenants {
		t.Selected = strings.EqualFold(t.ID, tenant)
		d.Tenants = append(d.Tenants, t)
	}
	for _, p := range b.Parameters {
		d.Params = append(d.Params, templates.WizardParam{Name: p.Name, Label: p.Label, Help: p.Help, Type: string(p.Type), Example: p.Example,
			Optional: p.Optional, Value: values[p.Name], Error: errs[p.Name]})
	}
	for _, f := range b.OptionalFeatures() {
		wf := templates.WizardFeature{Name: f.Name}
		for _, rp := range f.Permissions {
			wf.Permissions = append(wf.Permissions, rp.Name)
		}
		for _, on := range features {
			wf.On = wf.On || on == f.Name
		}
		d.Features = append(d.Features, wf)
	}
	return d
}

// wizardStart is step 1 (GET /catalogue/{id}/register).
func (h *Handler) wizardStart(w http.ResponseWriter, r *http.Request) error {
	l, err := h.findBlueprint(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	tenants, err := h.wizardTenants(r.Context())
	if err != nil {
		return err
	}
	tenant, values, features, name, months := r.URL.Query().Get("tenant"), map[string]string{}, []string(nil), "", 0
	// A repair from the drift page starts from what the registration was
	// made with, so re-applying changes only what drifted.
	if id := r.URL.Query().Get("repair"); id != "" {
		lr, err := h.loadRun(r.Context(), id)
		if err != nil {
			return err
		}
		if lr.bp.ID != l.bp.ID {
			return errBadRequest("wizard.repair_other_blueprint")
		}
		if tracked(lr.run.UniqueName, lr.run.BlueprintID) {
			// The wizard writes by the blueprint's uniqueName: for an app made by
			// hand it would make a second app, not mend the first.
			return errBadRequest("wizard.repair_tracked")
		}
		tenant, values, features, name, months = lr.run.TenantID, lr.run.Params, lr.run.Features, lr.run.DisplayName, lr.run.SecretMonths
	}
	d := h.wizardStartData(l, tenants, tenant, values, features, name, months, map[string]string{})
	h.render(w, r, http.StatusOK, templates.WizardStartPage(h.page(r, i18n.T(r.Context(), "wizard.start.page_title", "Blueprint", l.bp.Name), templates.SectionRegistrations), d))
	return nil
}

// createRun checks step 1 and records the run (POST /registrations).
func (h *Handler) createRun(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return errBadRequest("wizard.form_unreadable")
	}
	ctx := r.Context()
	l, err := h.findBlueprint(ctx, r.PostForm.Get("blueprint"))
	if err != nil {
		return err
	}
	b := l.bp
	tenants, err := h.wizardTenants(ctx)
	if err != nil {
		return err
	}
	tenant := strings.ToLower(strings.TrimSpace(r.PostForm.Get("tenant")))
	values := map[string]string{}
	for _, p := range b.Parameters {
		values[p.Name] = r.PostForm.Get(p.Name)
	}
	features := r.PostForm["feature"]
	name := r.PostForm.Get("display_name")
	months, ok := registration.ParseMonths(r.PostForm.Get("secret_months"))
	shareDays := 0
	if r.PostForm.Get("share") == "on" {
		var serr error
		if shareDays, serr = strconv.Atoi(r.PostForm.Get("share_days")); serr != nil || shareDays < 1 || shareDays > MaxShareDays {
			shareDays = -1
		}
	}
	plan, planErrs := registration.NewPlan(b, registration.Choices{DisplayName: name, Params: values, Features: features, SecretMonths: months})
	errs := fieldErrors(ctx, planErrs)
	if !ok {
		errs[registration.FieldSecretMonths] = i18n.T(ctx, "wizard.field.months_number")
	}
	if shareDays < 0 {
		errs["share_days"] = i18n.T(ctx, "wizard.field.share_days", "Max", MaxShareDays)
	}
	var tenantName string
	for _, t := range tenants {
		if strings.EqualFold(t.ID, tenant) {
			tenantName = t.Name
		}
	}
	if tenantName == "" {
		errs["tenant"] = i18n.T(ctx, "wizard.field.tenant")
	}
	if len(errs) > 0 {
		d := h.wizardStartData(l, tenants, tenant, values, features, name, months, errs)
		// The form comes back as it was sent: the chosen days, or the default.
		d.Share = r.PostForm.Get("share") == "on"
		if n, err := strconv.Atoi(r.PostForm.Get("share_days")); err == nil && n >= 1 && n <= MaxShareDays {
			d.ShareDays = n
		}
		d.Problem = i18n.T(ctx, "wizard.start.problem")
		return h.renderInvalid(w, r, templates.WizardStartPage(h.page(r, i18n.T(ctx, "wizard.start.page_title", "Blueprint", b.Name), templates.SectionRegistrations), d))
	}
	u := userFrom(ctx)
	oid := u.ObjectID
	run, err := h.registrations.CreateRun(ctx, store.RegistrationRun{ID: uuid.NewString(), TenantID: tenant, TenantName: tenantName,
		BlueprintID: b.ID, DisplayName: plan.DisplayName, UniqueName: plan.UniqueName, Params: plan.Params, Features: features,
		SecretMonths: plan.SecretMonths, ShareDays: shareDays, CreatedByOID: &oid, CreatedByName: u.Name},
		h.auditEvent(r, "registration.start", plan.DisplayName, map[string]string{"blueprint": b.ID}))
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/registrations/"+run.ID, http.StatusSeeOther)
	return nil
}

// auditEvent is an audit row for the signed-in person's request.
func (h *Handler) auditEvent(r *http.Request, action, target string, details map[string]string) store.AuditEvent {
	e := store.AuditEvent{Action: action, Target: target, Details: details, RequestID: RequestID(r.Context()), RemoteAddr: clientIP(r)}
	if u := userFrom(r.Context()); u != nil {
		oid := u.ObjectID
		e.ActorOID, e.ActorName = &oid, u.Name
	}
	return e
}

func (h *Handler) actor(r *http.Request) registration.Actor {
	a := registration.Actor{RequestID: RequestID(r.Context()), RemoteAddr: clientIP(r)}
	if u := userFrom(r.Context()); u != nil {
		a.OID, a.Name = u.ObjectID, u.Name
	}
	return a
}

// loadedRun is a run with its blueprint, plan and pre-flight.
type loadedRun struct {
	run   store.RegistrationRun
	bp    *catalog.Blueprint
	plan  registration.Plan
	pf    registration.Preflight
	hasPF bool
}

func (h *Handler) loadRun(ctx context.Context, id string) (loadedRun, error) {
	if _, err := uuid.Parse(id); err != nil {
		return loadedRun{}, errNotFound()
	}
	run, err := h.registrations.GetRun(ctx, id)
	if err != nil {
		return loadedRun{}, err
	}
	l, err := h.findBlueprint(ctx, run.BlueprintID)
	if err != nil {
		return loadedRun{}, &httpError{status: http.StatusGone, title: "wizard.blueprint_removed.title",
			message: "wizard.blueprint_removed.message", err: err}
	}
	lr := loadedRun{run: run, bp: l.bp}
	var errs map[string]registration.Message
	lr.plan, errs = registration.NewPlan(l.bp, registration.Choices{DisplayName: run.DisplayName, Params: run.Params, Features: run.Features, SecretMonths: run.SecretMonths})
	if len(errs) > 0 {
		return loadedRun{}, &httpError{status: http.StatusConflict, title: "wizard.blueprint_changed.title",
			message: "wizard.blueprint_changed.message"}
	}
	if run.Preflight != "" {
		if err := json.Unmarshal([]byte(run.Preflight), &lr.pf); err != nil {
			return loadedRun{}, err
		}
		lr.hasPF = true
	}
	return lr, nil
}

// needsConsentLink reports whether some permission needs a Global
// Administrator's consent that the signed-in admin cannot give.
func needsConsentLink(p registration.Plan, pf registration.Preflight) bool {
	for _, rp := range p.Permissions {
		if !pf.CanGrant(rp.Permission) {
			return true
		}
	}
	return false
}

func (h *Handler) consentState(runID string) string {
	// A key of its own, derived from the seal key, so the AES key never doubles as an HMAC key.
	k := sha256.Sum256(append([]byte("appreg-portal admin-consent state\x00"), h.wizard.SealKey...))
	m := hmac.New(sha256.New, k[:])
	m.Write([]byte("admin-consent:" + runID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// stateHash is what Postgres keeps of a one-time token in a link (consent
// links, share links): its SHA-256, never the token.
func stateHash(state string) []byte {
	s := sha256.Sum256([]byte(state))
	return s[:]
}

// consentURL is the v2 admin-consent link for the run's app
// (https://learn.microsoft.com/entra/identity-platform/v2-admin-consent):
// the static permissions of every resource the app asks for.
// consentLinks are the admin-consent links a Global Administrator opens
// for the permissions the signed-in admin could not grant: one per API,
// because Entra's v2 adminconsent endpoint takes the ".default" of a
// single resource per request (AADSTS700022 otherwise).
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent#request-the-permissions-from-a-directory-admin
func (h *Handler) consentLinks(lr loadedRun, steps []store.RegistrationStep) []templates.ConsentLink {
	waiting := map[string]bool{}
	for _, s := range steps {
		if s.Status == store.StepNeedsConsent {
			app, _, _ := strings.Cut(s.Key, "|")
			waiting[strings.ToLower(app)] = true
		}
	}
	var out []templates.ConsentLink
	for _, res := range lr.plan.Resources() {
		app := strings.ToLower(res.AppID)
		if len(waiting) > 0 && !waiting[app] {
			continue // granted when the wizard applied
		}
		scope := app + "/.default"
		switch app {
		case graph.MicrosoftGraphAppID:
			scope = "https://graph.microsoft.com/.default"
		case graph.ExchangeOnlineAppID:
			scope = "https://outlook.office365.com/.default"
		}
		q := url.Values{"client_id": {lr.run.ClientID}, "scope": {scope},
			"redirect_uri": {h.consentReturnURL()}, "state": {h.consentState(lr.run.ID)}}
		out = append(out, templates.ConsentLink{Resource: res.Name,
			URL: strings.TrimRight(h.wizard.Authority, "/") + "/" + lr.run.TenantID + "/v2.0/adminconsent?" + q.Encode()})
	}
	return out
}

func (h *Handler) runData(ctx context.Context, lr loadedRun) (templates.WizardRunData, error) {
	run, p, pf := lr.run, lr.plan, lr.pf
	loc := i18n.From(ctx)
	d := templates.WizardRunData{ID: run.ID, Tracked: tracked(run.UniqueName, run.BlueprintID), State: run.State, Error: registration.Stored(run.Error).In(loc),
		BlueprintID: lr.bp.ID, BlueprintName: lr.bp.Name,
		TenantID: run.TenantID, TenantName: run.TenantName, DisplayName: run.DisplayName, CreatedBy: run.CreatedByName,
		Audience: audienceText(ctx, p.Audience), WebRedirectURIs: p.Redirects.Web, PublicRedirectURI: p.Redirects.PublicClient,
		IDTokens: p.IDTokens, AccessTokens: p.AccessTokens, SecretMonths: p.SecretMonths, Warnings: lr.bp.Warnings,
		ClientID: run.ClientID, SecretHint: run.SecretHint, SecretKeyID: run.SecretKeyID, Scopes: registration.Scopes,
		CanApply: lr.hasPF && (run.State == store.RunReview || run.State == store.RunFailed || run.State == store.RunApplying)}
	if n := lr.bp.EWSNotice(catalog.Values{ClientID: run.ClientID}); n != nil {
		d.EWS = &templates.AdviceView{Title: n.Title, Text: n.Text, PowerShell: n.PowerShell}
		d.EWSGraphVariant = n.GraphVariant
	}
	now := h.now()
	end, clamped := registration.SecretEnd(now, p.SecretMonths, pf.PolicyMax())
	d.SecretName, d.SecretEnds = registration.SecretName(run.ID, run.CreatedAt), loc.Date(end)
	if clamped {
		d.SecretClampNote = wizardClampNote(pf, end).In(loc)
	}
	if run.SecretEnd != nil {
		d.SecretEnds = loc.Date(*run.SecretEnd)
	}
	if lr.hasPF {
		d.SignedInAs = pf.UserName + " (" + pf.UserUPN + ")" // data: a name and an address
		d.Roles = pf.Roles
		if pf.Existing != nil {
			d.Existing = &templates.WizardExisting{AppID: pf.Existing.AppID, DisplayName: pf.Existing.DisplayName, Secrets: pf.Existing.Secrets}
		}
		for _, res := range pf.Resources {
			if res.Create {
				d.CreateResources = append(d.CreateResources, res.Name)
			}
		}
		if needsConsentLink(p, pf) {
			d.PortalRedirectURI = h.consentReturnURL()
		}
	}
	for _, rp := range p.Permissions {
		pm := rp.Permission
		wp := templates.WizardPermission{Resource: pm.Resource.Name, Name: pm.Name, Type: string(pm.Type), DisplayName: pm.DisplayName,
			Summary: rp.SummaryIn(i18n.From(ctx)), Privilege: string(pm.Privilege), Reason: rp.Reason,
			GrantedBy: i18n.T(ctx, "wizard.review.granted_by_you", "Role", consentRoleText(ctx, pm.ConsentRole()))}
		if lr.hasPF && !pf.CanGrant(pm) {
			wp.Consent, wp.GrantedBy = true, i18n.T(ctx, "wizard.review.granted_by_link")
		}
		d.Permissions = append(d.Permissions, wp)
	}
	steps, err := h.registrations.Steps(ctx, run.ID)
	if err != nil {
		return d, err
	}
	d.Steps = stepViews(ctx, steps)
	if run.State == store.RunConsent && run.ClientID != "" {
		d.ConsentLinks = h.consentLinks(lr, steps)
	}
	if run.ConsentCheckedAt != nil {
		d.ConsentedAt = loc.DateTime(*run.ConsentCheckedAt)
	}
	if d.Shares, err = h.shareRows(ctx, run.ID); err != nil {
		return d, err
	}
	v := catalog.Values{ClientID: run.ClientID, TenantID: run.TenantID, ServicePrincipalID: run.SPObjectID, DisplayName: run.DisplayName, Params: run.Params}
	if run.SecretEnd != nil {
		v.SecretExpires = *run.SecretEnd
	}
	d.Handoff = handoffViews(lr.bp, v)
	if run.ClientID != "" && (run.State == store.RunDone || run.State == store.RunConsent) {
		if err := h.addAppCredentials(ctx, &d, now); err != nil {
			return d, err
		}
	}
	for _, dt := range lr.bp.Doubts {
		d.Doubts = append(d.Doubts, templates.DoubtView{About: dt.About, Guide: dt.Guide, Note: dt.Note})
	}
	// Before the app exists its IDs are told in words; the commands come on the finished page.
	for _, a := range lr.bp.Hardening {
		d.ReviewHardening = append(d.ReviewHardening, templates.AdviceView{Title: a.Title, Text: lr.bp.Describe(a.Text, false)})
	}
	for i, a := range lr.bp.HardeningAdvice(v) {
		av := templates.AdviceView{Title: a.Title, Text: a.Text, PowerShell: a.PowerShell}
		if i == 0 && d.EWS != nil {
			d.EWSHardening = &av // the catalogue's notice comes first; the rest are the blueprint's
			continue
		}
		d.Hardening = append(d.Hardening, av)
	}
	return d, nil
}

// tracked reports whether a run records an app made outside the portal
// (adopted from the dashboard): the portal only reads it. Every app the
// wizard writes carries the blueprint's uniqueName.
func tracked(uniqueName, blueprintID string) bool {
	return uniqueName != registration.UniqueName(blueprintID)
}

// addAppCredentials lists the registered app's credentials from the
// inventory, each with its Rotate (the run pages are for operators).
func (h *Handler) addAppCredentials(ctx context.Context, d *templates.WizardRunData, now time.Time) error {
	if h.rotations == nil {
		return nil
	}
	t, err := h.registrations.TenantByEntraID(ctx, d.TenantID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // not connected: nothing scanned
	}
	if err != nil {
		return err
	}
	d.Scanned = t.Status == "connected"
	creds, err := h.registrations.AppCredentials(ctx, d.TenantID, d.ClientID)
	if err != nil {
		return err
	}
	open, err := h.rotations.OpenRotations(ctx)
	if err != nil {
		return err
	}
	found := false
	for _, c := range creds {
		row := localRow(ctx, c, now)
		row.ID, row.KeyID = strconv.FormatInt(c.ID, 10), c.KeyID
		credentialActionsIn(ctx, &row, c, true, open)
		row.CanTrack = false // this is the registration's own page
		d.Credentials = append(d.Credentials, row)
		found = found || (d.SecretKeyID != "" && strings.EqualFold(c.KeyID, d.SecretKeyID))
	}
	d.SecretReplaced = d.Scanned && d.SecretKeyID != "" && !found && len(creds) > 0
	return nil
}

// runPage shows a run wherever it is (GET /registrations/{id}).
func (h *Handler) runPage(w http.ResponseWriter, r *http.Request) error {
	lr, err := h.loadRun(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	d, err := h.runData(r.Context(), lr)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, templates.RunPage(h.page(r, i18n.T(r.Context(), "wizard.run.page_title", "App", lr.run.DisplayName), templates.SectionRegistrations), d))
	return nil
}

// discardRun cancels a run that has written nothing to the tenant yet: one
// started for the wrong tenant, or abandoned on its review. Its delegated
// token goes with it (POST /registrations/{id}/discard).
func (h *Handler) discardRun(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	lr, err := h.loadRun(ctx, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	err = h.registrations.DiscardRun(ctx, lr.run.ID, h.auditEvent(r, "registration.discard", lr.run.DisplayName,
		map[string]string{"run": lr.run.ID, "state": lr.run.State}))
	if errors.Is(err, store.ErrRunMovedOn) {
		return &httpError{status: http.StatusConflict, title: "wizard.discard.refused_title", message: "wizard.discard.refused"}
	}
	if err != nil {
		return err
	}
	h.flash(r, i18n.T(ctx, "wizard.discard.done", "App", lr.run.DisplayName, "Tenant", lr.run.TenantName))
	http.Redirect(w, r, "/registrations", http.StatusSeeOther)
	return nil
}

// runProgress is the steps fragment the apply page polls.
// It is polled every second while an apply runs, so it reads the run and its
// steps only.
func (h *Handler) runProgress(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	if _, err := uuid.Parse(id); err != nil {
		return errNotFound()
	}
	if _, err := h.registrations.GetRun(r.Context(), id); err != nil {
		return err
	}
	steps, err := h.registrations.Steps(r.Context(), id)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, templates.RunProgress(templates.WizardRunData{ID: id, Steps: stepViews(r.Context(), steps)}))
	return nil
}

// stepViews words a run's steps (kept as messages) in the request's language.
func stepViews(ctx context.Context, steps []store.RegistrationStep) []templates.WizardStep {
	loc := i18n.From(ctx)
	out := make([]templates.WizardStep, 0, len(steps))
	for _, s := range steps {
		out = append(out, templates.WizardStep{Label: registration.Stored(s.Label).In(loc), Status: s.Status,
			Error: registration.Stored(s.Error).In(loc), Attempts: s.Attempts})
	}
	return out
}

// fieldErrors words a plan's field messages in the request's language.
func fieldErrors(ctx context.Context, errs map[string]registration.Message) map[string]string {
	loc := i18n.From(ctx)
	out := make(map[string]string, len(errs))
	for k, m := range errs {
		out[k] = m.In(loc)
	}
	return out
}

// audienceText says who can sign in to an app, in the request's language.
func audienceText(ctx context.Context, audience string) string {
	switch audience {
	case catalog.AudienceMyOrg:
		return i18n.T(ctx, "wizard.audience.my_org")
	case catalog.AudienceMultipleOrgs:
		return i18n.T(ctx, "wizard.audience.multiple_orgs")
	case catalog.AudienceMultipleOrgsAndMS:
		return i18n.T(ctx, "wizard.audience.multiple_orgs_and_ms")
	}
	return audience
}

// consentRoleText names the Entra role that grants a permission.
func consentRoleText(ctx context.Context, role catalog.ConsentRole) string {
	switch role {
	case catalog.RolePrivilegedRoleAdmin:
		return i18n.T(ctx, "wizard.role.privileged_role_admin")
	case catalog.RoleCloudAppAdmin:
		return i18n.T(ctx, "wizard.role.cloud_app_admin")
	}
	return string(role)
}

// runSignIn sends the admin to sign in to the run's tenant.
func (h *Handler) runSignIn(w http.ResponseWriter, r *http.Request) error {
	lr, err := h.loadRun(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	if lr.run.State != store.RunSignIn && lr.run.State != store.RunReview && lr.run.State != store.RunFailed && lr.run.State != store.RunApplying {
		http.Redirect(w, r, "/registrations/"+lr.run.ID, http.StatusSeeOther)
		return nil
	}
	p := auth.NewPending("")
	ctx := r.Context()
	h.sessions.Put(ctx, keyRegState, p.State)
	h.sessions.Put(ctx, keyRegVerifier, p.Verifier)
	h.sessions.Put(ctx, keyRegRun, lr.run.ID)
	http.Redirect(w, r, h.auth.TenantAuthURL(lr.run.TenantID, h.registrationCallbackURL(), registration.Scopes, p, ""), http.StatusSeeOther)
	return nil
}

// runCallback receives the admin's sign-in to the tenant, keeps the token
// sealed, and runs the pre-flight (GET /registrations/callback).
func (h *Handler) runCallback(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := auth.Pending{State: h.sessions.PopString(ctx, keyRegState), Verifier: h.sessions.PopString(ctx, keyRegVerifier)}
	runID := h.sessions.PopString(ctx, keyRegRun)
	kind := h.sessions.PopString(ctx, keyRegKind)
	q := r.URL.Query()
	if err := auth.CheckState(p, q.Get("state")); err != nil || runID == "" {
		return errBadRequest("wizard.callback_unknown")
	}
	switch kind {
	case "rotation":
		return h.rotationCallback(w, r, p, runID)
	case "drift":
		return h.driftCallback(w, r, p, runID)
	}
	lr, err := h.loadRun(ctx, runID)
	if err != nil {
		return err
	}
	back := "/registrations/" + runID
	fail := func(msg registration.Message) error {
		if err := h.registrations.SetRunState(ctx, runID, lr.run.State, msg.Stored(), store.AuditEvent{}); err != nil {
			return err
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
		return nil
	}
	if e := q.Get("error"); e != "" {
		msg := registration.Msg("wizard.signin_failed", "Tenant", lr.run.TenantName)
		if e == "access_denied" {
			msg = registration.Msg("wizard.signin_declined")
		}
		return fail(msg)
	}
	g, tok, refused, err := h.tenantSignIn(ctx, lr.run.TenantID, registration.Scopes, p, q.Get("code"))
	if err != nil {
		return err
	}
	if !refused.IsZero() {
		return fail(refused)
	}
	pf, err := registration.RunPreflight(ctx, g, lr.run.TenantID, lr.plan, h.now())
	if err != nil {
		h.log.WarnContext(ctx, "registration pre-flight failed", "request_id", RequestID(ctx), "run", runID, "err", err)
		if errors.Is(err, registration.ErrWrongTenant) {
			return fail(registration.Msg("wizard.wrong_tenant", "Tenant", lr.run.TenantName))
		}
		return fail(registration.Msg("wizard.preflight_failed", "Why", registration.Why(err)))
	}
	sealed := h.wizard.Sealer.Seal([]byte(tok.AccessToken), tokenAAD(runID))
	if err := h.registrations.SaveRunToken(ctx, runID, sealed, pf.UserID, pf.UserName, tok.Expiry); err != nil {
		return err
	}
	if _, err := h.registrations.DeleteExpiredRunTokens(ctx); err != nil {
		h.log.WarnContext(ctx, "delete expired run tokens", "err", err)
	}
	if err := h.registrations.SetPreflight(ctx, runID, pf, lr.plan.SecretMonths); err != nil {
		return err
	}
	if err := h.registrations.RecordAudit(ctx, h.auditEvent(r, "registration.signin", lr.run.DisplayName,
		map[string]string{"run": runID, "tenant_admin": pf.UserUPN, "roles": strings.Join(pf.Roles, ", ")})); err != nil {
		return err
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
	return nil
}

func tokenAAD(runID string) []byte { return []byte("registration-token:" + runID) }

// delegatedGraph opens the run's sealed token, or says the admin must sign in again.
func (h *Handler) delegatedGraph(ctx context.Context, runID string) (registration.Graph, bool, error) {
	sealed, _, err := h.registrations.RunToken(ctx, runID)
	return h.openSealed(ctx, sealed, err, tokenAAD(runID))
}

// openSealed opens Graph with a sealed delegated token as its store returned
// it (err from that read). ok is false when there is none, it expired, or it
// does not open (another key, tampered): the admin signs in again.
func (h *Handler) openSealed(ctx context.Context, sealed []byte, err error, aad []byte) (registration.Graph, bool, error) {
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	tok, err := h.wizard.Sealer.Open(sealed, aad)
	if err != nil {
		h.log.WarnContext(ctx, "sealed token does not open", "aad", string(aad))
		return nil, false, nil
	}
	g, err := h.wizard.Delegated(ctx, string(tok))
	return g, err == nil, err
}

// tenantSignIn redeems the code of a sign-in to a tenant and opens Graph
// with it. refused is set, for the page, when Entra would not take the code.
func (h *Handler) tenantSignIn(ctx context.Context, tenantID string, scopes []string, p auth.Pending, code string) (g registration.Graph, tok auth.TenantToken, refused registration.Message, err error) {
	tok, err = h.auth.ExchangeTenantCode(ctx, tenantID, h.registrationCallbackURL(), scopes, p, code)
	if err != nil {
		var ref *auth.Refusal
		if errors.As(err, &ref) {
			return nil, tok, registration.Msg(ref.MessageID()), nil
		}
		return nil, tok, registration.Message{}, err
	}
	g, err = h.wizard.Delegated(ctx, tok.AccessToken)
	return g, tok, registration.Message{}, err
}

// wizardClampNote says that a policy shortened the wizard's secret, and
// whose policy it was.
func wizardClampNote(pf registration.Preflight, ends time.Time) registration.Message {
	id := "wizard.review.clamped_tenant"
	if pf.AppPolicy {
		id = "wizard.review.clamped_app"
	}
	return registration.Plural(id, pf.PolicyMaxDays, "Date", registration.Date(ends))
}

var applierOwner = func() string {
	host, _ := os.Hostname()
	return host + ":" + randomID()[:8]
}()

// applyRun makes the run's writes and shows the secret, once
// (POST /registrations/{id}/apply).
func (h *Handler) applyRun(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	lr, err := h.loadRun(ctx, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	back := "/registrations/" + lr.run.ID
	if !lr.hasPF || (lr.run.State != store.RunReview && lr.run.State != store.RunFailed && lr.run.State != store.RunApplying) {
		http.Redirect(w, r, back, http.StatusSeeOther) // done, or not reviewed yet: nothing to apply
		return nil
	}
	g, ok, err := h.delegatedGraph(ctx, lr.run.ID)
	if err != nil {
		return err
	}
	if !ok {
		if err := h.registrations.SetRunState(ctx, lr.run.ID, lr.run.State, registration.Msg("wizard.signin_expired", "Tenant", lr.run.TenantName).Stored(), store.AuditEvent{}); err != nil {
			return err
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
		return nil
	}
	var extra []string
	if needsConsentLink(lr.plan, lr.pf) {
		extra = []string{h.consentReturnURL()}
	}
	// Room for Graph's replication retries beyond the server's write timeout.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(6 * time.Minute))
	// The writes go on if the browser goes away: they are recorded and resumable.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	a := &registration.Applier{Store: h.registrations, Owner: applierOwner + ":" + randomID()[:8], Now: h.now}
	res, applyErr := a.Apply(actx, lr.run.ID, g, lr.plan, lr.pf, h.actor(r), extra)
	if applyErr != nil {
		h.log.WarnContext(ctx, "registration apply failed", "request_id", RequestID(ctx), "run", lr.run.ID, "err", applyErr)
	}
	if errors.Is(applyErr, store.ErrLeaseHeld) && res.Secret == nil {
		return &httpError{status: http.StatusConflict, title: "wizard.applying_elsewhere.title",
			message: "wizard.applying_elsewhere.message"}
	}
	if res.NeedsConsent {
		if err := h.registrations.SetConsentLink(context.WithoutCancel(ctx), lr.run.ID, stateHash(h.consentState(lr.run.ID))); err != nil {
			return err
		}
	} else if applyErr == nil {
		if err := h.registrations.DeleteRunToken(context.WithoutCancel(ctx), lr.run.ID); err != nil {
			return err
		}
	}
	if res.Secret == nil {
		http.Redirect(w, r, back, http.StatusSeeOther)
		return nil
	}
	// The one response that carries the secret: no cache, no htmx history.
	lr, err = h.loadRun(context.WithoutCancel(ctx), lr.run.ID)
	if err != nil {
		return err
	}
	d, err := h.runData(ctx, lr)
	if err != nil {
		return err
	}
	if applyErr != nil {
		d.Error = registration.Msg("wizard.done.partly", "Why", registration.Why(applyErr)).In(i18n.From(ctx))
	}
	done := templates.WizardDoneData{Run: d, Secret: res.Secret.Text}
	if lr.run.ShareDays > 0 {
		link, exp, err := h.makeShareLink(r, store.ShareLink{RunID: lr.run.ID, Label: lr.run.DisplayName}, lr.run.ShareDays, res.Secret.Text)
		if err != nil {
			// The secret is still shown: losing the link must not lose the secret.
			h.log.ErrorContext(ctx, "make share link", "request_id", RequestID(ctx), "run", lr.run.ID, "err", err)
			done.ShareError = i18n.T(ctx, "wizard.done.share_failed")
		} else {
			done.ShareLink, done.ShareExpires = link, i18n.DateTime(ctx, exp)
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	pd := h.page(r, i18n.T(r.Context(), "wizard.run.page_title", "App", lr.run.DisplayName), templates.SectionRegistrations)
	pd.NoHistory = true
	h.render(w, r, http.StatusOK, templates.WizardDonePage(pd, done))
	return nil
}

// checkConsent reads the grants back ("check again").
func (h *Handler) checkConsent(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	lr, err := h.loadRun(ctx, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	if err := h.verifyRun(ctx, lr, h.actor(r)); err != nil {
		if serr := h.registrations.SetRunState(ctx, lr.run.ID, lr.run.State, registration.Msg("wizard.verify_failed", "Why", registration.Why(err)).Stored(), store.AuditEvent{}); serr != nil {
			return serr
		}
	}
	http.Redirect(w, r, "/registrations/"+lr.run.ID, http.StatusSeeOther)
	return nil
}

// verifyRun reads the grants with the admin's token if it is still there,
// else app-only.
func (h *Handler) verifyRun(ctx context.Context, lr loadedRun, actor registration.Actor) error {
	if lr.run.SPObjectID == "" {
		return errors.New("registration: nothing applied yet")
	}
	g, ok, err := h.delegatedGraph(ctx, lr.run.ID)
	if err != nil {
		return err
	}
	if !ok {
		if g, err = h.wizard.AppOnly(ctx, lr.run.TenantID); err != nil {
			return err
		}
	}
	state, err := registration.Verify(ctx, h.registrations, g, lr.run, lr.plan, lr.pf, ok, actor)
	if err != nil {
		return err
	}
	if state == "granted" {
		return h.registrations.DeleteRunToken(ctx, lr.run.ID)
	}
	return nil
}

// consentReturn is where a Global Administrator lands after the admin
// consent link; no portal account is needed (GET /registrations/consented).
func (h *Handler) consentReturn(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	st := q.Get("state")
	pd := h.page(r, i18n.T(ctx, "wizard.consent_return.page_title"), "")
	pd.Public = pd.User == nil // a Global Administrator of the customer's tenant
	run, err := h.registrations.RunByConsentState(ctx, stateHash(st))
	if st == "" || errors.Is(err, store.ErrNotFound) {
		h.render(w, r, http.StatusBadRequest, templates.ConsentReturnPage(pd, templates.ConsentReturnData{Message: i18n.T(ctx, "wizard.consent_return.unknown")}))
		return nil
	}
	if err != nil {
		return err
	}
	if e := q.Get("error"); e != "" {
		// Only access_denied is the administrator's "no"; anything else is
		// Entra refusing the request, which is the portal's to explain.
		// https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent#error-response
		reason, outcome := "declined", store.OutcomeDenied
		msg := i18n.T(ctx, "wizard.consent_return.declined", "App", run.DisplayName)
		if e != "access_denied" {
			reason, outcome = "entra_error", store.OutcomeFailure
			desc, _, _ := strings.Cut(q.Get("error_description"), "\n")
			msg = i18n.T(ctx, "wizard.consent_return.entra_error", "App", run.DisplayName, "Error", trunc.Ellipsis(safetext.Line(e+": "+desc), 200))
		}
		// Anyone holding the link can repeat this answer: coalesced, one safe line.
		_ = h.auditRefusal(ctx, h.registrations, store.AuditEvent{Action: "registration.consent_declined", Outcome: outcome, TenantID: &run.TenantID,
			Target: run.DisplayName, RequestID: RequestID(ctx), RemoteAddr: clientIP(r), Details: map[string]string{"run": run.ID, "reason": reason, "entra_error": trunc.String(safetext.Line(e), 64)}})
		h.render(w, r, http.StatusOK, templates.ConsentReturnPage(pd, templates.ConsentReturnData{AppName: run.DisplayName, Message: msg}))
		return nil
	}
	lr, err := h.loadRun(ctx, run.ID)
	if err != nil {
		return err
	}
	d := templates.ConsentReturnData{OK: true, AppName: run.DisplayName,
		Message: i18n.T(ctx, "wizard.consent_return.recorded", "App", run.DisplayName)}
	if err := h.verifyRun(ctx, lr, registration.Actor{Name: "admin consent", RequestID: RequestID(ctx), RemoteAddr: clientIP(r)}); err != nil {
		h.log.WarnContext(ctx, "verify after consent", "request_id", RequestID(ctx), "run", run.ID, "err", err)
		d.Message = i18n.T(ctx, "wizard.consent_return.unverified")
	} else if lr, err = h.loadRun(ctx, run.ID); err == nil && lr.run.State == store.RunConsent {
		// An app that needs more than one API has one link per API: the others are still to open.
		steps, err := h.registrations.Steps(ctx, run.ID)
		if err != nil {
			return err
		}
		d.Message = i18n.T(ctx, "wizard.consent_return.more", "App", run.DisplayName)
		d.More = h.consentLinks(lr, steps)
	}
	h.render(w, r, http.StatusOK, templates.ConsentReturnPage(pd, d))
	return nil
}

// registrationsPage lists what the portal registered (GET /registrations).
func (h *Handler) registrationsPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	tenant := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("tenant")))
	if tenant != "" {
		if _, err := uuid.Parse(tenant); err != nil {
			return errBadRequest("registrations.bad_tenant_filter")
		}
	}
	regs, err := h.registrations.ListRegistrations(ctx, tenant)
	if err != nil {
		return err
	}
	runs, err := h.registrations.ListRuns(ctx, tenant, 20)
	if err != nil {
		return err
	}
	d := templates.RegistrationsData{Tenant: tenant, CanOpen: auth.Rank(userFrom(ctx).Role) >= auth.Rank(auth.RoleOperator)}
	loc := i18n.From(ctx)
	for _, g := range regs {
		name, own := g.TenantName, false
		if name == "" {
			name = g.TenantID
			if strings.EqualFold(g.TenantID, h.wizard.OwnTenantID) {
				name, own = loc.T("registrations.own_tenant"), true
			}
		}
		if tenant != "" {
			d.TenantName = name
		}
		row := templates.RegistrationRow{TenantName: name, TenantWords: own, TenantID: g.TenantID, BlueprintID: g.BlueprintID, DisplayName: g.DisplayName,
			ClientID: g.ClientID, AppliedBy: g.AppliedByName, AppliedAt: loc.DateTime(g.AppliedAt), Consent: g.ConsentState,
			Tracked: tracked(g.UniqueName, g.BlueprintID)}
		if g.ConsentCheckedAt != nil {
			row.ConsentChecked = loc.DateTime(*g.ConsentCheckedAt)
		}
		if g.LastRunID != nil {
			row.RunID = *g.LastRunID
		}
		switch {
		case g.LiveCredentials > 0 && g.NextCredentialEnd != nil:
			row.Inventory = loc.N("registrations.inventory", g.LiveCredentials, "Date", loc.Date(*g.NextCredentialEnd))
		case g.TenantName == "":
			row.Inventory = loc.T("registrations.inventory_not_scanned")
		default:
			row.Inventory = loc.T("registrations.inventory_none")
		}
		d.Registrations = append(d.Registrations, row)
	}
	for _, rn := range runs {
		d.Runs = append(d.Runs, templates.RunRow{ID: rn.ID, TenantName: rn.TenantName, BlueprintID: rn.BlueprintID, DisplayName: rn.DisplayName,
			State: rn.State, CreatedBy: rn.CreatedByName, Created: loc.DateTime(rn.CreatedAt)})
	}
	h.render(w, r, http.StatusOK, templates.RegistrationsPage(h.page(r, loc.T("registrations.title"), templates.SectionRegistrations), d))
	return nil
}

// handoffViews fills the values into a blueprint's hand-off places.
func handoffViews(bp *catalog.Blueprint, v catalog.Values) []templates.HandoffSheetView {
	var out []templates.HandoffSheetView
	for i, s := range bp.HandoffSheet(v) {
		hs := templates.HandoffSheetView{Title: s.Title, MenuPath: s.MenuPath, Note: s.Note, Steps: s.Steps}
		for j, f := range s.Fields {
			hs.Fields = append(hs.Fields, templates.HandoffSheetField{ID: "handoff-" + strconv.Itoa(i) + "-" + strconv.Itoa(j), Label: f.Label, Value: f.Value, Note: f.Note, Secret: f.Secret})
		}
		out = append(out, hs)
	}
	return out
}

// runDrift reads the registered app as it is now and says where it differs
// from its blueprint or is unsafe (GET /registrations/{id}/drift; it only reads).
func (h *Handler) runDrift(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	lr, err := h.loadRun(ctx, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	if lr.run.AppObjectID == "" {
		return errBadRequest("drift.nothing_registered")
	}
	loc := i18n.From(ctx)
	d := templates.DriftData{RunID: lr.run.ID, AppName: lr.run.DisplayName, TenantName: lr.run.TenantName, BlueprintName: lr.bp.Name,
		RepairHref: "/catalogue/" + lr.bp.ID + "/register?tenant=" + url.QueryEscape(lr.run.TenantID) + "&repair=" + lr.run.ID}
	if tracked(lr.run.UniqueName, lr.run.BlueprintID) {
		d.RepairHref = ""
		d.EntraURL = entraAppURL(store.CredentialDetail{Credential: store.Credential{OwnerKind: "application", OwnerAppID: lr.run.ClientID}, EntraTenantID: lr.run.TenantID})
	}
	g, ok, err := h.delegatedGraph(ctx, lr.run.ID)
	if err != nil {
		return err
	}
	if !ok {
		if g, err = h.wizard.AppOnly(ctx, lr.run.TenantID); err != nil {
			d.Error = registration.Msg("drift.cannot_read_tenant", "Tenant", lr.run.TenantName, "Why", registration.Why(err)).In(loc)
		}
	}
	d.DelegatedUnchecked = !ok && registration.NeedsDelegatedCheck(lr.plan)
	if n := h.sessions.PopString(ctx, keyDriftNotice); n != "" {
		d.Notice = registration.Stored(n).In(loc)
	}
	if d.Error == "" {
		var rotating []string // new secrets of rotations under way on this app
		if h.rotations != nil {
			open, err := h.rotations.OpenRotations(ctx)
			if err != nil {
				return err
			}
			for _, rot := range open {
				if strings.EqualFold(rot.TenantID, lr.run.TenantID) && strings.EqualFold(rot.AppObjectID, lr.run.AppObjectID) && rot.NewKeyID != "" {
					rotating = append(rotating, rot.NewKeyID)
				}
			}
		}
		findings, err := registration.CheckDrift(ctx, g, lr.plan, lr.pf, lr.run.AppObjectID, lr.run.SPObjectID, h.now(), ok, []string{h.consentReturnURL()}, rotating)
		if err != nil {
			d.Error = registration.Msg("drift.cannot_read_app", "Why", registration.Why(err)).In(loc)
		}
		for _, f := range findings {
			d.Findings = append(d.Findings, driftView(loc, f))
		}
		for _, f := range registration.Advice(lr.plan) {
			d.Advice = append(d.Advice, driftView(loc, f))
		}
		d.Checked = loc.DateTime(h.now())
	}
	h.render(w, r, http.StatusOK, templates.DriftPage(h.page(r, loc.T("drift.page_title", "App", lr.run.DisplayName), templates.SectionRegistrations), d))
	return nil
}

// driftView words a finding in the reader's language.
func driftView(loc *i18n.Localizer, f registration.Finding) templates.DriftFinding {
	return templates.DriftFinding{Kind: f.Kind, Severity: f.Severity, Title: sentence(loc, f.TitleMsg), Text: sentence(loc, f.TextMsg), Fix: sentence(loc, f.FixMsg)}
}

// sentence is a registration message for a template that marks its names
// as data: string arguments stay data, worded arguments (a reason, a
// permission type, a date) are worded in the reader's language first.
func sentence(loc *i18n.Localizer, m registration.Message) templates.Sentence {
	s := templates.Sentence{ID: m.ID, Count: m.Count, Plural: m.Plural, Text: m.Text}
	for i, a := range m.Args {
		if i%2 == 1 {
			switch v := a.(type) {
			case registration.Message:
				a = templates.Words(v.In(loc))
			case registration.Date:
				a = templates.Words(loc.Date(time.Time(v)))
			}
		}
		s.Args = append(s.Args, a)
	}
	return s
}

// keyDriftNotice carries a failed drift sign-in's reason to the drift page
// (a registration.Message as Stored keeps it).
const keyDriftNotice = "drift.notice"

// driftSignIn sends the admin to sign in to the tenant, read-only, so the
// drift check can read the delegated grants too (POST /registrations/{id}/drift/signin).
func (h *Handler) driftSignIn(w http.ResponseWriter, r *http.Request) error {
	lr, err := h.loadRun(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	if lr.run.State != store.RunDone || lr.run.AppObjectID == "" {
		// An unfinished run's own sign-in carries the scopes its apply needs.
		http.Redirect(w, r, "/registrations/"+lr.run.ID, http.StatusSeeOther)
		return nil
	}
	p := auth.NewPending("")
	ctx := r.Context()
	h.sessions.Put(ctx, keyRegState, p.State)
	h.sessions.Put(ctx, keyRegVerifier, p.Verifier)
	h.sessions.Put(ctx, keyRegRun, lr.run.ID)
	h.sessions.Put(ctx, keyRegKind, "drift")
	http.Redirect(w, r, h.auth.TenantAuthURL(lr.run.TenantID, h.registrationCallbackURL(), registration.DriftScopes, p, ""), http.StatusSeeOther)
	return nil
}

// driftCallback keeps the drift sign-in's token sealed beside the run, for
// the hour it lasts, and shows the drift page (from runCallback).
func (h *Handler) driftCallback(w http.ResponseWriter, r *http.Request, p auth.Pending, runID string) error {
	ctx := r.Context()
	lr, err := h.loadRun(ctx, runID)
	if err != nil {
		return err
	}
	back := "/registrations/" + runID + "/drift"
	fail := func(msg registration.Message) error {
		h.sessions.Put(ctx, keyDriftNotice, msg.Stored())
		http.Redirect(w, r, back, http.StatusSeeOther)
		return nil
	}
	q := r.URL.Query()
	if q.Get("error") != "" {
		return fail(registration.Msg("drift.signin_declined", "Tenant", lr.run.TenantName))
	}
	g, tok, refused, err := h.tenantSignIn(ctx, lr.run.TenantID, registration.DriftScopes, p, q.Get("code"))
	if err != nil {
		return err
	}
	if !refused.IsZero() {
		return fail(refused)
	}
	userID, userName, err := registration.CheckSignIn(ctx, g, lr.run.TenantID)
	if err != nil {
		if errors.Is(err, registration.ErrWrongTenant) {
			return fail(registration.Msg("wizard.wrong_tenant", "Tenant", lr.run.TenantName))
		}
		return fail(registration.Msg("drift.signin_unchecked", "Why", registration.Why(err)))
	}
	if err := h.registrations.SaveRunToken(ctx, runID, h.wizard.Sealer.Seal([]byte(tok.AccessToken), tokenAAD(runID)), userID, userName, tok.Expiry); err != nil {
		return err
	}
	if err := h.registrations.RecordAudit(ctx, h.auditEvent(r, "registration.drift_signin", lr.run.DisplayName, map[string]string{"run": runID, "tenant_admin": userName})); err != nil {
		return err
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
	return nil
}

// RotationRemover removes old secrets on their rotation's date, with the
// admin's sealed refresh token (a River job runs it).
func (wz Wizard) RotationRemover(st registration.RemoverStore, refresh func(ctx context.Context, tenantID string, scopes []string, refresh string) (auth.TenantToken, error)) *registration.Remover {
	return &registration.Remover{Store: st,
		Open: func(sealed []byte, id string) ([]byte, error) { return wz.Sealer.Open(sealed, rotationAAD(id)) },
		Seal: func(plain []byte, id string) []byte { return wz.Sealer.Seal(plain, rotationAAD(id)) },
		Refresh: func(ctx context.Context, tenantID, rt string) (string, string, time.Time, error) {
			t, err := refresh(ctx, tenantID, registration.RotationScopes, rt)
			return t.AccessToken, t.RefreshToken, t.Expiry, err
		},
		Delegated: wz.Delegated,
	}
}
