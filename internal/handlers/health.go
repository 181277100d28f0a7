package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// healthChecker reports whether the database can serve the portal.
type healthChecker interface {
	Ping(ctx context.Context) error
	SchemaCurrent(ctx context.Context) (bool, error)
}

// healthz says the process is up. It checks nothing else, so an orchestrator
// never restarts the portal because Postgres is down.
func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n")) // nothing to do if the client left
}

// readyz says whether the portal can serve requests: the database answers
// and its schema is current. Details are for operators; they name no secrets.
func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	status, body := http.StatusOK, map[string]string{"status": "ready", "database": "ok", "schema": "current"}
	switch {
	case h.health == nil:
		status, body = http.StatusServiceUnavailable, map[string]string{"status": "not ready", "database": "not configured"}
	case h.health.Ping(ctx) != nil:
		status, body = http.StatusServiceUnavailable, map[string]string{"status": "not ready", "database": "unreachable"}
	default:
		current, err := h.health.SchemaCurrent(ctx)
		if err != nil || !current {
			status, body = http.StatusServiceUnavailable, map[string]string{"status": "not ready", "database": "ok", "schema": "not current (migrations pending)"}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body) // nothing to do if the client left
}
