package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appreg-portal/portal/internal/trunc"
)

// QueueDueAlerts creates the deliveries that are due at `now`, for the
// portal-wide recipients and the credential's tenant contacts. For each live
// credential only the most urgent threshold it has reached counts (a secret
// first seen 5 days before expiry gets the 7-day alert, not also the 60-,
// 30- and 14-day ones); 0 means "has expired". Existing rows are left alone,
// so an alert is never queued twice, and a run after downtime still queues
// what came due meanwhile. It returns how many deliveries it added.
func (s *Store) QueueDueAlerts(ctx context.Context, now time.Time, thresholds []int, recipients []string) (int, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO alert_deliveries (credential_id, threshold_days, recipient)
		SELECT c.id, d.threshold, r.recipient
		FROM credentials c
		JOIN tenants tn ON tn.id = c.tenant_id AND tn.status = 'connected'
		CROSS JOIN LATERAL (SELECT min(t) AS threshold FROM unnest($2::int[]) AS t
		                    WHERE c.ends_at <= $1::timestamptz + make_interval(days => t)) d
		CROSS JOIN LATERAL (SELECT DISTINCT lower(x) AS recipient FROM unnest($3::text[] || tn.contacts) AS x) r
		WHERE c.removed_at IS NULL AND d.threshold IS NOT NULL
		  -- A secret being rotated (its successor added and shown) needs the admin's confirmation, not an alert.
		  AND NOT EXISTS (SELECT 1 FROM rotations ro WHERE ro.tenant_id = tn.entra_tenant_id AND lower(ro.old_key_id) = lower(c.key_id::text)
		                  AND ro.state IN ('overlap', 'removing', 'done'))
		ON CONFLICT (credential_id, threshold_days, recipient) DO NOTHING`, now, thresholds, recipients)
	if err != nil {
		return 0, fmt.Errorf("store: queue due alerts: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// AlertDelivery is one alert to send, with what the e-mail says.
type AlertDelivery struct {
	ID            int64      `db:"id"`
	Recipient     string     `db:"recipient"`
	ThresholdDays int        `db:"threshold_days"`
	Status        string     `db:"status"`
	Attempts      int        `db:"attempts"`
	LastError     string     `db:"last_error"`
	CreatedAt     time.Time  `db:"created_at"`
	SentAt        *time.Time `db:"sent_at"`
	TenantName    string     `db:"tenant_name"`
	OwnerName     string     `db:"owner_name"`
	OwnerAppID    string     `db:"owner_app_id"`
	Kind          string     `db:"kind"`
	DisplayName   string     `db:"display_name"`
	KeyID         string     `db:"key_id"`
	EndsAt        time.Time  `db:"ends_at"`
}

const deliverySelect = `
	SELECT a.id, a.recipient, a.threshold_days, a.status, a.attempts, a.last_error, a.created_at, a.sent_at,
	       t.display_name AS tenant_name, c.owner_name, c.owner_app_id, c.kind, c.display_name, c.key_id::text, c.ends_at
	FROM alert_deliveries a JOIN credentials c ON c.id = a.credential_id JOIN tenants t ON t.id = c.tenant_id`

// OpenDeliveries returns deliveries not sent yet with fewer than
// maxAttempts tries, by recipient and expiry.
func (s *Store) OpenDeliveries(ctx context.Context, maxAttempts int) ([]AlertDelivery, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, deliverySelect+` WHERE a.status <> 'sent' AND a.attempts < $1 ORDER BY a.recipient, c.ends_at, a.id`, maxAttempts)
	if err != nil {
		return nil, fmt.Errorf("store: open deliveries: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[AlertDelivery])
	if err != nil {
		return nil, fmt.Errorf("store: open deliveries: %w", err)
	}
	return out, nil
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

// MarkDeliveries records the outcome of one sending attempt.
func (s *Store) MarkDeliveries(ctx context.Context, ids []int64, sendErr error, at time.Time) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var err error
	if sendErr == nil {
		_, err = s.pool.Exec(ctx, `UPDATE alert_deliveries SET status = 'sent', attempts = attempts + 1, last_error = '', sent_at = $2
			WHERE id = ANY($1)`, ids, at)
	} else {
		_, err = s.pool.Exec(ctx, `UPDATE alert_deliveries SET status = 'failed', attempts = attempts + 1, last_error = $2
			WHERE id = ANY($1)`, ids, trunc.String(sendErr.Error(), 500))
	}
	if err != nil {
		return fmt.Errorf("store: mark deliveries: %w", err)
	}
	return nil
}

// DeliveryCounts counts alert deliveries by status.
func (s *Store) DeliveryCounts(ctx context.Context) (map[string]int, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT status, count(*)::int FROM alert_deliveries GROUP BY status`)
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
