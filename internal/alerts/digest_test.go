package alerts_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/mailtest"
	"github.com/appreg-portal/portal/internal/pgtest"
)

// itemRe matches one listed credential of a digest.
var itemRe = regexp.MustCompile(`(?m)^- Tenant \d+ — Application `)

// TestHugeDigestIsDeliveredBounded queues thousands of alerts for one
// portal-wide recipient and sends them through a mail server that refuses
// messages over 64 KB, as real ones refuse (at larger sizes) what the old
// unbounded digest sent. Every recipient gets one mail that lists the most
// urgent up to the bound and sums up the rest with a link to the filtered
// dashboard; every delivery is marked sent, and nothing is sent twice.
func TestHugeDigestIsDeliveredBounded(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	now := time.Now()
	pgtest.SeedInventory(t, st, pgtest.Inventory{Tenants: 12, Live: 600, Expired: 250, Now: now})
	mb := mailtest.StartLimited(t, "127.0.0.1:0", 64<<10)
	a := alerts.New(alerts.Config{SMTP: alerts.SMTP{Addr: mb.Addr, From: "portal@contoso.example", TLS: "none"},
		Recipients: []string{"ops@contoso.example"}, PortalURL: "https://portal.contoso.example", DigestLimit: 40}, st)
	res, err := a.Run(ctx)
	if err != nil {
		t.Fatalf("run = %+v, %v", res, err)
	}
	const recipients = 13 // ops and one contact per tenant
	if res.Mails != recipients || res.Failed != 0 || res.Sent != res.Queued || res.Queued < 2*12*250 {
		t.Errorf("run = %+v, want %d mails, every queued delivery sent, at least %d queued", res, recipients, 2*12*250)
	}
	mails := mb.Mails()
	if len(mails) != recipients {
		t.Fatalf("%d mails arrived, want %d", len(mails), recipients)
	}
	var opsTotal int
	for _, m := range mails {
		if len(m.Raw) > 64<<10 {
			t.Errorf("mail to %v is %d bytes", m.To, len(m.Raw))
		}
		if n := len(itemRe.FindAllString(m.Body, -1)); n != 40 {
			t.Errorf("mail to %v lists %d credentials, want the bound, 40:\n%.600s", m.To, n, m.Body)
		}
		summary := regexp.MustCompile(`^(\d+) client secrets and certificates need attention \((\d+) of them expired\)\. The 40 most urgent are listed below; (\d+) more are not: see them all at (\S+)\r?\n`).FindStringSubmatch(m.Body)
		if summary == nil {
			t.Fatalf("mail to %v has no summary line:\n%.600s", m.To, m.Body)
		}
		total, _ := strconv.Atoi(summary[1])
		more, _ := strconv.Atoi(summary[3])
		if more != total-40 {
			t.Errorf("mail to %v: %d more of %d, want %d", m.To, more, total, total-40)
		}
		if m.To[0] == "ops@contoso.example" {
			opsTotal = total
			if summary[4] != "https://portal.contoso.example/?within=90" {
				t.Errorf("ops's link = %s, want the dashboard within 90 days", summary[4])
			}
			if !strings.HasPrefix(m.Subject, "[AppReg Portal] "+summary[2]+" expired: ") || !strings.HasSuffix(m.Subject, fmt.Sprintf(" and %d more need attention", total-1)) {
				t.Errorf("ops's subject = %q", m.Subject)
			}
		} else if !regexp.MustCompile(`^https://portal\.contoso\.example/\?tenant=\d+&within=90$`).MatchString(summary[4]) {
			t.Errorf("a tenant contact's link = %s, want the dashboard filtered to the tenant", summary[4])
		}
		// Most urgent first: the first listed has expired longest ago.
		if !strings.Contains(m.Body[:strings.Index(m.Body, "\n- Tenant")+400], "Expired:") {
			t.Errorf("mail to %v does not start with an expired credential", m.To)
		}
	}
	if opsTotal*2 != res.Queued {
		t.Errorf("ops's digest counts %d, half of the %d queued", opsTotal, res.Queued)
	}
	if res, err := a.Run(ctx); err != nil || counts(res) != (alerts.RunResult{}) {
		t.Errorf("second run = %+v, %v; want nothing to do", res, err)
	}
	// The counts /metrics reads follow the deliveries, and survive a rebuild.
	for _, stage := range []string{"after the runs", "after a rebuild"} {
		counts, err := st.DeliveryCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var sent, open int
		if err := st.Pool().QueryRow(ctx, `SELECT count(*) FILTER (WHERE status = 'sent'), count(*) FILTER (WHERE status <> 'sent') FROM alert_deliveries`).Scan(&sent, &open); err != nil {
			t.Fatal(err)
		}
		if counts["sent"] != sent || counts["pending"]+counts["failed"] != open || sent != res.Queued {
			t.Errorf("%s: DeliveryCounts() = %v, the table has %d sent, %d open", stage, counts, sent, open)
		}
		if err := st.RebuildExpiryCounts(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
