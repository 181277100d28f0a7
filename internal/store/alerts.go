package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appreg-portal/portal/internal/trunc"
)

// ErrAlertRunBusy means another alert run (in any replica) is under way.
var ErrAlertRunBusy = errors.New("store: an alert run is under way")

// alertRunLock is the advisory lock one alert run holds while it reads,
// sends and marks digests, so two runs never send the same delivery.
const alertRunLock = 7_338_102

// LockAlertRun takes the alert run's lock on a connection of its own, or
// returns ErrAlertRunBusy. unlock gives it back; should that fail, closing
// the connection does.
func (s *Store) LockAlertRun(ctx context.Context) (unlock func(), err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: lock alert run: %w", err)
	}
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, alertRunLock).Scan(&ok); err != nil {
		conn.Release()
		return nil, fmt.Errorf("store: lock alert run: %w", err)
	}
	if !ok {
		conn.Release()
		return nil, ErrAlertRunBusy
	}
	return func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, alertRunLock); err != nil {
			conn.Conn().Close(context.Background()) //nolint:errcheck // closing the session releases the lock
		}
		conn.Release()
	}, nil
}

// queueParts is how many statements queue an alert run's deliveries side
// by side, each for a range of tenant IDs: inserting a delivery row (its
// indexes, its foreign key check) is the run's largest cost, and one
// statement uses one core.
const queueParts = 2

// maxThresholdSQL is the largest threshold of any policy, portal-wide ($2)
// or a tenant's: nothing ending later than $1 plus that many days is due.
const maxThresholdSQL = `(SELECT max(t) FROM (SELECT unnest($2::int[]) UNION ALL SELECT unnest(thresholds) FROM alert_policies WHERE tenant_id IS NOT NULL) x(t))`

// QueueDueAlerts creates the deliveries that are due at `now`, for the
// portal-wide recipients (or the tenant's own, where its policy sets them)
// and the credential's tenant contacts, at the portal-wide thresholds (or
// the tenant's own). For each live
// credential only the most urgent threshold it has reached counts (a secret
// first seen 5 days before expiry gets the 7-day alert, not also the 60-,
// 30- and 14-day ones); 0 means "has expired". Existing rows are left alone,
// so an alert is never queued twice, and a run after downtime still queues
// what came due meanwhile. It returns how many deliveries it added.
//
// mail false (no mail server) queues for the webhook channels only.
//
// The tenants are split into queueParts ranges of IDs holding about as
// many credentials that may be due, queued concurrently, each in one
// statement: a credential's deliveries (and the older ones a more urgent
// alert replaces) are all in its tenant's part. Should one part fail, the
// other's deliveries stay queued; the next run queues the rest. (Ranges,
// not ID modulo: the planner estimates a range from its statistics, and
// misjudges a modulo into nested loops that take seconds.)
func (s *Store) QueueDueAlerts(ctx context.Context, now time.Time, thresholds []int, recipients []string, mail bool) (int, error) {
	// A background run, not a page: the first run over a large inventory queues a delivery per due credential and recipient.
	ctx, cancel := context.WithTimeout(ctx, 12*s.timeout)
	defer cancel()
	fractions := make([]float64, queueParts-1)
	for i := range fractions {
		fractions[i] = float64(i+1) / queueParts
	}
	var bounds []int64
	if err := s.pool.QueryRow(ctx, `
		SELECT coalesce(percentile_disc($3::float8[]) WITHIN GROUP (ORDER BY tenant_id), '{}')
		FROM credentials WHERE removed_at IS NULL AND ends_at <= $1::timestamptz + make_interval(days => `+maxThresholdSQL+`)`,
		now, thresholds, fractions).Scan(&bounds); err != nil {
		return 0, fmt.Errorf("store: queue due alerts: %w", err)
	}
	// Part i queues the tenants with lo[i] < ID <= lo[i+1].
	lo := append(append([]int64{math.MinInt64}, bounds...), math.MaxInt64)
	var (
		wg     sync.WaitGroup
		queued = make([]int, len(lo)-1)
		errs   = make([]error, len(lo)-1)
	)
	for part := range len(lo) - 1 {
		wg.Go(func() {
			queued[part], errs[part] = s.queueDueAlerts(ctx, now, thresholds, recipients, mail, lo[part], lo[part+1])
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, fmt.Errorf("store: queue due alerts: %w", err)
	}
	total := 0
	for _, n := range queued {
		total += n
	}
	return total, nil
}

// queueDueAlerts is QueueDueAlerts for the tenants with from < ID <= to.
func (s *Store) queueDueAlerts(ctx context.Context, now time.Time, thresholds []int, recipients []string, mail bool, from, to int64) (int, error) {
	var queued int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Over a large inventory the planner's cost passes the JIT
		// thresholds, and compiling the plan (seconds, on a small server)
		// costs more than the per-row work it saves.
		if _, err := tx.Exec(ctx, `SET LOCAL jit = off`); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `
		-- The due credentials, each with its most urgent threshold reached, decided once (not once per recipient).
		WITH due AS MATERIALIZED (
		SELECT c.id, c.tenant_id, d.threshold
		FROM credentials c
		JOIN tenants tn ON tn.id = c.tenant_id AND tn.status = 'connected'
		-- A tenant's own thresholds and recipients, where set, replace the portal-wide ones; its contacts always get its alerts.
		LEFT JOIN alert_policies p ON p.tenant_id = tn.id
		CROSS JOIN LATERAL (SELECT min(t) AS threshold FROM unnest(coalesce(p.thresholds, $2::int[])) AS t
		                    WHERE c.ends_at <= $1::timestamptz + make_interval(days => t)) d
		WHERE c.removed_at IS NULL AND d.threshold IS NOT NULL AND c.tenant_id > $5 AND c.tenant_id <= $6
		  -- Only what ends within the largest threshold of any policy: a range of the live ends_at index, not every credential.
		  AND c.ends_at <= $1::timestamptz + make_interval(days => `+maxThresholdSQL+`)
		  -- A secret being rotated (its successor added and shown) needs the admin's confirmation, not an alert.
		  AND NOT EXISTS (SELECT 1 FROM rotations ro WHERE ro.tenant_id = tn.entra_tenant_id AND lower(ro.old_key_id) = lower(c.key_id::text)
		                  AND ro.state IN ('overlap', 'removing', 'done'))
		  -- Rotated outside the portal (a newer credential on the same app), or silenced: nothing to say now.
		  AND NOT `+supersededSQL+`
		  AND NOT `+silencedSQL("$1::timestamptz")+`),
		-- Each tenant's recipients, decided once per tenant (not once per credential).
		-- Webhook channels, portal-wide and the tenant's, are recipients too ("channel:<id>"), queued and deduplicated like addresses.
		rcpt AS MATERIALIZED (
		SELECT tn.id AS tenant_id, r.recipient
		FROM tenants tn
		LEFT JOIN alert_policies p ON p.tenant_id = tn.id
		CROSS JOIN LATERAL (SELECT DISTINCT lower(x) AS recipient
		                    FROM unnest(CASE WHEN $4 THEN coalesce(p.recipients, $3::text[]) || tn.contacts ELSE '{}'::text[] END
		                                || ARRAY(SELECT 'channel:' || ch.id FROM alert_channels ch WHERE ch.tenant_id IS NULL OR ch.tenant_id = tn.id)) AS x) r
		WHERE tn.id IN (SELECT tenant_id FROM due)),
		ins AS (
		INSERT INTO alert_deliveries (credential_id, threshold_days, recipient)
		SELECT due.id, due.threshold, rcpt.recipient
		FROM due JOIN rcpt ON rcpt.tenant_id = due.tenant_id
		  -- Skip what is queued already by the unique index, rather than re-inserting it each run to conflict.
		WHERE NOT EXISTS (SELECT 1 FROM alert_deliveries a WHERE a.credential_id = due.id AND a.threshold_days = due.threshold AND a.recipient = rcpt.recipient)
		-- Sorted, so every check above is done before the first row is inserted: when the table was analyzed empty, the
		-- planner checks each row by scanning it, and would otherwise scan every row this statement inserted so far
		-- (a first run over 200,000 credentials took minutes). In the unique index's order, too, the index grows at one end.
		ORDER BY due.id, due.threshold, rcpt.recipient
		ON CONFLICT (credential_id, threshold_days, recipient) DO NOTHING
		RETURNING credential_id, threshold_days, recipient),
		-- A more urgent alert replaces a less urgent one not sent yet (held through a snooze, or failing): one item per credential.
		replaced AS (
		    UPDATE alert_deliveries a SET status = 'resolved' FROM ins
		    WHERE a.credential_id = ins.credential_id AND a.recipient = ins.recipient AND a.threshold_days > ins.threshold_days
		      AND a.status IN ('pending', 'failed', 'held')
		    RETURNING a.id)
		-- Postgres runs every data-modifying CTE, referenced or not.
		SELECT count(*) FROM ins`, now, thresholds, recipients, mail, from, to).Scan(&queued)
	})
	if err != nil {
		return 0, fmt.Errorf("tenants %d to %d: %w", from+1, to, err)
	}
	return queued, nil
}

// AlertDelivery is one alert to send, with what the e-mail says.
type AlertDelivery struct {
	ID            int64  `db:"id"`
	Recipient     string `db:"recipient"`
	ThresholdDays int    `db:"threshold_days"`
	Status        string `db:"status"`
	Attempts      int    `db:"attempts"`
	// Failure is the classified reason the latest attempt failed
	// (alerts.Reason); the error text is logged, never stored.
	Failure      string     `db:"failure"`
	CreatedAt    time.Time  `db:"created_at"`
	SentAt       *time.Time `db:"sent_at"`
	CredentialID int64      `db:"credential_id"`
	TenantID     int64      `db:"tenant_id"`
	TenantName   string     `db:"tenant_name"`
	OwnerName    string     `db:"owner_name"`
	OwnerAppID   string     `db:"owner_app_id"`
	Kind         string     `db:"kind"`
	DisplayName  string     `db:"display_name"`
	KeyID        string     `db:"key_id"`
	EndsAt       time.Time  `db:"ends_at"`
}

const deliverySelect = `
	SELECT a.id, a.recipient, a.threshold_days, a.status, a.attempts, a.failure, a.created_at, a.sent_at,
	       c.id AS credential_id, c.tenant_id, t.display_name AS tenant_name, c.owner_name, c.owner_app_id, c.kind, c.display_name, c.key_id::text, c.ends_at
	FROM alert_deliveries a JOIN credentials c ON c.id = a.credential_id JOIN tenants t ON t.id = c.tenant_id`

// OpenDeliveries returns deliveries not sent yet with fewer than
// maxAttempts tries, by recipient and expiry.
func (s *Store) OpenDeliveries(ctx context.Context, maxAttempts int) ([]AlertDelivery, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, deliverySelect+` WHERE a.status IN ('pending', 'failed') AND a.attempts < $1 ORDER BY a.recipient, c.ends_at, a.id`, maxAttempts)
	if err != nil {
		return nil, fmt.Errorf("store: open deliveries: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[AlertDelivery])
	if err != nil {
		return nil, fmt.Errorf("store: open deliveries: %w", err)
	}
	return out, nil
}

// AlertDigest is one recipient's open deliveries: the most urgent up to a
// bound, and counts of them all, so a digest stays readable and small
// however many came due.
type AlertDigest struct {
	Recipient string
	Items     []AlertDelivery // soonest expiry first, at most the bound
	Total     int             // open deliveries for the recipient, Items included
	Expired   int             // of Total, credentials that have ended
	// LastID is the highest open delivery's ID: marking the outcome covers
	// the deliveries up to it, not ones queued since the digest was read.
	LastID int64
	// TenantID is the one tenant every delivery belongs to; 0 when several.
	TenantID int64
	// LatestEnd is the latest expiry among all of them.
	LatestEnd time.Time
}

// OpenDigests returns, per recipient, the open deliveries (not sent, fewer
// than maxAttempts tries): the bound most urgent ones in full and counts of
// the rest. One statement; the rows it returns are at most recipients ×
// bound.
func (s *Store) OpenDigests(ctx context.Context, maxAttempts, bound int, now time.Time) ([]AlertDigest, error) {
	ctx, cancel := context.WithTimeout(ctx, 12*s.timeout) // a background run: it ranks every open delivery
	defer cancel()
	rows, err := s.pool.Query(ctx, `
		WITH open AS (
		    SELECT a.id, a.recipient, c.tenant_id, c.ends_at,
		           row_number() OVER (PARTITION BY a.recipient ORDER BY c.ends_at, a.id) AS rank,
		           count(*) OVER r AS total, count(*) FILTER (WHERE c.ends_at <= $3) OVER r AS expired, max(a.id) OVER r AS last_id,
		           min(c.tenant_id) OVER r AS min_tenant, max(c.tenant_id) OVER r AS max_tenant, max(c.ends_at) OVER r AS latest_end
		    FROM alert_deliveries a JOIN credentials c ON c.id = a.credential_id
		    WHERE a.status IN ('pending', 'failed') AND a.attempts < $1
		    WINDOW r AS (PARTITION BY a.recipient))
		SELECT o.total, o.expired, o.last_id, CASE WHEN o.min_tenant = o.max_tenant THEN o.min_tenant ELSE 0 END, o.latest_end,
		       a.id, a.recipient, a.threshold_days, a.status, a.attempts, a.failure, a.created_at, a.sent_at,
		       c.id, c.tenant_id, t.display_name, c.owner_name, c.owner_app_id, c.kind, c.display_name, c.key_id::text, c.ends_at
		FROM open o JOIN alert_deliveries a ON a.id = o.id JOIN credentials c ON c.id = a.credential_id JOIN tenants t ON t.id = c.tenant_id
		WHERE o.rank <= $2
		ORDER BY o.recipient, o.rank`, maxAttempts, bound, now)
	if err != nil {
		return nil, fmt.Errorf("store: open digests: %w", err)
	}
	var out []AlertDigest
	var dg AlertDigest
	var d AlertDelivery
	_, err = pgx.ForEachRow(rows, []any{&dg.Total, &dg.Expired, &dg.LastID, &dg.TenantID, &dg.LatestEnd,
		&d.ID, &d.Recipient, &d.ThresholdDays, &d.Status, &d.Attempts, &d.Failure, &d.CreatedAt, &d.SentAt,
		&d.CredentialID, &d.TenantID, &d.TenantName, &d.OwnerName, &d.OwnerAppID, &d.Kind, &d.DisplayName, &d.KeyID, &d.EndsAt}, func() error {
		if len(out) == 0 || out[len(out)-1].Recipient != d.Recipient {
			dg.Recipient, dg.Items = d.Recipient, nil
			out = append(out, dg)
		}
		last := &out[len(out)-1]
		last.Items = append(last.Items, d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: open digests: %w", err)
	}
	return out, nil
}

// MarkDigest records the outcome of sending one recipient's digest: every
// open delivery of the recipient up to lastID, listed or summarised.
// failure is the classified reason it failed ("" when it was sent); the
// error text stays out of the database.
func (s *Store) MarkDigest(ctx context.Context, recipient string, lastID int64, maxAttempts int, failure string, at time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, 12*s.timeout) // a portal-wide recipient's digest covers every due credential
	defer cancel()
	var err error
	const open = `recipient = $1 AND id <= $2 AND status IN ('pending', 'failed') AND attempts < $3`
	if failure == "" {
		_, err = s.pool.Exec(ctx, `UPDATE alert_deliveries SET status = 'sent', attempts = attempts + 1, failure = '', sent_at = $4
			WHERE `+open, recipient, lastID, maxAttempts, at)
	} else {
		_, err = s.pool.Exec(ctx, `UPDATE alert_deliveries SET status = 'failed', attempts = attempts + 1, failure = $4
			WHERE `+open, recipient, lastID, maxAttempts, trunc.String(failure, 40))
	}
	if err != nil {
		return fmt.Errorf("store: mark digest: %w", err)
	}
	return nil
}

// RecentDeliveries returns the latest deliveries, newest first.
func (s *Store) RecentDeliveries(ctx context.Context, limit int) ([]AlertDelivery, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, deliverySelect+` ORDER BY a.created_at DESC, a.id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: recent deliveries: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[AlertDelivery])
	if err != nil {
		return nil, fmt.Errorf("store: recent deliveries: %w", err)
	}
	return out, nil
}

// DeliveryCounts counts alert deliveries by status, from the rows the
// triggers on alert_deliveries keep (migration 00021).
func (s *Store) DeliveryCounts(ctx context.Context) (map[string]int, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT status, deliveries::int FROM alert_delivery_counts`)
	if err != nil {
		return nil, fmt.Errorf("store: delivery counts: %w", err)
	}
	out := map[string]int{}
	var (
		status string
		n      int
	)
	_, err = pgx.ForEachRow(rows, []any{&status, &n}, func() error { out[status] = n; return nil })
	if err != nil {
		return nil, fmt.Errorf("store: delivery counts: %w", err)
	}
	return out, nil
}

// AlertLanguages is what decides the language of alert messages: the
// language people chose for themselves, and the language of the tenants
// whose contacts they are (migration 00028).
type AlertLanguages struct {
	// Users maps a portal user's e-mail (lower case) to the language they
	// chose; users who never chose are absent.
	Users map[string]string
	// Contacts maps a contact's address (lower case) to the tenants that
	// list it, by ID, with each tenant's language.
	Contacts map[string]map[int64]string
	// Tenants holds the language of each tenant asked for.
	Tenants map[int64]string
}

// AlertLanguages reads the languages of the given recipients (e-mail
// addresses in lower case, as deliveries hold them; other recipients,
// such as "channel:1", match nothing) and of
// the given tenants. It is read when messages are built, apart from the
// queries that select what to send.
func (s *Store) AlertLanguages(ctx context.Context, recipients []string, tenantIDs []int64) (AlertLanguages, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	out := AlertLanguages{Users: map[string]string{}, Contacts: map[string]map[int64]string{}, Tenants: map[int64]string{}}
	var (
		addr, lang string
		id         int64
	)
	if len(recipients) > 0 {
		rows, err := s.pool.Query(ctx, `SELECT DISTINCT ON (lower(email)) lower(email), language FROM users
			WHERE lower(email) = ANY($1) AND language IS NOT NULL ORDER BY lower(email), id`, recipients)
		if err != nil {
			return out, fmt.Errorf("store: alert languages: %w", err)
		}
		if _, err := pgx.ForEachRow(rows, []any{&addr, &lang}, func() error { out.Users[addr] = lang; return nil }); err != nil {
			return out, fmt.Errorf("store: alert languages: %w", err)
		}
		rows, err = s.pool.Query(ctx, `SELECT DISTINCT lower(x), t.id, t.language FROM tenants t CROSS JOIN LATERAL unnest(t.contacts) AS x
			WHERE lower(x) = ANY($1)`, recipients)
		if err != nil {
			return out, fmt.Errorf("store: alert languages: %w", err)
		}
		if _, err := pgx.ForEachRow(rows, []any{&addr, &id, &lang}, func() error {
			if out.Contacts[addr] == nil {
				out.Contacts[addr] = map[int64]string{}
			}
			out.Contacts[addr][id] = lang
			return nil
		}); err != nil {
			return out, fmt.Errorf("store: alert languages: %w", err)
		}
	}
	if len(tenantIDs) > 0 {
		rows, err := s.pool.Query(ctx, `SELECT id, language FROM tenants WHERE id = ANY($1)`, tenantIDs)
		if err != nil {
			return out, fmt.Errorf("store: alert languages: %w", err)
		}
		if _, err := pgx.ForEachRow(rows, []any{&id, &lang}, func() error { out.Tenants[id] = lang; return nil }); err != nil {
			return out, fmt.Errorf("store: alert languages: %w", err)
		}
	}
	return out, nil
}
