package handlers

import (
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
	sm.Store = pgxstore.NewWithCleanupInterval(pool, 10*time.Minute)
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
