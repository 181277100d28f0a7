-- +goose Up
-- How many days a one-time share link for the secret lasts (0: no link).
ALTER TABLE registration_runs ADD COLUMN share_days int NOT NULL DEFAULT 0 CHECK (share_days BETWEEN 0 AND 7);

-- One-time links that hand a new client secret to the customer. The secret
-- is sealed (AES-GCM, the link's row ID as associated data) and wiped on
-- first view, revocation or expiry; the link's token is only in the URL,
-- its SHA-256 here.
CREATE TABLE share_links (
    id          uuid        PRIMARY KEY,
    run_id      uuid        NOT NULL REFERENCES registration_runs (id) ON DELETE CASCADE,
    token_hash  bytea       NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    sealed      bytea,
    label       text        NOT NULL DEFAULT '',
    created_by  text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    viewed_at   timestamptz,
    revoked_at  timestamptz,
    CHECK (expires_at <= created_at + interval '7 days'),
    CHECK ((viewed_at IS NULL AND revoked_at IS NULL) OR sealed IS NULL)
);
CREATE INDEX share_links_run_idx ON share_links (run_id);
COMMENT ON TABLE share_links IS 'One-time share links for a new client secret: sealed secret, wiped on first view, revocation or expiry; only the token''s hash is kept.';

-- +goose Down
DROP TABLE share_links;
ALTER TABLE registration_runs DROP COLUMN share_days;
