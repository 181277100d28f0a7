package handlers

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/appreg-portal/portal/internal/auth"
	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/web/templates"
)

// calendarStore keeps per-person calendar subscription URLs (only the
// token's hash).
type calendarStore interface {
	CreateCalendarFeed(ctx context.Context, userID int64, tokenHash []byte, audit store.AuditEvent) error
	RevokeCalendarFeed(ctx context.Context, userID int64, audit store.AuditEvent) error
	LiveCalendarFeed(ctx context.Context, userID int64) (store.CalendarFeed, error)
	CalendarFeedUser(ctx context.Context, tokenHash []byte) (store.User, error)
}

// calendarData is the person's feed state.
func (h *Handler) calendarData(ctx context.Context) (templates.CalendarData, error) {
	var d templates.CalendarData
	f, err := h.calendars.LiveCalendarFeed(ctx, userFrom(ctx).ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return d, nil
	case err != nil:
		return d, err
	}
	d.Live = i18n.DateTime(ctx, f.CreatedAt)
	if f.LastUsedAt != nil {
		d.LastUsed = i18n.DateTime(ctx, *f.LastUsedAt)
	}
	return d, nil
}

// calendarPage shows the person's subscription (GET /calendar).
func (h *Handler) calendarPage(w http.ResponseWriter, r *http.Request) error {
	d, err := h.calendarData(r.Context())
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, templates.CalendarPage(h.page(r, i18n.T(r.Context(), "calendar.title"), templates.SectionDashboard), d))
	return nil
}

// makeCalendarFeed makes the person a new subscription URL and shows it
// once (POST /calendar/feed). The token is in that response only; the
// portal keeps its hash.
func (h *Handler) makeCalendarFeed(w http.ResponseWriter, r *http.Request) error {
	var b [32]byte
	_, _ = rand.Read(b[:])
	token := base64.RawURLEncoding.EncodeToString(b[:])
	if err := h.calendars.CreateCalendarFeed(r.Context(), userFrom(r.Context()).ID, stateHash(token), h.auditEvent(r, "calendar.feed.create", "", nil)); err != nil {
		return err
	}
	d, err := h.calendarData(r.Context())
	if err != nil {
		return err
	}
	d.FeedURL = h.baseURL.JoinPath("/calendar/" + token + ".ics").String()
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, http.StatusOK, templates.CalendarPage(h.page(r, i18n.T(r.Context(), "calendar.title"), templates.SectionDashboard), d))
	return nil
}

// revokeCalendarFeed ends the person's subscription URL (POST /calendar/feed/revoke).
func (h *Handler) revokeCalendarFeed(w http.ResponseWriter, r *http.Request) error {
	err := h.calendars.RevokeCalendarFeed(r.Context(), userFrom(r.Context()).ID, h.auditEvent(r, "calendar.feed.revoke", "", nil))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	h.flash(r, i18n.T(r.Context(), "calendar.flash_revoked"))
	http.Redirect(w, r, "/calendar", http.StatusSeeOther)
	return nil
}

// calendarFeed serves a subscription (GET /calendar/{token}.ics, no
// session: calendar services fetch it). It shows what the owner may see
// now: nothing once they lose their role or revoke the URL.
func (h *Handler) calendarFeed(w http.ResponseWriter, r *http.Request) error {
	token := chi.URLParam(r, "token")
	if token == "" || len(token) > 100 || strings.ContainsAny(token, "/.") {
		return errNotFound()
	}
	u, err := h.calendars.CalendarFeedUser(r.Context(), stateHash(token))
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound()
	}
	if err != nil {
		return err
	}
	if auth.Rank(u.Role) < auth.Rank(auth.RoleViewer) {
		return errNotFound()
	}
	now := h.now()
	f, err := credentialFilter(url.Values{}, now)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "private, max-age=3600")
	// The feed speaks its owner's language: the calendar service that
	// fetches it sends no Accept-Language of theirs.
	lang, _ := i18n.Parse(u.Language)
	return h.writeICS(w, r, h.localizer(lang), func(fn func(store.Credential) error) error { return h.credentials.EachCredential(r.Context(), f, fn) }, now)
}
