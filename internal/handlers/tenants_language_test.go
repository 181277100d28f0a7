package handlers_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/appreg-portal/portal/internal/store"
)

// An operator sets the language of a tenant's alert e-mail on the Tenants
// page: stored, shown, audited; a language the portal does not write is
// refused with the reason beside the select; a viewer can neither see the
// form nor post it.
func TestTenantAlertLanguage(t *testing.T) {
	e := newFlowEnv(t)
	ctx := context.Background()
	tn, err := e.Store.CreateTenant(ctx, store.Tenant{EntraTenantID: "fab41c4e-2d3b-4a5c-8e6f-7a8b9c0d1e2f", DisplayName: "Fabrikam", Status: "connected"}, store.AuditEvent{Action: "tenant.create"})
	must(t, err)
	id := itoa(tn.ID)
	path := "/tenants/" + id + "/language"
	language := func() string {
		t.Helper()
		got, err := e.Store.GetTenant(ctx, tn.ID)
		must(t, err)
		return got.Language
	}

	op := e.browser()
	op.signIn("oscar")
	_, page := op.get(e.Portal.URL + "/tenants")
	if !strings.Contains(page, `data-testid="tenant-language-`+id+`"`) || !strings.Contains(page, `<option value="en" selected>English</option>`) ||
		!strings.Contains(page, "Alert e-mail in English") {
		t.Fatalf("the Tenants page lacks the language select with English chosen:\n%.3000s", page)
	}

	resp, page := op.postForm(path, url.Values{"language": {"nl"}})
	page = html.UnescapeString(page)
	if resp.StatusCode != 200 || !strings.Contains(page, "This tenant's alert e-mail is now written in Dutch.") ||
		!strings.Contains(page, `<option value="nl" selected>Dutch</option>`) || !strings.Contains(page, "Alert e-mail in Dutch") {
		t.Errorf("set Dutch = %d\n%.3000s", resp.StatusCode, page)
	}
	if got := language(); got != "nl" {
		t.Errorf("stored language = %q, want nl", got)
	}
	ev := e.auditEvents("tenant.language")
	if len(ev) != 1 || ev[0].Details["language"] != "nl" || ev[0].Target != "Fabrikam" || ev[0].TenantID == nil || *ev[0].TenantID != tn.EntraTenantID || ev[0].ActorName == "" {
		t.Errorf("audit tenant.language = %+v, want one row for Fabrikam by Oscar with language nl", ev)
	}

	for _, bad := range []string{"de", "", "NL ", "en-GB"} {
		resp, page := op.postForm(path, url.Values{"language": {bad}})
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `data-testid="tenant-language-error"`) ||
			!strings.Contains(page, "Choose English or Dutch") {
			t.Errorf("language %q = %d, want 422 with the reason", bad, resp.StatusCode)
		}
	}
	if resp, _ := op.postForm("/tenants/"+itoa(tn.ID+1000)+"/language", url.Values{"language": {"en"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("language of a tenant that does not exist = %d, want 404", resp.StatusCode)
	}

	viewer := e.browser()
	viewer.signIn("vera")
	if _, page := viewer.get(e.Portal.URL + "/tenants"); strings.Contains(page, `data-testid="tenant-language-`+id+`"`) || !strings.Contains(page, "Alert e-mail in Dutch") {
		t.Error("a viewer sees the language form, or not the language")
	}
	if resp, _ := viewer.postForm(path, url.Values{"language": {"en"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer setting the language = %d, want 403", resp.StatusCode)
	}
	if got := language(); got != "nl" {
		t.Errorf("after refused changes the language = %q, want nl", got)
	}
	if ev := e.auditEvents("tenant.language"); len(ev) != 1 {
		t.Errorf("%d tenant.language audit rows after refused changes, want 1", len(ev))
	}
}
