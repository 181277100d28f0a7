package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/appreg-portal/portal/internal/pgtest"
	"github.com/appreg-portal/portal/internal/store"
)

// A tenant's alert e-mail language starts as English, is set with its
// audit row, is read back with the tenant, and the column refuses a
// language the portal does not speak (rolling back the audit row with it).
func TestSetTenantLanguage(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	tn, err := st.CreateTenant(ctx, store.Tenant{EntraTenantID: "5c1c2f3e-0000-4000-8000-000000000002", DisplayName: "Fabrikam"}, store.AuditEvent{Action: "tenant.create"})
	if err != nil {
		t.Fatal(err)
	}
	if tn.Language != "en" {
		t.Errorf("new tenant's Language = %q, want en", tn.Language)
	}
	if err := st.SetTenantLanguage(ctx, tn.ID, "nl", store.AuditEvent{ActorName: "Oscar", Action: "tenant.language", Details: map[string]string{"language": "nl"}}); err != nil {
		t.Fatalf("SetTenantLanguage(nl) = %v", err)
	}
	got, err := st.GetTenant(ctx, tn.ID)
	if err != nil || got.Language != "nl" {
		t.Errorf("GetTenant().Language = %q, %v; want nl", got.Language, err)
	}
	list, err := st.ListTenants(ctx)
	if err != nil || len(list) != 1 || list[0].Language != "nl" {
		t.Errorf("ListTenants() = %+v, %v; want the tenant with language nl", list, err)
	}
	if err := st.SetTenantLanguage(ctx, tn.ID, "de", store.AuditEvent{ActorName: "Oscar", Action: "tenant.language"}); err == nil {
		t.Error("SetTenantLanguage(de) = nil, want the CHECK constraint's error")
	}
	if err := st.SetTenantLanguage(ctx, tn.ID+1000, "en", store.AuditEvent{ActorName: "Oscar", Action: "tenant.language"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetTenantLanguage(no such tenant) = %v, want ErrNotFound", err)
	}
	events, err := st.ListAudit(ctx, store.AuditFilter{Action: "tenant.language"})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].TenantID == nil || *events[0].TenantID != tn.EntraTenantID || events[0].Target != "Fabrikam" || events[0].Details["language"] != "nl" {
		t.Errorf("audit tenant.language = %+v, want one row for Fabrikam with language nl", events)
	}
	if got, _ := st.GetTenant(ctx, tn.ID); got.Language != "nl" {
		t.Errorf("after refused changes Language = %q, want nl", got.Language)
	}
}
