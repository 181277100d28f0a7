package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// AlertPolicy is when alerts go out and to whom: portal-wide (TenantID 0),
// or a tenant's override. A nil field inherits: the portal-wide policy from
// the environment, a tenant's from the portal-wide policy.
type AlertPolicy struct {
	TenantID   int64
	Thresholds []int    // days before expiry; 0 is the day it expires
	Recipients []string // a tenant's replace the portal-wide recipients; its contacts are always added
	UpdatedBy  string
	UpdatedAt  time.Time
}

// AlertPolicy returns the portal-wide policy (tenantID 0) or a tenant's;
// a zero policy (all inherited) when none was set.
func (s *Store) AlertPolicy(ctx context.Context, tenantID int64) (AlertPolicy, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	p := AlertPolicy{TenantID: tenantID}
	err := s.pool.QueryRow(ctx, `SELECT thresholds, recipients, updated_by, updated_at FROM alert_policies WHERE coalesce(tenant_id, 0) = $1`, tenantID).
		Scan(&p.Thresholds, &p.Recipients, &p.UpdatedBy, &p.UpdatedAt)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return p, fmt.Errorf("store: alert policy: %w", err)
	}
	return p, nil
}

// TenantAlertPolicies returns every tenant's override, by tenant ID.
func (s *Store) TenantAlertPolicies(ctx context.Context) (map[int64]AlertPolicy, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT tenant_id, thresholds, recipients, updated_by, updated_at FROM alert_policies WHERE tenant_id IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("store: tenant alert policies: %w", err)
	}
	out := map[int64]AlertPolicy{}
	var p AlertPolicy
	_, err = pgx.ForEachRow(rows, []any{&p.TenantID, &p.Thresholds, &p.Recipients, &p.UpdatedBy, &p.UpdatedAt}, func() error {
		out[p.TenantID] = p
		p = AlertPolicy{}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: tenant alert policies: %w", err)
	}
	return out, nil
}

// SetAlertPolicy stores a policy (nil fields inherit; both nil removes the
// override) with its audit event in one transaction.
func (s *Store) SetAlertPolicy(ctx context.Context, p AlertPolicy, audit AuditEvent) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var tenant *int64
	if p.TenantID != 0 {
		tenant = &p.TenantID
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if p.Thresholds == nil && p.Recipients == nil {
			if _, err := tx.Exec(ctx, `DELETE FROM alert_policies WHERE coalesce(tenant_id, 0) = $1`, p.TenantID); err != nil {
				return err
			}
		} else if _, err := tx.Exec(ctx, `
			INSERT INTO alert_policies (tenant_id, thresholds, recipients, updated_by) VALUES ($1, $2, $3, $4)
			ON CONFLICT (coalesce(tenant_id, 0)) DO UPDATE SET thresholds = EXCLUDED.thresholds, recipients = EXCLUDED.recipients,
			    updated_by = EXCLUDED.updated_by, updated_at = now()`, tenant, p.Thresholds, p.Recipients, p.UpdatedBy); err != nil {
			return err
		}
		audit.Target = "portal-wide"
		if tenant != nil {
			var tid, name string
			if err := tx.QueryRow(ctx, `SELECT entra_tenant_id::text, display_name FROM tenants WHERE id = $1`, p.TenantID).Scan(&tid, &name); err != nil {
				return err
			}
			audit.TenantID, audit.Target = &tid, name
		}
		if audit.Details == nil {
			audit.Details = map[string]string{}
		}
		audit.Details["thresholds"], audit.Details["recipients"] = fmt.Sprint(p.Thresholds), fmt.Sprint(p.Recipients)
		return recordAudit(ctx, tx, audit)
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23503" {
		return fmt.Errorf("store: set alert policy: %w", ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: set alert policy: %w", mapErr(err))
	}
	return nil
}
