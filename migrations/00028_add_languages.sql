-- +goose Up
ALTER TABLE users ADD COLUMN language text CHECK (language IN ('en', 'nl'));
COMMENT ON COLUMN users.language IS 'The language this person chose in the portal''s header (en or nl); null until they choose, when the browser''s Accept-Language decides.';
ALTER TABLE tenants ADD COLUMN language text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'nl'));
COMMENT ON COLUMN tenants.language IS 'The language of alert e-mail to this tenant''s contacts (en or nl).';

-- +goose Down
ALTER TABLE tenants DROP COLUMN language;
ALTER TABLE users DROP COLUMN language;
