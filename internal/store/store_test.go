package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/appreg-portal/portal/internal/pgtest"
	"github.com/appreg-portal/portal/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestMigrationsUpDownUp(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, pgtest.EmptyURL(t), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	current, err := st.SchemaCurrent(ctx)
	if err != nil || current {
		t.Fatalf("SchemaCurrent() on an empty database = %v, %v; want false, nil", current, err)
	}
	up, err := st.MigrateUp(ctx)
	if err != nil {
		t.Fatalf("MigrateUp() = %v", err)
	}
	status, err := st.MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(up) == 0 || len(up) != len(status) {
		t.Fatalf("MigrateUp() applied %d, status lists %d; want all, > 0", len(up), len(status))
	}
	for _, m := range status {
		if !m.Applied {
			t.Errorf("migration %s not applied after MigrateUp", m.File)
		}
	}
	if current, err := st.SchemaCurrent(ctx); err != nil || !current {
		t.Fatalf("SchemaCurrent() after up = %v, %v; want true, nil", current, err)
	}

	// Every migration must come down cleanly, one step at a time, and go up again.
	for i := len(status) - 1; i >= 0; i-- {
		res, err := st.MigrateDown(ctx)
		if err != nil {
			t.Fatalf("MigrateDown() step %d: %v", i, err)
		}
		if len(res) != 1 || res[0].Version != status[i].Version {
			t.Fatalf("MigrateDown() = %+v, want version %d", res, status[i].Version)
		}
	}
	var tables int
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'goose_db_version'`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("after migrating all the way down, %d tables remain; want 0", tables)
	}
	again, err := st.MigrateUp(ctx)
	if err != nil || len(again) != len(status) {
		t.Fatalf("MigrateUp() again = %d, %v; want %d, nil", len(again), err, len(status))
	}
}

func TestEveryTableHasAComment(t *testing.T) {
	st := pgtest.NewStore(t)
	rows, err := st.Pool().Query(context.Background(), `
		SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname NOT IN ('goose_db_version')
		  AND obj_description(c.oid, 'pg_class') IS NULL`)
	if err != nil {
		t.Fatal(err)
	}
	missing, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Errorf("tables without COMMENT ON TABLE: %v", missing)
	}
}

func TestAuditIsAppendOnly(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	if err := st.RecordAudit(ctx, store.AuditEvent{ActorName: "Ada", Action: "signin", Details: map[string]string{"reason": "test"}}); err != nil {
		t.Fatalf("RecordAudit() = %v", err)
	}
	for _, stmt := range []string{
		`UPDATE audit_events SET actor_name = 'Mallory'`,
		`DELETE FROM audit_events`,
		`TRUNCATE audit_events`,
	} {
		_, err := st.Pool().Exec(ctx, stmt)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want the append-only refusal", stmt, err)
		}
	}
	events, err := st.ListAudit(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].ActorName != "Ada" || events[0].Details["reason"] != "test" {
		t.Errorf("ListAudit() = %+v, want the one untouched event", events)
	}
}

func TestListAuditFilters(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	for _, e := range []store.AuditEvent{
		{ActorName: "Ada Admin", Action: "signin"},
		{ActorName: "Oscar Operator", Action: "signin.refused", Outcome: store.OutcomeDenied},
		{ActorName: "Ada Admin", Action: "tenant.create"},
	} {
		if err := st.RecordAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		filter store.AuditFilter
		want   []string // actions, newest first
	}{
		{"all", store.AuditFilter{}, []string{"tenant.create", "signin.refused", "signin"}},
		{"action prefix", store.AuditFilter{Action: "signin"}, []string{"signin.refused", "signin"}},
		{"outcome", store.AuditFilter{Outcome: store.OutcomeDenied}, []string{"signin.refused"}},
		{"actor substring", store.AuditFilter{Actor: "ada"}, []string{"tenant.create", "signin"}},
		{"limit", store.AuditFilter{Limit: 1}, []string{"tenant.create"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.ListAudit(ctx, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, e := range got {
				actions = append(actions, e.Action)
			}
			if strings.Join(actions, ",") != strings.Join(tt.want, ",") {
				t.Errorf("ListAudit(%+v) = %v, want %v", tt.filter, actions, tt.want)
			}
		})
	}
	// Keyset paging continues where the first page ended.
	first, _ := st.ListAudit(ctx, store.AuditFilter{Limit: 2})
	next, err := st.ListAudit(ctx, store.AuditFilter{Limit: 2, BeforeID: first[len(first)-1].ID})
	if err != nil || len(next) != 1 || next[0].Action != "signin" {
		t.Errorf("second page = %+v, %v; want [signin]", next, err)
	}
}

func TestCreateTenantConflictAndAudit(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	tn := store.Tenant{EntraTenantID: "5c1c2f3e-0000-4000-8000-000000000001", DisplayName: "Fabrikam"}
	got, err := st.CreateTenant(ctx, tn, store.AuditEvent{ActorName: "Ada", Action: "tenant.create"})
	if err != nil {
		t.Fatalf("CreateTenant() = %v", err)
	}
	if got.ID == 0 || got.Status != "pending" || got.EntraTenantID != tn.EntraTenantID {
		t.Errorf("CreateTenant() = %+v", got)
	}
	_, err = st.CreateTenant(ctx, tn, store.AuditEvent{ActorName: "Ada", Action: "tenant.create"})
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("second CreateTenant() error = %v, want ErrConflict", err)
	}
	events, err := st.ListAudit(ctx, store.AuditFilter{Action: "tenant.create"})
	if err != nil {
		t.Fatal(err)
	}
	// The failed insert rolled back its audit row with it.
	if len(events) != 1 || events[0].TenantID == nil || *events[0].TenantID != tn.EntraTenantID {
		t.Errorf("audit after create + conflict = %+v, want exactly one row for the tenant", events)
	}
}

func TestRecordSignInAuditsRoleChanges(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	in := store.SignIn{
		User:      store.User{EntraTenantID: "c0a7e2d4-5b1f-4e8a-9c3d-2f6b8a1e4d70", ObjectID: "242f8b4a-2b87-46af-82cc-9d33bd456481", DisplayName: "Ada", Email: "ada@x.example", Role: "viewer"},
		SessionID: "s1", ExpiresAt: time.Now().Add(time.Hour),
		Audit: store.AuditEvent{Action: "signin"},
	}
	first, err := st.RecordSignIn(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	in.User.Role, in.SessionID = "admin", "s2"
	second, err := st.RecordSignIn(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if first.ID != second.ID || second.Role != "admin" || second.LastSignInAt == nil {
		t.Errorf("second sign-in = %+v, want the same user, now admin", second)
	}
	changes, err := st.ListAudit(ctx, store.AuditFilter{Action: "user.role_change"})
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes[0].Details["from"] != "viewer" || changes[0].Details["to"] != "admin" {
		t.Errorf("role change audit = %+v", changes)
	}
	if _, err := st.RecordSignIn(ctx, in); !errors.Is(err, store.ErrConflict) {
		t.Errorf("reusing a session ID = %v, want ErrConflict", err)
	}
	sessions, _ := st.ListSessions(ctx, 0)
	if len(sessions) != 2 {
		t.Errorf("ListSessions() = %d sessions, want 2", len(sessions))
	}
	// A session idle for longer than the idle timeout is over (issue 13):
	// the admin page must not list it as live.
	if _, err := st.Pool().Exec(ctx, `UPDATE active_sessions SET last_seen_at = now() - interval '2 hours' WHERE id = 's2'`); err != nil {
		t.Fatal(err)
	}
	if sessions, _ := st.ListSessions(ctx, time.Hour); len(sessions) != 1 || sessions[0].ID != "s1" {
		t.Errorf("ListSessions(idle 1h) = %+v, want only s1", sessions)
	}
	if sessions, _ := st.ListSessions(ctx, 0); len(sessions) != 2 {
		t.Errorf("ListSessions(no idle timeout) = %d, want 2", len(sessions))
	}
	if err := st.EndSession(ctx, "s1", store.AuditEvent{Action: "session.end"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.TouchSession(ctx, "s1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TouchSession(ended) = %v, want ErrNotFound", err)
	}
	if err := st.EndSession(ctx, "s1", store.AuditEvent{Action: "session.end"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EndSession twice = %v, want ErrNotFound", err)
	}
}

func TestOnboardingLinksCompleteOnce(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	hash := make([]byte, 32)
	hash[0] = 1
	o, err := st.CreateOnboarding(ctx, store.Onboarding{StateHash: hash, Label: "Fabrikam", ExpiresAt: time.Now().Add(time.Hour)}, store.AuditEvent{Action: "tenant.consent_link"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := st.PendingOnboarding(ctx, hash); err != nil || got.ID != o.ID {
		t.Fatalf("PendingOnboarding() = %+v, %v", got, err)
	}
	tn := store.Tenant{EntraTenantID: "fab41c4e-2d3b-4a5c-8e6f-7a8b9c0d1e2f", DisplayName: "Fabrikam", DefaultDomain: "fabrikam.example"}
	got, err := st.CompleteOnboarding(ctx, o.ID, tn, store.AuditEvent{Action: "tenant.connect"})
	if err != nil || got.Status != "connected" {
		t.Fatalf("CompleteOnboarding() = %+v, %v", got, err)
	}
	if _, err := st.CompleteOnboarding(ctx, o.ID, tn, store.AuditEvent{Action: "tenant.connect"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second CompleteOnboarding() = %v, want ErrConflict", err)
	}
	if _, err := st.PendingOnboarding(ctx, hash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PendingOnboarding(completed) = %v, want ErrNotFound", err)
	}
	if ev, _ := st.ListAudit(ctx, store.AuditFilter{Action: "tenant.connect"}); len(ev) != 1 {
		t.Errorf("the refused second completion left an audit row: %d rows", len(ev))
	}

	// An expired link is gone.
	hash2 := make([]byte, 32)
	hash2[0] = 2
	if _, err := st.CreateOnboarding(ctx, store.Onboarding{StateHash: hash2, Label: "Old", ExpiresAt: time.Now().Add(-time.Minute)}, store.AuditEvent{Action: "tenant.consent_link"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PendingOnboarding(ctx, hash2); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PendingOnboarding(expired) = %v, want ErrNotFound", err)
	}
	// The operator still sees it, as expired; the connected one is on the Tenants list instead.
	if list, _ := st.ListOnboardings(ctx); len(list) != 1 || list[0].Label != "Old" || list[0].CompletedAt != nil || list[0].ExpiresAt.After(time.Now()) || list[0].SupersededBy != "" {
		t.Errorf("ListOnboardings() = %+v, want the expired link alone", list)
	}

	// A link found by its state whatever its state: the connected one says
	// which tenant it connected, the expired one that it is no longer open.
	tests := []struct {
		name       string
		hash       []byte
		wantID     int64
		wantOpen   bool
		wantTenant string
		wantTID    string
	}{
		{"connected", hash, o.ID, false, "Fabrikam", tn.EntraTenantID},
		{"expired", hash2, 0, false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.OnboardingByState(ctx, tt.hash)
			if err != nil {
				t.Fatalf("OnboardingByState() = %v", err)
			}
			if tt.wantID != 0 && got.ID != tt.wantID {
				t.Errorf("OnboardingByState().ID = %d, want %d", got.ID, tt.wantID)
			}
			if got.Open(time.Now()) != tt.wantOpen || got.ConnectedTenant != tt.wantTenant || got.ConnectedTenantID != tt.wantTID {
				t.Errorf("OnboardingByState() = open %v, tenant %q %q; want %v, %q %q", got.Open(time.Now()), got.ConnectedTenant, got.ConnectedTenantID, tt.wantOpen, tt.wantTenant, tt.wantTID)
			}
		})
	}
	if _, err := st.OnboardingByState(ctx, make([]byte, 32)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("OnboardingByState(unknown) = %v, want ErrNotFound", err)
	}
}

// An ended link whose expected tenant is connected since (by its default
// domain, its ID, or the expected tenant of the link that connected it) is
// marked superseded; others are not.
func TestEndedLinksSupersededByAConnectedTenant(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	link := func(n byte, label, expected string) store.Onboarding {
		t.Helper()
		h := make([]byte, 32)
		h[0] = n
		o, err := st.CreateOnboarding(ctx, store.Onboarding{StateHash: h, Label: label, ExpectedTenant: expected, ExpiresAt: time.Now().Add(time.Hour)}, store.AuditEvent{Action: "tenant.consent_link"})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	const fabID = "fab41c4e-2d3b-4a5c-8e6f-7a8b9c0d1e2f"
	byDomain := link(1, "Fabrikam declined", "fabrikam.example")
	byID := link(2, "Fabrikam by ID", fabID)
	byAlias := link(3, "Fabrikam alias declined", "fabrikam.com")
	other := link(4, "Northwind declined", "northwind.example")
	link(5, "Fabrikam waiting", "fabrikam.example")
	for _, o := range []store.Onboarding{byDomain, byID, byAlias, other} {
		if err := st.FailOnboarding(ctx, o.ID, "declined", "access_denied: declined", store.AuditEvent{Action: "tenant.connect.refused"}); err != nil {
			t.Fatal(err)
		}
	}
	// Fabrikam connects through a link that names its other domain.
	through := link(6, "Fabrikam", "fabrikam.com")
	if _, err := st.CompleteOnboarding(ctx, through.ID, store.Tenant{EntraTenantID: fabID, DisplayName: "Fabrikam Ltd", DefaultDomain: "fabrikam.example"}, store.AuditEvent{Action: "tenant.connect"}); err != nil {
		t.Fatal(err)
	}
	list, err := st.ListOnboardings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, o := range list {
		got[o.Label] = o.SupersededBy
	}
	want := map[string]string{"Fabrikam declined": "Fabrikam Ltd", "Fabrikam by ID": "Fabrikam Ltd", "Fabrikam alias declined": "Fabrikam Ltd",
		"Northwind declined": "", "Fabrikam waiting": ""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListOnboardings() superseded (-want +got):\n%s", diff)
	}
}

func TestRecordScan(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	tn, err := st.CreateTenant(ctx, store.Tenant{EntraTenantID: "fab41c4e-2d3b-4a5c-8e6f-7a8b9c0d1e2f", DisplayName: "Fabrikam", Status: "connected"}, store.AuditEvent{Action: "tenant.create"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	cred := func(key string, endsIn time.Duration) store.Credential {
		return store.Credential{OwnerKind: "application", OwnerObjectID: "0a0a0a0a-0000-4000-8000-000000000001", OwnerAppID: "b0b0b0b0-0000-4000-8000-000000000001",
			OwnerName: "Exact Globe+", KeyID: key, Kind: "password", DisplayName: "globe", Hint: "abcdef", EndsAt: now.Add(endsIn)}
	}
	first := []store.Credential{
		cred("c0000000-0000-4000-8000-000000000001", -24*time.Hour),   // expired
		cred("c0000000-0000-4000-8000-000000000002", 10*24*time.Hour), // within 30 days
		cred("c0000000-0000-4000-8000-000000000003", 60*24*time.Hour), // within 90 days
	}
	res, err := st.RecordScan(ctx, tn.ID, first, now)
	if err != nil || res != (store.ScanResult{Found: 3, New: 3}) {
		t.Fatalf("first RecordScan() = %+v, %v", res, err)
	}
	sum, months, err := st.CredentialSummary(ctx, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	if sum != (store.ExpirySummary{Total: 3, Expired: 1, Within30: 1, Within90: 2}) {
		t.Errorf("CredentialSummary() = %+v", sum)
	}
	if len(months) != 12 || months[0].Count != 1 || months[1].Count != 1 || months[2].Count != 1 || months[3].Count != 0 {
		t.Errorf("months = %+v, want 12: the expired one in November, 1 December 1, 20 January", months)
	}
	list, err := st.ListCredentials(ctx, store.CredentialFilter{})
	if err != nil || len(list) != 3 || list[0].KeyID != first[0].KeyID || list[0].Hint != "abc" || list[0].TenantName != "Fabrikam" {
		t.Fatalf("ListCredentials() = %+v, %v", list, err)
	}

	// The expired secret was rotated away, a new one appeared.
	second := []store.Credential{first[1], first[2], cred("c0000000-0000-4000-8000-000000000004", 300*24*time.Hour)}
	res, err = st.RecordScan(ctx, tn.ID, second, now.Add(time.Hour))
	if err != nil || res != (store.ScanResult{Found: 3, New: 1, Removed: 1}) {
		t.Fatalf("second RecordScan() = %+v, %v", res, err)
	}
	list, _ = st.ListCredentials(ctx, store.CredentialFilter{TenantID: tn.ID, EndsBy: now.Add(90 * 24 * time.Hour)})
	if len(list) != 2 {
		t.Errorf("live credentials ending within 90 days = %d, want 2", len(list))
	}
	got, err := st.GetTenant(ctx, tn.ID)
	if err != nil || got.LastScanAt == nil || !got.LastScanAt.Equal(now.Add(time.Hour)) || got.LastScanError != "" {
		t.Errorf("tenant after scan = %+v, %v", got, err)
	}
	if err := st.RecordScanFailure(ctx, tn.ID, "consent revoked"); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetTenant(ctx, tn.ID); got.LastScanError != "consent revoked" {
		t.Errorf("LastScanError = %q", got.LastScanError)
	}
	// A scan that left something out says so, and the next clean one clears it.
	problems := make([]string, 25)
	for i := range problems {
		problems[i] = fmt.Sprintf("Application %d was left out.", i)
	}
	if _, err := st.RecordScanWithProblems(ctx, tn.ID, second, problems, now.Add(90*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetTenant(ctx, tn.ID); got.LastScanError != "" || strings.Count(got.ScanProblems, "\n") != 20 || !strings.HasSuffix(got.ScanProblems, "… and 5 more.") {
		t.Errorf("ScanProblems = %q, error %q; want 20 lines, a count of the rest, and no error", got.ScanProblems, got.LastScanError)
	}
	// An empty scan removes everything and still succeeds.
	if res, err := st.RecordScan(ctx, tn.ID, nil, now.Add(2*time.Hour)); err != nil || res.Removed != 3 {
		t.Errorf("empty RecordScan() = %+v, %v", res, err)
	}
	if got, _ := st.GetTenant(ctx, tn.ID); got.ScanProblems != "" {
		t.Errorf("ScanProblems after a clean scan = %q", got.ScanProblems)
	}
}
