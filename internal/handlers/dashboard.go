package handlers

import (
	"context"
	"net/http"

	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/web/templates"
)

type tenantLister interface {
	ListTenants(ctx context.Context) ([]store.Tenant, error)
}

func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request) error {
	tenants, err := h.tenants.ListTenants(r.Context())
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, templates.DashboardPage(h.page(r, "Dashboard", templates.SectionDashboard), templates.DashboardData{Tenants: len(tenants)}))
	return nil
}

func (h *Handler) alertsPage(w http.ResponseWriter, r *http.Request) error {
	h.render(w, r, http.StatusOK, templates.AlertsPage(h.page(r, "Alerts", templates.SectionAlerts)))
	return nil
}
