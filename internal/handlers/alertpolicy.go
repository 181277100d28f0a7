package handlers

import (
	"context"
	"net/http"
	netmail "net/mail"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/auth"
	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/problem"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/internal/trunc"
	"github.com/appreg-portal/portal/web/templates"
)

// policyStore reads and sets alert thresholds and recipients, portal-wide
// (tenant 0) and per tenant.
type policyStore interface {
	AlertPolicy(ctx context.Context, tenantID int64) (store.AlertPolicy, error)
	TenantAlertPolicies(ctx context.Context) (map[int64]store.AlertPolicy, error)
	SetAlertPolicy(ctx context.Context, p store.AlertPolicy, audit store.AuditEvent) error
}

// parseAddresses reads e-mail addresses separated by commas, semicolons,
// spaces or lines, lower-cased and without repeats; msg says what is wrong,
// in the request's language.
func parseAddresses(ctx context.Context, raw string, limit int) (addrs []string, msg string) {
	for _, f := range strings.FieldsFunc(raw, func(c rune) bool { return c == ',' || c == ';' || c == '\n' || c == '\r' || c == ' ' }) {
		a, err := netmail.ParseAddress(f)
		if err != nil || a.Address != f {
			return nil, i18n.T(ctx, "alerts_page.error.not_address", "Value", trunc.String(f, 100))
		}
		if a := strings.ToLower(f); !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) > limit {
		return nil, i18n.T(ctx, "alerts_page.error.too_many_addresses", "Max", limit)
	}
	return addrs, ""
}

// parseThresholds reads days before expiry ("60, 30, 7, 0"), most distant
// first, without repeats; nil for an empty field. msg says what is wrong,
// in the request's language.
func parseThresholds(ctx context.Context, raw string) (days []int, msg string) {
	for _, f := range strings.FieldsFunc(raw, func(c rune) bool { return c == ',' || c == ';' || c == ' ' || c == '\n' || c == '\r' }) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 || n > 366 {
			return nil, i18n.T(ctx, "alerts_page.error.not_days", "Value", trunc.String(f, 20))
		}
		if !slices.Contains(days, n) {
			days = append(days, n)
		}
	}
	if len(days) > 12 {
		return nil, i18n.T(ctx, "alerts_page.error.too_many_thresholds", "Max", 12)
	}
	slices.Sort(days)
	slices.Reverse(days)
	return days, ""
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// alertsData is the Alerts page: the effective portal-wide policy, where it
// comes from, the admins' form and the recent deliveries.
func (h *Handler) alertsData(r *http.Request) (templates.AlertsData, error) {
	ctx := r.Context()
	loc := i18n.From(ctx)
	ds, err := h.deliveries.RecentDeliveries(ctx, 100)
	if err != nil {
		return templates.AlertsData{}, err
	}
	p, err := h.policies.AlertPolicy(ctx, 0)
	if err != nil {
		return templates.AlertsData{}, err
	}
	thresholds, recipients := h.alertSettings.Thresholds, h.alertSettings.Recipients
	d := templates.AlertsData{Enabled: h.alertSettings.Enabled, From: h.alertSettings.From, PolicySource: loc.T("alerts_page.source.env"),
		CanEdit: auth.Rank(userFrom(ctx).Role) >= auth.Rank(auth.RoleAdmin)}
	if p.Thresholds != nil {
		thresholds, d.ThresholdsInput = p.Thresholds, joinInts(p.Thresholds)
	}
	if p.Recipients != nil {
		recipients, d.RecipientsInput = p.Recipients, strings.Join(p.Recipients, "\n")
	}
	if p.Thresholds != nil || p.Recipients != nil {
		d.PolicySource = loc.T("alerts_page.source.portal", "Name", p.UpdatedBy, "Date", loc.DateTime(p.UpdatedAt))
	}
	d.Recipients, d.Thresholds = recipients, thresholdsText(loc, thresholds)
	d.DevOutbox = h.dev != nil && auth.Rank(userFrom(ctx).Role) >= auth.Rank(auth.RoleOperator)
	if d.CanEdit {
		if err := h.channelsData(ctx, &d); err != nil {
			return templates.AlertsData{}, err
		}
	}
	for _, x := range ds {
		th := loc.N("alerts_page.threshold.days_before", x.ThresholdDays)
		if x.ThresholdDays == 0 {
			th = loc.T("alerts_page.threshold.on_expiry")
		}
		d.Deliveries = append(d.Deliveries, templates.DeliveryRow{When: loc.DateTime(x.CreatedAt), Recipient: x.Recipient, Tenant: x.TenantName,
			Owner: x.OwnerName, Threshold: th, Status: x.Status, Error: alertReasonText(loc, x.Failure)})
	}
	return d, nil
}

// setPortalAlertPolicy saves the portal-wide thresholds and recipients
// (POST /admin/alert-policy); an empty field falls back to the environment.
func (h *Handler) setPortalAlertPolicy(w http.ResponseWriter, r *http.Request) error {
	rawT, rawR := r.PostFormValue("thresholds"), r.PostFormValue("recipients")
	thresholds, tmsg := parseThresholds(r.Context(), rawT)
	recipients, rmsg := parseAddresses(r.Context(), rawR, 50)
	if tmsg != "" || rmsg != "" {
		d, err := h.alertsData(r)
		if err != nil {
			return err
		}
		d.ThresholdsInput, d.RecipientsInput, d.Errors = trunc.String(rawT, 200), trunc.String(rawR, 4000), templates.FieldErrors{}
		if tmsg != "" {
			d.Errors["thresholds"] = tmsg
		}
		if rmsg != "" {
			d.Errors["recipients"] = rmsg
		}
		return h.renderInvalid(w, r, templates.AlertsPage(h.alertsPageData(r), d))
	}
	p := store.AlertPolicy{Thresholds: thresholds, Recipients: recipients}
	if u := userFrom(r.Context()); u != nil {
		p.UpdatedBy = u.Name
	}
	if err := h.policies.SetAlertPolicy(r.Context(), p, h.auditEvent(r, "alerts.policy", "", nil)); err != nil {
		return err
	}
	h.flash(r, i18n.T(r.Context(), "alerts_page.flash.policy_saved"))
	http.Redirect(w, r, "/alerts", http.StatusSeeOther)
	return nil
}

// setTenantAlertPolicy saves a tenant's own thresholds and recipients
// (POST /tenants/{id}/alerts/policy); empty fields follow the portal-wide
// policy.
func (h *Handler) setTenantAlertPolicy(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil {
		return errNotFound()
	}
	rawT, rawR := r.PostFormValue("thresholds"), r.PostFormValue("recipients")
	thresholds, tmsg := parseThresholds(r.Context(), rawT)
	recipients, rmsg := parseAddresses(r.Context(), rawR, 20)
	if tmsg != "" || rmsg != "" {
		return h.renderTenantInvalid(w, r, id, func(row *templates.TenantRow) {
			row.Errors = templates.FieldErrors{}
			if tmsg != "" {
				row.Errors["thresholds"] = tmsg
			}
			if rmsg != "" {
				row.Errors["recipients"] = rmsg
			}
			row.ThresholdsInput, row.RecipientsInput = trunc.String(rawT, 200), trunc.String(rawR, 4000)
		})
	}
	p := store.AlertPolicy{TenantID: id, Thresholds: thresholds, Recipients: recipients}
	if u := userFrom(r.Context()); u != nil {
		p.UpdatedBy = u.Name
	}
	if err := h.policies.SetAlertPolicy(r.Context(), p, h.auditEvent(r, "alerts.policy", "", nil)); err != nil {
		return err
	}
	if thresholds == nil && recipients == nil {
		h.flash(r, i18n.T(r.Context(), "tenants.flash.policy_portal"))
	} else {
		h.flash(r, i18n.T(r.Context(), "tenants.flash.policy_own"))
	}
	http.Redirect(w, r, "/tenants", http.StatusSeeOther)
	return nil
}

// tenantPolicyText says a tenant's own policy in words.
func tenantPolicyText(loc *i18n.Localizer, p store.AlertPolicy) string {
	switch {
	case p.Thresholds != nil && p.Recipients != nil:
		return loc.T("tenants.policy.own_both", "Thresholds", thresholdsText(loc, p.Thresholds), "Recipients", strings.Join(p.Recipients, ", "))
	case p.Thresholds != nil:
		return loc.T("tenants.policy.own_thresholds", "Thresholds", thresholdsText(loc, p.Thresholds))
	case p.Recipients != nil:
		return loc.T("tenants.policy.own_recipients", "Recipients", strings.Join(p.Recipients, ", "))
	}
	return ""
}

func (h *Handler) alertsPage(w http.ResponseWriter, r *http.Request) error {
	d, err := h.alertsData(r)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, templates.AlertsPage(h.alertsPageData(r), d))
	return nil
}

// alertsPageData is the Alerts page's title and section.
func (h *Handler) alertsPageData(r *http.Request) templates.PageData {
	return h.page(r, i18n.T(r.Context(), "nav.alerts"), templates.SectionAlerts)
}

// alertReasonText is a delivery's stored failure reason (an alerts.Reason
// code) in words, in loc's language; a code the portal does not know reads
// as the generic one.
func alertReasonText(loc *i18n.Localizer, reason string) string {
	return alerts.Reason(reason).TextIn(loc)
}

// thresholdsText says "60, 30 and 7 days before expiry, and on the day of
// expiry" in loc's language.
func thresholdsText(loc *i18n.Localizer, ts []int) string {
	var days []string
	last := 0
	onExpiry := false
	for _, t := range ts {
		if t == 0 {
			onExpiry = true
			continue
		}
		days, last = append(days, loc.Num(t)), t
	}
	out := ""
	switch len(days) {
	case 0:
	case 1:
		out = loc.N("alerts_page.thresholds.one", last)
	default:
		out = loc.T("alerts_page.thresholds.many", "Days", problem.List(loc, days))
	}
	switch {
	case onExpiry && out != "":
		return loc.T("alerts_page.thresholds.and_on_expiry", "Before", out)
	case onExpiry:
		return loc.T("alerts_page.thresholds.on_expiry")
	case out == "":
		return loc.T("alerts_page.thresholds.none")
	}
	return out
}
