package handlers

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"sync"
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
	sm.Store = newHashedStore(pgxstore.NewWithCleanupInterval(pool, 10*time.Minute))
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
//
// With an idle timeout scs commits every request, only to push the expiry
// on: a row write and a WAL flush per page view. A commit whose data is
// unchanged and whose expiry moves less than commitEvery is skipped, so
// an idle timeout ends at most commitEvery early.
type hashedStore struct {
	inner scs.Store

	mu     sync.Mutex
	recent map[string]committed // by hashed token
}

type committed struct {
	digest [sha256.Size]byte
	expiry time.Time
}

// commitEvery is how far an unchanged session's expiry may move before it
// is written again.
const commitEvery = time.Minute

func newHashedStore(inner scs.Store) *hashedStore {
	return &hashedStore{inner: inner, recent: map[string]committed{}}
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "sha256:" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// Find returns the session data for the token's hash.
func (s *hashedStore) Find(token string) ([]byte, bool, error) { return s.inner.Find(hashToken(token)) }

// Commit stores the session data under the token's hash, unless only the
// expiry moved, by less than commitEvery, since this process last wrote it.
func (s *hashedStore) Commit(token string, b []byte, expiry time.Time) error {
	key, digest := hashToken(token), sha256.Sum256(b)
	s.mu.Lock()
	last, ok := s.recent[key]
	s.mu.Unlock()
	if ok && last.digest == digest && !expiry.Before(last.expiry) && expiry.Sub(last.expiry) < commitEvery {
		return nil
	}
	if err := s.inner.Commit(key, b, expiry); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.recent) >= 100_000 { // bounded: forget what has expired, else start afresh
		now := time.Now()
		for k, c := range s.recent {
			if c.expiry.Before(now) {
				delete(s.recent, k)
			}
		}
		if len(s.recent) >= 100_000 {
			clear(s.recent)
		}
	}
	s.recent[key] = committed{digest: digest, expiry: expiry}
	return nil
}

// Delete removes the session stored under the token's hash.
func (s *hashedStore) Delete(token string) error {
	key := hashToken(token)
	s.mu.Lock()
	delete(s.recent, key)
	s.mu.Unlock()
	return s.inner.Delete(key)
}
