package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appreg-portal/portal/internal/trunc"
)

// User is a person who has signed in to the portal.
type User struct {
	ID            int64      `db:"id"`
	EntraTenantID string     `db:"entra_tenant_id"`
	ObjectID      string     `db:"object_id"`
	DisplayName   string     `db:"display_name"`
	Email         string     `db:"email"`
	Role          string     `db:"role"`
	CreatedAt     time.Time  `db:"created_at"`
	LastSignInAt  *time.Time `db:"last_sign_in_at"`
	// Language is the one they chose in the portal ("en" or "nl"), "" until
	// they choose; their calendar feed speaks it.
	Language string `db:"language"`
}

const userColumns = `id, entra_tenant_id::text, object_id::text, display_name, email, role, created_at, last_sign_in_at, coalesce(language, '') AS language`

// SignIn is one successful sign-in, as recorded by RecordSignIn.
type SignIn struct {
	User      User // tenant, object ID, name, e-mail and role from the token
	SessionID string
	ExpiresAt time.Time
	Audit     AuditEvent // the sign-in event; RecordSignIn fills the actor
}

// RecordSignIn upserts the user, records a role change, opens the active
// session and writes the audit rows, all in one transaction.
func (s *Store) RecordSignIn(ctx context.Context, in SignIn) (User, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var out User
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var prevRole *string
		err := tx.QueryRow(ctx, `SELECT role FROM users WHERE entra_tenant_id = $1 AND object_id = $2 FOR UPDATE`,
			in.User.EntraTenantID, in.User.ObjectID).Scan(&prevRole)
		if err != nil && err != pgx.ErrNoRows {
			return err
		}
		rows, err := tx.Query(ctx, `
			INSERT INTO users (entra_tenant_id, object_id, display_name, email, role, last_sign_in_at)
			VALUES ($1, $2, $3, $4, $5, now())
			ON CONFLICT (entra_tenant_id, object_id) DO UPDATE
			SET display_name = EXCLUDED.display_name, email = EXCLUDED.email, role = EXCLUDED.role, last_sign_in_at = now()
			RETURNING `+userColumns,
			in.User.EntraTenantID, in.User.ObjectID, in.User.DisplayName, in.User.Email, in.User.Role)
		if err != nil {
			return err
		}
		out, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[User])
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO active_sessions (id, user_id, expires_at, remote_addr, user_agent) VALUES ($1, $2, $3, $4, $5)`,
			in.SessionID, out.ID, in.ExpiresAt, in.Audit.RemoteAddr, trunc.String(in.Audit.Details["user_agent"], 300)); err != nil {
			return err
		}
		actor := out.ObjectID
		a := in.Audit
		a.ActorOID, a.ActorName = &actor, out.DisplayName
		if err := recordAudit(ctx, tx, a); err != nil {
			return err
		}
		if prevRole != nil && *prevRole != out.Role {
			return recordAudit(ctx, tx, AuditEvent{
				ActorOID: &actor, ActorName: out.DisplayName, Action: "user.role_change", Target: out.DisplayName,
				Details:   map[string]string{"from": *prevRole, "to": out.Role, "source": "sign-in"},
				RequestID: a.RequestID, RemoteAddr: a.RemoteAddr,
			})
		}
		return nil
	})
	if err != nil {
		return User{}, fmt.Errorf("store: record sign-in: %w", mapErr(err))
	}
	return out, nil
}

// ListUsers returns everyone who has signed in, most recent first.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+userColumns+` FROM users ORDER BY last_sign_in_at DESC NULLS LAST, id`)
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	us, err := pgx.CollectRows(rows, pgx.RowToStructByName[User])
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	return us, nil
}

// SetUserLanguage remembers the language a person chose ("en" or "nl").
func (s *Store) SetUserLanguage(ctx context.Context, userID int64, lang string) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, `UPDATE users SET language = $2 WHERE id = $1`, userID, lang)
	if err != nil {
		return fmt.Errorf("store: set user language: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}
