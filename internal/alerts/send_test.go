package alerts_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/mailtest"
	"github.com/appreg-portal/portal/internal/pgtest"
	"github.com/appreg-portal/portal/internal/store"
)

// markFailingStore records the first digest's outcome and then fails to
// record any other, as a database that goes away during a run.
type markFailingStore struct {
	*store.Store
	mu     sync.Mutex
	marked []string // recipients whose outcome was recorded
	tries  int
}

var errMarkBroken = errors.New("test: the database went away")

func (s *markFailingStore) MarkDigest(ctx context.Context, recipient string, lastID int64, maxAttempts int, failure string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tries++
	if s.tries > 1 {
		return errMarkBroken
	}
	s.marked = append(s.marked, recipient)
	return s.Store.MarkDigest(ctx, recipient, lastID, maxAttempts, failure, at)
}

// TestRunStopsWhenOutcomesCannotBeRecorded sends digests to more
// recipients than are sent at once, through a store that stops recording
// outcomes after the first: the run ends with that error and takes no
// further digest (only those already under way finish); the next run
// sends every digest not recorded, and the recorded one not again.
func TestRunStopsWhenOutcomesCannotBeRecorded(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	now := time.Now()
	pgtest.SeedInventory(t, st, pgtest.Inventory{Tenants: 15, Live: 4, Expired: 2, Now: now})
	const recipients = 16 // ops and one contact per tenant
	mb := mailtest.Start(t, "127.0.0.1:0")
	cfg := alerts.Config{SMTP: alerts.SMTP{Addr: mb.Addr, From: "portal@contoso.example", TLS: "none"},
		Recipients: []string{"ops@contoso.example"}, PortalURL: "https://portal.contoso.example"}
	failing := &markFailingStore{Store: st}
	res, err := alerts.New(cfg, failing).Run(ctx)
	if !errors.Is(err, errMarkBroken) {
		t.Fatalf("run = %+v, %v; want %v", res, err, errMarkBroken)
	}
	first := len(mb.Mails())
	if first < 1 || first >= recipients || failing.tries != first {
		t.Errorf("the failing run sent %d digests and recorded %d outcomes, want at least one and fewer than the %d recipients, each recorded", first, failing.tries, recipients)
	}
	if res.Mails != 1 || len(failing.marked) != 1 {
		t.Fatalf("the failing run = %+v, recorded %v; want one digest recorded", res, failing.marked)
	}

	res, err = alerts.New(cfg, st).Run(ctx)
	if err != nil || res.Mails != recipients-1 {
		t.Errorf("next run = %+v, %v; want the %d digests not recorded", res, err, recipients-1)
	}
	got := map[string]int{}
	for _, m := range mb.Mails() {
		got[m.To[0]]++
	}
	if len(got) != recipients || got[failing.marked[0]] != 1 {
		t.Errorf("mails by recipient = %v; want all %d, %s's once", got, recipients, failing.marked[0])
	}
}
