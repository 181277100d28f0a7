package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// CustomBlueprint is a blueprint an admin added, as its YAML source. The
// catalog package parses and validates it; the store keeps it.
type CustomBlueprint struct {
	ID            string    `db:"id"`
	Name          string    `db:"name"`
	Vendor        string    `db:"vendor"`
	Source        string    `db:"source"`
	CreatedByName string    `db:"created_by_name"`
	CreatedAt     time.Time `db:"created_at"`
}

const customBlueprintColumns = `id, name, vendor, source, created_by_name, created_at`

// CreateCustomBlueprint stores a validated blueprint with its audit row.
// An existing ID is ErrConflict.
func (s *Store) CreateCustomBlueprint(ctx context.Context, b CustomBlueprint, audit AuditEvent) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			INSERT INTO custom_blueprints (id, name, vendor, source, created_by_oid, created_by_name)
			VALUES ($1, $2, $3, $4, $5, $6)`, b.ID, b.Name, b.Vendor, b.Source, audit.ActorOID, audit.ActorName); err != nil {
			return err
		}
		return recordAudit(ctx, tx, audit)
	})
	if err != nil {
		return fmt.Errorf("store: create custom blueprint: %w", mapErr(err))
	}
	return nil
}

// ListCustomBlueprints returns every custom blueprint by name.
func (s *Store) ListCustomBlueprints(ctx context.Context) ([]CustomBlueprint, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+customBlueprintColumns+` FROM custom_blueprints ORDER BY lower(name), id`)
	if err != nil {
		return nil, fmt.Errorf("store: list custom blueprints: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[CustomBlueprint])
	if err != nil {
		return nil, fmt.Errorf("store: list custom blueprints: %w", err)
	}
	return out, nil
}

// GetCustomBlueprint returns one custom blueprint, or ErrNotFound.
func (s *Store) GetCustomBlueprint(ctx context.Context, id string) (CustomBlueprint, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+customBlueprintColumns+` FROM custom_blueprints WHERE id = $1`, id)
	if err != nil {
		return CustomBlueprint{}, fmt.Errorf("store: get custom blueprint: %w", err)
	}
	b, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[CustomBlueprint])
	if err != nil {
		return CustomBlueprint{}, fmt.Errorf("store: get custom blueprint: %w", mapErr(err))
	}
	return b, nil
}

// DeleteCustomBlueprint removes one with its audit row; a missing ID is ErrNotFound.
func (s *Store) DeleteCustomBlueprint(ctx context.Context, id string, audit AuditEvent) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var name string
		if err := tx.QueryRow(ctx, `DELETE FROM custom_blueprints WHERE id = $1 RETURNING name`, id).Scan(&name); err != nil {
			return err
		}
		audit.Target = name
		return recordAudit(ctx, tx, audit)
	})
	if err != nil {
		return fmt.Errorf("store: delete custom blueprint: %w", mapErr(err))
	}
	return nil
}
