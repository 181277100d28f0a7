package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/pgtest"
	"github.com/appreg-portal/portal/internal/store"
)

// A registration is recorded with its run's application step, and lists
// what the inventory found of its credentials.
func TestRegistrationRecordAndInventory(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	const tenant, app, client = "fab41c4e-2d3b-4a5c-8e6f-7a8b9c0d1e2f", "0a0a0a0a-0000-4000-8000-000000000001", "b0b0b0b0-0000-4000-8000-000000000001"
	tn, err := st.CreateTenant(ctx, store.Tenant{EntraTenantID: tenant, DisplayName: "Fabrikam", Status: "connected"}, store.AuditEvent{Action: "tenant.create"})
	if err != nil {
		t.Fatal(err)
	}
	run, err := st.CreateRun(ctx, store.RegistrationRun{ID: "11111111-0000-4000-8000-000000000001", TenantID: tenant, BlueprintID: "exact-globe-mail",
		DisplayName: "Exact Globe+", UniqueName: "appreg-portal.exact-globe-mail", SecretMonths: 12, Params: map[string]string{"sender_mailbox": "a@b.example"}},
		store.AuditEvent{Action: "registration.start"})
	if err != nil {
		t.Fatal(err)
	}
	steps, err := st.PlanSteps(ctx, run.ID, []store.RegistrationStep{{Kind: "application", Label: "app"}, {Kind: "secret", Label: "secret"}})
	if err != nil || len(steps) != 2 {
		t.Fatalf("PlanSteps = %v, %v", steps, err)
	}
	// Steps change only under a lease, and a second holder is refused.
	if _, err := st.AcquireRunLease(ctx, run.ID, "a", time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AcquireRunLease(ctx, run.ID, "b", time.Minute); !errors.Is(err, store.ErrLeaseHeld) {
		t.Fatalf("second lease: %v, want ErrLeaseHeld", err)
	}
	if err := st.StartStep(ctx, run.ID, "b", 1, time.Minute); !errors.Is(err, store.ErrLeaseHeld) {
		t.Fatalf("StartStep without the lease: %v", err)
	}
	if err := st.StartStep(ctx, run.ID, "a", 1, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordApplication(ctx, run.ID, 1, app, client, store.AuditEvent{Action: "registration.application"}); err != nil {
		t.Fatal(err)
	}
	regs, err := st.ListRegistrations(ctx, tenant)
	if err != nil || len(regs) != 1 {
		t.Fatalf("ListRegistrations = %v, %v", regs, err)
	}
	if r := regs[0]; r.ClientID != client || r.TenantName != "Fabrikam" || r.LiveCredentials != 0 || r.Params["sender_mailbox"] != "a@b.example" {
		t.Errorf("registration = %+v", r)
	}
	now := time.Now()
	ends := now.Add(30 * 24 * time.Hour).Truncate(time.Second)
	if _, err := st.RecordScan(ctx, tn.ID, []store.Credential{
		{OwnerKind: "application", OwnerObjectID: app, OwnerAppID: client, OwnerName: "Exact Globe+", KeyID: "c0000000-0000-4000-8000-000000000001", Kind: "password", EndsAt: ends},
		{OwnerKind: "application", OwnerObjectID: app, OwnerAppID: client, OwnerName: "Exact Globe+", KeyID: "c0000000-0000-4000-8000-000000000002", Kind: "password", EndsAt: ends.Add(time.Hour)},
		{OwnerKind: "application", OwnerObjectID: "0a0a0a0a-0000-4000-8000-000000000009", OwnerAppID: "other", OwnerName: "Other", KeyID: "c0000000-0000-4000-8000-000000000003", Kind: "password", EndsAt: now},
	}, now); err != nil {
		t.Fatal(err)
	}
	regs, _ = st.ListRegistrations(ctx, "")
	if r := regs[0]; r.LiveCredentials != 2 || r.NextCredentialEnd == nil || !r.NextCredentialEnd.Equal(ends) {
		t.Errorf("inventory of the registration = %d, %v; want 2, %v", r.LiveCredentials, r.NextCredentialEnd, ends)
	}
	if reg, err := st.RegistrationByClientID(ctx, tenant, strings.ToUpper(client)); err != nil || reg.BlueprintID != "exact-globe-mail" {
		t.Errorf("RegistrationByClientID = %+v, %v", reg, err)
	}
	if _, err := st.RegistrationByClientID(ctx, tenant, "made-by-hand"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an app the portal did not make: %v, want ErrNotFound", err)
	}
	// The same uniqueName again (a second run) updates the one row.
	run2, _ := st.CreateRun(ctx, store.RegistrationRun{ID: "11111111-0000-4000-8000-000000000002", TenantID: tenant, BlueprintID: "exact-globe-mail",
		DisplayName: "Exact Globe+ (renamed)", UniqueName: "appreg-portal.exact-globe-mail", SecretMonths: 6}, store.AuditEvent{Action: "registration.start"})
	if err := st.RecordApplication(ctx, run2.ID, 1, app, client, store.AuditEvent{Action: "registration.application"}); err != nil {
		t.Fatal(err)
	}
	if regs, _ = st.ListRegistrations(ctx, ""); len(regs) != 1 || regs[0].DisplayName != "Exact Globe+ (renamed)" {
		t.Errorf("after a second run: %d registrations (%+v)", len(regs), regs)
	}
}
