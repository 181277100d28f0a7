-- +goose Up
-- The raw SMTP error can name hosts, server banners and addresses, and it
-- was shown to every viewer on the Alerts page. Keep only a classified
-- reason (alerts.Reason); the error itself goes to the log.
ALTER TABLE alert_deliveries ADD COLUMN failure text NOT NULL DEFAULT '';
UPDATE alert_deliveries SET failure = 'other' WHERE last_error <> '';
ALTER TABLE alert_deliveries DROP COLUMN last_error;
COMMENT ON COLUMN alert_deliveries.failure IS 'Why the latest attempt failed, as a classified reason (unreachable, auth, recipient-refused, …); empty when sent. Never the error text.';

-- +goose Down
ALTER TABLE alert_deliveries ADD COLUMN last_error text NOT NULL DEFAULT '';
UPDATE alert_deliveries SET last_error = failure;
ALTER TABLE alert_deliveries DROP COLUMN failure;
