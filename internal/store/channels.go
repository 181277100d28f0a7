package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// AlertChannel is a webhook alerts go to, besides e-mail. URLSealed and
// SecretSealed open only with the portal's seal key.
type AlertChannel struct {
	ID           int64     `db:"id"`
	TenantID     *int64    `db:"tenant_id"` // nil: every tenant
	TenantName   string    `db:"tenant_name"`
	Kind         string    `db:"kind"` // teams, slack, webhook
	Name         string    `db:"name"`
	URLSealed    []byte    `db:"url_sealed"`
	URLHint      string    `db:"url_hint"`
	SecretSealed []byte    `db:"secret_sealed"`
	CreatedBy    string    `db:"created_by"`
	CreatedAt    time.Time `db:"created_at"`
}

// Recipient is the channel's key in alert_deliveries.recipient.
func (c AlertChannel) Recipient() string { return ChannelRecipient(c.ID) }

// ChannelRecipient is a channel's key in alert_deliveries.recipient.
func ChannelRecipient(id int64) string { return "channel:" + strconv.FormatInt(id, 10) }

// ChannelAAD binds a sealed channel value to its row and field.
func ChannelAAD(id int64, field string) []byte {
	return []byte("alert-channel:" + strconv.FormatInt(id, 10) + ":" + field)
}

// CreateAlertChannel stores a channel. seal seals its URL and signing
// secret for the new row's ID (nil secret: none), in the same transaction
// as the audit event, so no row ever holds them in clear.
func (s *Store) CreateAlertChannel(ctx context.Context, ch AlertChannel, seal func(id int64) (url, secret []byte), audit AuditEvent) (AlertChannel, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO alert_channels (tenant_id, kind, name, url_sealed, url_hint, created_by) VALUES ($1, $2, $3, '', $4, $5) RETURNING id, created_at`,
			ch.TenantID, ch.Kind, ch.Name, ch.URLHint, ch.CreatedBy).Scan(&ch.ID, &ch.CreatedAt); err != nil {
			return err
		}
		ch.URLSealed, ch.SecretSealed = seal(ch.ID)
		if _, err := tx.Exec(ctx, `UPDATE alert_channels SET url_sealed = $2, secret_sealed = $3 WHERE id = $1`, ch.ID, ch.URLSealed, ch.SecretSealed); err != nil {
			return err
		}
		if err := channelAudit(ctx, tx, ch, &audit); err != nil {
			return err
		}
		return recordAudit(ctx, tx, audit)
	})
	if err != nil {
		return AlertChannel{}, fmt.Errorf("store: create alert channel: %w", mapErr(err))
	}
	return ch, nil
}

func channelAudit(ctx context.Context, tx pgx.Tx, ch AlertChannel, audit *AuditEvent) error {
	audit.Target = "portal-wide"
	if ch.TenantID != nil {
		var tid, name string
		if err := tx.QueryRow(ctx, `SELECT entra_tenant_id::text, display_name FROM tenants WHERE id = $1`, *ch.TenantID).Scan(&tid, &name); err != nil {
			return err
		}
		audit.TenantID, audit.Target = &tid, name
	}
	if audit.Details == nil {
		audit.Details = map[string]string{}
	}
	// The hint (scheme and host), never the URL: its path is the webhook's key.
	audit.Details["channel"], audit.Details["kind"], audit.Details["name"], audit.Details["host"] = strconv.FormatInt(ch.ID, 10), ch.Kind, ch.Name, ch.URLHint
	return nil
}

const channelSelect = `SELECT ch.id, ch.tenant_id, coalesce(t.display_name, '') AS tenant_name, ch.kind, ch.name, ch.url_sealed, ch.url_hint,
	ch.secret_sealed, ch.created_by, ch.created_at FROM alert_channels ch LEFT JOIN tenants t ON t.id = ch.tenant_id`

// AlertChannels returns every channel, portal-wide first, then by tenant and name.
func (s *Store) AlertChannels(ctx context.Context) ([]AlertChannel, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, channelSelect+` ORDER BY ch.tenant_id NULLS FIRST, t.display_name, ch.name, ch.id`)
	if err != nil {
		return nil, fmt.Errorf("store: alert channels: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[AlertChannel])
	if err != nil {
		return nil, fmt.Errorf("store: alert channels: %w", err)
	}
	return out, nil
}

// AlertChannel returns one channel.
func (s *Store) AlertChannel(ctx context.Context, id int64) (AlertChannel, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, channelSelect+` WHERE ch.id = $1`, id)
	if err != nil {
		return AlertChannel{}, fmt.Errorf("store: alert channel: %w", err)
	}
	ch, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[AlertChannel])
	if err != nil {
		return AlertChannel{}, fmt.Errorf("store: alert channel: %w", mapErr(err))
	}
	return ch, nil
}

// DeleteAlertChannel removes a channel; its deliveries not sent yet resolve.
func (s *Store) DeleteAlertChannel(ctx context.Context, id int64, audit AuditEvent) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var ch AlertChannel
		if err := tx.QueryRow(ctx, `DELETE FROM alert_channels WHERE id = $1 RETURNING id, tenant_id, kind, name, url_hint`, id).
			Scan(&ch.ID, &ch.TenantID, &ch.Kind, &ch.Name, &ch.URLHint); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE alert_deliveries SET status = 'resolved' WHERE recipient = $1 AND status IN ('pending', 'failed', 'held')`,
			ChannelRecipient(id)); err != nil {
			return err
		}
		if err := channelAudit(ctx, tx, ch, &audit); err != nil {
			return err
		}
		return recordAudit(ctx, tx, audit)
	})
	if err != nil {
		return fmt.Errorf("store: delete alert channel: %w", mapErr(err))
	}
	return nil
}
