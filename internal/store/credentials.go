package store

import (
	"context"
	"errors"
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
	// Requests is how many Graph requests the scan made and Delta whether
	// it read only the changes (set by internal/inventory).
	Requests int
	Delta    bool
}

// RecordScan stores what a full scan of tenantID found at `at`: new
// credentials are added, known ones refreshed, and those no longer found
// marked removed, all in one transaction so a failed scan changes nothing.
func (s *Store) RecordScan(ctx context.Context, tenantID int64, found []Credential, at time.Time) (ScanResult, error) {
	return s.RecordScanScope(ctx, tenantID, found, at, ScanScope{Full: true})
}

// RecordScanWithProblems is RecordScan for a full scan that left some items
// out or found something wrong: problems (plain sentences) are shown on the
// Tenants page until the next scan, while everything found is recorded.
func (s *Store) RecordScanWithProblems(ctx context.Context, tenantID int64, found []Credential, problems []string, at time.Time) (ScanResult, error) {
	return s.RecordScanScope(ctx, tenantID, found, at, ScanScope{Full: true, Problems: problems})
}

// ScanScope says what a scan read in full, so RecordScanScope knows which
// credentials not found are gone.
type ScanScope struct {
	// Full: the whole tenant was listed.
	Full bool
	// Otherwise (a delta scan): Owners are the applications and service
	// principals listed in full (changed ones), RemovedOwners the deleted
	// ones, and ServicePrincipals says every service principal was listed.
	Owners, RemovedOwners []string
	ServicePrincipals     bool
	// DeltaLinks are where the next scan's delta rounds start ("": the
	// next scan lists everything).
	DeltaLinks DeltaLinks
	// Problems are what the scan left out or found wrong, in plain
	// sentences, shown on the Tenants page until the next scan.
	Problems []string
}

// DeltaLinks are where a tenant's next delta rounds start.
type DeltaLinks struct {
	Applications, ServicePrincipals string
}

// TenantDeltaLinks returns where tenantID's next delta rounds start;
// empty links when the next scan must list everything.
func (s *Store) TenantDeltaLinks(ctx context.Context, tenantID int64) (DeltaLinks, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var l DeltaLinks
	if err := s.pool.QueryRow(ctx, `SELECT applications_delta_link, service_principals_delta_link FROM tenants WHERE id = $1`, tenantID).
		Scan(&l.Applications, &l.ServicePrincipals); err != nil {
		return DeltaLinks{}, fmt.Errorf("store: delta links: %w", mapErr(err))
	}
	return l, nil
}

// ErrScanRunning means another scan of the tenant holds its lease.
var ErrScanRunning = errors.New("store: a scan of this tenant is under way")

// StartScan takes tenantID's scan lease for d, or returns ErrScanRunning
// when another scan (in any replica) holds it: one tenant is never scanned
// twice at once. EndScan gives it back; a lease of a scan that crashed
// runs out after d.
func (s *Store) StartScan(ctx context.Context, tenantID int64, d time.Duration) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, `UPDATE tenants SET scan_lease_until = now() + $2 WHERE id = $1 AND (scan_lease_until IS NULL OR scan_lease_until < now())`, tenantID, d)
	if err != nil {
		return fmt.Errorf("store: start scan: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrScanRunning
	}
	return nil
}

// EndScan gives back tenantID's scan lease.
func (s *Store) EndScan(ctx context.Context, tenantID int64) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	if _, err := s.pool.Exec(ctx, `UPDATE tenants SET scan_lease_until = NULL WHERE id = $1`, tenantID); err != nil {
		return fmt.Errorf("store: end scan: %w", err)
	}
	return nil
}

// RecordScanScope is RecordScan for a scan that read scope: credentials it
// found are added or refreshed; those of what it read in full but did not
// find are marked removed; the rest stay as they were.
func (s *Store) RecordScanScope(ctx context.Context, tenantID int64, found []Credential, at time.Time, scope ScanScope) (ScanResult, error) {
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
		gone := `UPDATE credentials SET removed_at = $2 WHERE tenant_id = $1 AND removed_at IS NULL AND last_seen_at < $2`
		args := []any{tenantID, at}
		if !scope.Full {
			gone += ` AND (owner_kind = 'service_principal' AND $3 OR owner_object_id = ANY($4::uuid[]))`
			args = append(args, scope.ServicePrincipals, append(append([]string{}, scope.Owners...), scope.RemovedOwners...))
		}
		tag, err := tx.Exec(ctx, gone, args...)
		if err != nil {
			return err
		}
		res.Removed = int(tag.RowsAffected())
		if !scope.Full {
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM credentials WHERE tenant_id = $1 AND removed_at IS NULL`, tenantID).Scan(&res.Found); err != nil {
				return err
			}
		}
		if _, err = tx.Exec(ctx, `UPDATE tenants SET last_scan_at = $2, last_scan_error = '', applications_delta_link = $3, service_principals_delta_link = $4,
			scan_problems = $5, updated_at = now() WHERE id = $1`, tenantID, at, scope.DeltaLinks.Applications, scope.DeltaLinks.ServicePrincipals, joinProblems(scope.Problems)); err != nil {
			return err
		}
		return refreshExpiryDays(ctx, tx, tenantID)
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

// TenantScanProblems returns what the last scan found wrong, one a line.
func (s *Store) TenantScanProblems(ctx context.Context, tenantID int64) (string, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var p string
	if err := s.pool.QueryRow(ctx, `SELECT scan_problems FROM tenants WHERE id = $1`, tenantID).Scan(&p); err != nil {
		return "", fmt.Errorf("store: scan problems: %w", mapErr(err))
	}
	return p, nil
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

// expiryLock serialises the writers of credential_expiry_totals (scans and
// the start-up rebuild, in every replica). It is taken last in a
// transaction, so it is held only for the few statements before the commit.
const expiryLock = 7_338_101

// refreshExpiryDays rewrites tenantID's rows of credential_expiry_days from
// the credentials table as this transaction sees it, and applies the
// difference to credential_expiry_totals. Every change to live credentials
// calls it in its own transaction, so the derived counts commit or roll back
// with the credentials.
func refreshExpiryDays(ctx context.Context, tx pgx.Tx, tenantID int64) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, expiryLock); err != nil {
		return err
	}
	// One statement, rows in day order: concurrent scans lock the shared rows in the same order.
	if _, err := tx.Exec(ctx, `
		WITH fresh AS (SELECT (ends_at AT TIME ZONE 'UTC')::date AS ends_on, count(*)::int AS n
		               FROM credentials WHERE tenant_id = $1 AND removed_at IS NULL GROUP BY 1),
		     old AS (SELECT ends_on, credentials AS n FROM credential_expiry_days WHERE tenant_id = $1),
		     delta AS (SELECT ends_on, sum(n)::int AS n FROM (SELECT ends_on, n FROM fresh UNION ALL SELECT ends_on, -n FROM old) x
		               GROUP BY ends_on HAVING sum(n) <> 0)
		INSERT INTO credential_expiry_totals AS t (ends_on, credentials)
		SELECT ends_on, n FROM delta ORDER BY ends_on
		ON CONFLICT (ends_on) DO UPDATE SET credentials = t.credentials + EXCLUDED.credentials`, tenantID); err != nil {
		return fmt.Errorf("expiry totals: %w", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM credential_expiry_days WHERE tenant_id = $1`, tenantID); err != nil {
		return fmt.Errorf("expiry days: %w", err)
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO credential_expiry_days (tenant_id, ends_on, credentials)
		SELECT $1, (ends_at AT TIME ZONE 'UTC')::date, count(*) FROM credentials WHERE tenant_id = $1 AND removed_at IS NULL GROUP BY 2`, tenantID); err != nil {
		return fmt.Errorf("expiry days: %w", err)
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

// RebuildExpiryCounts derives credential_expiry_days and
// credential_expiry_totals afresh from the credentials table (and the
// tenants version and alert delivery counts from theirs). The portal calls
// it at start-up, so rows that reached the tables another way (a restore,
// a bulk load) are counted; it is O(credentials), once.
func (s *Store) RebuildExpiryCounts(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 12*s.timeout)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, q := range []string{
			`SELECT pg_advisory_xact_lock(` + fmt.Sprint(expiryLock) + `)`,
			`DELETE FROM credential_expiry_days`,
			`DELETE FROM credential_expiry_totals`,
			`INSERT INTO credential_expiry_days (tenant_id, ends_on, credentials)
			 SELECT tenant_id, (ends_at AT TIME ZONE 'UTC')::date, count(*) FROM credentials WHERE removed_at IS NULL GROUP BY 1, 2`,
			`INSERT INTO credential_expiry_totals (ends_on, credentials)
			 SELECT ends_on, sum(credentials) FROM credential_expiry_days GROUP BY 1`,
			// Rows restored with triggers off: a new tenants version, and counts from the tables.
			`UPDATE tenants_version SET version = version + 1, tenants = (SELECT count(*) FROM tenants)`,
			`UPDATE alert_delivery_counts c SET deliveries = (SELECT count(*) FROM alert_deliveries a WHERE a.status = c.status)`,
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: rebuild expiry counts: %w", err)
	}
	return nil
}

// CredentialFilter narrows the credential list and the exports; the
// dashboard's counts use the same TenantID and EndsBy.
type CredentialFilter struct {
	TenantID int64     // 0: every tenant
	EndsBy   time.Time // only credentials ending at or before this (expired ones included); zero: any
	// After pages by keyset: only credentials after this one in the list's
	// order (ends_at, id). 0: from the start.
	After int64
	Limit int // default 500
}

// credentialSelect reads credentials with their tenant's name.
const credentialSelect = `
	SELECT c.id, c.tenant_id, t.display_name AS tenant_name, c.owner_kind, c.owner_object_id::text, c.owner_app_id, c.owner_name,
	       c.key_id::text, c.kind, c.display_name, c.hint, c.thumbprint, c.starts_at, c.ends_at, c.first_seen_at, c.last_seen_at, c.removed_at
	FROM credentials c JOIN tenants t ON t.id = c.tenant_id`

// scanTargets are c's fields in credentialSelect's order: scanning by
// position skips the per-row reflection of scanning by name, which was most
// of a page's database time in Go.
func (c *Credential) scanTargets() []any {
	return []any{&c.ID, &c.TenantID, &c.TenantName, &c.OwnerKind, &c.OwnerObjectID, &c.OwnerAppID, &c.OwnerName, &c.KeyID, &c.Kind,
		&c.DisplayName, &c.Hint, &c.Thumbprint, &c.StartsAt, &c.EndsAt, &c.FirstSeenAt, &c.LastSeenAt, &c.RemovedAt}
}

// credentialQuery builds the list's statement: live credentials matching f,
// soonest expiry first, walking the (ends_at, id) or (tenant_id, ends_at,
// id) index from the keyset cursor. limit 0 means every row.
func credentialQuery(f CredentialFilter, limit int) (string, []any) {
	where := []string{"c.removed_at IS NULL"}
	args := []any{}
	if f.TenantID != 0 {
		args = append(args, f.TenantID)
		where = append(where, fmt.Sprintf("c.tenant_id = $%d", len(args)))
	}
	if !f.EndsBy.IsZero() {
		args = append(args, f.EndsBy)
		where = append(where, fmt.Sprintf("c.ends_at <= $%d", len(args)))
	}
	if f.After != 0 {
		args = append(args, f.After)
		where = append(where, fmt.Sprintf("(c.ends_at, c.id) > (SELECT x.ends_at, x.id FROM credentials x WHERE x.id = $%d)", len(args)))
	}
	q := credentialSelect + ` WHERE ` + strings.Join(where, " AND ") + ` ORDER BY c.ends_at, c.id`
	if limit > 0 {
		args = append(args, limit)
		q += fmt.Sprintf(` LIMIT $%d`, len(args))
	}
	return q, args
}

// ListCredentials returns one page of live credentials, soonest expiry first.
func (s *Store) ListCredentials(ctx context.Context, f CredentialFilter) ([]Credential, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	if f.Limit <= 0 {
		f.Limit = 500
	}
	q, args := credentialQuery(f, f.Limit)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list credentials: %w", err)
	}
	out := make([]Credential, 0, f.Limit)
	var c Credential
	if _, err := pgx.ForEachRow(rows, c.scanTargets(), func() error { out = append(out, c); return nil }); err != nil {
		return nil, fmt.Errorf("store: list credentials: %w", err)
	}
	return out, nil
}

// EachCredential calls fn for every live credential matching f (Limit and
// After are honoured when set), soonest expiry first, as the rows arrive:
// memory stays constant however many there are, for the exports. It has no
// deadline of its own; ctx (the request) bounds it.
func (s *Store) EachCredential(ctx context.Context, f CredentialFilter, fn func(Credential) error) error {
	q, args := credentialQuery(f, f.Limit)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("store: each credential: %w", err)
	}
	defer rows.Close()
	var c Credential
	targets := c.scanTargets()
	for rows.Next() {
		if err := rows.Scan(targets...); err != nil {
			return fmt.Errorf("store: each credential: %w", err)
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: each credential: %w", err)
	}
	return nil
}

// ExpiryMonth counts live credentials ending in one calendar month (UTC).
type ExpiryMonth struct {
	Month time.Time `db:"month"`
	Count int       `db:"count"`
}

// ExpirySummary counts live credentials by state at `now`.
type ExpirySummary struct {
	Total    int `db:"total"`
	Expired  int `db:"expired"`  // ends_at <= now
	Within30 int `db:"within30"` // now < ends_at <= now + 30 days
	Within90 int `db:"within90"` // now < ends_at <= now + 90 days
}

// CredentialSummary returns the counts for one tenant (0: every tenant) and,
// for the chart, the number ending in each of the next 12 months (expired
// ones count in the current month). Whole days come from the derived
// per-day counts, O(days) rows; only the three days cut by now, now+30d and
// now+90d are counted in the credentials table, to the second, so the
// figures agree exactly with ListCredentials under the same filter.
func (s *Store) CredentialSummary(ctx context.Context, tenantID int64, now time.Time) (ExpirySummary, []ExpiryMonth, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	now = now.UTC()
	day := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
	cuts := []time.Time{now, now.Add(30 * 24 * time.Hour), now.Add(90 * 24 * time.Hour)}
	month0 := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	// One statement, one round trip. One pass over the day rows: the total,
	// then how many end before each cut's day and before the end of each of
	// the 12 months (cumulative). Then the partial days: credentials ending
	// on a cut's day, up to the cut; three range counts that the
	// (tenant_id,) ends_at index answers alone.
	cols := []string{`coalesce(sum(n), 0)::int`}
	for i := range 15 {
		cols = append(cols, fmt.Sprintf(`coalesce(sum(n) FILTER (WHERE ends_on < $%d), 0)::int`, i+1))
	}
	args := []any{day(cuts[0]), day(cuts[1]), day(cuts[2])}
	for i := range 12 {
		args = append(args, month0.AddDate(0, i+1, 0))
	}
	args = append(args, cuts[0], cuts[1], cuts[2]) // $16, $17, $18
	from, scope := `credential_expiry_totals`, ``
	if tenantID != 0 {
		args = append(args, tenantID) // $19
		from, scope = `credential_expiry_days WHERE tenant_id = $19`, ` AND tenant_id = $19`
	}
	for i := range 3 {
		cols = append(cols, fmt.Sprintf(`(SELECT count(*)::int FROM credentials WHERE removed_at IS NULL AND ends_at >= ($%d::date::timestamp AT TIME ZONE 'UTC') AND ends_at <= $%d%s)`,
			i+1, 16+i, scope))
	}
	var sum ExpirySummary
	var before [3]int // live credentials ending before each cut's day
	var cum [12]int   // live credentials ending before the end of month i
	var on [3]int     // live credentials ending on each cut's day, up to the cut
	dest := []any{&sum.Total, &before[0], &before[1], &before[2]}
	for i := range cum {
		dest = append(dest, &cum[i])
	}
	dest = append(dest, &on[0], &on[1], &on[2])
	err := s.pool.QueryRow(ctx, `SELECT `+strings.Join(cols, ", ")+` FROM (SELECT ends_on, credentials AS n FROM `+from+`) d`, args...).Scan(dest...)
	if err != nil {
		return ExpirySummary{}, nil, fmt.Errorf("store: credential summary: %w", err)
	}
	upTo := func(i int) int { return before[i] + on[i] } // live credentials with ends_at <= cut i
	sum.Expired = upTo(0)
	sum.Within30 = upTo(1) - upTo(0)
	sum.Within90 = upTo(2) - upTo(0)
	// Expired ones count in the current month: month 0 is everything ending before its end.
	out := make([]ExpiryMonth, len(cum))
	for i := range cum {
		n := cum[i]
		if i > 0 {
			n -= cum[i-1]
		}
		out[i] = ExpiryMonth{Month: month0.AddDate(0, i, 0), Count: n}
	}
	return sum, out, nil
}
