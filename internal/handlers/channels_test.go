package handlers_test

import (
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/handlers"
	"github.com/appreg-portal/portal/internal/mailtest"
	"github.com/appreg-portal/portal/internal/seal"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/internal/testenv"
)

// An admin adds a Teams channel, sees only its host afterwards, sends a
// test that arrives, then one that fails and says why in words, and
// removes it. Operators see no channels.
func TestChannelsOnTheAlertsPage(t *testing.T) {
	var status atomic.Int32
	status.Store(http.StatusOK)
	var hits atomic.Int32
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(int(status.Load()))
	}))
	defer recv.Close()
	key, err := seal.ParseKey(seal.NewKey())
	must(t, err)
	sealer, err := seal.New(key)
	must(t, err)
	e := newFlowEnvWith(t, testenv.Options{
		Alerts: handlers.AlertSettings{Enabled: true, From: "portal@contoso.example", Recipients: []string{"ops@contoso.example"}, Thresholds: []int{7, 0}},
		AlertChannels: func(st *store.Store) handlers.AlertChannels {
			return alerts.New(alerts.Config{Sealer: sealer, PortalURL: "https://portal.contoso.example"}, st)
		}})
	admin := e.browser()
	admin.signIn("ada")
	hookURL := recv.URL + "/workflows/abc/triggers/manual/paths/invoke?sig=SECRETSIG"

	resp, page := admin.postForm("/admin/alert-channels", url.Values{"kind": {"teams"}, "name": {"Ops"}, "url": {"http://hooks.example.com/x?sig=SECRETSIG"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `data-testid="channel-url-error"`) || strings.Contains(page, "SECRETSIG") {
		t.Errorf("plain-http channel = %d (or the URL was re-shown)", resp.StatusCode)
	}
	resp, page = admin.postForm("/admin/alert-channels", url.Values{"kind": {"teams"}, "name": {"Ops in Teams"}, "url": {hookURL}})
	if resp.StatusCode != 200 || !strings.Contains(page, `data-testid="channel-row"`) || !strings.Contains(page, "Ops in Teams") {
		t.Fatalf("add channel = %d", resp.StatusCode)
	}
	if strings.Contains(page, "SECRETSIG") || strings.Contains(page, "/workflows/") {
		t.Error("the Alerts page shows the webhook URL")
	}
	chs, err := e.Store.AlertChannels(t.Context())
	must(t, err)
	if len(chs) != 1 {
		t.Fatalf("channels = %d", len(chs))
	}
	id := itoa(chs[0].ID)
	_, page = admin.postForm("/admin/alert-channels/"+id+"/test", nil)
	if hits.Load() != 1 || !strings.Contains(page, "Test message delivered") {
		t.Errorf("test: %d hits; page lacks the confirmation", hits.Load())
	}
	status.Store(http.StatusNotFound)
	_, page = admin.postForm("/admin/alert-channels/"+id+"/test", nil)
	if !strings.Contains(page, "The webhook no longer exists (HTTP 404 or 410)") || strings.Contains(page, "SECRETSIG") {
		t.Errorf("failed test: the page does not say why in words")
	}

	op := e.browser()
	op.signIn("oscar")
	if _, page := op.get(e.Portal.URL + "/alerts"); strings.Contains(page, `data-testid="alert-channels"`) {
		t.Error("an operator sees the channels")
	}
	if resp, _ := op.postForm("/admin/alert-channels/"+id+"/delete", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("operator removing a channel = %d, want 403", resp.StatusCode)
	}
	resp, page = admin.postForm("/admin/alert-channels/"+id+"/delete", nil)
	if resp.StatusCode != 200 || strings.Contains(page, `data-testid="channel-row"`) {
		t.Errorf("remove channel = %d", resp.StatusCode)
	}
	var audit string
	must(t, e.Store.Pool().QueryRow(t.Context(), `SELECT string_agg(action || ' ' || details::text, E'\n') FROM audit_events WHERE action LIKE 'alerts.%'`).Scan(&audit))
	if strings.Contains(audit, "SECRETSIG") || !strings.Contains(audit, "alerts.channel.add") || !strings.Contains(audit, `"reason": "webhook-gone"`) ||
		!strings.Contains(audit, "alerts.channel.remove") {
		t.Errorf("audit:\n%s", audit)
	}
}

// Send a test e-mail: delivered to a real SMTP server on loopback, and with
// the server gone, the page says why in words, not the dial error.
func TestTestMail(t *testing.T) {
	mb := mailtest.Start(t, "127.0.0.1:0")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	down := ln.Addr().String()
	ln.Close()
	for _, tt := range []struct {
		name, addr, want string
		mails            int
	}{
		{"up", mb.Addr, "Test e-mail accepted by the mail server for ada@contoso.example.", 1},
		{"down", down, "The test e-mail was not sent. The mail server could not be reached (check its address and port, and the firewall).", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newFlowEnvWith(t, testenv.Options{
				Alerts: handlers.AlertSettings{Enabled: true, From: "portal@contoso.example", Recipients: []string{"ops@contoso.example"}, Thresholds: []int{7, 0}},
				AlertChannels: func(st *store.Store) handlers.AlertChannels {
					return alerts.New(alerts.Config{SMTP: alerts.SMTP{Addr: tt.addr, From: "portal@contoso.example", TLS: "none"}}, st)
				}})
			admin := e.browser()
			admin.signIn("ada")
			before := len(mb.Mails())
			_, page := admin.postForm("/admin/alert-mail-test", url.Values{"to": {"ada@contoso.example"}})
			if !strings.Contains(page, html.EscapeString(tt.want)) || strings.Contains(page, "127.0.0.1") {
				t.Errorf("page lacks %q (or shows the address)", tt.want)
			}
			if got := len(mb.Mails()) - before; got != tt.mails {
				t.Errorf("%d mails arrived, want %d", got, tt.mails)
			}
		})
	}
}
