package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// Tenant is an Entra ID tenant the portal manages.
type Tenant struct {
	ID            int64      `db:"id"`
	EntraTenantID string     `db:"entra_tenant_id"`
	DisplayName   string     `db:"display_name"`
	DefaultDomain string     `db:"default_domain"`
	Status        string     `db:"status"`
	Contacts      []string   `db:"contacts"`
	CreatedAt     time.Time  `db:"created_at"`
	UpdatedAt     time.Time  `db:"updated_at"`
	LastScanAt    *time.Time `db:"last_scan_at"`
	// LastScanError says why the latest scan failed: a line of
	// internal/problem (a message ID and its arguments), or plain words
	// stored before problems were messages.
	LastScanError string `db:"last_scan_error"`
	// ScanProblems are what the latest scan (or the consent check) could
	// not record or found wrong, one per line, as LastScanError; the rest of
	// the scan stands.
	ScanProblems string `db:"scan_problems"`
	// Language is the language of alert e-mail to the tenant's contacts:
	// "en" or "nl" (the column's CHECK constraint).
	Language string `db:"language"`
}

const tenantColumns = `id, entra_tenant_id::text, display_name, default_domain, status, contacts, created_at, updated_at, last_scan_at, last_scan_error, scan_problems, language`

// GetTenant returns one tenant by its portal ID, or ErrNotFound.
func (s *Store) GetTenant(ctx context.Context, id int64) (Tenant, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, id)
	if err != nil {
		return Tenant{}, fmt.Errorf("store: get tenant: %w", err)
	}
	t, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Tenant])
	if err != nil {
		return Tenant{}, fmt.Errorf("store: get tenant: %w", mapErr(err))
	}
	return t, nil
}

// TenantByEntraID returns the connected or pending tenant with that
// directory ID, or ErrNotFound.
func (s *Store) TenantByEntraID(ctx context.Context, entraTenantID string) (Tenant, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE entra_tenant_id::text = lower($1)`, entraTenantID)
	if err != nil {
		return Tenant{}, fmt.Errorf("store: tenant by entra id: %w", err)
	}
	t, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Tenant])
	if err != nil {
		return Tenant{}, fmt.Errorf("store: tenant by entra id: %w", mapErr(err))
	}
	return t, nil
}

// ListTenants returns every tenant, by name.
func (s *Store) ListTenants(ctx context.Context) ([]Tenant, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+tenantColumns+` FROM tenants ORDER BY lower(display_name), id`)
	if err != nil {
		return nil, fmt.Errorf("store: list tenants: %w", err)
	}
	ts, err := pgx.CollectRows(rows, pgx.RowToStructByName[Tenant])
	if err != nil {
		return nil, fmt.Errorf("store: list tenants: %w", err)
	}
	return ts, nil
}

// CreateTenant inserts a tenant and its audit row in one transaction.
func (s *Store) CreateTenant(ctx context.Context, t Tenant, audit AuditEvent) (Tenant, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	if t.Status == "" {
		t.Status = "pending"
	}
	if t.Contacts == nil {
		t.Contacts = []string{}
	}
	var out Tenant
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			INSERT INTO tenants (entra_tenant_id, display_name, default_domain, status, contacts)
			VALUES ($1, $2, $3, $4, $5) RETURNING `+tenantColumns,
			t.EntraTenantID, t.DisplayName, t.DefaultDomain, t.Status, t.Contacts)
		if err != nil {
			return err
		}
		out, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Tenant])
		if err != nil {
			return err
		}
		tid := out.EntraTenantID
		audit.TenantID = &tid
		if audit.Target == "" {
			audit.Target = out.DisplayName
		}
		return recordAudit(ctx, tx, audit)
	})
	if err != nil {
		return Tenant{}, fmt.Errorf("store: create tenant: %w", mapErr(err))
	}
	return out, nil
}

// SetTenantContacts replaces the e-mail addresses that get this tenant's
// alerts, with the audit row.
func (s *Store) SetTenantContacts(ctx context.Context, id int64, contacts []string, audit AuditEvent) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	if contacts == nil {
		contacts = []string{}
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var tid, name string
		err := tx.QueryRow(ctx, `UPDATE tenants SET contacts = $2, updated_at = now() WHERE id = $1 RETURNING entra_tenant_id::text, display_name`,
			id, contacts).Scan(&tid, &name)
		if err != nil {
			return err
		}
		audit.TenantID, audit.Target = &tid, name
		return recordAudit(ctx, tx, audit)
	})
	if err != nil {
		return fmt.Errorf("store: set tenant contacts: %w", mapErr(err))
	}
	return nil
}

// SetTenantLanguage sets the language of the tenant's alert e-mail ("en" or
// "nl"; the column's CHECK refuses anything else), with the audit row.
// ErrNotFound when there is no such tenant.
func (s *Store) SetTenantLanguage(ctx context.Context, id int64, language string, audit AuditEvent) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var tid, name string
		err := tx.QueryRow(ctx, `UPDATE tenants SET language = $2, updated_at = now() WHERE id = $1 RETURNING entra_tenant_id::text, display_name`,
			id, language).Scan(&tid, &name)
		if err != nil {
			return err
		}
		audit.TenantID, audit.Target = &tid, name
		return recordAudit(ctx, tx, audit)
	})
	if err != nil {
		return fmt.Errorf("store: set tenant language: %w", mapErr(err))
	}
	return nil
}

// TenantCounts counts tenants by status, for /metrics.
func (s *Store) TenantCounts(ctx context.Context) (map[string]int, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT status, count(*)::int FROM tenants GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("store: tenant counts: %w", err)
	}
	out := map[string]int{}
	var (
		status string
		n      int
	)
	if _, err := pgx.ForEachRow(rows, []any{&status, &n}, func() error { out[status] = n; return nil }); err != nil {
		return nil, fmt.Errorf("store: tenant counts: %w", err)
	}
	return out, nil
}

// TenantChoice is a tenant as a filter offers it.
type TenantChoice struct {
	ID          int64  `db:"id"`
	DisplayName string `db:"display_name"`
}

// TenantChoices lists every tenant's ID and name, by name, for the
// dashboard's filter: two columns, not the whole tenant.
func (s *Store) TenantChoices(ctx context.Context) ([]TenantChoice, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT id, display_name FROM tenants ORDER BY lower(display_name), id`)
	if err != nil {
		return nil, fmt.Errorf("store: tenant choices: %w", err)
	}
	var out []TenantChoice
	var c TenantChoice
	if _, err := pgx.ForEachRow(rows, []any{&c.ID, &c.DisplayName}, func() error { out = append(out, c); return nil }); err != nil {
		return nil, fmt.Errorf("store: tenant choices: %w", err)
	}
	return out, nil
}

// TenantsVersion returns the number of tenants and a version that changes
// with every change to them (a trigger keeps both in one row, in the
// changing transaction), so a reader can tell whether what it derived from
// TenantChoices is still current by reading one row.
func (s *Store) TenantsVersion(ctx context.Context) (count int, version string, err error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var v int64
	if err = s.pool.QueryRow(ctx, `SELECT tenants, version FROM tenants_version`).Scan(&count, &v); err != nil {
		return 0, "", fmt.Errorf("store: tenants version: %w", err)
	}
	return count, strconv.FormatInt(v, 10), nil
}
