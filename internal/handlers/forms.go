package handlers

import (
	"net/http"

	"github.com/a-h/templ"
)

// renderInvalid shows a form again with its validation messages (its props'
// Errors) and 422 Unprocessable Content: the one answer to invalid input.
func (h *Handler) renderInvalid(w http.ResponseWriter, r *http.Request, c templ.Component) error {
	h.render(w, r, http.StatusUnprocessableEntity, c)
	return nil
}
