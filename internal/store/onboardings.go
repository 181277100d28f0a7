package store

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appreg-portal/portal/internal/trunc"
)

// Onboarding is an admin consent link sent to a customer.
type Onboarding struct {
	ID             int64      `db:"id"`
	StateHash      []byte     `db:"state_hash"`
	Label          string     `db:"label"`
	ExpectedTenant string     `db:"expected_tenant"`
	CreatedByName  string     `db:"created_by_name"`
	CreatedAt      time.Time  `db:"created_at"`
	ExpiresAt      time.Time  `db:"expires_at"`
	CompletedAt    *time.Time `db:"completed_at"`
	Outcome        *string    `db:"outcome"`
	OutcomeDetail  string     `db:"outcome_detail"`
}

const onboardingColumns = `id, state_hash, label, expected_tenant, created_by_name, created_at, expires_at, completed_at, outcome, outcome_detail`

// CreateOnboarding records a consent link (its state's hash) before the link
// is shown, with the audit row.
func (s *Store) CreateOnboarding(ctx context.Context, o Onboarding, audit AuditEvent) (Onboarding, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var out Onboarding
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			INSERT INTO tenant_onboardings (state_hash, label, expected_tenant, created_by_oid, created_by_name, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+onboardingColumns,
			o.StateHash, o.Label, o.ExpectedTenant, audit.ActorOID, audit.ActorName, o.ExpiresAt)
		if err != nil {
			return err
		}
		if out, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Onboarding]); err != nil {
			return err
		}
		audit.Details = mergeDetails(audit.Details, map[string]string{"onboarding_id": fmt.Sprint(out.ID)})
		return recordAudit(ctx, tx, audit)
	})
	if err != nil {
		return Onboarding{}, fmt.Errorf("store: create onboarding: %w", mapErr(err))
	}
	return out, nil
}

// PendingOnboarding finds the open, unexpired link with this state hash;
// anything else is ErrNotFound.
func (s *Store) PendingOnboarding(ctx context.Context, stateHash []byte) (Onboarding, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+onboardingColumns+` FROM tenant_onboardings
		WHERE state_hash = $1 AND completed_at IS NULL AND expires_at > now()`, stateHash)
	if err != nil {
		return Onboarding{}, fmt.Errorf("store: pending onboarding: %w", err)
	}
	o, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Onboarding])
	if err != nil {
		return Onboarding{}, fmt.Errorf("store: pending onboarding: %w", mapErr(err))
	}
	return o, nil
}

// OnboardingLookup is a consent link found by its state, in whatever state
// the link is, with the tenant it connected if it did.
type OnboardingLookup struct {
	Onboarding
	// ConnectedTenant and ConnectedTenantID name the tenant the link
	// connected; empty when it connected none (or that tenant was removed).
	ConnectedTenant   string `db:"connected_tenant"`
	ConnectedTenantID string `db:"connected_tenant_id"`
}

// Open reports whether the link can still connect a tenant at now.
func (o Onboarding) Open(now time.Time) bool {
	return o.CompletedAt == nil && o.ExpiresAt.After(now)
}

// OnboardingByState finds the link with this state hash whether it is open,
// closed or expired, so a callback for a link that ended can say how it
// ended; ErrNotFound means no link of this portal has that state.
func (s *Store) OnboardingByState(ctx context.Context, stateHash []byte) (OnboardingLookup, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT o.id, o.state_hash, o.label, o.expected_tenant, o.created_by_name, o.created_at, o.expires_at,
			o.completed_at, o.outcome, o.outcome_detail,
			coalesce(t.display_name, '') AS connected_tenant, coalesce(t.entra_tenant_id::text, '') AS connected_tenant_id
		FROM tenant_onboardings o LEFT JOIN tenants t ON t.id = o.tenant_id AND o.outcome = 'connected'
		WHERE o.state_hash = $1`, stateHash)
	if err != nil {
		return OnboardingLookup{}, fmt.Errorf("store: onboarding by state: %w", err)
	}
	o, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[OnboardingLookup])
	if err != nil {
		return OnboardingLookup{}, fmt.Errorf("store: onboarding by state: %w", mapErr(err))
	}
	return o, nil
}

// ListedOnboarding is a consent link on the Tenants page.
type ListedOnboarding struct {
	Onboarding
	// SupersededBy names a connected tenant that is the one this ended link
	// expected (by tenant ID, default domain, or as the expected tenant of
	// a link that connected it): the link needs no follow-up any more.
	SupersededBy string `db:"superseded_by"`
}

// ListOnboardings returns, newest first, the links still open and those
// that ended without connecting a tenant (declined, failed, withdrawn or
// expired) in the last 14 days, so the operator who sent one sees why.
func (s *Store) ListOnboardings(ctx context.Context) ([]ListedOnboarding, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT o.id, o.state_hash, o.label, o.expected_tenant, o.created_by_name, o.created_at, o.expires_at,
			o.completed_at, o.outcome, o.outcome_detail,
			coalesce((SELECT t.display_name FROM tenants t
				WHERE t.status = 'connected' AND o.expected_tenant <> '' AND (o.completed_at IS NOT NULL OR o.expires_at <= now())
				  AND (t.entra_tenant_id::text = o.expected_tenant OR lower(t.default_domain) = o.expected_tenant
				       OR EXISTS (SELECT 1 FROM tenant_onboardings c
				                  WHERE c.tenant_id = t.id AND c.outcome = 'connected' AND c.expected_tenant = o.expected_tenant))
				ORDER BY t.id LIMIT 1), '') AS superseded_by
		FROM tenant_onboardings o
		WHERE (o.completed_at IS NULL AND o.expires_at > now() - interval '14 days')
		   OR (o.outcome IN ('declined', 'failed') AND o.completed_at > now() - interval '14 days')
		ORDER BY o.created_at DESC, o.id DESC LIMIT 100`)
	if err != nil {
		return nil, fmt.Errorf("store: list onboardings: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[ListedOnboarding])
	if err != nil {
		return nil, fmt.Errorf("store: list onboardings: %w", err)
	}
	return out, nil
}

// GetOnboarding returns one consent link by ID, or ErrNotFound.
func (s *Store) GetOnboarding(ctx context.Context, id int64) (Onboarding, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+onboardingColumns+` FROM tenant_onboardings WHERE id = $1`, id)
	if err != nil {
		return Onboarding{}, fmt.Errorf("store: get onboarding: %w", err)
	}
	o, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Onboarding])
	if err != nil {
		return Onboarding{}, fmt.Errorf("store: get onboarding: %w", mapErr(err))
	}
	return o, nil
}

// CompleteOnboarding connects the confirmed tenant (creating or updating
// it), closes the link and audits, all at once. A link that was completed
// meanwhile (a second click racing the first) is ErrConflict.
func (s *Store) CompleteOnboarding(ctx context.Context, id int64, t Tenant, audit AuditEvent) (Tenant, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var out Tenant
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			INSERT INTO tenants (entra_tenant_id, display_name, default_domain, status)
			VALUES ($1, $2, $3, 'connected')
			ON CONFLICT (entra_tenant_id) DO UPDATE
			SET display_name = EXCLUDED.display_name, default_domain = EXCLUDED.default_domain,
			    status = 'connected', updated_at = now()
			RETURNING `+tenantColumns, t.EntraTenantID, t.DisplayName, t.DefaultDomain)
		if err != nil {
			return err
		}
		if out, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Tenant]); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE tenant_onboardings SET completed_at = now(), outcome = 'connected', tenant_id = $2
			WHERE id = $1 AND completed_at IS NULL`, id, out.ID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("%w: the consent link was used already", ErrConflict)
		}
		tid := out.EntraTenantID
		audit.TenantID = &tid
		audit.Target = out.DisplayName
		audit.Details = mergeDetails(audit.Details, map[string]string{"onboarding_id": fmt.Sprint(id)})
		return recordAudit(ctx, tx, audit)
	})
	if err != nil {
		return Tenant{}, fmt.Errorf("store: complete onboarding: %w", mapErr(err))
	}
	return out, nil
}

// FailOnboarding closes a link that ended in a refusal ("declined" or
// "failed") so it cannot be retried, with the audit row.
func (s *Store) FailOnboarding(ctx context.Context, id int64, outcome, detail string, audit AuditEvent) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE tenant_onboardings SET completed_at = now(), outcome = $2, outcome_detail = $3
			WHERE id = $1 AND completed_at IS NULL`, id, outcome, trunc.String(detail, 500))
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("%w: the consent link was used already", ErrConflict)
		}
		audit.Details = mergeDetails(audit.Details, map[string]string{"onboarding_id": fmt.Sprint(id)})
		return recordAudit(ctx, tx, audit)
	})
	if err != nil {
		return fmt.Errorf("store: fail onboarding: %w", mapErr(err))
	}
	return nil
}

func mergeDetails(a, b map[string]string) map[string]string {
	out := make(map[string]string, len(a)+len(b))
	maps.Copy(out, a)
	maps.Copy(out, b)
	return out
}
