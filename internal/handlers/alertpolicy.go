package handlers

import (
	"context"
	"fmt"
	"net/http"
	netmail "net/mail"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/appreg-portal/portal/internal/auth"
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
// spaces or lines, lower-cased and without repeats; msg says what is wrong.
func parseAddresses(raw string, limit int) (addrs []string, msg string) {
	for _, f := range strings.FieldsFunc(raw, func(c rune) bool { return c == ',' || c == ';' || c == '\n' || c == '\r' || c == ' ' }) {
		a, err := netmail.ParseAddress(f)
		if err != nil || a.Address != f {
			return nil, fmt.Sprintf("%q is not an e-mail address. Enter plain addresses such as it@fabrikam.com, one per line.", trunc.String(f, 100))
		}
		if a := strings.ToLower(f); !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) > limit {
		return nil, fmt.Sprintf("Enter at most %d addresses; use a distribution list for more people.", limit)
	}
	return addrs, ""
}

// parseThresholds reads days before expiry ("60, 30, 7, 0"), most distant
// first, without repeats; nil for an empty field.
func parseThresholds(raw string) (days []int, msg string) {
	for _, f := range strings.FieldsFunc(raw, func(c rune) bool { return c == ',' || c == ';' || c == ' ' || c == '\n' || c == '\r' }) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 || n > 366 {
			return nil, fmt.Sprintf("%q is not a number of days from 0 to 366.", trunc.String(f, 20))
		}
		if !slices.Contains(days, n) {
			days = append(days, n)
		}
	}
	if len(days) > 12 {
		return nil, "Enter at most 12 thresholds."
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
	ds, err := h.deliveries.RecentDeliveries(ctx, 100)
	if err != nil {
		return templates.AlertsData{}, err
	}
	p, err := h.policies.AlertPolicy(ctx, 0)
	if err != nil {
		return templates.AlertsData{}, err
	}
	thresholds, recipients := h.alertSettings.Thresholds, h.alertSettings.Recipients
	d := templates.AlertsData{Enabled: h.alertSettings.Enabled, From: h.alertSettings.From, PolicySource: "Set by the environment (PORTAL_ALERT_THRESHOLDS, PORTAL_ALERT_RECIPIENTS).",
		CanEdit: auth.Rank(userFrom(ctx).Role) >= auth.Rank(auth.RoleAdmin)}
	if p.Thresholds != nil {
		thresholds, d.ThresholdsInput = p.Thresholds, joinInts(p.Thresholds)
	}
	if p.Recipients != nil {
		recipients, d.RecipientsInput = p.Recipients, strings.Join(p.Recipients, "\n")
	}
	if p.Thresholds != nil || p.Recipients != nil {
		d.PolicySource = fmt.Sprintf("Set in the portal by %s on %s; what is not set there comes from the environment.", p.UpdatedBy, fmtTime(p.UpdatedAt))
	}
	d.Recipients, d.Thresholds = recipients, thresholdsText(thresholds)
	d.DevOutbox = h.dev != nil && auth.Rank(userFrom(ctx).Role) >= auth.Rank(auth.RoleOperator)
	if d.CanEdit {
		if err := h.channelsData(ctx, &d); err != nil {
			return templates.AlertsData{}, err
		}
	}
	for _, x := range ds {
		th := strconv.Itoa(x.ThresholdDays) + " days before"
		if x.ThresholdDays == 0 {
			th = "on expiry"
		}
		d.Deliveries = append(d.Deliveries, templates.DeliveryRow{When: fmtTime(x.CreatedAt), Recipient: x.Recipient, Tenant: x.TenantName,
			Owner: x.OwnerName, Threshold: th, Status: x.Status, Error: alertReasonText(x.Failure)})
	}
	return d, nil
}

// setPortalAlertPolicy saves the portal-wide thresholds and recipients
// (POST /admin/alert-policy); an empty field falls back to the environment.
func (h *Handler) setPortalAlertPolicy(w http.ResponseWriter, r *http.Request) error {
	rawT, rawR := r.PostFormValue("thresholds"), r.PostFormValue("recipients")
	thresholds, tmsg := parseThresholds(rawT)
	recipients, rmsg := parseAddresses(rawR, 50)
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
		return h.renderInvalid(w, r, templates.AlertsPage(h.page(r, "Alerts", templates.SectionAlerts), d))
	}
	p := store.AlertPolicy{Thresholds: thresholds, Recipients: recipients}
	if u := userFrom(r.Context()); u != nil {
		p.UpdatedBy = u.Name
	}
	if err := h.policies.SetAlertPolicy(r.Context(), p, h.auditEvent(r, "alerts.policy", "", nil)); err != nil {
		return err
	}
	h.flash(r, "Alert policy saved; the next alert run uses it.")
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
	thresholds, tmsg := parseThresholds(rawT)
	recipients, rmsg := parseAddresses(rawR, 20)
	if tmsg != "" || rmsg != "" {
		d, err := h.tenantsData(r)
		if err != nil {
			return err
		}
		for i := range d.Tenants {
			if d.Tenants[i].ID == strconv.FormatInt(id, 10) {
				d.Tenants[i].Errors = templates.FieldErrors{}
				if tmsg != "" {
					d.Tenants[i].Errors["thresholds"] = tmsg
				}
				if rmsg != "" {
					d.Tenants[i].Errors["recipients"] = rmsg
				}
				d.Tenants[i].ThresholdsInput, d.Tenants[i].RecipientsInput = trunc.String(rawT, 200), trunc.String(rawR, 4000)
			}
		}
		return h.renderInvalid(w, r, templates.TenantsPage(h.page(r, "Tenants", templates.SectionTenants), d))
	}
	p := store.AlertPolicy{TenantID: id, Thresholds: thresholds, Recipients: recipients}
	if u := userFrom(r.Context()); u != nil {
		p.UpdatedBy = u.Name
	}
	if err := h.policies.SetAlertPolicy(r.Context(), p, h.auditEvent(r, "alerts.policy", "", nil)); err != nil {
		return err
	}
	if thresholds == nil && recipients == nil {
		h.flash(r, "The tenant follows the portal-wide thresholds and recipients.")
	} else {
		h.flash(r, "The tenant's own thresholds and recipients are saved.")
	}
	http.Redirect(w, r, "/tenants", http.StatusSeeOther)
	return nil
}

// tenantPolicyText says a tenant's own policy in words.
func tenantPolicyText(p store.AlertPolicy) string {
	var parts []string
	if p.Thresholds != nil {
		parts = append(parts, "own thresholds: "+thresholdsText(p.Thresholds))
	}
	if p.Recipients != nil {
		parts = append(parts, "own recipients: "+strings.Join(p.Recipients, ", "))
	}
	if len(parts) == 0 {
		return ""
	}
	s := strings.Join(parts, "; ")
	return strings.ToUpper(s[:1]) + s[1:] + "."
}
