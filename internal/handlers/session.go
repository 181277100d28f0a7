package handlers

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/appreg-portal/portal/internal/config"
)

// NewSessionManager configures server-side sessions in Postgres behind a
// __Host- cookie: Secure, HttpOnly, SameSite=Lax, whole-site, no Domain.
// Plain http is allowed only for a loopback base URL (portal dev), where
// browsers refuse the __Host- prefix, so the name drops it.
func NewSessionManager(pool *pgxpool.Pool, base *url.URL, idle, lifetime time.Duration) *scs.SessionManager {
	sm := scs.New()
	sm.Store = hashedStore{pgxstore.NewWithCleanupInterval(pool, 10*time.Minute)}
	sm.IdleTimeout = idle
	sm.Lifetime = lifetime
	sm.Cookie.Name = "__Host-portal_session"
	sm.Cookie.Secure = true
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Path = "/"
	sm.Cookie.Domain = ""
	sm.Cookie.Persist = false // gone when the browser closes
	if base != nil && base.Scheme == "http" && config.IsLoopback(base.Hostname()) {
		sm.Cookie.Name = "portal_session"
		sm.Cookie.Secure = false
	}
	return sm
}

// hashedStore keeps scs sessions in Postgres under the SHA-256 of their
// token instead of the token itself, so a copy of the sessions table (a
// backup, a read replica, a leaked dump) holds no cookie value that signs
// anyone in. The token has 256 random bits, so an unsalted hash is as hard
// to turn back into a cookie as guessing one.
type hashedStore struct{ inner *pgxstore.PostgresStore }

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "sha256:" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// Find returns the session data for the token's hash.
func (s hashedStore) Find(token string) ([]byte, bool, error) { return s.inner.Find(hashToken(token)) }

// Commit stores the session data under the token's hash.
func (s hashedStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.inner.Commit(hashToken(token), b, expiry)
}

// Delete removes the session stored under the token's hash.
func (s hashedStore) Delete(token string) error { return s.inner.Delete(hashToken(token)) }
