-- +goose Up
CREATE TABLE alert_policies (
    tenant_id  bigint      REFERENCES tenants (id) ON DELETE CASCADE,
    thresholds int[]       CHECK (thresholds IS NULL OR (cardinality(thresholds) BETWEEN 1 AND 12 AND 0 <= ALL (thresholds) AND 366 >= ALL (thresholds))),
    recipients text[]      CHECK (recipients IS NULL OR cardinality(recipients) <= 50),
    updated_by text        NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX alert_policies_tenant_idx ON alert_policies (coalesce(tenant_id, 0));
COMMENT ON TABLE alert_policies IS 'Alert thresholds (days before expiry) and recipients: the row without a tenant is the portal-wide policy set by admins (NULL columns: the environment''s defaults); a tenant''s row overrides it (NULL: inherit). A tenant''s contacts always get its alerts.';

-- +goose Down
DROP TABLE alert_policies;
