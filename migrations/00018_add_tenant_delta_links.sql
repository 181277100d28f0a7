-- +goose Up
ALTER TABLE tenants ADD COLUMN applications_delta_link text NOT NULL DEFAULT '';
ALTER TABLE tenants ADD COLUMN service_principals_delta_link text NOT NULL DEFAULT '';
COMMENT ON COLUMN tenants.applications_delta_link IS 'Where the next scan''s /applications/delta round starts (a Graph delta link: a sync state, no credential); empty: list everything.';
COMMENT ON COLUMN tenants.service_principals_delta_link IS 'The same for /servicePrincipals/delta.';

-- +goose Down
ALTER TABLE tenants DROP COLUMN service_principals_delta_link;
ALTER TABLE tenants DROP COLUMN applications_delta_link;
