-- +goose Up
-- The dashboard, /metrics and the exports' filters count live credentials by
-- expiry on every view. Counting the credentials table each time costs
-- O(credentials); these two tables keep the counts by UTC day of expiry, so a
-- view sums O(days) rows. RecordScan rewrites a tenant's rows in the same
-- transaction as its credentials, and the portal rebuilds both tables from
-- the credentials table at start-up, so rows loaded straight into
-- credentials (a restore) are counted after a restart.
CREATE TABLE credential_expiry_days (
    tenant_id   bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    ends_on     date   NOT NULL,
    credentials int    NOT NULL CHECK (credentials > 0),
    PRIMARY KEY (tenant_id, ends_on)
);
COMMENT ON TABLE credential_expiry_days IS 'Derived from credentials: live credentials of one tenant by UTC day of expiry. Rewritten with each recorded scan, rebuilt at start-up.';

CREATE TABLE credential_expiry_totals (
    ends_on     date PRIMARY KEY,
    credentials int  NOT NULL
);
COMMENT ON TABLE credential_expiry_totals IS 'Derived from credential_expiry_days: live credentials of every tenant by UTC day of expiry, so the all-tenants view sums one row per day.';

-- Keyset paging of the live list, soonest expiry first, for all tenants and for one.
CREATE INDEX credentials_live_ends_at_id_idx ON credentials (ends_at, id) WHERE removed_at IS NULL;
CREATE INDEX credentials_live_tenant_ends_at_idx ON credentials (tenant_id, ends_at, id) WHERE removed_at IS NULL;
DROP INDEX credentials_live_ends_at_idx;

-- +goose Down
CREATE INDEX credentials_live_ends_at_idx ON credentials (ends_at) WHERE removed_at IS NULL;
DROP INDEX credentials_live_tenant_ends_at_idx;
DROP INDEX credentials_live_ends_at_id_idx;
DROP TABLE credential_expiry_totals;
DROP TABLE credential_expiry_days;
