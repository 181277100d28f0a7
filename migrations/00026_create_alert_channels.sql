-- +goose Up
CREATE TABLE alert_channels (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   bigint      REFERENCES tenants (id) ON DELETE CASCADE,
    kind        text        NOT NULL CHECK (kind IN ('teams', 'slack', 'webhook')),
    name        text        NOT NULL CHECK (name <> '' AND length(name) <= 100),
    url_sealed  bytea       NOT NULL,
    url_hint    text        NOT NULL DEFAULT '',
    secret_sealed bytea,
    created_by  text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE alert_channels IS 'Where alerts go besides e-mail: a Teams Workflows webhook, a Slack incoming webhook or a signed JSON webhook, for one tenant or (tenant_id NULL) every tenant. The URL, which is itself a credential, and the signing secret are sealed (AES-GCM, PORTAL_SEAL_KEY, bound to the row); only a hint of the host is kept in clear. Deliveries to a channel use the recipient "channel:<id>".';
COMMENT ON COLUMN alert_channels.url_hint IS 'The scheme and host only, for people to recognise the channel; never the path or query, which carry the webhook''s key.';

-- +goose Down
DROP TABLE alert_channels;
