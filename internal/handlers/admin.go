package handlers

import (
	"context"
	"encoding/csv"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/safetext"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/internal/trunc"
	"github.com/appreg-portal/portal/web/templates"
)

type auditLister interface {
	ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error)
}

type adminStore interface {
	ListSessions(ctx context.Context, idle time.Duration) ([]store.ActiveSession, error)
	EndSession(ctx context.Context, id string, audit store.AuditEvent) error
	ListUsers(ctx context.Context) ([]store.User, error)
}

const auditPageSize = 50

// auditFilter reads the filter from the query; bad dates are a form error
// (an *httpError whose message says what is wrong).
func auditFilter(q url.Values) (store.AuditFilter, *httpError) {
	f := store.AuditFilter{Action: strings.TrimSpace(q.Get("action")), Outcome: q.Get("outcome"), Actor: strings.TrimSpace(q.Get("actor"))}
	if f.Outcome != "" && f.Outcome != store.OutcomeSuccess && f.Outcome != store.OutcomeDenied && f.Outcome != store.OutcomeFailure {
		return f, errBadRequest("admin.audit.error.outcome").(*httpError)
	}
	for _, d := range []struct {
		name string
		dst  *time.Time
		add  time.Duration
	}{{"since", &f.Since, 0}, {"until", &f.Until, 24 * time.Hour}} {
		if v := q.Get(d.name); v != "" {
			t, err := time.Parse("2006-01-02", v)
			if err != nil {
				return f, errBadRequest("admin.audit.error.date", "Value", strconv.Quote(v)).(*httpError)
			}
			*d.dst = t.Add(d.add) // "until" includes the whole day
		}
	}
	if b := q.Get("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			return f, errBadRequest("admin.audit.error.page").(*httpError)
		}
		f.BeforeID = n
	}
	return f, nil
}

func (h *Handler) auditPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, ferr := auditFilter(q)
	d := templates.AuditData{Action: q.Get("action"), Outcome: q.Get("outcome"), Actor: q.Get("actor"), Since: q.Get("since"), Until: q.Get("until")}
	if ferr != nil {
		d.FilterError = i18n.T(r.Context(), ferr.message, ferr.args...)
	}
	keep := url.Values{}
	for _, k := range []string{"action", "outcome", "actor", "since", "until"} {
		if v := q.Get(k); v != "" {
			keep.Set(k, v)
		}
	}
	d.CSVHref = "/audit.csv?" + keep.Encode()
	if ferr == nil {
		f.Limit = auditPageSize + 1 // one more tells whether an older page exists
		events, err := h.audit.ListAudit(r.Context(), f)
		if err != nil {
			return err
		}
		if len(events) > auditPageSize {
			events = events[:auditPageSize]
			older := maps.Clone(keep)
			older.Set("before", strconv.FormatInt(events[len(events)-1].ID, 10))
			d.OlderHref = "/audit?" + older.Encode()
		}
		if f.BeforeID > 0 {
			d.NewestHref = "/audit?" + keep.Encode()
		}
		for _, e := range events {
			d.Events = append(d.Events, auditRow(e))
		}
	}
	status := http.StatusOK
	if ferr != nil {
		status = http.StatusBadRequest
	}
	h.render(w, r, status, templates.AuditPage(h.page(r, i18n.T(r.Context(), "nav.audit_log"), templates.SectionAudit), d))
	return nil
}

func auditRow(e store.AuditEvent) templates.AuditRow {
	keys := slices.Sorted(maps.Keys(e.Details))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+e.Details[k])
	}
	actor := e.ActorName
	if actor == "" {
		actor = "—"
	}
	row := templates.AuditRow{When: e.OccurredAt.UTC().Format(time.RFC3339), Actor: actor, Action: e.Action, Outcome: e.Outcome,
		Target: e.Target, Details: strings.Join(parts, " "), RequestID: e.RequestID}
	if e.TenantID != nil {
		row.Tenant = *e.TenantID
	}
	return row
}

// auditCSV exports every event matching the filter (up to 100 000 rows).
func (h *Handler) auditCSV(w http.ResponseWriter, r *http.Request) error {
	f, ferr := auditFilter(r.URL.Query())
	if ferr != nil {
		return ferr
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="audit-`+h.now().UTC().Format("20060102-150405")+`.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"id", "occurred_at", "actor_oid", "actor", "action", "outcome", "tenant_id", "target", "details", "request_id", "remote_addr"}); err != nil {
		return err
	}
	f.Limit = 1000
	for written := 0; written < 100_000; {
		events, err := h.audit.ListAudit(r.Context(), f)
		if err != nil {
			if written == 0 {
				return err
			}
			h.log.ErrorContext(r.Context(), "audit CSV cut short", "request_id", RequestID(r.Context()), "err", err)
			break
		}
		for _, e := range events {
			row := auditRow(e)
			oid := ""
			if e.ActorOID != nil {
				oid = *e.ActorOID
			}
			rec := []string{strconv.FormatInt(e.ID, 10), row.When, oid, e.ActorName, e.Action, e.Outcome, row.Tenant, e.Target, row.Details, e.RequestID, e.RemoteAddr}
			for i := range rec {
				rec[i] = csvSafe(rec[i])
			}
			if err := cw.Write(rec); err != nil {
				return nil // the client went away
			}
		}
		written += len(events)
		if len(events) < f.Limit {
			break
		}
		f.BeforeID = events[len(events)-1].ID
	}
	cw.Flush()
	return nil
}

// csvSafe makes a cell safe for spreadsheets: one line of text
// (internal/safetext), and no formula where a spreadsheet could start a
// cell. Excel starts one not only at the cell's first character but, when
// it splits the file on another separator than the comma (Dutch and German
// Excel use ";"), after every ";", "," or "|" inside it: "a;=1+1" becomes the
// cells "a" and "=1+1". So a quote goes before = + - @ at the start and
// after each of those separators (and any spaces after them), and Excel
// shows the rest as text (OWASP "CSV Injection").
func csvSafe(s string) string {
	s = safetext.Line(s)
	var b strings.Builder
	start := true // at the start of a cell, as some spreadsheet may see it
	for _, r := range s {
		if start && strings.ContainsRune("=+-@", r) {
			b.WriteByte('\'')
		}
		switch {
		case strings.ContainsRune(",;|", r):
			start = true
		case r == ' ' && start:
		default:
			start = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (h *Handler) sessionsPage(w http.ResponseWriter, r *http.Request) error {
	list, err := h.admin.ListSessions(r.Context(), h.sessions.IdleTimeout)
	if err != nil {
		return err
	}
	ctx := r.Context()
	me := userFrom(ctx)
	rows := make([]templates.SessionRow, 0, len(list))
	for _, s := range list {
		rows = append(rows, templates.SessionRow{ID: s.ID, User: s.UserName, Email: s.UserEmail, Role: s.UserRole,
			Started: i18n.DateTime(ctx, s.CreatedAt), LastSeen: i18n.DateTime(ctx, s.LastSeenAt), Expires: i18n.DateTime(ctx, s.ExpiresAt),
			From: s.RemoteAddr, UserAgent: trunc.String(s.UserAgent, 80), IsCurrent: me != nil && me.SessionID == s.ID})
	}
	h.render(w, r, http.StatusOK, templates.SessionsPage(h.page(r, i18n.T(ctx, "nav.active_sessions"), templates.SectionAudit), rows))
	return nil
}

func (h *Handler) endSession(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	err := h.admin.EndSession(r.Context(), id, h.auditEvent(r, "session.end", "", map[string]string{"by": "admin", "session": id}))
	if errors.Is(err, store.ErrNotFound) {
		// Already ended or expired: the outcome the admin wanted.
		h.flash(r, i18n.T(r.Context(), "admin.sessions.flash_already_ended"))
		http.Redirect(w, r, "/admin/sessions", http.StatusSeeOther)
		return nil
	}
	if err != nil {
		return err
	}
	h.flash(r, i18n.T(r.Context(), "admin.sessions.flash_ended"))
	http.Redirect(w, r, "/admin/sessions", http.StatusSeeOther)
	return nil
}

func (h *Handler) usersPage(w http.ResponseWriter, r *http.Request) error {
	list, err := h.admin.ListUsers(r.Context())
	if err != nil {
		return err
	}
	ctx := r.Context()
	rows := make([]templates.UserRow, 0, len(list))
	for _, u := range list {
		last := i18n.T(ctx, "admin.users.never")
		if u.LastSignInAt != nil {
			last = i18n.DateTime(ctx, *u.LastSignInAt)
		}
		rows = append(rows, templates.UserRow{Name: u.DisplayName, Email: u.Email, Tenant: u.EntraTenantID, Role: u.Role, LastSignIn: last})
	}
	h.render(w, r, http.StatusOK, templates.UsersPage(h.page(r, i18n.T(ctx, "nav.portal_users"), templates.SectionAudit), rows))
	return nil
}
