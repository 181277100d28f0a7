package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrLeaseHeld: another request (or replica) is applying this run now.
var ErrLeaseHeld = errors.New("store: the run is being applied by another request")

// Run states.
const (
	RunSignIn    = "signin"   // waiting for the admin's delegated sign-in to the tenant
	RunReview    = "review"   // pre-flight done; nothing written yet
	RunApplying  = "applying" // steps under way (or interrupted: resumable)
	RunConsent   = "consent"  // applied; a Global Administrator must still consent
	RunDone      = "done"
	RunFailed    = "failed" // a step failed; retry resumes from it
	RunCancelled = "cancelled"
)

// Step statuses.
const (
	StepPending      = "pending"
	StepRunning      = "running" // recorded before the Graph call
	StepDone         = "done"
	StepFailed       = "failed"
	StepNeedsConsent = "needs_consent"
)

// RegistrationRun is one wizard run. It never holds a secret value or token.
type RegistrationRun struct {
	ID               string            `db:"id"`
	TenantID         string            `db:"tenant_id"`
	TenantName       string            `db:"tenant_name"`
	BlueprintID      string            `db:"blueprint_id"`
	DisplayName      string            `db:"display_name"`
	UniqueName       string            `db:"unique_name"`
	Params           map[string]string `db:"params"`
	Features         []string          `db:"features"`
	SecretMonths     int               `db:"secret_months"`
	ShareDays        int               `db:"share_days"`
	State            string            `db:"state"`
	Preflight        string            `db:"preflight"` // JSON, "" before pre-flight
	Error            string            `db:"error"`
	AppObjectID      string            `db:"app_object_id"`
	ClientID         string            `db:"client_id"`
	SPObjectID       string            `db:"sp_object_id"`
	SecretKeyID      string            `db:"secret_key_id"`
	SecretHint       string            `db:"secret_hint"`
	SecretEnd        *time.Time        `db:"secret_end"`
	SecretShownAt    *time.Time        `db:"secret_shown_at"`
	ConsentCheckedAt *time.Time        `db:"consent_checked_at"`
	CreatedByOID     *string           `db:"created_by_oid"`
	CreatedByName    string            `db:"created_by_name"`
	CreatedAt        time.Time         `db:"created_at"`
	UpdatedAt        time.Time         `db:"updated_at"`
}

const runColumns = `id::text, tenant_id::text, tenant_name, blueprint_id, display_name, unique_name, params, features, secret_months, share_days,
	state, coalesce(preflight::text, '') AS preflight, error, app_object_id, client_id, sp_object_id, secret_key_id, secret_hint,
	secret_end, secret_shown_at, consent_checked_at, created_by_oid::text, created_by_name, created_at, updated_at`

// RegistrationStep is one Graph write of a run.
type RegistrationStep struct {
	Position  int       `db:"position"`
	Kind      string    `db:"kind"`
	Key       string    `db:"key"`
	Label     string    `db:"label"`
	Status    string    `db:"status"`
	Attempts  int       `db:"attempts"`
	Result    string    `db:"result"`
	Error     string    `db:"error"`
	UpdatedAt time.Time `db:"updated_at"`
}

const stepColumns = `position, kind, key, label, status, attempts, result, error, updated_at`

// Registration is an application the portal registered in a tenant.
type Registration struct {
	ID               int64             `db:"id"`
	TenantID         string            `db:"tenant_id"`
	UniqueName       string            `db:"unique_name"`
	BlueprintID      string            `db:"blueprint_id"`
	DisplayName      string            `db:"display_name"`
	AppObjectID      string            `db:"app_object_id"`
	ClientID         string            `db:"client_id"`
	SPObjectID       string            `db:"sp_object_id"`
	Params           map[string]string `db:"params"`
	LastRunID        *string           `db:"last_run_id"`
	AppliedByName    string            `db:"applied_by_name"`
	AppliedAt        time.Time         `db:"applied_at"`
	ConsentState     string            `db:"consent_state"`
	ConsentCheckedAt *time.Time        `db:"consent_checked_at"`
	TenantName       string            `db:"tenant_name"`
	// LiveCredentials and NextCredentialEnd come from the inventory (scans
	// of the tenant), not from the wizard.
	LiveCredentials   int        `db:"live_credentials"`
	NextCredentialEnd *time.Time `db:"next_credential_end"`
}

const registrationColumns = `r.id, r.tenant_id::text, r.unique_name, r.blueprint_id, r.display_name, r.app_object_id, r.client_id, r.sp_object_id,
	r.params, r.last_run_id::text, r.applied_by_name, r.applied_at, r.consent_state, r.consent_checked_at,
	coalesce(t.display_name, '') AS tenant_name, coalesce(c.n, 0)::int AS live_credentials, c.next_end AS next_credential_end`

// registrationFrom joins a registration with its tenant and what the
// inventory knows of its credentials.
const registrationFrom = ` FROM registrations r LEFT JOIN tenants t ON t.entra_tenant_id = r.tenant_id
	LEFT JOIN LATERAL (SELECT count(*) AS n, min(cr.ends_at) AS next_end FROM credentials cr
		WHERE cr.tenant_id = t.id AND cr.owner_kind = 'application' AND lower(cr.owner_app_id) = lower(r.client_id) AND cr.removed_at IS NULL) c ON true`

// CreateRun inserts a new run with its audit row.
func (s *Store) CreateRun(ctx context.Context, r RegistrationRun, audit AuditEvent) (RegistrationRun, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	if r.Params == nil {
		r.Params = map[string]string{}
	}
	if r.Features == nil {
		r.Features = []string{}
	}
	if r.State == "" {
		r.State = RunSignIn
	}
	var out RegistrationRun
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			INSERT INTO registration_runs (id, tenant_id, tenant_name, blueprint_id, display_name, unique_name, params, features,
				secret_months, share_days, state, created_by_oid, created_by_name)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING `+runColumns,
			r.ID, r.TenantID, r.TenantName, r.BlueprintID, r.DisplayName, r.UniqueName, r.Params, r.Features,
			r.SecretMonths, r.ShareDays, r.State, r.CreatedByOID, r.CreatedByName)
		if err != nil {
			return err
		}
		if out, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[RegistrationRun]); err != nil {
			return err
		}
		audit.TenantID = &out.TenantID
		return recordAudit(ctx, tx, audit)
	})
	if err != nil {
		return RegistrationRun{}, fmt.Errorf("store: create run: %w", mapErr(err))
	}
	return out, nil
}

// GetRun returns a run by ID, or ErrNotFound.
func (s *Store) GetRun(ctx context.Context, id string) (RegistrationRun, error) {
	return s.oneRun(ctx, "get run", `id = $1`, id)
}

// RunByConsentState finds the run whose admin-consent link carried state
// (by its SHA-256), or ErrNotFound.
func (s *Store) RunByConsentState(ctx context.Context, stateHash []byte) (RegistrationRun, error) {
	return s.oneRun(ctx, "run by consent state", `consent_state_hash = $1`, stateHash)
}

func (s *Store) oneRun(ctx context.Context, op, where string, arg any) (RegistrationRun, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+runColumns+` FROM registration_runs WHERE `+where, arg)
	if err != nil {
		return RegistrationRun{}, fmt.Errorf("store: %s: %w", op, err)
	}
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[RegistrationRun])
	if err != nil {
		return RegistrationRun{}, fmt.Errorf("store: %s: %w", op, mapErr(err))
	}
	return r, nil
}

// ListRuns returns the latest runs (of one tenant if tenantID is not "").
func (s *Store) ListRuns(ctx context.Context, tenantID string, limit int) ([]RegistrationRun, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+runColumns+` FROM registration_runs
		WHERE ($1 = '' OR tenant_id::text = $1) ORDER BY created_at DESC, id LIMIT $2`, tenantID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list runs: %w", err)
	}
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[RegistrationRun])
	if err != nil {
		return nil, fmt.Errorf("store: list runs: %w", err)
	}
	return rs, nil
}

// SetPreflight stores the pre-flight's findings and moves the run to review.
func (s *Store) SetPreflight(ctx context.Context, id string, preflight any, secretMonths int) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	b, err := json.Marshal(preflight)
	if err != nil {
		return fmt.Errorf("store: set preflight: %w", err)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE registration_runs SET preflight = $2, secret_months = $3, error = '',
		state = CASE WHEN state IN ('signin', 'review') THEN 'review' ELSE state END, updated_at = now() WHERE id = $1`, id, b, secretMonths)
	if err != nil {
		return fmt.Errorf("store: set preflight: %w", mapErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store: set preflight: %w", ErrNotFound)
	}
	return nil
}

// SetRunState changes a run's state and error message, with an audit row
// when audit.Action is set.
func (s *Store) SetRunState(ctx context.Context, id, state, errMsg string, audit AuditEvent) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var tid string
		if err := tx.QueryRow(ctx, `UPDATE registration_runs SET state = $2, error = $3, updated_at = now() WHERE id = $1 RETURNING tenant_id::text`,
			id, state, errMsg).Scan(&tid); err != nil {
			return err
		}
		if audit.Action == "" {
			return nil
		}
		audit.TenantID = &tid
		return recordAudit(ctx, tx, audit)
	})
	if err != nil {
		return fmt.Errorf("store: set run state: %w", mapErr(err))
	}
	return nil
}

// ErrRunMovedOn: the run is past the point where it can be discarded
// (it is being applied, or is done).
var ErrRunMovedOn = errors.New("store: the run has moved on")

// DiscardRun cancels a run that has written nothing yet (waiting for the
// sign-in, or on its review), forgets its delegated token and records the
// audit row, all at once. A run that has moved on in the meantime (an apply
// started) is ErrRunMovedOn and stays as it is.
func (s *Store) DiscardRun(ctx context.Context, id string, audit AuditEvent) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var tid string
		err := tx.QueryRow(ctx, `UPDATE registration_runs SET state = 'cancelled', error = '', updated_at = now()
			WHERE id = $1 AND state IN ('signin', 'review') RETURNING tenant_id::text`, id).Scan(&tid)
		if errors.Is(err, pgx.ErrNoRows) {
			var state string
			if err := tx.QueryRow(ctx, `SELECT state FROM registration_runs WHERE id = $1`, id).Scan(&state); err != nil {
				return err
			}
			return ErrRunMovedOn
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM registration_tokens WHERE run_id = $1`, id); err != nil {
			return err
		}
		audit.TenantID = &tid
		return recordAudit(ctx, tx, audit)
	})
	if err != nil {
		if errors.Is(err, ErrRunMovedOn) {
			return err
		}
		return fmt.Errorf("store: discard run: %w", mapErr(err))
	}
	return nil
}

// SaveRunToken keeps a run's sealed delegated token (replacing an older one).
func (s *Store) SaveRunToken(ctx context.Context, runID string, sealed []byte, userOID, userName string, expires time.Time) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var oid *string
	if userOID != "" {
		oid = &userOID
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO registration_tokens (run_id, sealed, user_oid, user_name, expires_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (run_id) DO UPDATE SET sealed = EXCLUDED.sealed, user_oid = EXCLUDED.user_oid, user_name = EXCLUDED.user_name,
			expires_at = EXCLUDED.expires_at, created_at = now()`, runID, sealed, oid, userName, expires)
	if err != nil {
		return fmt.Errorf("store: save run token: %w", mapErr(err))
	}
	return nil
}

// RunToken returns a run's sealed token if it has not expired, or ErrNotFound.
func (s *Store) RunToken(ctx context.Context, runID string) (sealed []byte, userName string, err error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err = s.pool.QueryRow(ctx, `SELECT sealed, user_name FROM registration_tokens WHERE run_id = $1 AND expires_at > now()`, runID).Scan(&sealed, &userName)
	if err != nil {
		return nil, "", fmt.Errorf("store: run token: %w", mapErr(err))
	}
	return sealed, userName, nil
}

// DeleteRunToken forgets a run's token.
func (s *Store) DeleteRunToken(ctx context.Context, runID string) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	if _, err := s.pool.Exec(ctx, `DELETE FROM registration_tokens WHERE run_id = $1`, runID); err != nil {
		return fmt.Errorf("store: delete run token: %w", err)
	}
	return nil
}

// DeleteExpiredRunTokens removes tokens past their expiry (they cannot be
// used anyway) and returns how many went.
func (s *Store) DeleteExpiredRunTokens(ctx context.Context) (int64, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, `DELETE FROM registration_tokens WHERE expires_at <= now()`)
	if err != nil {
		return 0, fmt.Errorf("store: delete expired run tokens: %w", err)
	}
	return tag.RowsAffected(), nil
}

// AcquireRunLease gives owner the right to apply the run for d, unless
// someone else holds an unexpired lease (ErrLeaseHeld). The run moves to
// applying.
func (s *Store) AcquireRunLease(ctx context.Context, id, owner string, d time.Duration) (RegistrationRun, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `UPDATE registration_runs SET lease_owner = $2, lease_until = now() + $3::interval,
			state = CASE WHEN state IN ('review', 'failed', 'applying') THEN 'applying' ELSE state END, updated_at = now()
		WHERE id = $1 AND (lease_until IS NULL OR lease_until < now() OR lease_owner = $2) RETURNING `+runColumns,
		id, owner, d.String())
	if err != nil {
		return RegistrationRun{}, fmt.Errorf("store: acquire run lease: %w", err)
	}
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[RegistrationRun])
	if errors.Is(err, pgx.ErrNoRows) {
		if _, gerr := s.GetRun(ctx, id); gerr != nil {
			return RegistrationRun{}, gerr
		}
		return RegistrationRun{}, ErrLeaseHeld
	}
	if err != nil {
		return RegistrationRun{}, fmt.Errorf("store: acquire run lease: %w", err)
	}
	return r, nil
}

// ReleaseRunLease ends owner's lease.
func (s *Store) ReleaseRunLease(ctx context.Context, id, owner string) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, `UPDATE registration_runs SET lease_owner = '', lease_until = NULL WHERE id = $1 AND lease_owner = $2`, id, owner)
	if err != nil {
		return fmt.Errorf("store: release run lease: %w", err)
	}
	return nil
}

// PlanSteps records a run's steps unless they are recorded already (a
// resumed run keeps its own), and returns the recorded ones.
func (s *Store) PlanSteps(ctx context.Context, runID string, steps []RegistrationStep) ([]RegistrationStep, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM registration_steps WHERE run_id = $1`, runID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		for i, st := range steps {
			if _, err := tx.Exec(ctx, `INSERT INTO registration_steps (run_id, position, kind, key, label) VALUES ($1, $2, $3, $4, $5)`,
				runID, i+1, st.Kind, st.Key, st.Label); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: plan steps: %w", mapErr(err))
	}
	return s.Steps(ctx, runID)
}

// Steps returns a run's steps in order.
func (s *Store) Steps(ctx context.Context, runID string) ([]RegistrationStep, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+stepColumns+` FROM registration_steps WHERE run_id = $1 ORDER BY position`, runID)
	if err != nil {
		return nil, fmt.Errorf("store: steps: %w", err)
	}
	st, err := pgx.CollectRows(rows, pgx.RowToStructByName[RegistrationStep])
	if err != nil {
		return nil, fmt.Errorf("store: steps: %w", err)
	}
	return st, nil
}

// StartStep records that owner is about to make the step's Graph call. It
// fails with ErrLeaseHeld if owner's lease has been lost, so a replica whose
// lease expired never writes behind another's back.
func (s *Store) StartStep(ctx context.Context, runID, owner string, pos int, lease time.Duration) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE registration_runs SET lease_until = now() + $3::interval, updated_at = now()
			WHERE id = $1 AND lease_owner = $2 AND lease_until > now()`, runID, owner, lease.String())
		if err != nil {
			return fmt.Errorf("store: start step: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return ErrLeaseHeld
		}
		if _, err := tx.Exec(ctx, `UPDATE registration_steps SET status = 'running', attempts = attempts + 1, error = '', updated_at = now()
			WHERE run_id = $1 AND position = $2`, runID, pos); err != nil {
			return fmt.Errorf("store: start step: %w", err)
		}
		return nil
	})
}

// FinishStep records a step's outcome (done, failed, needs_consent) and
// what it learned (object IDs; never a secret).
func (s *Store) FinishStep(ctx context.Context, runID string, pos int, status, result, errMsg string) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, `UPDATE registration_steps SET status = $3, result = $4, error = $5, updated_at = now()
		WHERE run_id = $1 AND position = $2`, runID, pos, status, result, errMsg)
	if err != nil {
		return fmt.Errorf("store: finish step: %w", err)
	}
	return nil
}

// RecordApplication records the application step: the run learns the app's
// IDs and the registration row is written (or updated), in one transaction
// with the step and its audit row, so no application the portal made is
// without a record once this returns.
func (s *Store) RecordApplication(ctx context.Context, runID string, pos int, appObjectID, clientID string, audit AuditEvent) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var r struct{ tenant, unique, blueprint, name, by string }
		var params []byte
		if err := tx.QueryRow(ctx, `UPDATE registration_runs SET app_object_id = $2, client_id = $3, updated_at = now() WHERE id = $1
			RETURNING tenant_id::text, unique_name, blueprint_id, display_name, params, created_by_name`, runID, appObjectID, clientID).
			Scan(&r.tenant, &r.unique, &r.blueprint, &r.name, &params, &r.by); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO registrations (tenant_id, unique_name, blueprint_id, display_name, app_object_id, client_id, params, last_run_id, applied_by_name, consent_state)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending')
			ON CONFLICT (tenant_id, unique_name) DO UPDATE SET blueprint_id = EXCLUDED.blueprint_id, display_name = EXCLUDED.display_name,
				app_object_id = EXCLUDED.app_object_id, client_id = EXCLUDED.client_id, params = EXCLUDED.params,
				last_run_id = EXCLUDED.last_run_id, applied_by_name = EXCLUDED.applied_by_name, applied_at = now()`,
			r.tenant, r.unique, r.blueprint, r.name, appObjectID, clientID, params, runID, r.by); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE registration_steps SET status = 'done', result = $3, error = '', updated_at = now()
			WHERE run_id = $1 AND position = $2`, runID, pos, appObjectID); err != nil {
			return err
		}
		audit.TenantID = &r.tenant
		return recordAudit(ctx, tx, audit)
	})
	if err != nil {
		return fmt.Errorf("store: record application: %w", mapErr(err))
	}
	return nil
}

// RecordServicePrincipal records the service principal step.
func (s *Store) RecordServicePrincipal(ctx context.Context, runID string, pos int, spObjectID string) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var tenant, unique string
		if err := tx.QueryRow(ctx, `UPDATE registration_runs SET sp_object_id = $2, updated_at = now() WHERE id = $1
			RETURNING tenant_id::text, unique_name`, runID, spObjectID).Scan(&tenant, &unique); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE registrations SET sp_object_id = $3 WHERE tenant_id = $1 AND unique_name = $2`, tenant, unique, spObjectID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE registration_steps SET status = 'done', result = $3, error = '', updated_at = now()
			WHERE run_id = $1 AND position = $2`, runID, pos, spObjectID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: record service principal: %w", mapErr(err))
	}
	return nil
}

// RecordSecret records the secret step: key ID, hint and end date (the
// value itself is shown once and never reaches the database), with the
// audit row.
func (s *Store) RecordSecret(ctx context.Context, runID string, pos int, keyID, hint string, end time.Time, audit AuditEvent) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var tenant string
		if err := tx.QueryRow(ctx, `UPDATE registration_runs SET secret_key_id = $2, secret_hint = $3, secret_end = $4, secret_shown_at = now(), updated_at = now()
			WHERE id = $1 RETURNING tenant_id::text`, runID, keyID, hint, end).Scan(&tenant); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE registration_steps SET status = 'done', result = $3, error = '', updated_at = now()
			WHERE run_id = $1 AND position = $2`, runID, pos, keyID); err != nil {
			return err
		}
		audit.TenantID = &tenant
		return recordAudit(ctx, tx, audit)
	})
	if err != nil {
		return fmt.Errorf("store: record secret: %w", mapErr(err))
	}
	return nil
}

// SetConsentLink stores the SHA-256 of a run's admin-consent link state.
func (s *Store) SetConsentLink(ctx context.Context, runID string, stateHash []byte) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	if _, err := s.pool.Exec(ctx, `UPDATE registration_runs SET consent_state_hash = $2, updated_at = now() WHERE id = $1`, runID, stateHash); err != nil {
		return fmt.Errorf("store: set consent link: %w", mapErr(err))
	}
	return nil
}

// RecordConsentCheck records what reading the grants back found: state is
// granted, partial or pending; the run is done when granted.
func (s *Store) RecordConsentCheck(ctx context.Context, runID, state string, audit AuditEvent) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var tenant, unique string
		if err := tx.QueryRow(ctx, `UPDATE registration_runs SET consent_checked_at = now(), updated_at = now(),
				state = CASE WHEN $2 = 'granted' AND state IN ('applying', 'consent') THEN 'done'
				             WHEN $2 <> 'granted' AND state IN ('applying', 'done') THEN 'consent' ELSE state END
			WHERE id = $1 RETURNING tenant_id::text, unique_name`, runID, state).Scan(&tenant, &unique); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE registrations SET consent_state = $3, consent_checked_at = now() WHERE tenant_id = $1 AND unique_name = $2`,
			tenant, unique, state); err != nil {
			return err
		}
		if audit.Action == "" {
			return nil
		}
		audit.TenantID = &tenant
		return recordAudit(ctx, tx, audit)
	})
	if err != nil {
		return fmt.Errorf("store: record consent check: %w", mapErr(err))
	}
	return nil
}

// GetRegistration returns the portal's registration of uniqueName in a
// tenant, or ErrNotFound.
func (s *Store) GetRegistration(ctx context.Context, tenantID, uniqueName string) (Registration, error) {
	return s.oneRegistration(ctx, "get registration", `r.tenant_id = $1 AND r.unique_name = $2`, tenantID, uniqueName)
}

// RegistrationByClientID returns the portal's registration of an app in a
// tenant by its client ID, or ErrNotFound (an app made by hand).
func (s *Store) RegistrationByClientID(ctx context.Context, tenantID, clientID string) (Registration, error) {
	return s.oneRegistration(ctx, "registration by client ID", `r.tenant_id = $1 AND lower(r.client_id) = lower($2)`, tenantID, clientID)
}

func (s *Store) oneRegistration(ctx context.Context, op, where string, args ...any) (Registration, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+registrationColumns+registrationFrom+` WHERE `+where, args...)
	if err != nil {
		return Registration{}, fmt.Errorf("store: %s: %w", op, err)
	}
	reg, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Registration])
	if err != nil {
		return Registration{}, fmt.Errorf("store: %s: %w", op, mapErr(err))
	}
	return reg, nil
}

// ListRegistrations returns what the portal registered (in one tenant if
// tenantID is not ""), newest first.
func (s *Store) ListRegistrations(ctx context.Context, tenantID string) ([]Registration, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+registrationColumns+registrationFrom+`
		WHERE ($1 = '' OR r.tenant_id::text = $1) ORDER BY r.applied_at DESC, r.id DESC`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("store: list registrations: %w", err)
	}
	regs, err := pgx.CollectRows(rows, pgx.RowToStructByName[Registration])
	if err != nil {
		return nil, fmt.Errorf("store: list registrations: %w", err)
	}
	return regs, nil
}

// AppCredentials returns the live credentials the inventory holds for one
// app registration (by its client ID) in one tenant, soonest end first: the
// registration's page offers to rotate them.
func (s *Store) AppCredentials(ctx context.Context, entraTenantID, clientID string) ([]Credential, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, credentialSelect+`
		WHERE t.entra_tenant_id::text = lower($1) AND c.owner_kind = 'application' AND lower(c.owner_app_id) = lower($2) AND c.removed_at IS NULL
		ORDER BY c.ends_at, c.id`, entraTenantID, clientID)
	if err != nil {
		return nil, fmt.Errorf("store: app credentials: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[Credential])
	if err != nil {
		return nil, fmt.Errorf("store: app credentials: %w", err)
	}
	return out, nil
}

// AdoptApplication records an app made by hand as a registration of a
// blueprint: a finished run (nothing was written to the tenant) and the
// registration row, with the audit row, in one transaction.
func (s *Store) AdoptApplication(ctx context.Context, r RegistrationRun, preflight any, audit AuditEvent) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	b, err := json.Marshal(preflight)
	if err != nil {
		return fmt.Errorf("store: adopt application: %w", err)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO registration_runs (id, tenant_id, tenant_name, blueprint_id, display_name, unique_name, params, features,
				secret_months, state, preflight, app_object_id, client_id, sp_object_id, created_by_oid, created_by_name)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'done', $10, $11, $12, $13, $14, $15)`,
			r.ID, r.TenantID, r.TenantName, r.BlueprintID, r.DisplayName, r.UniqueName, r.Params, r.Features, r.SecretMonths, b,
			r.AppObjectID, r.ClientID, r.SPObjectID, r.CreatedByOID, r.CreatedByName); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO registrations (tenant_id, unique_name, blueprint_id, display_name, app_object_id, client_id, sp_object_id, params, last_run_id, applied_by_name)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			r.TenantID, r.UniqueName, r.BlueprintID, r.DisplayName, r.AppObjectID, r.ClientID, r.SPObjectID, r.Params, r.ID, r.CreatedByName); err != nil {
			return err
		}
		audit.TenantID = &r.TenantID
		return recordAudit(ctx, tx, audit)
	})
	if err != nil {
		return fmt.Errorf("store: adopt application: %w", mapErr(err))
	}
	return nil
}
