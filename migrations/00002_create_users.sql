-- +goose Up
CREATE TABLE users (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entra_tenant_id uuid        NOT NULL,
    object_id       uuid        NOT NULL,
    display_name    text        NOT NULL,
    email           text        NOT NULL DEFAULT '',
    role            text        NOT NULL DEFAULT 'none'
                    CHECK (role IN ('none', 'viewer', 'operator', 'admin')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_sign_in_at timestamptz,
    UNIQUE (entra_tenant_id, object_id)
);
COMMENT ON TABLE users IS 'People who have signed in to the portal, keyed by their Entra tenant and object ID.';
COMMENT ON COLUMN users.role IS 'Portal role from the Portal.* app roles in the roles claim at the last sign-in (or the bootstrap admin list).';

-- +goose Down
DROP TABLE users;
