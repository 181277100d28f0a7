package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrShareGone: the share link was viewed, revoked or has expired.
var ErrShareGone = errors.New("store: share link already used, revoked or expired")

// ShareLink is a one-time link that hands a secret to the customer.
type ShareLink struct {
	ID string `db:"id"`
	// RunID or RotationID: what made the secret (exactly one is set).
	RunID      string     `db:"run_id"`
	RotationID string     `db:"rotation_id"`
	Label      string     `db:"label"`
	CreatedBy  string     `db:"created_by"`
	CreatedAt  time.Time  `db:"created_at"`
	ExpiresAt  time.Time  `db:"expires_at"`
	ViewedAt   *time.Time `db:"viewed_at"`
	RevokedAt  *time.Time `db:"revoked_at"`
	TenantID   string     `db:"tenant_id"`
}

const shareColumns = `s.id::text, coalesce(s.run_id::text, '') AS run_id, coalesce(s.rotation_id::text, '') AS rotation_id, s.label, s.created_by,
	s.created_at, s.expires_at, s.viewed_at, s.revoked_at, coalesce(r.tenant_id, ro.tenant_id)::text AS tenant_id`

const shareFrom = ` FROM share_links s LEFT JOIN registration_runs r ON r.id = s.run_id LEFT JOIN rotations ro ON ro.id = s.rotation_id`

// shareTenant finds the tenant of what made the link's secret.
const shareTenant = `SELECT tenant_id::text FROM registration_runs WHERE id::text = $1 UNION ALL SELECT tenant_id::text FROM rotations WHERE id::text = $1`

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// CreateShareLink stores a sealed secret behind a token's hash, with the audit row.
func (s *Store) CreateShareLink(ctx context.Context, l ShareLink, tokenHash, sealed []byte, audit AuditEvent) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var tenant string
		if err := tx.QueryRow(ctx, shareTenant, l.RunID+l.RotationID).Scan(&tenant); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO share_links (id, run_id, rotation_id, token_hash, sealed, label, created_by, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, l.ID, nullable(l.RunID), nullable(l.RotationID), tokenHash, sealed, l.Label, l.CreatedBy, l.ExpiresAt); err != nil {
			return err
		}
		audit.TenantID = &tenant
		return recordAudit(ctx, tx, audit)
	})
	if err != nil {
		return fmt.Errorf("store: create share link: %w", mapErr(err))
	}
	return nil
}

// ShareLinkByToken returns a link by its token's hash, whatever its state,
// or ErrNotFound.
func (s *Store) ShareLinkByToken(ctx context.Context, tokenHash []byte) (ShareLink, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+shareColumns+shareFrom+` WHERE s.token_hash = $1`, tokenHash)
	if err != nil {
		return ShareLink{}, fmt.Errorf("store: share link: %w", err)
	}
	l, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[ShareLink])
	if err != nil {
		return ShareLink{}, fmt.Errorf("store: share link: %w", mapErr(err))
	}
	return l, nil
}

// ViewShareLink hands out the sealed secret exactly once: in one statement
// it marks the link viewed and wipes the value, so two clicks at the same
// moment cannot both get it. A used, revoked or expired link is ErrShareGone.
func (s *Store) ViewShareLink(ctx context.Context, tokenHash []byte, audit AuditEvent) (ShareLink, []byte, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var l ShareLink
	var sealed []byte
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `
			WITH old AS (SELECT id, sealed FROM share_links WHERE token_hash = $1 AND viewed_at IS NULL AND revoked_at IS NULL
				AND expires_at > now() AND sealed IS NOT NULL FOR UPDATE)
			UPDATE share_links s SET viewed_at = now(), sealed = NULL FROM old WHERE s.id = old.id
			RETURNING s.id::text, coalesce(s.run_id::text, ''), coalesce(s.rotation_id::text, ''), s.label, old.sealed`, tokenHash).Scan(&l.ID, &l.RunID, &l.RotationID, &l.Label, &sealed)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrShareGone
		}
		if err != nil {
			return err
		}
		var tenant string
		if err := tx.QueryRow(ctx, shareTenant, l.RunID+l.RotationID).Scan(&tenant); err != nil {
			return err
		}
		l.TenantID = tenant
		audit.TenantID = &tenant
		return recordAudit(ctx, tx, audit)
	})
	if errors.Is(err, ErrShareGone) {
		return ShareLink{}, nil, ErrShareGone
	}
	if err != nil {
		return ShareLink{}, nil, fmt.Errorf("store: view share link: %w", mapErr(err))
	}
	return l, sealed, nil
}

// RevokeShareLink ends an unused link of a run or rotation (owner) and wipes its value.
func (s *Store) RevokeShareLink(ctx context.Context, owner, id string, audit AuditEvent) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var tenant string
		err := tx.QueryRow(ctx, `UPDATE share_links s SET revoked_at = now(), sealed = NULL
			WHERE s.id = $1 AND (s.run_id::text = $2 OR s.rotation_id::text = $2) AND s.viewed_at IS NULL AND s.revoked_at IS NULL
			RETURNING (SELECT coalesce(r.tenant_id, ro.tenant_id)::text FROM share_links x LEFT JOIN registration_runs r ON r.id = x.run_id
				LEFT JOIN rotations ro ON ro.id = x.rotation_id WHERE x.id = s.id)`, id, owner).Scan(&tenant)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrShareGone
		}
		if err != nil {
			return err
		}
		audit.TenantID = &tenant
		return recordAudit(ctx, tx, audit)
	})
	if errors.Is(err, ErrShareGone) {
		return ErrShareGone
	}
	if err != nil {
		return fmt.Errorf("store: revoke share link: %w", mapErr(err))
	}
	return nil
}

// ShareLinks returns the links of a run or rotation (owner), newest first.
func (s *Store) ShareLinks(ctx context.Context, owner string) ([]ShareLink, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+shareColumns+shareFrom+`
		WHERE s.run_id::text = $1 OR s.rotation_id::text = $1 ORDER BY s.created_at DESC`, owner)
	if err != nil {
		return nil, fmt.Errorf("store: share links: %w", err)
	}
	ls, err := pgx.CollectRows(rows, pgx.RowToStructByName[ShareLink])
	if err != nil {
		return nil, fmt.Errorf("store: share links: %w", err)
	}
	return ls, nil
}

// WipeExpiredShareLinks removes the sealed value of links past their expiry.
func (s *Store) WipeExpiredShareLinks(ctx context.Context) (int64, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, `UPDATE share_links SET sealed = NULL WHERE sealed IS NOT NULL AND expires_at <= now()`)
	if err != nil {
		return 0, fmt.Errorf("store: wipe expired share links: %w", err)
	}
	return tag.RowsAffected(), nil
}
