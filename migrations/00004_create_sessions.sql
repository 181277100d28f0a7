-- +goose Up
CREATE TABLE sessions (
    token  text        PRIMARY KEY,
    data   bytea       NOT NULL,
    expiry timestamptz NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry);
COMMENT ON TABLE sessions IS 'Server-side browser sessions (alexedwards/scs pgxstore). Holds no tokens or secrets: only the pre-login state and the session''s ID.';

CREATE TABLE active_sessions (
    id           text        PRIMARY KEY,
    user_id      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    remote_addr  text        NOT NULL DEFAULT '',
    user_agent   text        NOT NULL DEFAULT ''
);
CREATE INDEX active_sessions_user_idx ON active_sessions (user_id);
COMMENT ON TABLE active_sessions IS 'Signed-in sessions that admins can list and end; a browser session is valid only while its row exists.';

-- +goose Down
DROP TABLE active_sessions;
DROP TABLE sessions;
