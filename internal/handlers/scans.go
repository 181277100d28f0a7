package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/store"
)

// tenantScanner scans one tenant's credentials (internal/inventory).
type tenantScanner interface {
	Scan(ctx context.Context, t store.Tenant) (store.ScanResult, error)
}

type scanStore interface {
	GetTenant(ctx context.Context, id int64) (store.Tenant, error)
	RecordAudit(ctx context.Context, e store.AuditEvent) error
}

// scanTimeout bounds one scan started from the page, within the server's
// 60 s write timeout; a tenant with thousands of apps takes seconds. A scan
// that takes longer goes on as a background job.
const scanTimeout = 45 * time.Second

// scanTenant scans a tenant now and shows its credentials on the dashboard.
// Scans only read, so repeating one is harmless.
func (h *Handler) scanTenant(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil {
		return errNotFound()
	}
	t, err := h.scans.GetTenant(r.Context(), id)
	if err != nil {
		return err
	}
	if t.Status != "connected" {
		return errBadRequest("tenants.scan.not_connected")
	}
	ctx, cancel := context.WithTimeout(r.Context(), scanTimeout)
	defer cancel()
	res, scanErr := h.scanner.Scan(ctx, t)
	// A scan already under way (a background job, another replica) holds the tenant: wait for it, then scan.
	for errors.Is(scanErr, store.ErrScanRunning) {
		select {
		case <-ctx.Done():
			scanErr = ctx.Err()
		case <-time.After(250 * time.Millisecond):
			res, scanErr = h.scanner.Scan(ctx, t)
		}
	}
	tid := t.EntraTenantID
	ev := h.auditEvent(r, "tenant.scan", t.DisplayName,
		map[string]string{"found": strconv.Itoa(res.Found), "new": strconv.Itoa(res.New), "removed": strconv.Itoa(res.Removed)})
	ev.TenantID = &tid
	if scanErr != nil {
		ev.Outcome, ev.Details = store.OutcomeFailure, nil
	}
	if err := h.scans.RecordAudit(r.Context(), ev); err != nil {
		return err
	}
	if errors.Is(scanErr, context.DeadlineExceeded) && h.scanQueue != nil {
		if err := h.scanQueue.EnqueueScan(r.Context(), t.ID); err != nil {
			return err
		}
		return &httpError{status: http.StatusAccepted, title: "tenants.scan.background_title",
			message: "tenants.scan.background", args: []any{"Tenant", t.DisplayName}, err: scanErr}
	}
	if scanErr != nil {
		return &httpError{status: http.StatusBadGateway, title: "tenants.scan.failed_title",
			message: "tenants.scan.failed", args: []any{"Tenant", t.DisplayName}, err: scanErr}
	}
	h.flash(r, i18n.N(r.Context(), "tenants.flash.scanned", res.Found, "Tenant", t.DisplayName, "New", res.New, "Removed", res.Removed))
	target := fmt.Sprintf("/?tenant=%d", t.ID)
	if isFragmentRequest(r) {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

// scanQueue queues background scans (internal/jobs on River).
type scanQueue interface {
	EnqueueScan(ctx context.Context, tenantID int64) error
}
