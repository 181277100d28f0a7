package alerts_test

import (
	"strings"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/store"
)

// Issue 13, item 4: a name from a tenant cannot add lines to an alert.
func TestAlertNamesStayOnTheirLine(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	evil := "Fabrikam\r\n\r\nURGENT: the portal is compromised, call +31 20 555 0000\r\n"
	ds := []store.AlertDelivery{{TenantName: evil, OwnerName: "Exact\nPlease wire money", OwnerAppID: "b0b0b0b0-0000-4000-8000-000000000001",
		Kind: "password", DisplayName: "globe\r\nsecond", KeyID: "c0000000-0000-4000-8000-000000000001", EndsAt: now.Add(5 * 24 * time.Hour)}}
	body := alerts.Body(i18n.For(i18n.EN), ds, now, "https://portal.example")
	clean := alerts.Body(i18n.For(i18n.EN), []store.AlertDelivery{{TenantName: "Fabrikam", OwnerName: "Exact", OwnerAppID: ds[0].OwnerAppID, Kind: "password",
		DisplayName: "globe", KeyID: ds[0].KeyID, EndsAt: ds[0].EndsAt}}, now, "https://portal.example")
	if got, want := strings.Count(body, "\n"), strings.Count(clean, "\n"); got != want {
		t.Errorf("Body with names holding line breaks has %d lines, the same digest with plain names %d:\n%s", got, want, body)
	}
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "URGENT") || strings.HasPrefix(line, "Please") || strings.HasPrefix(line, "second") {
			t.Errorf("a name started its own line: %q", line)
		}
	}
	if !strings.Contains(body, "- Fabrikam URGENT: the portal is compromised, call +31 20 555 0000 — Exact Please wire money") {
		t.Errorf("Body does not keep the names, flattened:\n%s", body)
	}
	if subj := alerts.Subject(i18n.For(i18n.EN), ds, now); strings.ContainsAny(subj, "\r\n") {
		t.Errorf("Subject = %q, want one line", subj)
	}
}
