package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ActiveSession is a signed-in browser session.
type ActiveSession struct {
	ID        string `db:"id"`
	UserID    int64  `db:"user_id"`
	UserName  string `db:"display_name"`
	UserEmail string `db:"email"`
	UserRole  string `db:"role"`
	// UserLanguage is the language the user chose, "" when they have not.
	UserLanguage string    `db:"language"`
	UserOID      string    `db:"object_id"`
	TenantID     string    `db:"entra_tenant_id"`
	CreatedAt    time.Time `db:"created_at"`
	LastSeenAt   time.Time `db:"last_seen_at"`
	ExpiresAt    time.Time `db:"expires_at"`
	RemoteAddr   string    `db:"remote_addr"`
	UserAgent    string    `db:"user_agent"`
}

const activeSessionSelect = `
	SELECT a.id, a.user_id, u.display_name, u.email, u.role, coalesce(u.language, '') AS language, u.object_id::text, u.entra_tenant_id::text,
	       a.created_at, a.last_seen_at, a.expires_at, a.remote_addr, a.user_agent
	FROM active_sessions a JOIN users u ON u.id = a.user_id`

// TouchSession returns the live session with its user and notes the
// activity. An ended or expired session is ErrNotFound.
func (s *Store) TouchSession(ctx context.Context, id string) (ActiveSession, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	// Writing last_seen_at at most once a minute keeps reads cheap.
	if _, err := s.pool.Exec(ctx, `UPDATE active_sessions SET last_seen_at = now() WHERE id = $1 AND last_seen_at < now() - interval '1 minute'`, id); err != nil {
		return ActiveSession{}, fmt.Errorf("store: touch session: %w", err)
	}
	rows, err := s.pool.Query(ctx, activeSessionSelect+` WHERE a.id = $1 AND a.expires_at > now()`, id)
	if err != nil {
		return ActiveSession{}, fmt.Errorf("store: touch session: %w", err)
	}
	a, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[ActiveSession])
	if err != nil {
		return ActiveSession{}, fmt.Errorf("store: touch session: %w", mapErr(err))
	}
	return a, nil
}

// ListSessions returns the live sessions, newest activity first. With idle
// > 0 a session without a request for longer than idle is over (the
// cookie's session has timed out) and is not listed; last_seen_at is
// written at most once a minute, hence the minute's grace.
func (s *Store) ListSessions(ctx context.Context, idle time.Duration) ([]ActiveSession, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	cond := ` WHERE a.expires_at > now()`
	args := []any{}
	if idle > 0 {
		cond += ` AND a.last_seen_at > now() - $1::interval - interval '1 minute'`
		args = append(args, idle)
	}
	rows, err := s.pool.Query(ctx, activeSessionSelect+cond+` ORDER BY a.last_seen_at DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list sessions: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[ActiveSession])
	if err != nil {
		return nil, fmt.Errorf("store: list sessions: %w", err)
	}
	return out, nil
}

// EndSession removes a session (sign-out, or an admin ending it) and writes
// the audit row in the same transaction.
func (s *Store) EndSession(ctx context.Context, id string, audit AuditEvent) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var name string
		err := tx.QueryRow(ctx, `
			DELETE FROM active_sessions a USING users u
			WHERE a.id = $1 AND u.id = a.user_id RETURNING u.display_name`, id).Scan(&name)
		if err != nil {
			return err
		}
		if audit.Target == "" {
			audit.Target = name
		}
		return recordAudit(ctx, tx, audit)
	})
	if err != nil {
		return fmt.Errorf("store: end session: %w", mapErr(err))
	}
	return nil
}

// SessionEndedByAdmin reports whether an administrator ended the session
// (its "session.end" audit row names it), as opposed to a timeout or a
// sign-out: the person it signed out is told why.
func (s *Store) SessionEndedByAdmin(ctx context.Context, id string) (bool, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var ended bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM audit_events
		WHERE action = 'session.end' AND details->>'session' = $1 AND details->>'by' = 'admin')`, id).Scan(&ended)
	if err != nil {
		return false, fmt.Errorf("store: session ended by admin: %w", err)
	}
	return ended, nil
}
