-- +goose Up
-- A scan can succeed for a tenant and still have something to say: an item
-- it could not record, a name it had to clean, or permissions the portal
-- holds there beyond the two it asks for. Kept apart from last_scan_error,
-- which says why the latest scan failed as a whole.
ALTER TABLE tenants ADD COLUMN scan_problems text NOT NULL DEFAULT '';
COMMENT ON COLUMN tenants.scan_problems IS 'What the latest scan or consent check could not record or found wrong, in plain words, one per line; empty when nothing.';

-- +goose Down
ALTER TABLE tenants DROP COLUMN scan_problems;
