package inventory_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/appreg-portal/portal/internal/entrasim"
	"github.com/appreg-portal/portal/internal/graph"
	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/inventory"
	"github.com/appreg-portal/portal/internal/problem"
	"github.com/appreg-portal/portal/internal/safetext"
	"github.com/appreg-portal/portal/internal/store"
)

// Issue 13, item 3: one odd item is left out or named, never the scan's end.
func TestCredentialsLeavesOutOnlyTheOddItem(t *testing.T) {
	end := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	good := graph.Credential{Kind: graph.CredentialPassword, KeyID: "c0000000-0000-4000-8000-000000000001", DisplayName: "s", End: end}
	apps := []graph.Application{
		{ObjectID: "0a0a0a0a-0000-4000-8000-000000000001", AppID: "b0b0b0b0-0000-4000-8000-000000000001", DisplayName: "Exact", Credentials: []graph.Credential{good}},
		{ObjectID: "not-a-guid", AppID: "x", DisplayName: "Broken ID", Credentials: []graph.Credential{good}},
		{ObjectID: "0a0a0a0a-0000-4000-8000-000000000003", DisplayName: "EvilApp", NameCleaned: true, Credentials: []graph.Credential{
			{Kind: graph.CredentialPassword, KeyID: "c0000000-0000-4000-8000-000000000003", End: end},
			{Kind: graph.CredentialPassword, KeyID: "", End: end},
			{Kind: graph.CredentialPassword, KeyID: "c0000000-0000-4000-8000-000000000004"},
		}},
	}
	sps := []graph.ServicePrincipalCredentials{{ObjectID: "0a0a0a0a-0000-4000-8000-000000000005", DisplayName: "SAML app",
		Credentials: []graph.Credential{{Kind: graph.CredentialCertificate, KeyID: "c0000000-0000-4000-8000-000000000005", End: end}}}}
	found, problems := inventory.Credentials(apps, sps)
	var keys []string
	for _, c := range found {
		keys = append(keys, c.OwnerName+"/"+c.KeyID[len(c.KeyID)-1:])
	}
	if strings.Join(keys, ",") != "Exact/1,EvilApp/3,SAML app/5" {
		t.Errorf("recorded %v, want every trackable credential", keys)
	}
	want := []string{`Application "Broken ID" was left out`, `Application "EvilApp" (object ID 0a0a0a0a-0000-4000-8000-000000000003) has a name with control characters`,
		`A credential of application "EvilApp" was left out`, `A credential of application "EvilApp" was left out`}
	if len(problems) != len(want) {
		t.Fatalf("problems = %q, want %d", problems, len(want))
	}
	// Problems are stored as messages of the catalogues; the Tenants page
	// says them in its reader's language.
	var missing []string
	nl := i18n.For(i18n.NL, i18n.OnMissing(func(id string, err error) { missing = append(missing, id+": "+err.Error()) }))
	for i, w := range want {
		if got := problem.Text(i18n.For(i18n.EN), problems[i]); !strings.HasPrefix(got, w) {
			t.Errorf("problem %d = %q, in English %q; want it to start %q", i, problems[i], got, w)
		}
		if got := problem.Text(nl, problems[i]); !strings.Contains(got, `"EvilApp"`) && !strings.Contains(got, `"Broken ID"`) || strings.Contains(got, "left out") {
			t.Errorf("problem %d in Dutch = %q, want Dutch words naming the app", i, got)
		}
	}
	if len(missing) > 0 {
		t.Errorf("messages missing in Dutch: %q", missing)
	}
	if got := problem.Text(nl, problems[2]); !strings.HasPrefix(got, `Een referentie van app-registratie "EvilApp" is weggelaten`) {
		t.Errorf("credential problem in Dutch = %q", got)
	}
}

// FuzzCredentials: whatever Graph returns, every recorded row has GUIDs
// and an end date, names stay safe text, and nothing panics.
func FuzzCredentials(f *testing.F) {
	f.Add("0a0a0a0a-0000-4000-8000-000000000001", "c0000000-0000-4000-8000-000000000001", "Exact\x00\r\n", "thumb\n", true)
	f.Add("", "", "", "", false)
	f.Add("not-a-guid", "c0000000-0000-4000-8000-000000000001", "\xff", "", true)
	f.Fuzz(func(t *testing.T, objectID, keyID, name, thumb string, hasEnd bool) {
		c := graph.Credential{Kind: graph.CredentialCertificate, KeyID: keyID, Thumbprint: thumb}
		if hasEnd {
			c.End = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		name = safetext.Line(name) // what internal/graph hands over
		found, problems := inventory.Credentials([]graph.Application{{ObjectID: objectID, AppID: thumb, DisplayName: name, Credentials: []graph.Credential{c}}}, nil)
		if len(found)+len(problems) == 0 {
			t.Fatal("an item was neither recorded nor reported")
		}
		for _, cr := range found {
			if _, err := uuid.Parse(cr.OwnerObjectID); err != nil {
				t.Fatalf("recorded object ID %q", cr.OwnerObjectID)
			}
			if _, err := uuid.Parse(cr.KeyID); err != nil || cr.EndsAt.IsZero() {
				t.Fatalf("recorded key %q ending %v", cr.KeyID, cr.EndsAt)
			}
			for _, s := range []string{cr.OwnerName, cr.OwnerAppID, cr.Thumbprint, cr.DisplayName} {
				if safetext.Problem(s) != "" || strings.ContainsAny(s, "\r\n") {
					t.Fatalf("recorded unsafe text %q", s)
				}
			}
		}
		for _, p := range problems {
			if safetext.Problem(p) != "" {
				t.Fatalf("problem text %q is not safe", p)
			}
		}
	})
}

// failingRecorder stores nothing: the database refuses the scan.
type failingRecorder struct{ reasons []string }

func (f *failingRecorder) RecordScanScope(ctx context.Context, tenantID int64, found []store.Credential, at time.Time, scope store.ScanScope) (store.ScanResult, error) {
	return store.ScanResult{}, errors.New("store: record scan: ERROR: invalid byte sequence for encoding \"UTF8\": 0x00 (SQLSTATE 22021)")
}

func (f *failingRecorder) TenantDeltaLinks(ctx context.Context, tenantID int64) (store.DeltaLinks, error) {
	return store.DeltaLinks{}, nil
}
func (f *failingRecorder) TenantScanProblems(ctx context.Context, tenantID int64) (string, error) {
	return "", nil
}
func (f *failingRecorder) StartScan(ctx context.Context, tenantID int64, d time.Duration) error {
	return nil
}
func (f *failingRecorder) EndScan(ctx context.Context, tenantID int64) error { return nil }

func (f *failingRecorder) RecordScanFailure(ctx context.Context, tenantID int64, reason string) error {
	f.reasons = append(f.reasons, reason)
	return nil
}

// Issue 13, item 3: a scan that fails after reading Graph still says why.
func TestScanThatCannotBeStoredSaysWhy(t *testing.T) {
	sim, srv := entrasim.NewTestServer(t, entrasim.Options{})
	tid, err := sim.CreateTenant("Contoso", "contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	app, err := sim.CreateApplication(tid, entrasim.AppSpec{DisplayName: "Portal", SignInAudience: "AzureADMultipleOrgs", Secret: true,
		ApplicationPermissions: []string{"Application.Read.All", "Organization.Read.All"}})
	if err != nil {
		t.Fatal(err)
	}
	rec := &failingRecorder{}
	s := inventory.New(inventory.Config{Authority: srv.URL, GraphURL: srv.URL + "/v1.0", ClientID: app.AppID, ClientSecret: app.SecretText}, rec)
	if _, err := s.Scan(context.Background(), store.Tenant{ID: 7, EntraTenantID: tid}); err == nil {
		t.Fatal("Scan() = nil error, want the store's")
	}
	if len(rec.reasons) != 1 || !strings.Contains(problem.Text(i18n.For(i18n.EN), rec.reasons[0]), "could not store what it found") ||
		!strings.Contains(problem.Text(i18n.For(i18n.NL), rec.reasons[0]), "kon niet opslaan wat het vond") {
		t.Errorf("recorded reasons = %q, want one saying the results could not be stored", rec.reasons)
	}
}
