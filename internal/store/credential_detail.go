package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// CredentialDetail is one credential of the inventory, live or removed,
// with its tenant's directory ID.
type CredentialDetail struct {
	Credential
	EntraTenantID string `db:"entra_tenant_id"`
}

// CredentialByID returns a credential whether or not it is still in the
// tenant, or ErrNotFound.
func (s *Store) CredentialByID(ctx context.Context, id int64) (CredentialDetail, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `
		SELECT c.id, c.tenant_id, t.display_name AS tenant_name, c.owner_kind, c.owner_object_id::text, c.owner_app_id, c.owner_name,
		       c.key_id::text, c.kind, c.display_name, c.hint, c.thumbprint, c.starts_at, c.ends_at, c.first_seen_at, c.last_seen_at, c.removed_at,
		       t.entra_tenant_id::text
		FROM credentials c JOIN tenants t ON t.id = c.tenant_id WHERE c.id = $1`, id)
	if err != nil {
		return CredentialDetail{}, fmt.Errorf("store: credential by id: %w", err)
	}
	c, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[CredentialDetail])
	if err != nil {
		return CredentialDetail{}, fmt.Errorf("store: credential by id: %w", mapErr(err))
	}
	return c, nil
}

// CredentialHistory returns, newest first, the audit events in a tenant
// that name a key ID: the rotations that replaced it or made it, and its
// removal.
func (s *Store) CredentialHistory(ctx context.Context, entraTenantID, keyID string, limit int) ([]AuditEvent, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `
		SELECT id, occurred_at, actor_oid::text, actor_name, action, outcome, tenant_id::text, target, details, request_id, remote_addr
		FROM audit_events
		WHERE tenant_id::text = lower($1)
		  AND lower($2) IN (lower(details->>'key_id'), lower(details->>'old_key_id'), lower(details->>'removed_key_id'), lower(details->>'new_key_id'))
		ORDER BY id DESC LIMIT $3`, entraTenantID, keyID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: credential history: %w", err)
	}
	events, err := pgx.CollectRows(rows, pgx.RowToStructByName[AuditEvent])
	if err != nil {
		return nil, fmt.Errorf("store: credential history: %w", err)
	}
	return events, nil
}
