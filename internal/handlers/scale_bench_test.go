package handlers_test

import (
	"bufio"
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/metrics"
	"github.com/appreg-portal/portal/internal/pgtest"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/internal/testenv"
)

// The data set: 1,000 connected tenants, 250,000 credential rows,
// 200,000 of them live and 80,000 of those expired.
var scaleInventory = pgtest.Inventory{Tenants: 1000, Live: 200, Expired: 80, Removed: 50}

// procKB reads a field of /proc/self/status in KB (VmRSS, VmHWM).
func procKB(tb testing.TB, field string) int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

// resetPeakRSS makes VmHWM start again from the current RSS (Linux: 5 to clear_refs).
func resetPeakRSS() error { return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// loadResult is one load run.
type loadResult struct {
	p50, p95, max time.Duration
	errors        int
	perSecond     float64
	bytes         int
}

func (r loadResult) String() string {
	return fmt.Sprintf("p50 %6.1f ms  p95 %6.1f ms  max %6.1f ms  %6.0f req/s  errors %d  page %d KB",
		ms(r.p50), ms(r.p95), ms(r.max), r.perSecond, r.errors, r.bytes/1024)
}

// report prints a figure line; benchmark logs are cut at ten lines without -v.
func report(format string, args ...any) { fmt.Printf("    "+format+"\n", args...) }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// load runs n calls of fn at concurrency c and measures each.
func load(n, c int, fn func() (int, error)) loadResult {
	var next atomic.Int64
	lat := make([]time.Duration, n)
	var errs, size atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				b, err := fn()
				lat[i] = time.Since(t0)
				if err != nil {
					errs.Add(1)
				}
				size.Store(int64(b))
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	slices.Sort(lat)
	return loadResult{p50: lat[n/2], p95: lat[n*95/100], max: lat[n-1], errors: int(errs.Load()), perSecond: float64(n) / wall.Seconds(), bytes: int(size.Load())}
}

// BenchmarkDashboardAtScale is issue 15's load: the dashboard, each filter
// and the list fragment, 2,000 requests at concurrency 16 as a signed-in
// operator over 1,000 tenants and 200,000 live credentials; the same
// store calls alone (bare SQL) for the ratio; the process's RSS under the
// load; a 200,000-row JSON export's time and peak RSS over idle; and a
// /metrics scrape. The portal, the emulator and this client share the
// process, so the RSS figures are upper bounds for the portal.
func BenchmarkDashboardAtScale(b *testing.B) {
	ctx := context.Background()
	env := testenv.New(b, testenv.Options{AutoLogin: true})
	inv := scaleInventory
	inv.Now = time.Now()
	t0 := time.Now()
	pgtest.SeedInventory(b, env.Store, inv)
	report("seeded %d tenants, %d credential rows (%d live, %d expired) in %s", inv.Tenants, inv.Tenants*(inv.Live+inv.Removed),
		inv.Tenants*inv.Live, inv.Tenants*inv.Expired, time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	if err := env.Store.RebuildExpiryCounts(ctx); err != nil {
		b.Fatal(err)
	}
	report("start-up rebuild of the derived counts: %s", time.Since(t0).Round(time.Millisecond))
	tenants, err := env.Store.ListTenants(ctx)
	if err != nil {
		b.Fatal(err)
	}
	tid := strconv.FormatInt(tenants[len(tenants)/2].ID, 10)

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	resp, err := client.Get(env.Portal.URL + "/login?login_hint=" + url.QueryEscape(env.Users["oscar"]))
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("sign-in: %v %v", err, resp)
	}
	resp.Body.Close()
	get := func(path string, hdr map[string]string) (int, error) {
		req, _ := http.NewRequest(http.MethodGet, env.Portal.URL+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		if err == nil && resp.StatusCode != 200 {
			err = fmt.Errorf("GET %s = %d", path, resp.StatusCode)
		}
		return int(n), err
	}
	// The third page of each list, reached by the pager's fragment links.
	thirdPage := func(q string) string {
		path := "/?" + q
		for range 2 {
			resp, err := client.Get(env.Portal.URL + path)
			if err != nil {
				b.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			m := nextRe.FindSubmatch(body)
			if m == nil {
				b.Fatalf("no next page after %s", path)
			}
			path = html.UnescapeString(string(m[1]))
		}
		return path
	}
	frag := map[string]string{"HX-Request": "true", "HX-Target": "credential-list"}
	views := []struct {
		name, path string
		hdr        map[string]string
	}{
		{"dashboard /", "/", nil},
		{"within=30", "/?within=30", nil},
		{"within=90", "/?within=90", nil},
		{"tenant", "/?tenant=" + tid, nil},
		{"tenant+within=30", "/?tenant=" + tid + "&within=30", nil},
		{"fragment page 3", thirdPage(""), frag},
		{"fragment page 3 within=30", thirdPage("within=30"), frag},
		{"fragment page 3 tenant", thirdPage("tenant=" + tid), frag},
	}
	const n, c = 2000, 16
	var stop atomic.Bool
	var peak atomic.Int64
	go func() {
		for !stop.Load() {
			if v := int64(procKB(b, "VmRSS")); v > peak.Load() {
				peak.Store(v)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	var worstP95 time.Duration
	var pageP50 time.Duration
	errors := 0
	for _, v := range views {
		r := load(n, c, func() (int, error) { return get(v.path, v.hdr) })
		report("%-26s %s", v.name, r)
		worstP95 = max(worstP95, r.p95)
		errors += r.errors
		if v.path == "/" {
			pageP50 = r.p50
		}
	}
	stop.Store(true)
	report("RSS of the whole test process under the dashboard load: peak %d MB", peak.Load()/1024)

	// The dashboard's own store calls, without HTTP, session or rendering
	// (the tenant options are rendered once; each view checks their version).
	sql := load(n, c, func() (int, error) {
		now := time.Now()
		if _, _, err := env.Store.TenantsVersion(ctx); err != nil {
			return 0, err
		}
		if _, _, err := env.Store.CredentialSummary(ctx, 0, now); err != nil {
			return 0, err
		}
		if _, err := env.Store.OpenRotations(ctx); err != nil {
			return 0, err
		}
		_, err := env.Store.ListCredentials(ctx, store.CredentialFilter{Limit: 51})
		return 0, err
	})
	report("%-26s %s", "bare SQL of /", sql)
	report("page-to-bare-SQL ratio (p50): %.1f", float64(pageP50)/float64(sql.p50))

	// A 200,000-row JSON export, read by a client that discards it.
	runtimeIdle := procKB(b, "VmRSS")
	hwmReset := resetPeakRSS() == nil
	t0 = time.Now()
	size, err := get("/credentials.json", nil)
	if err != nil {
		b.Fatal(err)
	}
	exportPeak := procKB(b, "VmHWM")
	if !hwmReset {
		exportPeak = 0
	}
	report("/credentials.json: %d MB in %s; RSS idle %d MB, peak during the export %d MB (+%d MB)", size>>20, time.Since(t0).Round(time.Millisecond),
		runtimeIdle/1024, exportPeak/1024, (exportPeak-runtimeIdle)/1024)

	// /metrics, as Prometheus scrapes it.
	m := metrics.New(env.Store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	mr := load(200, 1, func() (int, error) {
		resp, err := http.Get(srv.URL)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		return int(n), err
	})
	report("%-26s %s", "/metrics", mr)

	b.ReportMetric(float64(worstP95.Microseconds())/1000, "worst-p95-ms")
	b.ReportMetric(float64(errors), "errors")
	b.ReportMetric(float64(peak.Load()/1024), "peak-RSS-MB")
	b.ReportMetric(float64(mr.p95.Microseconds())/1000, "metrics-p95-ms")
}
