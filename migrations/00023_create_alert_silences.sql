-- +goose Up
CREATE TABLE alert_silences (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id     bigint      NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    scope         text        NOT NULL CHECK (scope IN ('tenant', 'application', 'credential')),
    owner_app_id  text        NOT NULL DEFAULT '',
    credential_id bigint      REFERENCES credentials (id) ON DELETE CASCADE,
    kind          text        NOT NULL CHECK (kind IN ('exclude', 'acknowledge', 'snooze')),
    until         timestamptz,
    reason        text        NOT NULL CHECK (reason <> '' AND length(reason) <= 500),
    created_by    text        NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((scope = 'tenant' AND owner_app_id = '' AND credential_id IS NULL)
        OR (scope = 'application' AND owner_app_id <> '' AND credential_id IS NULL)
        OR (scope = 'credential' AND credential_id IS NOT NULL)),
    -- Acknowledging and snoozing are about one credential and end at a date; excluding lasts until lifted.
    CHECK ((kind = 'exclude' AND until IS NULL) OR (kind <> 'exclude' AND scope = 'credential' AND until IS NOT NULL))
);
-- One silence per target: a new one replaces it.
CREATE UNIQUE INDEX alert_silences_target_idx ON alert_silences (tenant_id, scope, owner_app_id, coalesce(credential_id, 0));
COMMENT ON TABLE alert_silences IS 'Credentials, applications and tenants whose alerts are quiet: excluded until lifted, or a credential acknowledged or snoozed until a date; who and why. Changes are audited.';

-- +goose Down
DROP TABLE alert_silences;
