package handlers

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	"github.com/appreg-portal/portal/internal/auth"
)

// pendingLifetime is how long a started sign-in may take at Entra.
const pendingLifetime = 10 * time.Minute

// pendingAAD binds a sealed pending sign-in to its purpose.
var pendingAAD = []byte("appreg-portal pending sign-in")

// sealedPending is what the pending sign-in cookie carries, sealed.
type sealedPending struct {
	State    string    `json:"s"`
	Nonce    string    `json:"n"`
	Verifier string    `json:"v"`
	ReturnTo string    `json:"r"`
	Expires  time.Time `json:"e"`
}

// pendingCookie names the cookie like the session cookie: __Host- and
// Secure except on a loopback http base URL (portal dev).
func (h *Handler) pendingCookie() http.Cookie {
	c := http.Cookie{Name: "portal_signin", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if h.sessions.Cookie.Secure {
		c.Name, c.Secure = "__Host-portal_signin", true
	}
	return c
}

// putPending keeps a started sign-in's state, nonce and PKCE verifier in a
// short-lived cookie sealed with the portal's key (AES-256-GCM), not in a
// server-side session: a visitor who only opens /login leaves no row in
// Postgres, and the values stay bound to this browser. Without a sealer
// (tests that configure no wizard) the session keeps them as before.
func (h *Handler) putPending(w http.ResponseWriter, r *http.Request, p auth.Pending) error {
	if h.wizard.Sealer == nil {
		h.sessions.Put(r.Context(), keyState, p.State)
		h.sessions.Put(r.Context(), keyNonce, p.Nonce)
		h.sessions.Put(r.Context(), keyVerifier, p.Verifier)
		h.sessions.Put(r.Context(), keyReturnTo, p.ReturnTo)
		return nil
	}
	b, err := json.Marshal(sealedPending{State: p.State, Nonce: p.Nonce, Verifier: p.Verifier, ReturnTo: p.ReturnTo, Expires: h.now().Add(pendingLifetime)})
	if err != nil {
		return err
	}
	c := h.pendingCookie()
	c.Value = base64.RawURLEncoding.EncodeToString(h.wizard.Sealer.Seal(b, pendingAAD))
	c.MaxAge = int(pendingLifetime / time.Second)
	http.SetCookie(w, &c)
	return nil
}

// popPending returns the pending sign-in and forgets it (single use); a
// missing, tampered or expired one is the zero Pending, which CheckState
// refuses.
func (h *Handler) popPending(w http.ResponseWriter, r *http.Request) auth.Pending {
	ctx := r.Context()
	if h.wizard.Sealer == nil {
		return auth.Pending{State: h.sessions.PopString(ctx, keyState), Nonce: h.sessions.PopString(ctx, keyNonce),
			Verifier: h.sessions.PopString(ctx, keyVerifier), ReturnTo: h.sessions.PopString(ctx, keyReturnTo)}
	}
	c := h.pendingCookie()
	got, err := r.Cookie(c.Name)
	c.MaxAge = -1
	http.SetCookie(w, &c)
	if err != nil {
		return auth.Pending{}
	}
	raw, err := base64.RawURLEncoding.DecodeString(got.Value)
	if err != nil {
		return auth.Pending{}
	}
	plain, err := h.wizard.Sealer.Open(raw, pendingAAD)
	if err != nil {
		return auth.Pending{}
	}
	var sp sealedPending
	if json.Unmarshal(plain, &sp) != nil || !h.now().Before(sp.Expires) {
		return auth.Pending{}
	}
	return auth.Pending{State: sp.State, Nonce: sp.Nonce, Verifier: sp.Verifier, ReturnTo: sp.ReturnTo}
}
