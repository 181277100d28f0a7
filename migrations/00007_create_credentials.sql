-- +goose Up
CREATE TABLE credentials (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       bigint      NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    owner_kind      text        NOT NULL CHECK (owner_kind IN ('application', 'service_principal')),
    owner_object_id uuid        NOT NULL,
    owner_app_id    text        NOT NULL DEFAULT '',
    owner_name      text        NOT NULL DEFAULT '',
    key_id          uuid        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('password', 'certificate')),
    display_name    text        NOT NULL DEFAULT '',
    hint            text        NOT NULL DEFAULT '' CHECK (length(hint) <= 3),
    thumbprint      text        NOT NULL DEFAULT '',
    starts_at       timestamptz,
    ends_at         timestamptz NOT NULL,
    first_seen_at   timestamptz NOT NULL,
    last_seen_at    timestamptz NOT NULL,
    removed_at      timestamptz,
    UNIQUE (tenant_id, owner_object_id, key_id)
);
CREATE INDEX credentials_live_ends_at_idx ON credentials (ends_at) WHERE removed_at IS NULL;
COMMENT ON TABLE credentials IS 'Client secrets and certificates found by scans of connected tenants: metadata only (key ID, hint of at most 3 characters, dates), never a secret value.';
COMMENT ON COLUMN credentials.removed_at IS 'When a scan no longer found the credential (deleted or rotated away); kept for history.';

ALTER TABLE tenants ADD COLUMN last_scan_at timestamptz;
ALTER TABLE tenants ADD COLUMN last_scan_error text NOT NULL DEFAULT '';
COMMENT ON COLUMN tenants.last_scan_error IS 'Why the latest scan failed, in plain words; empty after a successful scan.';

-- +goose Down
ALTER TABLE tenants DROP COLUMN last_scan_error;
ALTER TABLE tenants DROP COLUMN last_scan_at;
DROP TABLE credentials;
