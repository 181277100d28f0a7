package handlers

import (
	"context"
	"errors"
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
	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/onboard"
	"github.com/appreg-portal/portal/internal/problem"
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
	SetTenantLanguage(ctx context.Context, id int64, language string, audit store.AuditEvent) error
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
	h.render(w, r, http.StatusOK, templates.TenantsPage(h.tenantsPageData(r), d))
	return nil
}

// tenantsPageData is the Tenants page's title and section.
func (h *Handler) tenantsPageData(r *http.Request) templates.PageData {
	return h.page(r, i18n.T(r.Context(), "nav.tenants"), templates.SectionTenants)
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
	ctx := r.Context()
	loc := i18n.From(ctx)
	d := templates.TenantsData{CanConnect: auth.Rank(userFrom(ctx).Role) >= auth.Rank(auth.RoleOperator)}
	for _, t := range tenants {
		row := templates.TenantRow{ID: strconv.FormatInt(t.ID, 10), Name: t.DisplayName, TenantID: t.EntraTenantID, Domain: t.DefaultDomain,
			Status: t.Status, Added: loc.DateTime(t.CreatedAt), Contacts: t.Contacts, Language: t.Language}
		if t.LastScanError != "" {
			row.ScanError = problem.Text(loc, t.LastScanError)
		}
		if t.LastScanAt != nil {
			row.LastScan = loc.DateTime(*t.LastScanAt)
		}
		if t.ScanProblems != "" {
			for line := range strings.SplitSeq(t.ScanProblems, "\n") {
				row.ScanProblems = append(row.ScanProblems, scanProblemText(loc, line))
			}
		}
		if p, ok := policies[t.ID]; ok {
			row.Policy, row.ThresholdsInput, row.RecipientsInput = tenantPolicyText(loc, p), joinInts(p.Thresholds), strings.Join(p.Recipients, "\n")
		}
		if sl, ok := excluded[t.ID]; ok {
			row.Excluded = tenantExclusionSentence(loc, sl, h.now())
		}
		d.Tenants = append(d.Tenants, row)
	}
	now := h.now()
	for _, o := range pending {
		row := templates.OnboardingRow{ID: strconv.FormatInt(o.ID, 10), Label: o.Label, Expected: o.ExpectedTenant, By: o.CreatedByName,
			Created: loc.DateTime(o.CreatedAt), Expires: loc.DateTime(o.ExpiresAt), State: "waiting",
			NewLinkHref: "/tenants/connect?" + url.Values{"label": {o.Label}, "expected": {o.ExpectedTenant}}.Encode()}
		switch {
		case o.SupersededBy != "" && (o.Outcome != nil || !o.ExpiresAt.After(now)):
			// The customer is connected through another link: nothing to follow up.
			row.State, row.SupersededBy = "superseded", o.SupersededBy
		case o.Outcome != nil && *o.Outcome == "failed" && strings.HasPrefix(o.OutcomeDetail, withdrawnPrefix):
			row.State = "withdrawn"
			row.Reason = loc.T("tenants.reason.withdrawn", "Name", strings.TrimSuffix(strings.TrimPrefix(o.OutcomeDetail, withdrawnPrefix), "."))
		case o.Outcome != nil:
			row.State = *o.Outcome
			row.Reason, row.ReasonIsData = onboardingReason(loc, *o.Outcome, o.OutcomeDetail)
		case !o.ExpiresAt.After(now):
			row.State = "expired"
		}
		d.Pending = append(d.Pending, row)
	}
	return d, nil
}

// moreProblemsRE matches the line the store puts after the first problems
// it keeps (store.joinProblems): "… and 5 more.".
var moreProblemsRE = regexp.MustCompile(`^… and (\d+) more\.$`)

// scanProblemText says a stored scan problem in the reader's language.
func scanProblemText(loc *i18n.Localizer, line string) string {
	if m := moreProblemsRE.FindStringSubmatch(line); m != nil {
		n, _ := strconv.Atoi(m[1]) // digits by the pattern
		return loc.N("tenants.problems_more", n)
	}
	return problem.Text(loc, line)
}

// tenantExclusionSentence says who excluded a tenant from alerts, when and
// why (the Tenants page's own words for a tenant-wide silence).
func tenantExclusionSentence(loc *i18n.Localizer, sl store.AlertSilence, now time.Time) string {
	id := "tenants.excluded"
	if !sl.Active(now) {
		id = "tenants.excluded_ended"
	}
	if sl.CreatedBy != "" {
		id += "_by"
	}
	return loc.T(id, "Name", sl.CreatedBy, "Date", loc.ShortDate(sl.CreatedAt), "Reason", sl.Reason)
}

// withdrawnPrefix starts the detail of a link an operator withdrew.
const withdrawnPrefix = "Withdrawn by "

// onboardingReason says in words why a link ended without connecting a
// tenant, from what the callback recorded; isData when the detail is not
// one the portal has words for, and is shown as recorded.
func onboardingReason(loc *i18n.Localizer, outcome, detail string) (text string, isData bool) {
	switch {
	case outcome == "declined" && strings.HasPrefix(detail, "access_denied"):
		return loc.T("tenants.reason.declined_access_denied"), false
	case outcome == "declined":
		return loc.T("tenants.reason.declined", "Detail", detail), false
	case strings.Contains(detail, "consented before the link was made"):
		return loc.T("tenants.reason.not_fresh"), false
	case strings.Contains(detail, " is not "):
		// "tenant <consenting> is not <expected>", as the callback records it.
		got, want, _ := strings.Cut(strings.TrimPrefix(detail, "tenant "), " is not ")
		return loc.T("tenants.reason.wrong_tenant", "Tenant", got, "Expected", want), false
	case detail == "no app-only access after consent":
		return loc.T("tenants.reason.not_confirmed"), false
	case detail == "callback without consent or tenant":
		return loc.T("tenants.reason.incomplete"), false
	}
	return detail, true
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
		h.flash(r, i18n.T(r.Context(), "tenants.flash.link_closed", "Label", o.Label))
		http.Redirect(w, r, "/tenants", http.StatusSeeOther)
		return nil
	}
	if err != nil {
		return err
	}
	h.flash(r, i18n.T(r.Context(), "tenants.flash.link_withdrawn", "Label", o.Label))
	http.Redirect(w, r, "/tenants", http.StatusSeeOther)
	return nil
}

func (h *Handler) connectTenantForm(w http.ResponseWriter, r *http.Request) error {
	// "Make a new link" on an ended one fills in the same customer.
	q := r.URL.Query()
	d := templates.ConnectTenantData{Permissions: requestedPermissions(i18n.From(r.Context())), Label: trunc.String(q.Get("label"), 200), Expected: trunc.String(q.Get("expected"), 200)}
	h.render(w, r, http.StatusOK, templates.ConnectTenantPage(h.page(r, i18n.T(r.Context(), "tenants.connect"), templates.SectionTenants), d))
	return nil
}

// requestedPermissions are what a consent link grants and Entra's consent
// screen lists: the application permissions the consent check compares
// against (onboard.ScanPermissions) and the delegated sign-in permissions
// configured on the same app (onboard.SignInPermissions). Microsoft's
// names stay as they are; what each allows is said in loc's language.
func requestedPermissions(loc *i18n.Localizer) []templates.PermissionView {
	var out []templates.PermissionView
	for _, p := range onboard.Requested() {
		// What it allows, without a full stop (the page adds one): the
		// catalogue's own explanation (internal/catalog), or, for a permission
		// it has no words for, the translation of Microsoft's description kept
		// here. A permission with neither shows Microsoft's English, and the
		// i18n test fails.
		sentence, microsofts := p.ExplanationIn(loc)
		if id := "onboard.permission.desc." + p.Name; microsofts && i18n.Has(i18n.EN, id) {
			sentence = loc.T(id)
		}
		sentence = strings.TrimSuffix(sentence, ".")
		// Why the portal holds it: the scan, or the portal's own sign-in (onboard.SignInPermissions).
		why := loc.T("onboard.permission.why_scan")
		if p.Type == catalog.Delegated {
			why = loc.T("onboard.permission.why_sign_in")
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
		Errors: templates.FieldErrors{}, Permissions: requestedPermissions(i18n.From(r.Context()))}
	switch {
	case d.Label == "":
		d.Errors["label"] = i18n.T(r.Context(), "tenants.connect.error_label_empty")
	case len(d.Label) > 200:
		d.Errors["label"] = i18n.T(r.Context(), "tenants.connect.error_label_long")
	}
	if d.Expected != "" && !config.IsGUID(d.Expected) && !domainRE.MatchString(d.Expected) {
		d.Errors["expected"] = i18n.T(r.Context(), "tenants.connect.error_expected")
	}
	if len(d.Errors) > 0 {
		return h.renderInvalid(w, r, templates.ConnectTenantPage(h.page(r, i18n.T(r.Context(), "tenants.connect"), templates.SectionTenants), d))
	}
	state := auth.NewPending("").State // 256 random bits, URL-safe
	o, err := h.onboardings.CreateOnboarding(r.Context(), store.Onboarding{StateHash: stateHash(state), Label: d.Label, ExpectedTenant: d.Expected, ExpiresAt: h.now().Add(ConsentLinkLifetime)},
		h.auditEvent(r, "tenant.consent_link", d.Label, map[string]string{"expected_tenant": d.Expected}))
	if err != nil {
		return err
	}
	// The link carries a one-time capability: keep it out of caches and history.
	w.Header().Set("Cache-Control", "no-store")
	page := h.page(r, i18n.T(r.Context(), "tenants.link.crumb"), templates.SectionTenants)
	page.NoHistory = true
	h.render(w, r, http.StatusOK, templates.ConsentLinkPage(page, templates.ConsentLinkData{
		Label: o.Label, Expected: o.ExpectedTenant, Link: h.confirmer.ConsentURL(o.ExpectedTenant, state), Expires: i18n.DateTime(r.Context(), o.ExpiresAt), Permissions: d.Permissions}))
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
	loc := i18n.From(ctx)
	page := h.page(r, loc.T("onboard.result.page_title"), templates.SectionTenants)
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
	// fail shows why nothing was connected; title and msg are in the page's language.
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
		return fail(http.StatusBadRequest, loc.T("onboard.fail.unknown_title"), loc.T("onboard.fail.unknown"))
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
		msg := loc.T("onboard.fail.not_granted")
		if e == "access_denied" {
			msg = loc.T("onboard.fail.declined")
		}
		return fail(http.StatusBadRequest, loc.T("onboard.fail.not_connected_title"), msg)
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
			http.StatusBadRequest, loc.T("onboard.fail.not_connected_title"), loc.T("onboard.fail.incomplete"))
	}
	t, err := h.confirmer.Confirm(ctx, tid)
	if err != nil {
		h.log.WarnContext(ctx, "tenant not confirmed", "request_id", RequestID(ctx), "tenant", tid, "err", err)
		if errors.Is(err, onboard.ErrNotConsented) {
			return refuse("no app-only access after consent", audit("tenant.connect.refused", store.OutcomeFailure, map[string]string{"reason": "not_confirmed", "tenant": tid}),
				http.StatusBadGateway, loc.T("onboard.fail.not_connected_title"), loc.T("onboard.fail.not_confirmed"))
		}
		// Microsoft unreachable or throttling: keep the link open so the same link can be tried again.
		return &httpError{status: http.StatusBadGateway, title: "onboard.fail.unreachable_title", message: "onboard.fail.unreachable", err: err}
	}
	if exp := o.ExpectedTenant; exp != "" && exp != t.ID && !slices.Contains(t.Domains, exp) {
		return refuse("tenant "+t.ID+" is not "+exp, audit("tenant.connect.refused", store.OutcomeDenied,
			map[string]string{"reason": "wrong_tenant", "tenant": t.ID, "expected_tenant": exp}), http.StatusForbidden, loc.T("onboard.fail.wrong_tenant_title"),
			loc.T("onboard.fail.wrong_tenant", "Tenant", t.DisplayName, "Expected", exp))
	}
	// A link that names no tenant is bound to a consent made for it: the
	// portal's permissions in the tenant must have been granted after the
	// link was made. Otherwise anyone holding the link could name any tenant
	// that consented earlier (the operator's own, a tenant disconnected
	// from the portal) in a hand-made callback and connect it.
	if o.ExpectedTenant == "" && (t.Granted.Latest.IsZero() || t.Granted.Latest.Before(o.CreatedAt.Add(-consentClockSkew))) {
		return refuse("tenant "+t.ID+" consented before the link was made", audit("tenant.connect.refused", store.OutcomeDenied,
			map[string]string{"reason": "consent_not_fresh", "tenant": t.ID}), http.StatusForbidden, loc.T("onboard.fail.not_fresh_title"),
			loc.T("onboard.fail.not_fresh", "Tenant", t.DisplayName, "Domain", t.DefaultDomain))
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
	loc := i18n.From(ctx)
	var how string
	switch {
	case o.CompletedAt == nil:
		how = loc.T("onboard.ended.expired", "Date", loc.DateTime(o.ExpiresAt))
	case o.ConnectedTenant != "":
		how = loc.T("onboard.ended.other_tenant") // which one is not this administrator's business
	case o.Outcome != nil && *o.Outcome == "connected":
		how = loc.T("onboard.ended.used")
	case o.Outcome != nil && *o.Outcome == "declined":
		how = loc.T("onboard.ended.declined", "Date", loc.DateTime(*o.CompletedAt))
	case strings.HasPrefix(o.OutcomeDetail, withdrawnPrefix):
		how = loc.T("onboard.ended.withdrawn")
	default:
		how = loc.T("onboard.ended.ended", "Date", loc.DateTime(*o.CompletedAt))
	}
	return fail(http.StatusBadRequest, loc.T("onboard.ended.title"), how)
}

// setContacts replaces who gets a tenant's alerts.
func (h *Handler) setContacts(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil {
		return errNotFound()
	}
	raw := r.PostFormValue("contacts")
	contacts, msg := parseAddresses(r.Context(), raw, 20)
	if msg != "" {
		return h.renderTenantInvalid(w, r, id, func(row *templates.TenantRow) {
			row.Errors = templates.FieldErrors{"contacts": msg}
			row.ContactsInput = trunc.String(raw, 4000)
		})
	}
	if err := h.tenantAdmin.SetTenantContacts(r.Context(), id, contacts, h.auditEvent(r, "tenant.contacts", "", map[string]string{"contacts": strings.Join(contacts, ",")})); err != nil {
		return err
	}
	if len(contacts) == 0 {
		h.flash(r, i18n.T(r.Context(), "tenants.flash.contacts_removed"))
	} else {
		h.flash(r, i18n.N(r.Context(), "tenants.flash.contacts_saved", len(contacts)))
	}
	http.Redirect(w, r, "/tenants", http.StatusSeeOther)
	return nil
}

// renderTenantInvalid shows the Tenants page again (422) with a refused
// form of tenant id re-shown by fix.
func (h *Handler) renderTenantInvalid(w http.ResponseWriter, r *http.Request, id int64, fix func(row *templates.TenantRow)) error {
	d, err := h.tenantsData(r)
	if err != nil {
		return err
	}
	for i := range d.Tenants {
		if d.Tenants[i].ID == strconv.FormatInt(id, 10) {
			fix(&d.Tenants[i])
		}
	}
	return h.renderInvalid(w, r, templates.TenantsPage(h.tenantsPageData(r), d))
}

// setTenantLanguage sets the language of a tenant's alert e-mail (POST
// /tenants/{id}/language): what its contacts and recipients read, whatever
// language the operator reads the portal in.
func (h *Handler) setTenantLanguage(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil {
		return errNotFound()
	}
	raw := r.PostFormValue("language")
	l, ok := i18n.Parse(raw)
	if !ok || raw != string(l) {
		return h.renderTenantInvalid(w, r, id, func(row *templates.TenantRow) {
			row.Errors = templates.FieldErrors{"language": i18n.T(r.Context(), "tenants.language.error")}
		})
	}
	if err := h.tenantAdmin.SetTenantLanguage(r.Context(), id, string(l), h.auditEvent(r, "tenant.language", "", map[string]string{"language": string(l)})); err != nil {
		return err
	}
	h.flash(r, i18n.T(r.Context(), "tenants.flash.language", "Language", i18n.T(r.Context(), "tenants.language."+string(l))))
	http.Redirect(w, r, "/tenants", http.StatusSeeOther)
	return nil
}
