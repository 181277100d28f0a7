package handlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/appreg-portal/portal/internal/auth"
	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/safetext"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/internal/trunc"
	"github.com/appreg-portal/portal/web/templates"
)

// authenticator runs the Entra ID sign-in (internal/auth.Client).
type authenticator interface {
	AuthCodeURL(ctx context.Context, p auth.Pending, loginHint, domainHint string) (string, error)
	Exchange(ctx context.Context, p auth.Pending, code string) (auth.Identity, error)
	EndSessionURL(postLogout string) string
	// The registration wizard's incremental sign-in to a customer tenant.
	TenantAuthURL(tenantID, redirectURL string, scopes []string, p auth.Pending, loginHint string) string
	ExchangeTenantCode(ctx context.Context, tenantID, redirectURL string, scopes []string, p auth.Pending, code string) (auth.TenantToken, error)
}

// sessionStore keeps signed-in sessions and their audit trail.
type sessionStore interface {
	RecordSignIn(ctx context.Context, in store.SignIn) (store.User, error)
	TouchSession(ctx context.Context, id string) (store.ActiveSession, error)
	EndSession(ctx context.Context, id string, audit store.AuditEvent) error
	SessionEndedByAdmin(ctx context.Context, id string) (bool, error)
	RecordAudit(ctx context.Context, e store.AuditEvent) error
}

// Keys in the server-side session. Nothing secret is kept there. The
// pending sign-in's keys are used only without a sealer (pending.go).
const (
	keyState    = "auth.state"
	keyNonce    = "auth.nonce"
	keyVerifier = "auth.verifier"
	keyReturnTo = "auth.return_to"
	keySession  = "sid"
)

// currentUser is the signed-in person for this request.
type currentUser struct {
	ID        int64
	ObjectID  string
	TenantID  string
	Name      string
	Email     string
	Role      string
	Language  string // "" until they choose one
	SessionID string
}

func userFrom(ctx context.Context) *currentUser {
	u, _ := ctx.Value(userKey{}).(*currentUser)
	return u
}

// login starts the sign-in: fresh state, nonce and PKCE verifier bound to
// this browser's session, then off to Entra.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	returnTo := auth.SafeReturnTo(q.Get("return_to"))
	if userFrom(r.Context()) != nil {
		http.Redirect(w, r, returnTo, http.StatusSeeOther)
		return nil
	}
	p := auth.NewPending(returnTo)
	target, err := h.auth.AuthCodeURL(r.Context(), p, hint(q.Get("login_hint")), hint(q.Get("domain_hint")))
	if err != nil {
		return &httpError{status: http.StatusServiceUnavailable, title: "auth.entra_unreachable.title", message: "auth.entra_unreachable.message", err: err}
	}
	if err := h.putPending(w, r, p); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusFound)
	return nil
}

// hint passes on a login or domain hint only when it could be one: an
// address or domain fits in 256 characters (RFC 5321 allows 254), and
// anything longer or with control characters would only make the redirect
// to Entra a vehicle for whatever a link's author put in it.
func hint(s string) string {
	if len(s) > 256 || safetext.Problem(s) != "" || strings.ContainsAny(s, "\r\n\t") {
		return ""
	}
	return s
}

// callback receives Entra's answer. Every refusal is shown plainly and
// written to the audit trail with its reason.
func (h *Handler) callback(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	// Single-use: the pending sign-in is gone whatever happens next.
	p := h.popPending(w, r)
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		id, msg := "auth.refused.entra_error", "Entra ID did not sign you in."
		if e == "access_denied" {
			id, msg = "auth.refused.entra_denied", "The sign-in was cancelled or consent was declined."
		}
		return h.refuseSignIn(w, r, &auth.Refusal{Reason: "entra_error", ID: id, Message: msg + " Start the sign-in again from the portal; if it keeps failing, give your administrator the time of this attempt.",
			Err: errors.New(safetext.Line(e + ": " + trunc.String(q.Get("error_description"), 300)))}, map[string]string{"entra_error": trunc.String(safetext.Line(e), 64)})
	}
	if err := auth.CheckState(p, q.Get("state")); err != nil {
		return h.refuseSignIn(w, r, err, nil)
	}
	code := q.Get("code")
	if code == "" {
		return h.refuseSignIn(w, r, &auth.Refusal{Reason: "code_missing", Message: "The answer from Entra ID carried no sign-in code. Please start the sign-in again."}, nil)
	}
	id, err := h.auth.Exchange(ctx, p, code)
	if err != nil {
		return h.refuseSignIn(w, r, err, nil)
	}

	// A new token for the signed-in session: a token planted before sign-in
	// (session fixation) must not become a signed-in one.
	if err := h.sessions.RenewToken(ctx); err != nil {
		return err
	}
	sid := randomID()
	role := auth.RoleFor(id, h.bootstrapAdmins)
	ev := anonymous(h.auditEvent(r, "signin", id.Email, map[string]string{"role": role, "user_agent": trunc.String(r.UserAgent(), 300)}))
	ev.TenantID = &id.TenantID
	u, err := h.sessionStore.RecordSignIn(ctx, store.SignIn{
		User:      store.User{EntraTenantID: id.TenantID, ObjectID: id.ObjectID, DisplayName: id.Name, Email: id.Email, Role: role},
		SessionID: sid,
		ExpiresAt: h.now().Add(h.sessionLifetime),
		Audit:     ev,
	})
	if err != nil {
		return err
	}
	h.sessions.Put(ctx, keySession, sid)
	h.log.InfoContext(ctx, "signed in", "request_id", RequestID(ctx), "user_id", u.ID, "tenant", id.TenantID, "role", role)
	http.Redirect(w, r, auth.SafeReturnTo(p.ReturnTo), http.StatusSeeOther)
	return nil
}

// refuseSignIn audits a refused sign-in and shows why, without details that
// would help an attacker (those go to the log).
func (h *Handler) refuseSignIn(w http.ResponseWriter, r *http.Request, err error, details map[string]string) error {
	var ref *auth.Refusal
	if !errors.As(err, &ref) {
		return err // infrastructure trouble, not a refusal: the generic error page
	}
	if details == nil {
		details = map[string]string{}
	}
	details["reason"] = ref.Reason
	ev := anonymous(h.auditEvent(r, "signin.refused", "", details))
	ev.Outcome = store.OutcomeDenied
	if aerr := h.auditRefusal(r.Context(), h.sessionStore, ev); aerr != nil {
		return aerr
	}
	h.log.WarnContext(r.Context(), "sign-in refused", "request_id", RequestID(r.Context()), "reason", ref.Reason, "err", ref.Err)
	status := http.StatusBadRequest
	if ref.Reason == "tenant_not_allowed" {
		status = http.StatusForbidden
	}
	ctx := r.Context()
	data := templates.ErrorData{Status: status, Title: i18n.T(ctx, "auth.refused.title"), Message: i18n.T(ctx, ref.MessageID()), RequestID: RequestID(ctx),
		ActionHref: "/login", ActionLabel: i18n.T(ctx, "error.sign_in_again")}
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, status, templates.SignInRefusedPage(h.page(r, data.Title, ""), data, ref.Reason))
	return nil
}

// logout ends the portal session and then Entra's.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if u := userFrom(ctx); u != nil {
		ev := h.auditEvent(r, "signout", u.Name, nil)
		ev.TenantID = &u.TenantID
		err := h.sessionStore.EndSession(ctx, u.SessionID, ev)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	if err := h.sessions.Destroy(ctx); err != nil {
		return err
	}
	target := h.auth.EndSessionURL(h.baseURL.JoinPath("/signed-out").String())
	if isFragmentRequest(r) {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

func (h *Handler) signedOut(w http.ResponseWriter, r *http.Request) error {
	h.render(w, r, http.StatusOK, templates.SignedOutPage(h.page(r, i18n.T(r.Context(), "auth.signed_out.page_title"), ""), r.URL.Query().Get("ended") == "admin"))
	return nil
}

// loadUser puts the signed-in person, if any, in the request context. A
// session ended by an admin or by sign-out elsewhere is destroyed here.
func (h *Handler) loadUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		sid := h.sessions.GetString(ctx, keySession)
		if sid == "" {
			next.ServeHTTP(w, r)
			return
		}
		a, err := h.sessionStore.TouchSession(ctx, sid)
		switch {
		case err == nil:
			// Signed-in pages are for this person only: no shared or back-button caches.
			w.Header().Set("Cache-Control", "no-store")
			u := &currentUser{ID: a.UserID, ObjectID: a.UserOID, TenantID: a.TenantID, Name: a.UserName, Email: a.UserEmail, Role: a.UserRole, Language: a.UserLanguage, SessionID: a.ID}
			next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, userKey{}, u)))
		case errors.Is(err, store.ErrNotFound):
			byAdmin, err := h.sessionStore.SessionEndedByAdmin(ctx, sid)
			if err != nil {
				h.serveError(w, r, err)
				return
			}
			if err := h.sessions.Destroy(ctx); err != nil {
				h.serveError(w, r, err)
				return
			}
			if byAdmin {
				// Say why, instead of a sign-in page out of the blue.
				if isFragmentRequest(r) {
					w.Header().Set("HX-Redirect", "/signed-out?ended=admin")
					w.WriteHeader(http.StatusNoContent)
					return
				}
				http.Redirect(w, r, "/signed-out?ended=admin", http.StatusSeeOther)
				return
			}
			next.ServeHTTP(w, r)
		default:
			h.serveError(w, r, err)
		}
	})
}

// requireUser lets signed-in people through and sends everyone else to
// sign in, returning them to where they were afterwards. htmx requests get
// HX-Redirect so a sign-in page is never swapped into a fragment.
func (h *Handler) requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if userFrom(r.Context()) == nil {
			h.redirectToLogin(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (h *Handler) redirectToLogin(w http.ResponseWriter, r *http.Request) {
	returnTo := r.URL.RequestURI()
	if r.Header.Get("HX-Request") == "true" {
		// The page the person is looking at, not the fragment's URL.
		if cu, err := url.Parse(r.Header.Get("HX-Current-URL")); err == nil && cu.Path != "" {
			returnTo = cu.RequestURI()
		}
		w.Header().Set("HX-Redirect", "/login?return_to="+url.QueryEscape(auth.SafeReturnTo(returnTo)))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		returnTo = "/" // a form post cannot be replayed after sign-in
	}
	http.Redirect(w, r, "/login?return_to="+url.QueryEscape(auth.SafeReturnTo(returnTo)), http.StatusSeeOther)
}

// requireRole refuses people below role. It is enforced on the server for
// every request it wraps, whatever the page showed.
func (h *Handler) requireRole(role string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u := userFrom(r.Context())
			if u == nil {
				h.redirectToLogin(w, r)
				return
			}
			if u.Role == auth.RoleNone {
				w.Header().Set("Cache-Control", "no-store")
				h.render(w, r, http.StatusForbidden, templates.NoRolePage(h.page(r, i18n.T(r.Context(), "auth.no_role.page_title"), "")))
				return
			}
			if auth.Rank(u.Role) < auth.Rank(role) {
				h.serveError(w, r, errForbidden("error.role_forbidden", "Role", templates.RoleLabel(r.Context(), u.Role)))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails
	return hex.EncodeToString(b[:])
}
