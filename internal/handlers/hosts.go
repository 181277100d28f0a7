package handlers

import (
	"net"
	"net/http"
	"strings"

	"github.com/appreg-portal/portal/internal/config"
)

// LoopbackOnly serves only requests addressed to a loopback name
// (localhost, 127.0.0.1, ::1) and refuses others with 421 Misdirected
// Request. A server on loopback is otherwise open to DNS rebinding: a web
// page on attacker.example makes its name resolve to 127.0.0.1 and then
// reads and drives the local server from the victim's browser as a
// same-origin site. The Host header still says attacker.example, so this
// check stops it. `portal dev` wraps the portal and the Entra emulator in it;
// production servers behind a proxy are reached under their real names.
func LoopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if !config.IsLoopback(strings.ToLower(strings.Trim(host, "[]"))) {
			http.Error(w, "This server answers only to localhost, 127.0.0.1 or [::1].", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}
