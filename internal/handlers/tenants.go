package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/appreg-portal/portal/internal/auth"
	"github.com/appreg-portal/portal/internal/catalog"
	"github.com/appreg-portal/portal/internal/config"
	"github.com/appreg-portal/portal/internal/onboard"
	"github.com/appreg-portal/portal/internal/safetext"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/internal/trunc"
	"github.com/appreg-portal/portal/web/templates"
)

// ConsentLinkLifetime is how long an admin consent link stays valid.
const ConsentLinkLifetime = 7 * 24 * time.Hour

// onboardingStore keeps consent links and connects tenants.
type onboardingStore interface {
	CreateOnboarding(ctx context.Context, o store.Onboarding, audit store.AuditEvent) (store.Onboarding, error)
	OnboardingByState(ctx context.Context, stateHash []byte) (store.OnboardingLookup, error)
	ListOnboardings(ctx context.Context) ([]store.ListedOnboarding, error)
	GetOnboarding(ctx context.Context, id int64) (store.Onboarding, error)
	CompleteOnboarding(ctx context.Context, id int64, t store.Tenant, audit store.AuditEvent) (store.Tenant, error)
	FailOnboarding(ctx context.Context, id int64, outcome, detail string, audit store.AuditEvent) error
	RecordAudit(ctx context.Context, e store.AuditEvent) error
	SetScanProblems(ctx context.Context, tenantID int64, problems []string) error
}

// consentClockSkew allows for the clocks of Postgres and Entra ID when
// comparing when a link was made with when its consent was granted.
const consentClockSkew = 2 * time.Minute

// tenantAdmin changes a tenant's settings.
type tenantAdmin interface {
	SetTenantContacts(ctx context.Context, id int64, contacts []string, audit store.AuditEvent) error
}

// tenantConfirmer makes consent links and confirms, app-only, which tenant
// consented (internal/onboard).
type tenantConfirmer interface {
	ConsentURL(tenantHint, state string) string
	Confirm(ctx context.Context, tenantID string) (onboard.Tenant, error)
}

func (h *Handler) tenantsPage(w http.ResponseWriter, r *http.Request) error {
	d, err := h.tenantsData(r)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, templates.TenantsPage(h.page(r, "Tenants", templates.SectionTenants), d))
	return nil
}

func (h *Handler) tenantsData(r *http.Request) (templates.TenantsData, error) {
	tenants, err := h.tenants.ListTenants(r.Context())
	if err != nil {
		return templates.TenantsData{}, err
	}
	pending, err := h.onboardings.ListOnboardings(r.Context())
	if err != nil {
		return templates.TenantsData{}, err
	}
	excluded, err := h.silences.TenantExclusions(r.Context())
	if err != nil {
		return templates.TenantsData{}, err
	}
	policies, err := h.policies.TenantAlertPolicies(r.Context())
	if err != nil {
		return templates.TenantsData{}, err
	}
	d := templates.TenantsData{CanConnect: auth.Rank(userFrom(r.Context()).Role) >= auth.Rank(auth.RoleOperator)}
	for _, t := range tenants {
		row := templates.TenantRow{ID: strconv.FormatInt(t.ID, 10), Name: t.DisplayName, TenantID: t.EntraTenantID, Domain: t.DefaultDomain,
			Status: t.Status, Added: fmtTime(t.CreatedAt), ScanError: t.LastScanError, Contacts: t.Contacts}
		if t.LastScanAt != nil {
			row.LastScan = fmtTime(*t.LastScanAt)
		}
		if t.ScanProblems != "" {
			row.ScanProblems = strings.Split(t.ScanProblems, "\n")
		}
		if p, ok := policies[t.ID]; ok {
			row.Policy, row.ThresholdsInput, row.RecipientsInput = tenantPolicyText(p), joinInts(p.Thresholds), strings.Join(p.Recipients, "\n")
		}
		if sl, ok := excluded[t.ID]; ok {
			row.Excluded = silenceSentence(sl, h.now())
		}
		d.Tenants = append(d.Tenants, row)
	}
	now := h.now()
	for _, o := range pending {
		row := templates.OnboardingRow{ID: strconv.FormatInt(o.ID, 10), Label: o.Label, Expected: o.ExpectedTenant, By: o.CreatedByName,
			Created: fmtTime(o.CreatedAt), Expires: fmtTime(o.ExpiresAt), State: "waiting",
			NewLinkHref: "/tenants/connect?" + url.Values{"label": {o.Label}, "expected": {o.ExpectedTenant}}.Encode()}
		switch {
		case o.SupersededBy != "" && (o.Outcome != nil || !o.ExpiresAt.After(now)):
			// The customer is connected through another link: nothing to follow up.
			row.State, row.SupersededBy = "superseded", o.SupersededBy
		case o.Outcome != nil && *o.Outcome == "failed" && strings.HasPrefix(o.OutcomeDetail, withdrawnPrefix):
			row.State, row.Reason = "withdrawn", o.OutcomeDetail
		case o.Outcome != nil:
			row.State, row.Reason = *o.Outcome, onboardingReason(*o.Outcome, o.OutcomeDetail)
		case !o.ExpiresAt.After(now):
			row.State = "expired"
		}
		d.Pending = append(d.Pending, row)
	}
	return d, nil
}

// withdrawnPrefix starts the detail of a link an operator withdrew.
const withdrawnPrefix = "Withdrawn by "

// onboardingReason says in words why a link ended without connecting a
// tenant, from what the callback recorded.
func onboardingReason(outcome, detail string) string {
	switch {
	case outcome == "declined" && strings.HasPrefix(detail, "access_denied"):
		return "The administrator declined the consent, or signed in with an account that may not grant it (a Global Administrator or Privileged Role Administrator must)."
	case outcome == "declined":
		return "Entra ID did not grant the consent (" + detail + ")."
	case strings.Contains(detail, "consented before the link was made"):
		return "The tenant had consented before this link was made; a link that names the tenant connects it."
	case strings.Contains(detail, " is not "):
		return "The consent came from another tenant than the link was made for (" + detail + ")."
	case detail == "no app-only access after consent":
		return "The portal could not read the tenant after the consent; the consent may not have been granted."
	case detail == "callback without consent or tenant":
		return "The answer from Entra ID was incomplete."
	}
	return detail
}

// withdrawLink closes a consent link nobody has used yet, so it can no
// longer connect a tenant (POST /tenants/links/{id}/withdraw).
func (h *Handler) withdrawLink(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil {
		return errNotFound()
	}
	o, err := h.onboardings.GetOnboarding(r.Context(), id)
	if err != nil {
		return err
	}
	who := "someone"
	if u := userFrom(r.Context()); u != nil {
		who = u.Name
	}
	err = h.onboardings.FailOnboarding(r.Context(), o.ID, "failed", withdrawnPrefix+who+".", h.auditEvent(r, "tenant.consent_link.withdraw", o.Label, nil))
	if errors.Is(err, store.ErrConflict) {
		h.flash(r, "The link for "+o.Label+" had already been used or closed.")
		http.Redirect(w, r, "/tenants", http.StatusSeeOther)
		return nil
	}
	if err != nil {
		return err
	}
	h.flash(r, "The consent link for "+o.Label+" is withdrawn: it can no longer connect a tenant.")
	http.Redirect(w, r, "/tenants", http.StatusSeeOther)
	return nil
}

func (h *Handler) connectTenantForm(w http.ResponseWriter, r *http.Request) error {
	// "Make a new link" on an ended one fills in the same customer.
	q := r.URL.Query()
	d := templates.ConnectTenantData{Permissions: requestedPermissions(), Label: trunc.String(q.Get("label"), 200), Expected: trunc.String(q.Get("expected"), 200)}
	h.render(w, r, http.StatusOK, templates.ConnectTenantPage(h.page(r, "Connect a tenant", templates.SectionTenants), d))
	return nil
}

// requestedPermissions are what a consent link grants and Entra's consent
// screen lists: the application permissions the consent check compares
// against (onboard.ScanPermissions) and the delegated sign-in permissions
// configured on the same app (onboard.SignInPermissions).
func requestedPermissions() []templates.PermissionView {
	var out []templates.PermissionView
	for _, p := range onboard.Requested() {
		// The summary's sentence without its "Name (type): " prefix, which the page shows apart.
		// (The page ends it with a full stop; some of Microsoft's have one.)
		sentence := strings.TrimSuffix(strings.TrimPrefix(p.Summary, p.Name+" ("+string(p.Type)+"): "), ".")
		// Why the portal holds it: the scan, or the portal's own sign-in (onboard.SignInPermissions).
		why := "The portal's scan uses it, acting as itself with nobody signed in."
		if p.Type == catalog.Delegated {
			why = "The portal's sign-in uses it, only for a person who signs in to the portal."
		}
		out = append(out, templates.PermissionView{Resource: p.Resource.Name, Name: p.Name, Type: string(p.Type), GUID: p.ID,
			DisplayName: p.DisplayName, Description: sentence, Privilege: string(p.Privilege), Summary: p.Summary, Reason: why})
	}
	return out
}

var domainRE = regexp.MustCompile(`^(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$`)

// startConnect records the consent link's intent (a hash of its state)
// before showing the link once.
func (h *Handler) startConnect(w http.ResponseWriter, r *http.Request) error {
	d := templates.ConnectTenantData{Label: strings.TrimSpace(r.PostFormValue("label")), Expected: strings.ToLower(strings.TrimSpace(r.PostFormValue("expected"))),
		Errors: templates.FieldErrors{}, Permissions: requestedPermissions()}
	switch {
	case d.Label == "":
		d.Errors["label"] = "Name the customer, so you recognise the tenant while you wait for consent."
	case len(d.Label) > 200:
		d.Errors["label"] = "Keep the name under 200 characters."
	}
	if d.Expected != "" && !config.IsGUID(d.Expected) && !domainRE.MatchString(d.Expected) {
		d.Errors["expected"] = "Enter a domain such as fabrikam.onmicrosoft.com, a tenant ID (a GUID), or leave it empty."
	}
	if len(d.Errors) > 0 {
		return h.renderInvalid(w, r, templates.ConnectTenantPage(h.page(r, "Connect a tenant", templates.SectionTenants), d))
	}
	state := auth.NewPending("").State // 256 random bits, URL-safe
	o, err := h.onboardings.CreateOnboarding(r.Context(), store.Onboarding{StateHash: stateHash(state), Label: d.Label, ExpectedTenant: d.Expected, ExpiresAt: h.now().Add(ConsentLinkLifetime)},
		h.auditEvent(r, "tenant.consent_link", d.Label, map[string]string{"expected_tenant": d.Expected}))
	if err != nil {
		return err
	}
	// The link carries a one-time capability: keep it out of caches and history.
	w.Header().Set("Cache-Control", "no-store")
	page := h.page(r, "Consent link", templates.SectionTenants)
	page.NoHistory = true
	h.render(w, r, http.StatusOK, templates.ConsentLinkPage(page, templates.ConsentLinkData{
		Label: o.Label, Expected: o.ExpectedTenant, Link: h.confirmer.ConsentURL(o.ExpectedTenant, state), Expires: fmtTime(o.ExpiresAt), Permissions: d.Permissions}))
	return nil
}

// onboardingCallback is where Entra sends the consenting administrator back.
// It is public: that administrator is a customer with no portal account.
// Nothing in the query is believed on its own: the state must match an open
// link, and the tenant is confirmed with an app-only Graph call.
func (h *Handler) onboardingCallback(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	w.Header().Set("Cache-Control", "no-store")
	page := h.page(r, "Connecting your tenant", templates.SectionTenants)
	operator := page.User != nil && auth.Rank(userFrom(ctx).Role) >= auth.Rank(auth.RoleOperator)
	page.Public = !operator
	// Entra sends admin_consent=True without an error once the
	// administrator accepted: the grant may then exist in their tenant
	// whatever the portal does next, so no refusal may tell them that
	// nothing changed there. (Its v2 error answers carry admin_consent=True
	// too, with error set: those granted nothing.)
	// https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent#successful-response
	// https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent#error-response
	consented := strings.EqualFold(q.Get("admin_consent"), "true") && q.Get("error") == ""
	fail := func(status int, title, msg string) error {
		h.render(w, r, status, templates.OnboardingResultPage(page, templates.OnboardingResultData{Operator: operator, Title: title, Message: msg, ConsentMayBeRecorded: consented}))
		return nil
	}
	audit := func(action, outcome string, details map[string]string) store.AuditEvent {
		e := anonymous(h.auditEvent(r, action, "", details))
		e.Outcome = outcome
		return e
	}
	var (
		o   store.OnboardingLookup
		err = store.ErrNotFound // no state, no link
	)
	if state := q.Get("state"); state != "" {
		o, err = h.onboardings.OnboardingByState(ctx, stateHash(state))
	}
	if errors.Is(err, store.ErrNotFound) {
		// Anyone can call this address: refusals of unknown links are
		// audited coalesced, so a flood cannot bury the trail.
		if aerr := h.auditRefusal(ctx, h.onboardings, audit("tenant.connect.refused", store.OutcomeDenied, map[string]string{"reason": "link_unknown"})); aerr != nil {
			return aerr
		}
		// Links this portal made are found whatever their state: this one
		// was cut short, altered, or made elsewhere.
		return fail(http.StatusBadRequest, "This consent link cannot be used",
			"The portal does not know this link: it may be incomplete, altered, or made by another portal. Ask the person who sent it for a new link.")
	}
	if err != nil {
		return err
	}
	// ended answers for a link that is closed, or that a concurrent
	// callback closed meanwhile (then read again to say how it ended).
	ended := func(reread bool) error {
		if reread {
			if o, err = h.onboardings.OnboardingByState(ctx, o.StateHash); err != nil {
				return err
			}
		}
		return h.endedLinkCallback(w, r, page, operator, o, audit, fail)
	}
	if !o.Open(h.now()) {
		return ended(false)
	}
	if e := q.Get("error"); e != "" {
		// Entra's words, but anyone can edit a URL: one line of safe text.
		detail := trunc.String(safetext.Line(e+": "+q.Get("error_description")), 300)
		err := h.onboardings.FailOnboarding(ctx, o.ID, "declined", detail, audit("tenant.connect.refused", store.OutcomeDenied,
			map[string]string{"reason": "consent_declined", "entra_error": trunc.String(safetext.Line(e), 64)}))
		if errors.Is(err, store.ErrConflict) {
			return ended(true) // a second callback for the same link lost the race: the first one closed it
		}
		if err != nil {
			return err
		}
		msg := "Entra ID did not grant the consent, so nothing was connected."
		if e == "access_denied" {
			msg = "The consent was declined, or the account that signed in may not grant it (a Global Administrator or Privileged Role Administrator must). Nothing was connected."
		}
		return fail(http.StatusBadRequest, "The tenant was not connected", msg+" Ask the person who sent the link for a new one.")
	}
	// refuse closes the link as failed, audited, and shows why; a link that
	// a concurrent callback closed meanwhile just cannot be used any more.
	refuse := func(detail string, ev store.AuditEvent, status int, title, msg string) error {
		err := h.onboardings.FailOnboarding(ctx, o.ID, "failed", detail, ev)
		if errors.Is(err, store.ErrConflict) {
			return ended(true)
		}
		if err != nil {
			return err
		}
		return fail(status, title, msg)
	}
	tid := strings.ToLower(q.Get("tenant"))
	if !config.IsGUID(tid) || !strings.EqualFold(q.Get("admin_consent"), "true") {
		return refuse("callback without consent or tenant", audit("tenant.connect.refused", store.OutcomeDenied, map[string]string{"reason": "callback_malformed"}),
			http.StatusBadRequest, "The tenant was not connected", "The answer from Entra ID was incomplete. Ask the person who sent the link for a new one.")
	}
	t, err := h.confirmer.Confirm(ctx, tid)
	if err != nil {
		h.log.WarnContext(ctx, "tenant not confirmed", "request_id", RequestID(ctx), "tenant", tid, "err", err)
		if errors.Is(err, onboard.ErrNotConsented) {
			return refuse("no app-only access after consent", audit("tenant.connect.refused", store.OutcomeFailure, map[string]string{"reason": "not_confirmed", "tenant": tid}),
				http.StatusBadGateway, "The tenant was not connected", "The portal could not read the tenant after the consent: the consent may not have been granted. Ask the person who sent the link for a new one.")
		}
		// Microsoft unreachable or throttling: keep the link open so the same link can be tried again.
		return &httpError{status: http.StatusBadGateway, title: "Microsoft could not be reached", message: "The consent was given, but the portal could not confirm it with Microsoft Graph just now. Open the link again in a few minutes.", err: err}
	}
	if exp := o.ExpectedTenant; exp != "" && exp != t.ID && !slices.Contains(t.Domains, exp) {
		return refuse("tenant "+t.ID+" is not "+exp, audit("tenant.connect.refused", store.OutcomeDenied,
			map[string]string{"reason": "wrong_tenant", "tenant": t.ID, "expected_tenant": exp}), http.StatusForbidden, "This link is for another tenant",
			"The consent came from "+t.DisplayName+", but the link was made for "+exp+". Nothing was connected; sign in with an administrator of "+exp+" and ask for a new link.")
	}
	// A link that names no tenant is bound to a consent made for it: the
	// portal's permissions in the tenant must have been granted after the
	// link was made. Otherwise anyone holding the link could name any tenant
	// that consented earlier (the operator's own, a tenant disconnected
	// from the portal) in a hand-made callback and connect it.
	if o.ExpectedTenant == "" && (t.Granted.Latest.IsZero() || t.Granted.Latest.Before(o.CreatedAt.Add(-consentClockSkew))) {
		return refuse("tenant "+t.ID+" consented before the link was made", audit("tenant.connect.refused", store.OutcomeDenied,
			map[string]string{"reason": "consent_not_fresh", "tenant": t.ID}), http.StatusForbidden, "This link needs a consent of its own",
			t.DisplayName+" consented before this link was made, so the link cannot tell that it was used there. Nothing was connected. Make a new link that names the tenant ("+t.DefaultDomain+" or its tenant ID) to connect it.")
	}
	// Entra's admin-consent answer does not say who consented (only that a
	// Global or Privileged Role Administrator of the tenant did), and the scan
	// permissions cannot read the tenant's own audit log: the trail names the
	// tenant's administrator and the operator whose link it was.
	// https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent#successful-response
	connected := audit("tenant.connect", store.OutcomeSuccess, map[string]string{"label": o.Label, "consent_link_by": o.CreatedByName})
	connected.ActorName = trunc.String("Administrator of "+t.DisplayName, 200)
	tn, err := h.onboardings.CompleteOnboarding(ctx, o.ID, store.Tenant{EntraTenantID: t.ID, DisplayName: t.DisplayName, DefaultDomain: t.DefaultDomain}, connected)
	if errors.Is(err, store.ErrConflict) {
		return ended(true) // a concurrent callback closed the link first: answer as a reload would
	}
	if err != nil {
		return err
	}
	// The consent link asks for ".default", which grants whatever the portal
	// app is configured with: say on the Tenants page if that was more than
	// the page promised (or less than the scan needs).
	if err := h.onboardings.SetScanProblems(ctx, tn.ID, t.Granted.Problems()); err != nil {
		return err
	}
	if len(t.Granted.Extra) > 0 {
		h.log.WarnContext(ctx, "the portal holds more permissions than it asks for", "request_id", RequestID(ctx), "tenant", tn.EntraTenantID, "extra", strings.Join(t.Granted.Extra, ", "))
	}
	h.log.InfoContext(ctx, "tenant connected", "request_id", RequestID(ctx), "tenant", tn.EntraTenantID)
	// The first scan runs as a background job so the administrator need not
	// wait. Should queuing fail, the periodic scan of all tenants catches up.
	if h.scanQueue != nil {
		if err := h.scanQueue.EnqueueScan(ctx, tn.ID); err != nil {
			h.log.ErrorContext(ctx, "queue first scan", "request_id", RequestID(ctx), "tenant", tn.EntraTenantID, "err", err)
		}
	}
	h.render(w, r, http.StatusOK, templates.OnboardingResultPage(page, templates.OnboardingResultData{Operator: operator, Connected: true, Tenant: tn.DisplayName, Domain: tn.DefaultDomain, Extra: t.Granted.Extra}))
	return nil
}

// endedLinkCallback answers a callback for a link that is closed or
// expired: a reload of the result page, the link opened again after a
// refusal, or a second administrator. It changes nothing in the portal; the
// refusal is audited (coalesced, as anyone holding the link can repeat it).
func (h *Handler) endedLinkCallback(w http.ResponseWriter, r *http.Request, page templates.PageData, operator bool, o store.OnboardingLookup,
	audit func(action, outcome string, details map[string]string) store.AuditEvent, fail func(status int, title, msg string) error) error {
	ctx := r.Context()
	reason := "link_used"
	if o.CompletedAt == nil {
		reason = "link_expired"
	}
	if err := h.auditRefusal(ctx, h.onboardings, audit("tenant.connect.refused", store.OutcomeDenied,
		map[string]string{"reason": reason, "onboarding_id": strconv.FormatInt(o.ID, 10)})); err != nil {
		return err
	}
	tid := strings.ToLower(r.URL.Query().Get("tenant"))
	if o.ConnectedTenant != "" && (tid == "" || tid == o.ConnectedTenantID) {
		h.render(w, r, http.StatusOK, templates.OnboardingResultPage(page, templates.OnboardingResultData{Operator: operator, AlreadyConnected: true, Tenant: o.ConnectedTenant}))
		return nil
	}
	var how string
	switch {
	case o.CompletedAt == nil:
		how = "This link expired on " + fmtTime(o.ExpiresAt)
	case o.ConnectedTenant != "":
		how = "This link already connected another tenant" // which one is not this administrator's business
	case o.Outcome != nil && *o.Outcome == "connected":
		how = "This link was used already"
	case o.Outcome != nil && *o.Outcome == "declined":
		how = "This link was declined on " + fmtTime(*o.CompletedAt)
	case strings.HasPrefix(o.OutcomeDetail, withdrawnPrefix):
		how = "This link was withdrawn by the person who sent it"
	default:
		how = "This link ended on " + fmtTime(*o.CompletedAt) + " without connecting a tenant"
	}
	return fail(http.StatusBadRequest, "This consent link has ended", how+", so the portal connected nothing with it. Ask the person who sent it for a new link.")
}

// setContacts replaces who gets a tenant's alerts.
func (h *Handler) setContacts(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil {
		return errNotFound()
	}
	raw := r.PostFormValue("contacts")
	invalid := func(msg string) error {
		d, err := h.tenantsData(r)
		if err != nil {
			return err
		}
		for i := range d.Tenants {
			if d.Tenants[i].ID == strconv.FormatInt(id, 10) {
				d.Tenants[i].Errors = templates.FieldErrors{"contacts": msg}
				d.Tenants[i].ContactsInput = trunc.String(raw, 4000)
			}
		}
		return h.renderInvalid(w, r, templates.TenantsPage(h.page(r, "Tenants", templates.SectionTenants), d))
	}
	contacts, msg := parseAddresses(raw, 20)
	if msg != "" {
		return invalid(msg)
	}
	if err := h.tenantAdmin.SetTenantContacts(r.Context(), id, contacts, h.auditEvent(r, "tenant.contacts", "", map[string]string{"contacts": strings.Join(contacts, ",")})); err != nil {
		return err
	}
	if len(contacts) == 0 {
		h.flash(r, "Alert contacts removed: this tenant's alerts go to the portal-wide recipients only.")
	} else {
		h.flash(r, fmt.Sprintf("Alert contacts saved: %d %s.", len(contacts), plural(len(contacts), "address", "addresses")))
	}
	http.Redirect(w, r, "/tenants", http.StatusSeeOther)
	return nil
}
