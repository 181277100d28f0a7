package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Rotation states.
const (
	RotSignIn   = "signin"
	RotReview   = "review"
	RotApplying = "applying" // adding the new secret (or interrupted while doing so)
	RotOverlap  = "overlap"  // both secrets live; waiting for the admin's confirmation
	RotRemoving = "removing" // removing the old secret (or interrupted)
	RotDone     = "done"
	RotFailed   = "failed"
)

// Rotation is a client secret rotation. It never holds a secret value.
type Rotation struct {
	ID            string     `db:"id"`
	TenantID      string     `db:"tenant_id"`
	TenantName    string     `db:"tenant_name"`
	AppObjectID   string     `db:"app_object_id"`
	ClientID      string     `db:"client_id"`
	AppName       string     `db:"app_name"`
	OldKeyID      string     `db:"old_key_id"`
	OldName       string     `db:"old_name"`
	OldEnd        *time.Time `db:"old_end"`
	NewName       string     `db:"new_name"`
	NewKeyID      string     `db:"new_key_id"`
	NewHint       string     `db:"new_hint"`
	NewEnd        *time.Time `db:"new_end"`
	State         string     `db:"state"`
	Preflight     string     `db:"preflight"`
	Error         string     `db:"error"`
	Attempts      int        `db:"attempts"`
	CreatedByName string     `db:"created_by_name"`
	CreatedAt     time.Time  `db:"created_at"`
	DoneAt        *time.Time `db:"done_at"`
	RemoveAfter   *time.Time `db:"remove_after"`
	// InventoryTenant is the inventory's tenant row of the rotated secret
	// (nil if it is gone): a finished rotation queues its scan.
	InventoryTenant *int64 `db:"inventory_tenant"`
}

const rotationColumns = `id::text, tenant_id::text, tenant_name, app_object_id, client_id, app_name, old_key_id, old_name, old_end,
	new_name, new_key_id, new_hint, new_end, state, coalesce(preflight::text, '') AS preflight, error, attempts, created_by_name, created_at, done_at, remove_after,
	(SELECT c.tenant_id FROM credentials c WHERE c.id = rotations.credential_id) AS inventory_tenant`

// GetCredential returns one live credential of the inventory with its tenant's name.
func (s *Store) GetCredential(ctx context.Context, id int64) (Credential, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, credentialSelect+` WHERE c.id = $1 AND c.removed_at IS NULL`, id)
	if err != nil {
		return Credential{}, fmt.Errorf("store: get credential: %w", err)
	}
	c, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Credential])
	if err != nil {
		return Credential{}, fmt.Errorf("store: get credential: %w", mapErr(err))
	}
	return c, nil
}

// CreateRotation records a rotation with its audit row.
func (s *Store) CreateRotation(ctx context.Context, r Rotation, credentialID int64, createdByOID string, audit AuditEvent) (Rotation, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var out Rotation
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var oid *string
		if createdByOID != "" {
			oid = &createdByOID
		}
		var cred *int64 // 0: not from the inventory
		if credentialID != 0 {
			cred = &credentialID
		}
		rows, err := tx.Query(ctx, `INSERT INTO rotations (id, tenant_id, tenant_name, credential_id, app_object_id, client_id, app_name,
				old_key_id, old_name, old_end, new_name, created_by_oid, created_by_name)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING `+rotationColumns,
			r.ID, r.TenantID, r.TenantName, cred, r.AppObjectID, r.ClientID, r.AppName, r.OldKeyID, r.OldName, r.OldEnd, r.NewName, oid, r.CreatedByName)
		if err != nil {
			return err
		}
		if out, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Rotation]); err != nil {
			return err
		}
		audit.TenantID = &out.TenantID
		return recordAudit(ctx, tx, audit)
	})
	if err != nil {
		return Rotation{}, fmt.Errorf("store: create rotation: %w", mapErr(err))
	}
	return out, nil
}

// GetRotation returns a rotation, or ErrNotFound.
func (s *Store) GetRotation(ctx context.Context, id string) (Rotation, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+rotationColumns+` FROM rotations WHERE id = $1`, id)
	if err != nil {
		return Rotation{}, fmt.Errorf("store: get rotation: %w", err)
	}
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Rotation])
	if err != nil {
		return Rotation{}, fmt.Errorf("store: get rotation: %w", mapErr(err))
	}
	return r, nil
}

// SetRotationPreflight stores what pre-flight found and moves to review.
func (s *Store) SetRotationPreflight(ctx context.Context, id string, preflight any) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	b, err := json.Marshal(preflight)
	if err != nil {
		return fmt.Errorf("store: set rotation preflight: %w", err)
	}
	_, err = s.pool.Exec(ctx, `UPDATE rotations SET preflight = $2, error = '', updated_at = now(),
		state = CASE WHEN state IN ('signin', 'review') THEN 'review' ELSE state END WHERE id = $1`, id, b)
	if err != nil {
		return fmt.Errorf("store: set rotation preflight: %w", err)
	}
	return nil
}

// SetRotationError records a message for the rotation's page (state unchanged unless state is set).
func (s *Store) SetRotationError(ctx context.Context, id, state, msg string) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, `UPDATE rotations SET error = $3, state = CASE WHEN $2 = '' THEN state ELSE $2 END, lease_until = NULL, updated_at = now() WHERE id = $1`, id, state, msg)
	if err != nil {
		return fmt.Errorf("store: set rotation error: %w", err)
	}
	return nil
}

// BeginRotationStep records, before the Graph call, that the rotation is
// adding its secret (from review, failed or an interrupted applying) or
// removing the old one (from overlap or an interrupted removing). It holds a
// short lease so two requests never do it at once (ErrLeaseHeld), and
// returns the rotation with the attempt counted.
func (s *Store) BeginRotationStep(ctx context.Context, id string, from []string, to string, lease time.Duration) (Rotation, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `UPDATE rotations SET state = $3, attempts = attempts + 1, lease_until = now() + $4::interval, updated_at = now()
		WHERE id = $1 AND state = ANY($2) AND (lease_until IS NULL OR lease_until < now()) RETURNING `+rotationColumns, id, from, to, lease.String())
	if err != nil {
		return Rotation{}, fmt.Errorf("store: begin rotation step: %w", err)
	}
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Rotation])
	if errors.Is(err, pgx.ErrNoRows) {
		return Rotation{}, ErrLeaseHeld
	}
	if err != nil {
		return Rotation{}, fmt.Errorf("store: begin rotation step: %w", err)
	}
	return r, nil
}

// RecordRotationSecret records the new secret's key ID (never its value) and
// moves to overlap, with the audit row.
func (s *Store) RecordRotationSecret(ctx context.Context, id, keyID, hint string, end time.Time, audit AuditEvent) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var tenant string
		if err := tx.QueryRow(ctx, `UPDATE rotations SET new_key_id = $2, new_hint = $3, new_end = $4, state = 'overlap', error = '', lease_until = NULL, updated_at = now()
			WHERE id = $1 RETURNING tenant_id::text`, id, keyID, hint, end).Scan(&tenant); err != nil {
			return err
		}
		audit.TenantID = &tenant
		return recordAudit(ctx, tx, audit)
	})
	if err != nil {
		return fmt.Errorf("store: record rotation secret: %w", mapErr(err))
	}
	return nil
}

// FinishRotation records that the old secret is gone, with the audit row.
func (s *Store) FinishRotation(ctx context.Context, id string, audit AuditEvent) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var tenant string
		if err := tx.QueryRow(ctx, `UPDATE rotations SET state = 'done', done_at = now(), error = '', lease_until = NULL, updated_at = now()
			WHERE id = $1 RETURNING tenant_id::text`, id).Scan(&tenant); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM rotation_tokens WHERE rotation_id = $1`, id); err != nil {
			return err
		}
		audit.TenantID = &tenant
		return recordAudit(ctx, tx, audit)
	})
	if err != nil {
		return fmt.Errorf("store: finish rotation: %w", mapErr(err))
	}
	return nil
}

// SaveRotationToken keeps a rotation's sealed delegated token, and its sealed
// refresh token if there is one (for a scheduled removal).
func (s *Store) SaveRotationToken(ctx context.Context, id string, sealed, sealedRefresh []byte, userName string, expires time.Time) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, `INSERT INTO rotation_tokens (rotation_id, sealed, sealed_refresh, user_name, expires_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (rotation_id) DO UPDATE SET sealed = EXCLUDED.sealed, sealed_refresh = coalesce(EXCLUDED.sealed_refresh, rotation_tokens.sealed_refresh),
			user_name = EXCLUDED.user_name, expires_at = EXCLUDED.expires_at`,
		id, sealed, sealedRefresh, userName, expires)
	if err != nil {
		return fmt.Errorf("store: save rotation token: %w", mapErr(err))
	}
	return nil
}

// RotationToken returns a rotation's unexpired sealed token, or ErrNotFound.
func (s *Store) RotationToken(ctx context.Context, id string) ([]byte, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var sealed []byte
	err := s.pool.QueryRow(ctx, `SELECT sealed FROM rotation_tokens WHERE rotation_id = $1 AND expires_at > now()`, id).Scan(&sealed)
	if err != nil {
		return nil, fmt.Errorf("store: rotation token: %w", mapErr(err))
	}
	return sealed, nil
}

// OpenRotations maps the key IDs of credentials with a rotation under way
// (not done) to the rotation, for the dashboard.
func (s *Store) OpenRotations(ctx context.Context) (map[string]Rotation, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+rotationColumns+` FROM rotations WHERE state <> 'done' ORDER BY created_at`)
	if err != nil {
		return nil, fmt.Errorf("store: open rotations: %w", err)
	}
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[Rotation])
	if err != nil {
		return nil, fmt.Errorf("store: open rotations: %w", err)
	}
	out := map[string]Rotation{}
	for _, r := range rs {
		out[strings.ToLower(r.OldKeyID)] = r
	}
	return out, nil
}

// RotationRefreshToken returns a rotation's sealed refresh token, or ErrNotFound.
func (s *Store) RotationRefreshToken(ctx context.Context, id string) ([]byte, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var sealed []byte
	err := s.pool.QueryRow(ctx, `SELECT sealed_refresh FROM rotation_tokens WHERE rotation_id = $1 AND sealed_refresh IS NOT NULL`, id).Scan(&sealed)
	if err != nil {
		return nil, fmt.Errorf("store: rotation refresh token: %w", mapErr(err))
	}
	return sealed, nil
}

// ScheduleRotationRemoval sets the date the old secret goes, with the audit row.
func (s *Store) ScheduleRotationRemoval(ctx context.Context, id string, at time.Time, audit AuditEvent) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var tenant string
		if err := tx.QueryRow(ctx, `UPDATE rotations SET remove_after = $2, error = '', updated_at = now() WHERE id = $1 AND state IN ('overlap', 'removing')
			RETURNING tenant_id::text`, id, at).Scan(&tenant); err != nil {
			return err
		}
		audit.TenantID = &tenant
		return recordAudit(ctx, tx, audit)
	})
	if err != nil {
		return fmt.Errorf("store: schedule rotation removal: %w", mapErr(err))
	}
	return nil
}

// DueRotations returns rotations whose old secret is due for removal at now.
func (s *Store) DueRotations(ctx context.Context, now time.Time) ([]Rotation, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+rotationColumns+` FROM rotations WHERE state IN ('overlap', 'removing') AND remove_after <= $1
		AND (lease_until IS NULL OR lease_until < now()) ORDER BY remove_after LIMIT 100`, now)
	if err != nil {
		return nil, fmt.Errorf("store: due rotations: %w", err)
	}
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[Rotation])
	if err != nil {
		return nil, fmt.Errorf("store: due rotations: %w", err)
	}
	return rs, nil
}

// RotationsToRemind returns rotations whose scheduled removal is within a
// day of now and whose reminder has not gone out, with the tenant's contacts.
func (s *Store) RotationsToRemind(ctx context.Context, now time.Time) ([]Rotation, map[string][]string, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+rotationColumns+` FROM rotations WHERE state IN ('overlap', 'removing') AND reminded_at IS NULL
		AND remove_after > $1 AND remove_after <= $1::timestamptz + interval '1 day' ORDER BY remove_after LIMIT 100`, now)
	if err != nil {
		return nil, nil, fmt.Errorf("store: rotations to remind: %w", err)
	}
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[Rotation])
	if err != nil {
		return nil, nil, fmt.Errorf("store: rotations to remind: %w", err)
	}
	contacts := map[string][]string{}
	for _, r := range rs {
		var c []string
		if err := s.pool.QueryRow(ctx, `SELECT contacts FROM tenants WHERE entra_tenant_id = $1`, r.TenantID).Scan(&c); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return nil, nil, fmt.Errorf("store: rotations to remind: %w", err)
		}
		contacts[r.TenantID] = c
	}
	return rs, contacts, nil
}

// MarkReminded records that a rotation's reminder went out.
func (s *Store) MarkReminded(ctx context.Context, id string) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	if _, err := s.pool.Exec(ctx, `UPDATE rotations SET reminded_at = now() WHERE id = $1`, id); err != nil {
		return fmt.Errorf("store: mark reminded: %w", err)
	}
	return nil
}
