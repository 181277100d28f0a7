-- +goose Up
CREATE TABLE tenants (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entra_tenant_id uuid        NOT NULL UNIQUE,
    display_name    text        NOT NULL CHECK (display_name <> ''),
    default_domain  text        NOT NULL DEFAULT '',
    status          text        NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'connected', 'consent_revoked', 'disconnected')),
    contacts        text[]      NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE tenants IS 'Entra ID tenants the portal manages: the operator''s own and connected customer tenants.';
COMMENT ON COLUMN tenants.entra_tenant_id IS 'The tenant''s directory ID (tid claim), confirmed by an app-only call, never taken from a callback parameter alone.';
COMMENT ON COLUMN tenants.contacts IS 'E-mail addresses that receive expiry alerts for this tenant.';

-- +goose Down
DROP TABLE tenants;
