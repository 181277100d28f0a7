package handlers

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/appreg-portal/portal/web/static"
)

// Routes is the portal's whole HTTP surface.
func (h *Handler) Routes() http.Handler {
	r := chi.NewRouter()
	r.Use(requestID, h.logRequests, h.recoverPanics, h.securityHeaders, h.crossOriginProtection)
	r.NotFound(h.wrap(func(w http.ResponseWriter, r *http.Request) error { return errNotFound() }))
	r.MethodNotAllowed(h.wrap(func(w http.ResponseWriter, r *http.Request) error {
		return &httpError{status: http.StatusMethodNotAllowed, title: "Not allowed here", message: "This address does not accept that kind of request."}
	}))

	// Open to everyone.
	r.Get("/healthz", h.healthz)
	r.Get("/readyz", h.readyz)
	r.Handle(static.Prefix+"*", static.Handler())

	// Pages.
	r.Get("/", h.wrap(h.dashboard))
	return r
}
