package handlers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/store"
)

// A credential's page is open to every role; only operators get its
// actions; an unknown or malformed ID is a plain 404.
func TestCredentialPage(t *testing.T) {
	e := newFlowEnv(t)
	ctx := context.Background()
	tn, err := e.Store.CreateTenant(ctx, store.Tenant{EntraTenantID: e.Other, DisplayName: "Fabrikam", Status: "connected"}, store.AuditEvent{Action: "tenant.create"})
	must(t, err)
	key := "5d2b1c3a-0000-4000-8000-00000000c0de"
	_, err = e.Store.RecordScan(ctx, tn.ID, []store.Credential{{OwnerKind: "application", OwnerObjectID: "0b5e0c1e-0000-4000-8000-000000000001",
		OwnerAppID: "a11ce000-0000-4000-8000-000000000001", OwnerName: "Payroll <sync>", KeyID: key, Kind: "password", DisplayName: "payroll",
		Hint: "Ab1", EndsAt: time.Now().Add(20 * 24 * time.Hour)}}, time.Now())
	must(t, err)
	var id int64
	must(t, e.Store.Pool().QueryRow(ctx, `SELECT id FROM credentials WHERE key_id = $1`, key).Scan(&id))

	viewer := e.browser()
	viewer.signIn("vera")
	resp, page := viewer.get(fmt.Sprintf("%s/credentials/%d", e.Portal.URL, id))
	if resp.StatusCode != 200 {
		t.Fatalf("viewer: %d", resp.StatusCode)
	}
	for _, want := range []string{key, "Payroll &lt;sync&gt;", "Fabrikam", "Ab1", "/appId/a11ce000-0000-4000-8000-000000000001"} {
		if !strings.Contains(page, want) {
			t.Errorf("viewer's page lacks %q", want)
		}
	}
	if strings.Contains(page, `data-testid="rotate-`) || strings.Contains(page, `/adopt?`) {
		t.Error("a viewer is offered Rotate or adopt")
	}
	for _, path := range []string{"/credentials/999999", "/credentials/abc", "/credentials/-1"} {
		if resp, _ := viewer.get(e.Portal.URL + path); resp.StatusCode != 404 {
			t.Errorf("GET %s = %d, want 404", path, resp.StatusCode)
		}
	}

	op := e.browser()
	op.signIn("oscar")
	_, page = op.get(fmt.Sprintf("%s/credentials/%d", e.Portal.URL, id))
	if !strings.Contains(page, `data-testid="rotate-`+key+`"`) || !strings.Contains(page, `/adopt?credential=`) {
		t.Error("an operator is not offered Rotate and the drift check on a live secret of a hand-made app")
	}
}
