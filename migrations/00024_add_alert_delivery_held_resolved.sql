-- +goose Up
-- A delivery can now be held (its credential is snoozed, acknowledged or
-- excluded; it goes out when that ends) or resolved (the credential was
-- removed, or rotated: a newer one on the same application; or a more
-- urgent alert about it replaced this one). Only pending and failed
-- deliveries are open, so the open-delivery indexes cover just those.
ALTER TABLE alert_deliveries DROP CONSTRAINT alert_deliveries_status_check;
ALTER TABLE alert_deliveries ADD CONSTRAINT alert_deliveries_status_check CHECK (status IN ('pending', 'failed', 'sent', 'held', 'resolved'));
DROP INDEX alert_deliveries_open_idx;
DROP INDEX alert_deliveries_open_recipient_idx;
CREATE INDEX alert_deliveries_open_idx ON alert_deliveries (status) WHERE status IN ('pending', 'failed');
CREATE INDEX alert_deliveries_open_recipient_idx ON alert_deliveries (recipient, id) WHERE status IN ('pending', 'failed');
CREATE INDEX alert_deliveries_held_idx ON alert_deliveries (credential_id) WHERE status = 'held';

-- +goose Down
DROP INDEX alert_deliveries_held_idx;
DROP INDEX alert_deliveries_open_recipient_idx;
DROP INDEX alert_deliveries_open_idx;
UPDATE alert_deliveries SET status = 'pending' WHERE status = 'held';
UPDATE alert_deliveries SET status = 'sent' WHERE status = 'resolved';
ALTER TABLE alert_deliveries DROP CONSTRAINT alert_deliveries_status_check;
ALTER TABLE alert_deliveries ADD CONSTRAINT alert_deliveries_status_check CHECK (status IN ('pending', 'sent', 'failed'));
CREATE INDEX alert_deliveries_open_idx ON alert_deliveries (status) WHERE status <> 'sent';
CREATE INDEX alert_deliveries_open_recipient_idx ON alert_deliveries (recipient, id) WHERE status <> 'sent';
