package inventory

import (
	"context"
	"testing"
	"time"
)

// The window lets size requests through in any minute and holds the next
// one until the oldest is a minute old: a tenant never sees more than Graph
// allows, however many scans ask at once.
func TestWindowHoldsTheRequestOverTheLimit(t *testing.T) {
	clock := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	var slept time.Duration
	w := &window{size: 3, now: func() time.Time { return clock },
		sleep: func(_ context.Context, d time.Duration) error { slept += d; clock = clock.Add(d); return nil }}
	for i := range 3 {
		if err := w.wait(context.Background()); err != nil || slept != 0 {
			t.Fatalf("request %d: wait() = %v after sleeping %s, want at once", i+1, err, slept)
		}
		clock = clock.Add(10 * time.Second)
	}
	// 30 s after the first: the fourth waits the 30 s until the first is a minute old.
	if err := w.wait(context.Background()); err != nil || slept != 30*time.Second {
		t.Errorf("fourth request: wait() = %v after sleeping %s, want 30s", err, slept)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w.sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	if err := w.wait(ctx); err == nil {
		t.Error("wait() with the window full and the context cancelled = nil, want the context's error")
	}
}
