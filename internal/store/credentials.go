package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appreg-portal/portal/internal/trunc"
)

// Credential is a client secret or certificate found by a scan. It holds
// metadata only: a secret's value is never known to the scan.
type Credential struct {
	ID            int64      `db:"id"`
	TenantID      int64      `db:"tenant_id"`
	TenantName    string     `db:"tenant_name"`
	OwnerKind     string     `db:"owner_kind"` // "application" or "service_principal"
	OwnerObjectID string     `db:"owner_object_id"`
	OwnerAppID    string     `db:"owner_app_id"`
	OwnerName     string     `db:"owner_name"`
	KeyID         string     `db:"key_id"`
	Kind          string     `db:"kind"` // "password" or "certificate"
	DisplayName   string     `db:"display_name"`
	Hint          string     `db:"hint"`
	Thumbprint    string     `db:"thumbprint"`
	StartsAt      *time.Time `db:"starts_at"`
	EndsAt        time.Time  `db:"ends_at"`
	FirstSeenAt   time.Time  `db:"first_seen_at"`
	LastSeenAt    time.Time  `db:"last_seen_at"`
	RemovedAt     *time.Time `db:"removed_at"`
}

// ScanResult counts what a scan changed.
type ScanResult struct {
	Found   int // credentials in the tenant now
	New     int // seen for the first time
	Removed int // no longer in the tenant
}

// RecordScan stores what a scan of tenantID found at `at`: new credentials
// are added, known ones refreshed, and those no longer found marked removed,
// all in one transaction so a failed scan changes nothing.
func (s *Store) RecordScan(ctx context.Context, tenantID int64, found []Credential, at time.Time) (ScanResult, error) {
	return s.RecordScanWithProblems(ctx, tenantID, found, nil, at)
}

// RecordScanWithProblems is RecordScan for a scan that left some items out
// or found something wrong: problems (plain sentences) are shown on the
// Tenants page until the next scan, while everything found is recorded.
func (s *Store) RecordScanWithProblems(ctx context.Context, tenantID int64, found []Credential, problems []string, at time.Time) (ScanResult, error) {
	ctx, cancel := context.WithTimeout(ctx, 4*s.timeout) // large tenants have thousands of rows
	defer cancel()
	res := ScanResult{Found: len(found)}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var kinds, oids, appIDs, names, keyIDs, ckinds, dnames, hints, thumbs []string
		var starts []*time.Time
		var ends []time.Time
		for _, c := range found {
			kinds, oids, appIDs, names = append(kinds, c.OwnerKind), append(oids, c.OwnerObjectID), append(appIDs, c.OwnerAppID), append(names, c.OwnerName)
			keyIDs, ckinds, dnames = append(keyIDs, c.KeyID), append(ckinds, c.Kind), append(dnames, c.DisplayName)
			hints, thumbs = append(hints, trunc.String(c.Hint, 3)), append(thumbs, c.Thumbprint)
			starts, ends = append(starts, c.StartsAt), append(ends, c.EndsAt)
		}
		// One statement for the whole tenant; xmax = 0 tells inserted rows from updated ones.
		rows, err := tx.Query(ctx, `
			INSERT INTO credentials (tenant_id, owner_kind, owner_object_id, owner_app_id, owner_name, key_id, kind,
			                         display_name, hint, thumbprint, starts_at, ends_at, first_seen_at, last_seen_at)
			SELECT $1, u.* , $13, $13 FROM unnest($2::text[], $3::uuid[], $4::text[], $5::text[], $6::uuid[], $7::text[],
			                                    $8::text[], $9::text[], $10::text[], $11::timestamptz[], $12::timestamptz[]) AS u
			ON CONFLICT (tenant_id, owner_object_id, key_id) DO UPDATE
			SET owner_name = EXCLUDED.owner_name, display_name = EXCLUDED.display_name, hint = EXCLUDED.hint,
			    thumbprint = EXCLUDED.thumbprint, starts_at = EXCLUDED.starts_at, ends_at = EXCLUDED.ends_at,
			    last_seen_at = EXCLUDED.last_seen_at, removed_at = NULL
			RETURNING xmax = 0`,
			tenantID, kinds, oids, appIDs, names, keyIDs, ckinds, dnames, hints, thumbs, starts, ends, at)
		if err != nil {
			return err
		}
		inserted, err := pgx.CollectRows(rows, pgx.RowTo[bool])
		if err != nil {
			return err
		}
		for _, ins := range inserted {
			if ins {
				res.New++
			}
		}
		tag, err := tx.Exec(ctx, `UPDATE credentials SET removed_at = $2 WHERE tenant_id = $1 AND removed_at IS NULL AND last_seen_at < $2`, tenantID, at)
		if err != nil {
			return err
		}
		res.Removed = int(tag.RowsAffected())
		_, err = tx.Exec(ctx, `UPDATE tenants SET last_scan_at = $2, last_scan_error = '', scan_problems = $3, updated_at = now() WHERE id = $1`,
			tenantID, at, joinProblems(problems))
		return err
	})
	if err != nil {
		return ScanResult{}, fmt.Errorf("store: record scan: %w", mapErr(err))
	}
	return res, nil
}

// RecordScanFailure notes why a tenant's scan failed; what earlier scans
// found stays as it was.
func (s *Store) RecordScanFailure(ctx context.Context, tenantID int64, reason string) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	if _, err := s.pool.Exec(ctx, `UPDATE tenants SET last_scan_error = $2, updated_at = now() WHERE id = $1`, tenantID, trunc.String(reason, 500)); err != nil {
		return fmt.Errorf("store: record scan failure: %w", err)
	}
	return nil
}

// SetScanProblems replaces what the Tenants page says is wrong with a
// tenant's scan or consent, without touching its inventory.
func (s *Store) SetScanProblems(ctx context.Context, tenantID int64, problems []string) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	if _, err := s.pool.Exec(ctx, `UPDATE tenants SET scan_problems = $2, updated_at = now() WHERE id = $1`, tenantID, joinProblems(problems)); err != nil {
		return fmt.Errorf("store: set scan problems: %w", err)
	}
	return nil
}

// joinProblems keeps the first problems, one per line, within 4,000
// characters: a tenant with thousands of bad items needs a few examples and
// a count, not a novel.
func joinProblems(problems []string) string {
	const max = 20
	var lines []string
	for i, p := range problems {
		if i == max {
			lines = append(lines, fmt.Sprintf("… and %d more.", len(problems)-max))
			break
		}
		lines = append(lines, trunc.Ellipsis(p, 300))
	}
	return trunc.String(strings.Join(lines, "\n"), 4000)
}

// CredentialFilter narrows ListCredentials.
type CredentialFilter struct {
	TenantID int64     // 0: every tenant
	Before   time.Time // only credentials ending before this; zero: any
	Limit    int       // default 500
}

// credentialSelect reads credentials with their tenant's name.
const credentialSelect = `
	SELECT c.id, c.tenant_id, t.display_name AS tenant_name, c.owner_kind, c.owner_object_id::text, c.owner_app_id, c.owner_name,
	       c.key_id::text, c.kind, c.display_name, c.hint, c.thumbprint, c.starts_at, c.ends_at, c.first_seen_at, c.last_seen_at, c.removed_at
	FROM credentials c JOIN tenants t ON t.id = c.tenant_id`

// ListCredentials returns live credentials, soonest expiry first.
func (s *Store) ListCredentials(ctx context.Context, f CredentialFilter) ([]Credential, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	where := []string{"c.removed_at IS NULL"}
	args := []any{}
	if f.TenantID != 0 {
		args = append(args, f.TenantID)
		where = append(where, fmt.Sprintf("c.tenant_id = $%d", len(args)))
	}
	if !f.Before.IsZero() {
		args = append(args, f.Before)
		where = append(where, fmt.Sprintf("c.ends_at < $%d", len(args)))
	}
	if f.Limit <= 0 {
		f.Limit = 500
	}
	args = append(args, f.Limit)
	rows, err := s.pool.Query(ctx, credentialSelect+`
		WHERE `+strings.Join(where, " AND ")+fmt.Sprintf(` ORDER BY c.ends_at, c.id LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("store: list credentials: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[Credential])
	if err != nil {
		return nil, fmt.Errorf("store: list credentials: %w", err)
	}
	return out, nil
}

// ExpiryMonth counts live credentials ending in one calendar month (UTC).
type ExpiryMonth struct {
	Month time.Time `db:"month"`
	Count int       `db:"count"`
}

// ExpirySummary counts live credentials by state at `now`.
type ExpirySummary struct {
	Total    int `db:"total"`
	Expired  int `db:"expired"`
	Within30 int `db:"within30"`
	Within90 int `db:"within90"`
}

// CredentialSummary returns the counts and, for the chart, the number ending
// in each of the next 12 months (expired ones count in the current month).
func (s *Store) CredentialSummary(ctx context.Context, now time.Time) (ExpirySummary, []ExpiryMonth, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `
		SELECT count(*) AS total,
		       count(*) FILTER (WHERE ends_at <= $1) AS expired,
		       count(*) FILTER (WHERE ends_at > $1 AND ends_at <= $1 + interval '30 days') AS within30,
		       count(*) FILTER (WHERE ends_at > $1 AND ends_at <= $1 + interval '90 days') AS within90
		FROM credentials WHERE removed_at IS NULL`, now)
	if err != nil {
		return ExpirySummary{}, nil, fmt.Errorf("store: credential summary: %w", err)
	}
	sum, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[ExpirySummary])
	if err != nil {
		return ExpirySummary{}, nil, fmt.Errorf("store: credential summary: %w", err)
	}
	rows, err = s.pool.Query(ctx, `
		SELECT m.month, count(c.id)::int AS count
		FROM generate_series(date_trunc('month', $1::timestamptz AT TIME ZONE 'UTC'), date_trunc('month', $1::timestamptz AT TIME ZONE 'UTC') + interval '11 months', interval '1 month') AS m(month)
		LEFT JOIN credentials c ON c.removed_at IS NULL
		     AND date_trunc('month', GREATEST(c.ends_at, $1::timestamptz) AT TIME ZONE 'UTC') = m.month
		GROUP BY m.month ORDER BY m.month`, now)
	if err != nil {
		return ExpirySummary{}, nil, fmt.Errorf("store: credential months: %w", err)
	}
	months, err := pgx.CollectRows(rows, pgx.RowToStructByName[ExpiryMonth])
	if err != nil {
		return ExpirySummary{}, nil, fmt.Errorf("store: credential months: %w", err)
	}
	return sum, months, nil
}
