-- +goose Up
-- An alert run marks each recipient's digest in one UPDATE by recipient;
-- with a thousand recipients that must not scan every open delivery each time.
CREATE INDEX alert_deliveries_open_recipient_idx ON alert_deliveries (recipient, id) WHERE status <> 'sent';

-- +goose Down
DROP INDEX alert_deliveries_open_recipient_idx;
