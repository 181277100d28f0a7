-- +goose Up
ALTER TABLE tenants ADD COLUMN scan_lease_until timestamptz;
COMMENT ON COLUMN tenants.scan_lease_until IS 'A scan of the tenant is under way until then (by any replica, as a job or asked for on the page); another waits. Cleared when the scan ends; a crashed scan''s lease runs out.';

-- +goose Down
ALTER TABLE tenants DROP COLUMN scan_lease_until;
