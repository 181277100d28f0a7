-- +goose Up
CREATE TABLE alert_deliveries (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    credential_id  bigint      NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,
    threshold_days int         NOT NULL CHECK (threshold_days >= 0),
    recipient      text        NOT NULL CHECK (recipient <> ''),
    status         text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts       int         NOT NULL DEFAULT 0,
    last_error     text        NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    sent_at        timestamptz,
    UNIQUE (credential_id, threshold_days, recipient)
);
CREATE INDEX alert_deliveries_open_idx ON alert_deliveries (status) WHERE status <> 'sent';
COMMENT ON TABLE alert_deliveries IS 'One row per credential, alert threshold and recipient: created when the threshold is reached (never missed), unique so it is never sent twice, retried until sent.';

-- +goose Down
DROP TABLE alert_deliveries;
