package inventory_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/entrasim"
)

// rssKB reads VmRSS or VmHWM of this process in KB.
func rssKB(field string) int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
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

// BenchmarkScanLargeTenant scans a tenant with 10,000 applications (and
// their 10,000 service principals) in the emulator with Graph's limits on:
// the first, full scan; unchanged re-scans (delta) until 15 have run; then
// seven full listings in a row (delta links dropped), more requests
// selecting keyCredentials than Graph's 150 a minute allow. It prints
// requests, wall time and peak RSS above the RSS before each scan (the
// emulator shares the process), and how many 429s Graph answered (want 0:
// the scanner waits for its slot instead).
func BenchmarkScanLargeTenant(b *testing.B) {
	w := newScanWorld(b, 10_000, entrasim.Options{})
	start := time.Now()
	for i := range 15 {
		before := rssKB("VmRSS")
		hwm := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
		t0 := time.Now()
		res := w.scan(b)
		peak := 0
		if hwm {
			peak = (rssKB("VmHWM") - before) >> 10
		}
		kind := "full"
		if res.Delta {
			kind = "delta"
		}
		if i < 2 || i == 14 {
			fmt.Printf("    scan %2d (%s): %d Graph requests, %s, peak RSS +%d MB, %d credentials\n",
				i+1, kind, res.Requests, time.Since(t0).Round(time.Millisecond), peak, res.Found)
		}
	}
	throttled := func() int {
		n := 0
		for _, r := range w.sim.Requests() {
			if r.Status == http.StatusTooManyRequests {
				n++
			}
		}
		return n
	}
	fmt.Printf("    15 scans in %s, %d answered 429\n", time.Since(start).Round(time.Millisecond), throttled())
	start = time.Now()
	requests := 0
	for range 7 {
		if _, err := w.st.Pool().Exec(context.Background(), `UPDATE tenants SET applications_delta_link = '', service_principals_delta_link = '' WHERE id = $1`, w.tenant.ID); err != nil {
			b.Fatal(err)
		}
		requests += w.scan(b).Requests
	}
	fmt.Printf("    7 full listings in a row: %d Graph requests in %s (the limit held them to 140 a minute), %d answered 429\n",
		requests, time.Since(start).Round(time.Millisecond), throttled())
	b.ReportMetric(float64(throttled()), "429s")
}
