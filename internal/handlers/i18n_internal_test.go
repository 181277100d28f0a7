package handlers

import (
	"context"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/store"
)

// A silence in words, in each language, while it lasts and once it ended;
// the English sentence the Tenants page shows is the one it always was.
func TestSilenceSentences(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	until := time.Date(2026, 12, 14, 0, 0, 0, 0, time.UTC)
	set := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	snooze := store.AlertSilence{Scope: store.SilenceCredential, Kind: store.SilenceSnooze, Until: &until, Reason: "vendor renews", CreatedBy: "Oscar", CreatedAt: set}
	tenant := store.AlertSilence{Scope: store.SilenceTenant, Kind: store.SilenceExclude, Reason: "offboarding", CreatedAt: set}
	nl := i18n.WithLocalizer(context.Background(), i18n.For(i18n.NL))
	tests := []struct {
		name string
		ctx  context.Context
		sl   store.AlertSilence
		now  time.Time
		want string
	}{
		{"snoozed, English", context.Background(), snooze, now, "Snoozed until 14 Dec 2026 — set by Oscar on 1 Dec 2026: vendor renews"},
		{"snooze ended, English", context.Background(), snooze, until.Add(time.Hour), "Was snoozed until 14 Dec 2026 (ended; alerts go out again) — set by Oscar on 1 Dec 2026: vendor renews"},
		{"snoozed, Dutch", nl, snooze, now, "Uitgesteld tot 14 dec 2026 — ingesteld door Oscar op 1 dec 2026: vendor renews"},
		{"snooze ended, Dutch", nl, snooze, until.Add(time.Hour), "Was uitgesteld tot 14 dec 2026 (beëindigd; meldingen gaan weer uit) — ingesteld door Oscar op 1 dec 2026: vendor renews"},
		{"tenant, nobody named, Dutch", nl, tenant, now, "Meldingen voor deze tenant zijn uitgesloten — ingesteld op 1 dec 2026: offboarding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := silenceSentenceIn(tt.ctx, tt.sl, tt.now); got != tt.want {
				t.Errorf("silenceSentenceIn = %q, want %q", got, tt.want)
			}
		})
	}
	if got, want := silenceSentence(snooze, now), tests[0].want; got != want {
		t.Errorf("silenceSentence = %q, want %q", got, want)
	}
}
