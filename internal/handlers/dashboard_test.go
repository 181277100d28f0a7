package handlers_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/pgtest"
	"github.com/appreg-portal/portal/internal/store"
)

var (
	// Figures of 10,000 and more are grouped (i18n.Num): "12,345".
	statRe     = regexp.MustCompile(`data-testid="stat-(expired|within30|within90|tracked)">(\d[\d,]*)<`)
	matchingRe = regexp.MustCompile(`data-testid="credentials-matching"><small>(\d[\d,]*|No) live`)
	nextRe     = regexp.MustCompile(`<a href="([^"]+)"[^>]*data-testid="credentials-next"`)
)

// getWith GETs path with extra request headers.
func (b *browser) getWith(path string, hdr map[string]string) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.e.Portal.URL+path, nil)
	must(b.t, err)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := b.client.Do(req)
	must(b.t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// TestDashboardFiguresAgreeWithTheList checks, for every filter, that the
// figures on the page equal a count of the credentials table and that
// paging through the list (by the htmx fragment, 50 rows at a time) and
// the CSV export both yield exactly as many rows as the page says match.
func TestDashboardFiguresAgreeWithTheList(t *testing.T) {
	e := newFlowEnv(t)
	ctx := context.Background()
	pgtest.SeedInventory(t, e.Store, pgtest.Inventory{Tenants: 3, Live: 70, Expired: 25, Removed: 10, Now: time.Now()})
	tenants, err := e.Store.ListTenants(ctx)
	must(t, err)
	op := e.browser()
	op.signIn("oscar")
	tid := strconv.FormatInt(tenants[1].ID, 10)
	for _, q := range []string{"", "within=30", "within=90", "tenant=" + tid, "tenant=" + tid + "&within=30", "tenant=" + tid + "&within=90"} {
		t.Run(q, func(t *testing.T) {
			resp, page := op.get(e.Portal.URL + "/?" + q)
			if resp.StatusCode != 200 {
				t.Fatalf("GET /?%s = %d", q, resp.StatusCode)
			}
			stats := map[string]int{}
			for _, m := range statRe.FindAllStringSubmatch(page, -1) {
				stats[m[1]], _ = strconv.Atoi(strings.ReplaceAll(m[2], ",", ""))
			}
			var tenantID int64
			var endsBy string
			if strings.Contains(q, "tenant=") {
				tenantID = tenants[1].ID
			}
			if i := strings.Index(q, "within="); i >= 0 {
				endsBy = q[i+len("within="):]
			}
			var want store.ExpirySummary
			must(t, e.Store.Pool().QueryRow(ctx, `
				SELECT count(*), count(*) FILTER (WHERE ends_at <= now()), count(*) FILTER (WHERE ends_at > now() AND ends_at <= now() + interval '30 days'),
				       count(*) FILTER (WHERE ends_at > now() AND ends_at <= now() + interval '90 days')
				FROM credentials WHERE removed_at IS NULL AND ($1 = 0 OR tenant_id = $1)`, tenantID).Scan(&want.Total, &want.Expired, &want.Within30, &want.Within90))
			got := store.ExpirySummary{Total: stats["tracked"], Expired: stats["expired"], Within30: stats["within30"], Within90: stats["within90"]}
			if got != want || len(stats) != 4 {
				t.Errorf("figures on /?%s = %+v, counted in the table %+v", q, got, want)
			}
			m := matchingRe.FindStringSubmatch(page)
			if m == nil {
				t.Fatalf("/?%s says nothing about how many match", q)
			}
			matching, _ := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
			wantMatching := map[string]int{"": want.Total, "30": want.Expired + want.Within30, "90": want.Expired + want.Within90}[endsBy]
			if matching != wantMatching {
				t.Errorf("/?%s says %d match, want %d", q, matching, wantMatching)
			}
			rows, pages := strings.Count(page, `data-testid="credential-row"`), 1
			next := nextRe.FindStringSubmatch(page)
			for next != nil {
				resp, frag := op.getWith(html.UnescapeString(next[1]), map[string]string{"HX-Request": "true", "HX-Target": "credential-list"})
				if resp.StatusCode != 200 || strings.Contains(frag, "<html") || strings.Contains(frag, `data-testid="stat-`) || !strings.HasPrefix(frag, `<div id="credential-list"`) {
					t.Fatalf("list fragment %s = %d, want only the list:\n%.300s", next[1], resp.StatusCode, frag)
				}
				if n := strings.Count(frag, `data-testid="credential-row"`); n == 0 || n > 50 {
					t.Fatalf("fragment %s has %d rows, want 1–50", next[1], n)
				}
				rows += strings.Count(frag, `data-testid="credential-row"`)
				pages++
				next = nextRe.FindStringSubmatch(frag)
			}
			if rows != matching || pages != (matching+49)/50 && matching > 0 {
				t.Errorf("paging /?%s gave %d rows on %d pages, the page says %d match", q, rows, pages, matching)
			}
			_, csvBody := op.get(e.Portal.URL + "/credentials.csv?" + q)
			if n := strings.Count(csvBody, "\n") - 1; n != matching {
				t.Errorf("credentials.csv?%s has %d rows, the dashboard says %d match", q, n, matching)
			}
		})
	}
	// The tenant filter's options are rendered once per change of the tenants: the chosen one is marked,
	// a new tenant appears on the next view.
	tenantSelect := func(page string) string {
		_, after, _ := strings.Cut(page, `data-testid="filter-tenant">`)
		sel, _, _ := strings.Cut(after, "</select>")
		return sel
	}
	if _, page := op.get(e.Portal.URL + "/?tenant=" + tid); !strings.Contains(tenantSelect(page), `<option value="`+tid+`" selected translate="no">`) ||
		strings.Count(tenantSelect(page), " selected") != 1 || strings.Count(tenantSelect(page), "<option value=") != 4 {
		t.Errorf("the tenant filter does not mark tenant %s alone among 3 tenants and All:\n%s", tid, tenantSelect(page))
	}
	if _, err := e.Store.CreateTenant(ctx, store.Tenant{EntraTenantID: "fab41c4e-2d3b-4a5c-8e6f-7a8b9c0d1e2f", DisplayName: "Northwind", Status: "connected"},
		store.AuditEvent{Action: "tenant.create"}); err != nil {
		t.Fatal(err)
	}
	if _, page := op.get(e.Portal.URL + "/"); !strings.Contains(tenantSelect(page), ">Northwind</option>") || !strings.Contains(tenantSelect(page), `<option value="" selected>`) {
		t.Error("a tenant created after the last view is not among the filter's options")
	}
	if resp, _ := op.get(e.Portal.URL + "/?after=x"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET /?after=x = %d, want 400", resp.StatusCode)
	}
}

// TestExportsStreamPastTheOldCap exports more rows than the 100,000 the
// exports used to stop at, silently.
func TestExportsStreamPastTheOldCap(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 100,050 credentials; skipped with -short")
	}
	e := newFlowEnv(t)
	const live = 100_050
	pgtest.SeedInventory(t, e.Store, pgtest.Inventory{Tenants: 1, Live: live, Expired: 40_000, Now: time.Now()})
	op := e.browser()
	op.signIn("vera")
	resp, csvBody := op.get(e.Portal.URL + "/credentials.csv")
	if n := strings.Count(csvBody, "\n") - 1; resp.StatusCode != 200 || n != live {
		t.Errorf("credentials.csv = %d with %d rows, want 200 with %d", resp.StatusCode, n, live)
	}
	resp, jsonBody := op.get(e.Portal.URL + "/credentials.json")
	var exported struct {
		GeneratedAt time.Time         `json:"generatedAt"`
		Credentials []json.RawMessage `json:"credentials"`
	}
	if err := json.Unmarshal([]byte(jsonBody), &exported); err != nil || resp.StatusCode != 200 || len(exported.Credentials) != live || exported.GeneratedAt.IsZero() {
		t.Errorf("credentials.json = %d, %v, %d credentials, want %d", resp.StatusCode, err, len(exported.Credentials), live)
	}
	resp, ics := op.get(e.Portal.URL + "/credentials.ics")
	if n := strings.Count(ics, "BEGIN:VEVENT"); resp.StatusCode != 200 || n != live-40_000 || !strings.HasSuffix(ics, "END:VCALENDAR\r\n") {
		t.Errorf("credentials.ics = %d with %d events, want %d (the live ones not expired)", resp.StatusCode, n, live-40_000)
	}
}
