-- +goose Up
-- A secret rotation with overlap: the new secret is added and shown once,
-- the old one stays until the admin confirms the new one is in use.
CREATE TABLE rotations (
    id              uuid        PRIMARY KEY,
    tenant_id       uuid        NOT NULL,
    tenant_name     text        NOT NULL DEFAULT '',
    credential_id   bigint      REFERENCES credentials (id) ON DELETE SET NULL,
    app_object_id   text        NOT NULL,
    client_id       text        NOT NULL,
    app_name        text        NOT NULL DEFAULT '',
    old_key_id      text        NOT NULL,
    old_name        text        NOT NULL DEFAULT '',
    old_end         timestamptz,
    new_name        text        NOT NULL CHECK (new_name <> ''),
    new_key_id      text        NOT NULL DEFAULT '',
    new_hint        text        NOT NULL DEFAULT '',
    new_end         timestamptz,
    state           text        NOT NULL DEFAULT 'signin'
                    CHECK (state IN ('signin', 'review', 'applying', 'overlap', 'removing', 'done', 'failed')),
    preflight       jsonb,
    error           text        NOT NULL DEFAULT '',
    attempts        int         NOT NULL DEFAULT 0,
    lease_until     timestamptz,
    created_by_oid  uuid,
    created_by_name text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    done_at         timestamptz,
    -- The old secret is removed on this date unless the admin confirms sooner.
    remove_after    timestamptz,
    reminded_at     timestamptz  -- the reminder the day before remove_after went out
);
CREATE INDEX rotations_credential_idx ON rotations (tenant_id, old_key_id);
COMMENT ON TABLE rotations IS 'Client secret rotations with overlap. Never holds a secret value or a token.';

CREATE TABLE rotation_tokens (
    rotation_id uuid        PRIMARY KEY REFERENCES rotations (id) ON DELETE CASCADE,
    sealed      bytea       NOT NULL,
    -- A refresh token, sealed likewise, kept only so a scheduled removal can act on its date.
    sealed_refresh bytea,
    user_name   text        NOT NULL DEFAULT '',
    expires_at  timestamptz NOT NULL
);
COMMENT ON TABLE rotation_tokens IS 'Delegated tokens of rotations, sealed like registration_tokens.';

-- A rotation's new secret can be handed over with a one-time link too.
ALTER TABLE share_links ADD COLUMN rotation_id uuid REFERENCES rotations (id) ON DELETE CASCADE;
ALTER TABLE share_links ALTER COLUMN run_id DROP NOT NULL;
ALTER TABLE share_links ADD CONSTRAINT share_links_one_owner CHECK (num_nonnulls(run_id, rotation_id) = 1);
CREATE INDEX share_links_rotation_idx ON share_links (rotation_id);

-- +goose Down
DELETE FROM share_links WHERE rotation_id IS NOT NULL;
ALTER TABLE share_links DROP CONSTRAINT share_links_one_owner;
ALTER TABLE share_links ALTER COLUMN run_id SET NOT NULL;
ALTER TABLE share_links DROP COLUMN rotation_id;
DROP TABLE rotation_tokens;
DROP TABLE rotations;
