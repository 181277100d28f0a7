-- +goose Up
CREATE TABLE custom_blueprints (
    id              text        PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$'),
    name            text        NOT NULL CHECK (name <> ''),
    vendor          text        NOT NULL,
    source          text        NOT NULL CHECK (octet_length(source) <= 262144),
    created_by_oid  uuid,
    created_by_name text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE custom_blueprints IS 'Blueprints admins wrote or uploaded, kept as the validated YAML source; built-in blueprints live in the binary.';

-- +goose Down
DROP TABLE custom_blueprints;
