package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// CalendarFeed is a person's live calendar subscription.
type CalendarFeed struct {
	ID         int64
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// CreateCalendarFeed makes a person's feed for a token's hash, revoking the
// one they had, with the audit event in the same transaction.
func (s *Store) CreateCalendarFeed(ctx context.Context, userID int64, tokenHash []byte, audit AuditEvent) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE calendar_feeds SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`, userID); err != nil {
			return err
		}
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO calendar_feeds (user_id, token_hash) VALUES ($1, $2) RETURNING id`, userID, tokenHash).Scan(&id); err != nil {
			return err
		}
		if audit.Details == nil {
			audit.Details = map[string]string{}
		}
		audit.Details["feed"] = strconv.FormatInt(id, 10)
		return recordAudit(ctx, tx, audit)
	})
	if err != nil {
		return fmt.Errorf("store: create calendar feed: %w", mapErr(err))
	}
	return nil
}

// RevokeCalendarFeed ends a person's live feed; ErrNotFound when none.
func (s *Store) RevokeCalendarFeed(ctx context.Context, userID int64, audit AuditEvent) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE calendar_feeds SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`, userID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		return recordAudit(ctx, tx, audit)
	})
	if err != nil {
		return fmt.Errorf("store: revoke calendar feed: %w", mapErr(err))
	}
	return nil
}

// LiveCalendarFeed returns a person's live feed; ErrNotFound when none.
func (s *Store) LiveCalendarFeed(ctx context.Context, userID int64) (CalendarFeed, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var f CalendarFeed
	err := s.pool.QueryRow(ctx, `SELECT id, created_at, last_used_at FROM calendar_feeds WHERE user_id = $1 AND revoked_at IS NULL`, userID).
		Scan(&f.ID, &f.CreatedAt, &f.LastUsedAt)
	if err != nil {
		return f, fmt.Errorf("store: live calendar feed: %w", mapErr(err))
	}
	return f, nil
}

// CalendarFeedUser returns the owner of a live feed by its token's hash,
// and notes the use; ErrNotFound for an unknown or revoked token.
func (s *Store) CalendarFeedUser(ctx context.Context, tokenHash []byte) (User, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `
		WITH f AS (UPDATE calendar_feeds SET last_used_at = now() WHERE token_hash = $1 AND revoked_at IS NULL RETURNING user_id)
		SELECT `+userColumns+` FROM users WHERE id = (SELECT user_id FROM f)`, tokenHash)
	if err != nil {
		return User{}, fmt.Errorf("store: calendar feed user: %w", err)
	}
	u, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[User])
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, fmt.Errorf("store: calendar feed user: %w", ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: calendar feed user: %w", err)
	}
	return u, nil
}
