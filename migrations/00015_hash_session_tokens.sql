-- +goose Up
-- Sessions are now stored under the SHA-256 of their token (internal/handlers
-- hashedStore). Rows keyed by a plain token would never be found again and
-- are exactly what must not stay in the database: end them. Everyone signs
-- in once more.
DELETE FROM sessions;
DELETE FROM active_sessions;
COMMENT ON TABLE sessions IS 'Server-side browser sessions (alexedwards/scs pgxstore), keyed by "sha256:" and the SHA-256 of the cookie''s token, never the token. Holds no tokens or secrets: only the session''s ID.';

-- +goose Down
-- The hashes cannot be turned back into tokens: end the sessions again.
DELETE FROM sessions;
DELETE FROM active_sessions;
COMMENT ON TABLE sessions IS 'Server-side browser sessions (alexedwards/scs pgxstore). Holds no tokens or secrets: only the pre-login state and the session''s ID.';
