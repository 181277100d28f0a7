-- +goose Up
CREATE TABLE calendar_feeds (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   bytea       NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
-- One live feed per person: a new URL revokes the old one.
CREATE UNIQUE INDEX calendar_feeds_live_user_idx ON calendar_feeds (user_id) WHERE revoked_at IS NULL;
COMMENT ON TABLE calendar_feeds IS 'Per-person iCalendar subscription URLs (Outlook, Google Calendar): only the SHA-256 of the random token in the URL is kept; a feed shows what its owner may see now, and stops when revoked or when the owner loses their role.';

-- +goose Down
DROP TABLE calendar_feeds;
