package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Alert silence scopes and kinds (alert_silences).
const (
	SilenceTenant      = "tenant"
	SilenceApplication = "application"
	SilenceCredential  = "credential"

	SilenceExclude     = "exclude"     // until lifted
	SilenceAcknowledge = "acknowledge" // a credential, until it expires: the alert on expiry still goes out
	SilenceSnooze      = "snooze"      // a credential, until a date
)

// AlertSilence keeps a tenant's, an application's or a credential's alerts
// quiet: excluded until lifted, or acknowledged or snoozed until a date.
type AlertSilence struct {
	ID           int64      `db:"id"`
	TenantID     int64      `db:"tenant_id"`
	Scope        string     `db:"scope"`
	OwnerAppID   string     `db:"owner_app_id"` // the application's client ID, for SilenceApplication
	CredentialID *int64     `db:"credential_id"`
	Kind         string     `db:"kind"`
	Until        *time.Time `db:"until"` // nil: until lifted
	Reason       string     `db:"reason"`
	CreatedBy    string     `db:"created_by"`
	CreatedAt    time.Time  `db:"created_at"`
}

// Active reports whether the silence keeps alerts quiet at now.
func (s AlertSilence) Active(now time.Time) bool { return s.Until == nil || s.Until.After(now) }

// silencedSQL is true when credential c's alerts are silenced at the
// timestamptz parameter now (e.g. "$1"): its tenant or application
// excluded, or the credential itself excluded, acknowledged or snoozed.
func silencedSQL(now string) string {
	return `EXISTS (SELECT 1 FROM alert_silences s WHERE s.tenant_id = c.tenant_id AND (s.until IS NULL OR s.until > ` + now + `)
		AND (s.scope = 'tenant' OR (s.scope = 'application' AND s.owner_app_id = c.owner_app_id) OR (s.scope = 'credential' AND s.credential_id = c.id)))`
}

// silenceColumns are what an AlertSilence is read from.
const silenceColumns = `id, tenant_id, scope, owner_app_id, credential_id, kind, until, reason, created_by, created_at`

// supersededSQL is true when credential c was rotated: a newer live
// credential of the same kind on the same application or service principal
// lasts longer. Its alerts resolve by themselves.
const supersededSQL = `EXISTS (SELECT 1 FROM credentials n WHERE n.tenant_id = c.tenant_id AND n.owner_object_id = c.owner_object_id
		AND n.removed_at IS NULL AND n.kind = c.kind AND n.id <> c.id AND n.ends_at > c.ends_at
		AND coalesce(n.starts_at, n.first_seen_at) > coalesce(c.starts_at, c.first_seen_at))`

// SetAlertSilence records a silence, replacing the one on the same target,
// with its audit event in the same transaction.
func (s *Store) SetAlertSilence(ctx context.Context, sl AlertSilence, audit AuditEvent) (AlertSilence, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			INSERT INTO alert_silences (tenant_id, scope, owner_app_id, credential_id, kind, until, reason, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (tenant_id, scope, owner_app_id, coalesce(credential_id, 0)) DO UPDATE
			SET kind = EXCLUDED.kind, until = EXCLUDED.until, reason = EXCLUDED.reason, created_by = EXCLUDED.created_by, created_at = now()
			RETURNING `+silenceColumns,
			sl.TenantID, sl.Scope, sl.OwnerAppID, sl.CredentialID, sl.Kind, sl.Until, sl.Reason, sl.CreatedBy)
		if err != nil {
			return err
		}
		if sl, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[AlertSilence]); err != nil {
			return err
		}
		if err := silenceAudit(ctx, tx, sl, &audit); err != nil {
			return err
		}
		return recordAudit(ctx, tx, audit)
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23503" { // the tenant or credential is gone
		return AlertSilence{}, fmt.Errorf("store: set alert silence: %w", ErrNotFound)
	}
	if err != nil {
		return AlertSilence{}, fmt.Errorf("store: set alert silence: %w", mapErr(err))
	}
	return sl, nil
}

// LiftAlertSilence ends a silence now, with its audit event.
func (s *Store) LiftAlertSilence(ctx context.Context, id int64, audit AuditEvent) (AlertSilence, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var sl AlertSilence
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `DELETE FROM alert_silences WHERE id = $1
			RETURNING `+silenceColumns, id)
		if err != nil {
			return err
		}
		if sl, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[AlertSilence]); err != nil {
			return err
		}
		if err := silenceAudit(ctx, tx, sl, &audit); err != nil {
			return err
		}
		return recordAudit(ctx, tx, audit)
	})
	if err != nil {
		return AlertSilence{}, fmt.Errorf("store: lift alert silence: %w", mapErr(err))
	}
	return sl, nil
}

// silenceAudit fills in what the audit event is about: the tenant, and the
// application or credential (by key ID, so it shows in its history).
func silenceAudit(ctx context.Context, tx pgx.Tx, sl AlertSilence, audit *AuditEvent) error {
	var tid, name string
	if err := tx.QueryRow(ctx, `SELECT entra_tenant_id::text, display_name FROM tenants WHERE id = $1`, sl.TenantID).Scan(&tid, &name); err != nil {
		return err
	}
	audit.TenantID, audit.Target = &tid, name
	if audit.Details == nil {
		audit.Details = map[string]string{}
	}
	audit.Details["scope"], audit.Details["kind"], audit.Details["reason"] = sl.Scope, sl.Kind, sl.Reason
	if sl.Until != nil {
		audit.Details["until"] = sl.Until.UTC().Format(time.RFC3339)
	}
	switch sl.Scope {
	case SilenceApplication:
		audit.Details["app_id"] = sl.OwnerAppID
	case SilenceCredential:
		var keyID, owner string
		if err := tx.QueryRow(ctx, `SELECT key_id::text, owner_name FROM credentials WHERE id = $1`, *sl.CredentialID).Scan(&keyID, &owner); err != nil {
			return err
		}
		audit.Details["key_id"], audit.Details["credential_id"] = keyID, strconv.FormatInt(*sl.CredentialID, 10)
		audit.Target = name + " · " + owner
	}
	return nil
}

// SilencesForCredential returns the silences that apply to a credential:
// its tenant's, its application's and its own, in that order.
func (s *Store) SilencesForCredential(ctx context.Context, credentialID int64) ([]AlertSilence, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `
		SELECT s.id, s.tenant_id, s.scope, s.owner_app_id, s.credential_id, s.kind, s.until, s.reason, s.created_by, s.created_at
		FROM credentials c JOIN alert_silences s ON s.tenant_id = c.tenant_id
		  AND (s.scope = 'tenant' OR (s.scope = 'application' AND s.owner_app_id = c.owner_app_id) OR (s.scope = 'credential' AND s.credential_id = c.id))
		WHERE c.id = $1
		ORDER BY array_position(ARRAY['tenant', 'application', 'credential'], s.scope)`, credentialID)
	if err != nil {
		return nil, fmt.Errorf("store: silences for credential: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[AlertSilence])
	if err != nil {
		return nil, fmt.Errorf("store: silences for credential: %w", err)
	}
	return out, nil
}

// TenantExclusions returns each excluded tenant's silence, by tenant ID.
func (s *Store) TenantExclusions(ctx context.Context) (map[int64]AlertSilence, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+silenceColumns+`
		FROM alert_silences WHERE scope = 'tenant'`)
	if err != nil {
		return nil, fmt.Errorf("store: tenant exclusions: %w", err)
	}
	all, err := pgx.CollectRows(rows, pgx.RowToStructByName[AlertSilence])
	if err != nil {
		return nil, fmt.Errorf("store: tenant exclusions: %w", err)
	}
	out := make(map[int64]AlertSilence, len(all))
	for _, sl := range all {
		out[sl.TenantID] = sl
	}
	return out, nil
}

// AlertRunPrep is what PrepareAlertRun changed.
type AlertRunPrep struct {
	Resolved, Held, Released int
}

// PrepareAlertRun brings open deliveries up to date before a run queues
// and sends: those about a removed or rotated credential resolve; those
// about a silenced credential are held; held ones whose silence ended
// (a snooze ran out, an exclusion was lifted) are open again.
func (s *Store) PrepareAlertRun(ctx context.Context, now time.Time) (AlertRunPrep, error) {
	ctx, cancel := context.WithTimeout(ctx, 12*s.timeout)
	defer cancel()
	var p AlertRunPrep
	err := s.pool.QueryRow(ctx, `
		WITH resolved AS (
		    UPDATE alert_deliveries a SET status = 'resolved' FROM credentials c
		    WHERE c.id = a.credential_id AND a.status IN ('pending', 'failed', 'held')
		      AND (c.removed_at IS NOT NULL OR `+supersededSQL+`)
		    RETURNING a.id),
		held AS (
		    UPDATE alert_deliveries a SET status = 'held' FROM credentials c
		    WHERE c.id = a.credential_id AND a.status IN ('pending', 'failed') AND c.removed_at IS NULL AND `+silencedSQL("$1")+`
		      AND a.id NOT IN (SELECT id FROM resolved)
		    RETURNING a.id),
		released AS (
		    UPDATE alert_deliveries a SET status = 'pending' FROM credentials c
		    WHERE c.id = a.credential_id AND a.status = 'held' AND c.removed_at IS NULL AND NOT `+silencedSQL("$1")+`
		      AND a.id NOT IN (SELECT id FROM resolved)
		    RETURNING a.id)
		SELECT (SELECT count(*) FROM resolved), (SELECT count(*) FROM held), (SELECT count(*) FROM released)`, now).Scan(&p.Resolved, &p.Held, &p.Released)
	if err != nil {
		return p, fmt.Errorf("store: prepare alert run: %w", err)
	}
	return p, nil
}
