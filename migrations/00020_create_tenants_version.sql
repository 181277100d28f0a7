-- +goose Up
-- The dashboard keeps its tenant filter rendered until the tenants change;
-- reading this one row on each view replaces reading every tenant. A
-- statement trigger bumps it with every change to tenants, in the same
-- transaction.
CREATE TABLE tenants_version (
    id      boolean PRIMARY KEY DEFAULT true CHECK (id),
    version bigint  NOT NULL DEFAULT 0,
    tenants int     NOT NULL DEFAULT 0
);
INSERT INTO tenants_version (version, tenants) SELECT 1, count(*) FROM tenants;
COMMENT ON TABLE tenants_version IS 'One row: bumped by a trigger with every change to tenants, with their number; readers cache what they derive from tenants under the version.';

-- +goose StatementBegin
CREATE FUNCTION bump_tenants_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenants_version SET version = version + 1, tenants = (SELECT count(*) FROM tenants);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER tenants_version_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tenants
    FOR EACH STATEMENT EXECUTE FUNCTION bump_tenants_version();

-- +goose Down
DROP TRIGGER tenants_version_bump ON tenants;
DROP FUNCTION bump_tenants_version();
DROP TABLE tenants_version;
