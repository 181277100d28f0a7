package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appreg-portal/portal/internal/safetext"
)

// AuditEvent is one entry in the append-only audit trail.
type AuditEvent struct {
	ID         int64             `db:"id"`
	OccurredAt time.Time         `db:"occurred_at"`
	ActorOID   *string           `db:"actor_oid"`
	ActorName  string            `db:"actor_name"`
	Action     string            `db:"action"`
	Outcome    string            `db:"outcome"`
	TenantID   *string           `db:"tenant_id"`
	Target     string            `db:"target"`
	Details    map[string]string `db:"details"`
	RequestID  string            `db:"request_id"`
	RemoteAddr string            `db:"remote_addr"`
}

// Audit outcomes.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
	OutcomeDenied  = "denied"
)

// RecordAudit appends one event. Details must never hold tokens or secret
// values; callers pass only names, IDs and reasons.
func (s *Store) RecordAudit(ctx context.Context, e AuditEvent) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	return recordAudit(ctx, s.pool, e)
}

func recordAudit(ctx context.Context, q querier, e AuditEvent) error {
	if e.Outcome == "" {
		e.Outcome = OutcomeSuccess
	}
	// Audit rows record what strangers typed too (a callback's error, a
	// tenant's name): keep each value one line of text Postgres accepts.
	// jsonb refuses "\u0000" (SQLSTATE 22P05), text refuses NUL (22021),
	// and a refused audit row would fail the request it records.
	details := make(map[string]string, len(e.Details))
	for k, v := range e.Details {
		details[safetext.Line(k)] = safetext.Line(v)
	}
	e.Target, e.ActorName = safetext.Line(e.Target), safetext.Line(e.ActorName)
	b, err := json.Marshal(details)
	if err != nil {
		return fmt.Errorf("store: audit details: %w", err)
	}
	_, err = q.Exec(ctx, `
		INSERT INTO audit_events (actor_oid, actor_name, action, outcome, tenant_id, target, details, request_id, remote_addr)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		e.ActorOID, e.ActorName, e.Action, e.Outcome, e.TenantID, e.Target, b, e.RequestID, e.RemoteAddr)
	if err != nil {
		return fmt.Errorf("store: insert audit event: %w", mapErr(err))
	}
	return nil
}

// AuditFilter narrows ListAudit. Zero values match everything.
type AuditFilter struct {
	Action   string // prefix match, e.g. "signin"
	Outcome  string
	Actor    string // substring of the actor's name, case-insensitive
	Since    time.Time
	Until    time.Time
	BeforeID int64 // keyset paging: events older than this ID
	Limit    int   // default 50, at most 1000
}

// ListAudit returns events newest first.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 1000)
	var (
		where []string
		args  []any
	)
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Action != "" {
		add("action LIKE $%d || '%%'", f.Action)
	}
	if f.Outcome != "" {
		add("outcome = $%d", f.Outcome)
	}
	if f.Actor != "" {
		add("actor_name ILIKE '%%' || $%d || '%%'", f.Actor)
	}
	if !f.Since.IsZero() {
		add("occurred_at >= $%d", f.Since)
	}
	if !f.Until.IsZero() {
		add("occurred_at < $%d", f.Until)
	}
	if f.BeforeID > 0 {
		add("id < $%d", f.BeforeID)
	}
	q := `SELECT id, occurred_at, actor_oid::text, actor_name, action, outcome, tenant_id::text, target, details, request_id, remote_addr
		FROM audit_events`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, f.Limit)
	q += fmt.Sprintf(" ORDER BY id DESC LIMIT $%d", len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	events, err := pgx.CollectRows(rows, pgx.RowToStructByName[AuditEvent])
	if err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	return events, nil
}
