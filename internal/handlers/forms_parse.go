package handlers

import (
	"errors"
	"mime"
	"net/http"
	"strconv"

	"github.com/appreg-portal/portal/internal/catalog"
	"github.com/appreg-portal/portal/internal/safetext"
	"github.com/appreg-portal/portal/internal/trunc"
)

// Form body limits: a urlencoded form holds at most a pasted blueprint
// (catalog.MaxFileSize, up to three bytes per character once encoded); a
// multipart form a blueprint file and a pasted one.
const (
	maxURLEncodedForm = 3*catalog.MaxFileSize + 64<<10
	maxMultipartForm  = 2*catalog.MaxFileSize + 64<<10
)

// parseForms reads the body of every state-changing request before its
// handler runs, so no handler can mistake a form it could not read for an
// empty one (and, say, clear a tenant's contacts). A body of another type,
// one too large, one that does not parse (%zz), and a value with NUL,
// another control character than a tab or line break, or bytes that are
// not UTF-8, are each refused with 400 and a sentence saying which, before
// anything is changed. (400 rather than 413 or 415: the person at a form
// needs the sentence, and every refusal of a form reads the same way.)
// Postgres would refuse such text anyway (SQLSTATE 22021), only later and
// as a 500.
func (h *Handler) parseForms(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost && r.Method != http.MethodPut && r.Method != http.MethodPatch {
			next.ServeHTTP(w, r)
			return
		}
		if err := readForm(w, r); err != nil {
			h.serveError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func readForm(w http.ResponseWriter, r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mt := ""
	if ct != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(ct); err != nil {
			return &httpError{status: http.StatusBadRequest, title: "error.bad_request.title", message: "request.forms_only", err: err}
		}
	}
	var err error
	switch {
	case mt == "multipart/form-data":
		r.Body = http.MaxBytesReader(w, r.Body, maxMultipartForm)
		err = r.ParseMultipartForm(maxMultipartForm)
	case mt == "application/x-www-form-urlencoded" || (mt == "" && r.ContentLength == 0):
		r.Body = http.MaxBytesReader(w, r.Body, maxURLEncodedForm)
		err = r.ParseForm()
	default:
		return &httpError{status: http.StatusBadRequest, title: "error.bad_request.title", message: "request.forms_only"}
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return &httpError{status: http.StatusBadRequest, title: "request.too_large.title", message: "request.too_large",
			args: []any{"KiB", catalog.MaxFileSize >> 10}, err: err}
	case err != nil:
		return &httpError{status: http.StatusBadRequest, title: "error.bad_request.title", message: "request.form_unreadable", err: err}
	}
	for k, vs := range r.Form {
		if err := formProblem(k, vs); err != nil {
			return err
		}
	}
	if r.MultipartForm != nil {
		for k, vs := range r.MultipartForm.Value {
			if err := formProblem(k, vs); err != nil {
				return err
			}
		}
	}
	return nil
}

// formProblem says what is wrong with a form field, or nil.
func formProblem(name string, values []string) error {
	if safetext.Problem(name) != "" {
		return errBadRequest("request.field_name")
	}
	for _, v := range values {
		if p := safetext.Problem(v); p != "" {
			return errBadRequest(problemID(p), "Field", strconv.Quote(trunc.Ellipsis(name, 40)))
		}
	}
	return nil
}

// problemID is the message for one of safetext.Problem's findings.
func problemID(p string) string {
	switch p {
	case "contains a NUL character":
		return "request.field_nul"
	case "contains a control character":
		return "request.field_control"
	}
	return "request.field_not_utf8"
}
