package handlers

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/web/templates"

	"github.com/appreg-portal/portal/internal/trunc"
)

// MaxShareDays is the longest a one-time share link lives.
const MaxShareDays = 7

// shareStore keeps one-time share links.
type shareStore interface {
	CreateShareLink(ctx context.Context, l store.ShareLink, tokenHash, sealed []byte, audit store.AuditEvent) error
	ShareLinkByToken(ctx context.Context, tokenHash []byte) (store.ShareLink, error)
	ViewShareLink(ctx context.Context, tokenHash []byte, audit store.AuditEvent) (store.ShareLink, []byte, error)
	RevokeShareLink(ctx context.Context, runID, id string, audit store.AuditEvent) error
	ShareLinks(ctx context.Context, runID string) ([]store.ShareLink, error)
	WipeExpiredShareLinks(ctx context.Context) (int64, error)
}

func shareAAD(linkID string) []byte { return []byte("share-link:" + linkID) }

// makeShareLink seals the secret of a run or rotation (owner: RunID or
// RotationID and Label set) behind a fresh token and returns the link; the
// token exists only in that URL.
func (h *Handler) makeShareLink(r *http.Request, owner store.ShareLink, days int, secret string) (string, time.Time, error) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	token := base64.RawURLEncoding.EncodeToString(b[:])
	id := uuid.NewString()
	days = min(max(days, 1), MaxShareDays)
	exp := h.now().Add(time.Duration(days) * 24 * time.Hour)
	sealed := h.wizard.Sealer.Seal([]byte(secret), shareAAD(id))
	u := userFrom(r.Context())
	owner.ID, owner.CreatedBy, owner.ExpiresAt = id, u.Name, exp
	err := h.shares.CreateShareLink(context.WithoutCancel(r.Context()), owner,
		stateHash(token), sealed, h.auditEvent(r, "share.create", owner.Label, map[string]string{"run": owner.RunID, "rotation": owner.RotationID,
			"link": id, "expires": exp.UTC().Format(time.RFC3339)}))
	if err != nil {
		return "", time.Time{}, err
	}
	return h.baseURL.JoinPath("/share/" + token).String(), exp, nil
}

// sharePage is what the customer opens: a button, not the secret, so a link
// preview or a mail scanner that fetches the URL does not use it up
// (GET /share/{token}).
func (h *Handler) sharePage(w http.ResponseWriter, r *http.Request) error {
	token := chi.URLParam(r, "token")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	loc := i18n.From(r.Context())
	pd := h.page(r, loc.T("wizard.share.title"), "")
	pd.Public = pd.User == nil // the customer has no portal account
	l, err := h.shares.ShareLinkByToken(r.Context(), stateHash(token))
	if errors.Is(err, store.ErrNotFound) {
		h.render(w, r, http.StatusNotFound, templates.SharePage(pd, templates.ShareData{Gone: true, Message: loc.T("wizard.share.none")}))
		return nil
	}
	if err != nil {
		return err
	}
	d := templates.ShareData{AppName: l.Label, Expires: loc.DateTime(l.ExpiresAt)}
	switch {
	case l.ViewedAt != nil:
		d.Gone, d.Message = true, loc.T("wizard.share.opened", "When", loc.DateTime(*l.ViewedAt))
	case l.RevokedAt != nil:
		d.Gone, d.Message = true, loc.T("wizard.share.withdrawn")
	case !l.ExpiresAt.After(h.now()):
		d.Gone, d.Message = true, loc.T("wizard.share.expired", "When", loc.DateTime(l.ExpiresAt))
	}
	status := http.StatusOK
	if d.Gone {
		status = http.StatusGone
	}
	h.render(w, r, status, templates.SharePage(pd, d))
	return nil
}

// shareReveal shows the secret, once, and wipes it (POST /share/{token}).
func (h *Handler) shareReveal(w http.ResponseWriter, r *http.Request) error {
	token := chi.URLParam(r, "token")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	loc := i18n.From(r.Context())
	pd := h.page(r, loc.T("wizard.share.title"), "")
	pd.Public = pd.User == nil // the customer has no portal account
	pd.NoHistory = true
	audit := store.AuditEvent{Action: "share.view", ActorName: "share link", RequestID: RequestID(r.Context()), RemoteAddr: clientIP(r),
		Details: map[string]string{"user_agent": trunc.String(r.UserAgent(), 200)}}
	l, sealed, err := h.shares.ViewShareLink(r.Context(), stateHash(token), audit)
	if errors.Is(err, store.ErrShareGone) {
		h.render(w, r, http.StatusGone, templates.SharePage(pd, templates.ShareData{Gone: true,
			Message: loc.T("wizard.share.gone")}))
		return nil
	}
	if err != nil {
		return err
	}
	secret, err := h.wizard.Sealer.Open(sealed, shareAAD(l.ID))
	if err != nil {
		return err
	}
	d := templates.ShareData{AppName: l.Label, Secret: string(secret), TenantID: l.TenantID}
	if l.RunID != "" {
		if run, err := h.registrations.GetRun(r.Context(), l.RunID); err == nil {
			d.ClientID = run.ClientID
			if run.SecretEnd != nil {
				d.Expires = loc.Date(*run.SecretEnd)
			}
		}
	} else if rot, err := h.rotations.GetRotation(r.Context(), l.RotationID); err == nil {
		d.ClientID = rot.ClientID
		if rot.NewEnd != nil {
			d.Expires = loc.Date(*rot.NewEnd)
		}
	}
	h.render(w, r, http.StatusOK, templates.SharePage(pd, d))
	return nil
}

// revokeShare withdraws an unused link (POST /registrations/{id}/share/{link}/revoke
// and /rotations/{id}/share/{link}/revoke).
func (h *Handler) revokeShare(w http.ResponseWriter, r *http.Request) error {
	runID, linkID := chi.URLParam(r, "id"), chi.URLParam(r, "link")
	back := "/registrations/"
	if strings.HasPrefix(r.URL.Path, "/rotations/") {
		back = "/rotations/"
	}
	if _, err := uuid.Parse(runID); err != nil {
		return errNotFound()
	}
	if _, err := uuid.Parse(linkID); err != nil {
		return errNotFound()
	}
	err := h.shares.RevokeShareLink(r.Context(), runID, linkID, h.auditEvent(r, "share.revoke", linkID, map[string]string{"run": runID}))
	if err != nil && !errors.Is(err, store.ErrShareGone) {
		return err
	}
	http.Redirect(w, r, back+runID, http.StatusSeeOther)
	return nil
}

// shareRows lists a run's links for its page.
func (h *Handler) shareRows(ctx context.Context, runID string) ([]templates.ShareRow, error) {
	ls, err := h.shares.ShareLinks(ctx, runID)
	if err != nil {
		return nil, err
	}
	loc := i18n.From(ctx)
	var out []templates.ShareRow
	for _, l := range ls {
		row := templates.ShareRow{ID: l.ID, Created: loc.DateTime(l.CreatedAt), CreatedBy: l.CreatedBy, Expires: loc.DateTime(l.ExpiresAt)}
		switch {
		case l.ViewedAt != nil:
			row.State = loc.T("wizard.share.row_opened", "When", loc.DateTime(*l.ViewedAt))
		case l.RevokedAt != nil:
			row.State = loc.T("wizard.share.row_withdrawn", "When", loc.DateTime(*l.RevokedAt))
		case !l.ExpiresAt.After(h.now()):
			row.State = loc.T("wizard.share.row_expired")
		default:
			row.State, row.Active = loc.T("wizard.share.row_unopened"), true
		}
		out = append(out, row)
	}
	return out, nil
}

// logPath is the request path as the log shows it: a share link's token
// and a calendar feed's are credentials and stay out.
func logPath(p string) string {
	if strings.HasPrefix(p, "/share/") {
		return "/share/…"
	}
	if strings.HasPrefix(p, "/calendar/") && strings.HasSuffix(p, ".ics") {
		return "/calendar/….ics" // a calendar feed's token
	}
	return p
}
