package handlers_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/appreg-portal/portal/internal/store"
)

// A viewer makes a calendar subscription URL; a calendar service fetches
// it without a session and a real iCalendar parser reads one event per
// live credential; the token is not kept in clear; a new URL revokes the
// old one, Revoke ends it, and so does losing the role.
func TestCalendarFeed(t *testing.T) {
	e := newFlowEnv(t)
	ctx := context.Background()
	now := time.Now()
	tn, err := e.Store.CreateTenant(ctx, store.Tenant{EntraTenantID: "fab41c4e-2d3b-4a5c-8e6f-7a8b9c0d1e2f", DisplayName: "Fabrikam", Status: "connected"}, store.AuditEvent{Action: "tenant.create"})
	must(t, err)
	_, err = e.Store.RecordScan(ctx, tn.ID, []store.Credential{
		{OwnerKind: "application", OwnerObjectID: "0a0a0a0a-0000-4000-8000-000000000001", OwnerAppID: "app-1", OwnerName: "AFAS Profit, NL",
			KeyID: "c0000000-0000-4000-8000-000000000001", Kind: "password", DisplayName: "prod; main", EndsAt: now.Add(20 * 24 * time.Hour)},
		{OwnerKind: "application", OwnerObjectID: "0a0a0a0a-0000-4000-8000-000000000002", OwnerAppID: "app-2", OwnerName: "Exact Globe+",
			KeyID: "c0000000-0000-4000-8000-000000000002", Kind: "certificate", EndsAt: now.Add(200 * 24 * time.Hour)},
		{OwnerKind: "application", OwnerObjectID: "0a0a0a0a-0000-4000-8000-000000000003", OwnerAppID: "app-3", OwnerName: "Old",
			KeyID: "c0000000-0000-4000-8000-000000000003", Kind: "password", EndsAt: now.Add(-24 * time.Hour)},
	}, now)
	must(t, err)

	v := e.browser()
	v.signIn("vera")
	if _, page := v.get(e.Portal.URL + "/calendar"); strings.Contains(page, `data-testid="calendar-feed-live"`) {
		t.Fatal("a new user already has a feed")
	}
	resp, page := v.postForm("/calendar/feed", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("make feed = %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	feed := between(page, `data-testid="calendar-feed-url"`, `value="`, `"`)
	if !strings.HasPrefix(feed, e.Portal.URL+"/calendar/") || !strings.HasSuffix(feed, ".ics") {
		t.Fatalf("feed URL = %q", feed)
	}
	token := strings.TrimSuffix(strings.TrimPrefix(feed, e.Portal.URL+"/calendar/"), ".ics")

	// A calendar service: no cookies.
	get := func(u string) (int, []byte) {
		t.Helper()
		resp, err := http.Get(u)
		must(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	status, body := get(feed)
	if status != 200 {
		t.Fatalf("feed = %d", status)
	}
	cal, err := ics.ParseCalendar(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("the feed does not parse as iCalendar: %v\n%s", err, body)
	}
	events := cal.Events()
	if len(events) != 2 {
		t.Fatalf("%d events, want 2 (the expired one is left out)", len(events))
	}
	ev := events[0]
	if got := ev.GetProperty(ics.ComponentPropertySummary).Value; got != "Client secret expires: AFAS Profit, NL (Fabrikam)" {
		t.Errorf("SUMMARY = %q", got)
	}
	start, err := ev.GetAllDayStartAt()
	if err != nil || start.Format("2006-01-02") != now.Add(20*24*time.Hour).UTC().Format("2006-01-02") {
		t.Errorf("DTSTART = %v, %v", start, err)
	}
	if u := ev.GetProperty(ics.ComponentPropertyUrl); u == nil || !strings.HasPrefix(u.Value, e.Portal.URL+"/credentials/") {
		t.Errorf("URL = %v, want the credential's page", u)
	}
	if desc := ev.GetProperty(ics.ComponentPropertyDescription).Value; !strings.Contains(desc, "“prod; main”") {
		t.Errorf("DESCRIPTION = %q", desc)
	}
	if len(ev.Alarms()) != 2 {
		t.Errorf("%d alarms, want 2", len(ev.Alarms()))
	}

	// Only the hash is kept.
	var n int
	must(t, e.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM calendar_feeds WHERE encode(token_hash, 'escape') LIKE '%' || $1 || '%'`, token).Scan(&n))
	if n != 0 {
		t.Error("the token is stored in clear")
	}

	// A new URL revokes the old one.
	_, page = v.postForm("/calendar/feed", nil)
	feed2 := between(page, `data-testid="calendar-feed-url"`, `value="`, `"`)
	if status, _ := get(feed); status != http.StatusNotFound {
		t.Errorf("old feed after a new one = %d, want 404", status)
	}
	if status, _ := get(feed2); status != 200 {
		t.Errorf("new feed = %d", status)
	}
	// Losing the role ends it.
	_, err = e.Store.Pool().Exec(ctx, `UPDATE users SET role = 'none' WHERE display_name = $1`, e.Names["vera"])
	must(t, err)
	if status, _ := get(feed2); status != http.StatusNotFound {
		t.Errorf("feed of a user without a role = %d, want 404", status)
	}
	_, err = e.Store.Pool().Exec(ctx, `UPDATE users SET role = 'viewer' WHERE display_name = $1`, e.Names["vera"])
	must(t, err)
	// Revoke.
	if resp, _ := v.postForm("/calendar/feed/revoke", nil); resp.StatusCode != 200 {
		t.Errorf("revoke = %d", resp.StatusCode)
	}
	if status, _ := get(feed2); status != http.StatusNotFound {
		t.Errorf("revoked feed = %d, want 404", status)
	}
	if status, _ := get(e.Portal.URL + "/calendar/not-a-token.ics"); status != http.StatusNotFound {
		t.Errorf("unknown feed = %d, want 404", status)
	}
}

// between returns the text after marker's first key up to end.
func between(s, marker, key, end string) string {
	i := strings.Index(s, marker)
	if i < 0 {
		return ""
	}
	j := strings.LastIndex(s[:i], key)
	if j < 0 {
		return ""
	}
	rest := s[j+len(key):]
	return rest[:strings.Index(rest, end)]
}
