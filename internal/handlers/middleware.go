package handlers

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/appreg-portal/portal/internal/i18n"
)

type requestIDKey struct{}

// RequestID returns the ID given to the request by the requestID middleware.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// requestID gives every request a fresh random ID, echoed in X-Request-ID.
// Incoming IDs are not trusted: a client must not choose what lands in logs.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [8]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
		id := hex.EncodeToString(b[:])
		w.Header().Set("X-Request-ID", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// requestObserver counts requests for metrics (internal/metrics).
type requestObserver interface {
	Observe(method string, code int, d time.Duration)
}

// logRequests logs one line per request. It logs the path only: query
// strings can carry authorization codes and state.
func (h *Handler) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		if h.metrics != nil {
			h.metrics.Observe(r.Method, rec.status, time.Since(start))
		}
		level := slog.LevelInfo
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || strings.HasPrefix(r.URL.Path, "/static/") {
			level = slog.LevelDebug
		}
		h.log.Log(r.Context(), level, "http",
			"request_id", RequestID(r.Context()), "remote", clientIP(r), "method", r.Method, "path", logPath(r.URL.Path),
			"status", rec.status, "bytes", rec.bytes, "duration_ms", time.Since(start).Milliseconds())
	})
}

// recoverPanics turns a panic into a logged 500 page.
func (h *Handler) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				h.serveError(w, r, fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// securityHeaders sets the CSP (with a per-request nonce for the few inline
// scripts templ may emit), framing, sniffing, referrer and HSTS headers.
func (h *Handler) securityHeaders(next http.Handler) http.Handler {
	https := h.baseURL != nil && h.baseURL.Scheme == "https"
	formAction := "'self'"
	for _, o := range h.formTargets {
		formAction += " " + o
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [16]byte
		_, _ = rand.Read(b[:]) // never fails
		nonce := base64.RawStdEncoding.EncodeToString(b[:])
		hdr := w.Header()
		hdr.Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'nonce-"+nonce+"'; "+
			"style-src 'self' 'nonce-"+nonce+"'; img-src 'self' data:; connect-src 'self'; object-src 'none'; "+
			"base-uri 'none'; frame-ancestors 'none'; form-action "+formAction)
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("X-Frame-Options", "DENY")
		hdr.Set("Referrer-Policy", "same-origin")
		hdr.Set("Cross-Origin-Opener-Policy", "same-origin")
		hdr.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		hdr.Add("Vary", "HX-Request")
		if https {
			hdr.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r.WithContext(templ.WithNonce(r.Context(), nonce)))
	})
}

// crossOriginProtection refuses state-changing requests from other origins
// (Go's Sec-Fetch-Site / Origin check) with the portal's own 403 page.
func (h *Handler) crossOriginProtection(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.log.WarnContext(r.Context(), "cross-origin request refused", "request_id", RequestID(r.Context()),
			"method", r.Method, "path", logPath(r.URL.Path), "origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
		// This runs before the session is read: the language comes from the
		// switch's cookie or the browser (requestLang without a user).
		r = r.WithContext(i18n.WithLocalizer(r.Context(), h.localizer(requestLang(r))))
		h.serveError(w, r, errForbidden("request.cross_origin"))
	}))
	return cop.Handler(next)
}

type clientIPKey struct{}

// clientIP is who made the request: the peer address, or, when the peer is
// a trusted reverse proxy, the nearest address in X-Forwarded-For that is
// not itself a trusted proxy. Headers from anyone else are ignored, so a
// client cannot choose what the audit trail records.
func clientIP(r *http.Request) string {
	if ip, ok := r.Context().Value(clientIPKey{}).(string); ok {
		return ip
	}
	return peerIP(r)
}

func peerIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (h *Handler) trusted(ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range h.trustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// realIP works out clientIP once per request.
func (h *Handler) realIP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := peerIP(r)
		if h.trusted(ip) {
			hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
			for i := len(hops) - 1; i >= 0; i-- {
				hop := strings.TrimSpace(hops[i])
				if _, err := netip.ParseAddr(hop); err != nil {
					break // garbage: stop at the last address we could trust
				}
				ip = hop
				if !h.trusted(hop) {
					break
				}
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientIPKey{}, ip)))
	})
}
