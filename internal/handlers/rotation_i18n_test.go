package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/registration"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/internal/testenv"
)

// The rotation page in Dutch, in each of its states: every word from a
// catalogue (rendered with marked messages), no message ID missing, Dutch
// plurals and dates, and a rotation's stored message and a field error in
// Dutch.
func TestRotationPageInDutch(t *testing.T) {
	var (
		mu      sync.Mutex
		missing []string
	)
	e := newFlowEnvWith(t, testenv.Options{Localizer: func(l i18n.Lang) *i18n.Localizer {
		return i18n.For(l, i18n.Marked(), i18n.OnMissing(func(id string, err error) {
			mu.Lock()
			defer mu.Unlock()
			missing = append(missing, id+": "+err.Error())
		}))
	}})
	ctx := context.Background()
	st := e.Store
	tn, err := st.CreateTenant(ctx, store.Tenant{EntraTenantID: e.Other, DisplayName: "Fabrikam", Status: "connected"}, store.AuditEvent{Action: "tenant.create"})
	must(t, err)
	now := time.Now()
	oldEnd := now.Add(20 * 24 * time.Hour)
	_, err = st.RecordScan(ctx, tn.ID, []store.Credential{{OwnerKind: "application", OwnerObjectID: "0a0a0a0a-0000-4000-8000-000000000001",
		OwnerAppID: "b0b0b0b0-0000-4000-8000-000000000001", OwnerName: "Exact Globe+", KeyID: "c0000000-0000-4000-8000-000000000001",
		Kind: "password", DisplayName: "globe 2026", EndsAt: oldEnd}}, now)
	must(t, err)
	creds, err := st.ListCredentials(ctx, store.CredentialFilter{TenantID: tn.ID})
	must(t, err)

	op := e.browser()
	op.client.Transport = acceptLanguage{lang: "nl-NL,nl;q=0.9,en;q=0.5", next: http.DefaultTransport}
	op.signIn("oscar")
	nl := i18n.For(i18n.NL)

	check := func(stage, page string, want ...string) {
		t.Helper()
		// The page's own content: the layout around it is checked by the
		// test that crawls every page.
		start, end := strings.Index(page, `<main id="main"`), strings.LastIndex(page, "</main>")
		if start < 0 || end < start {
			t.Fatalf("%s: no <main> on the page:\n%.600s", stage, page)
		}
		if u := i18n.Untranslated(page[start : end+len("</main>")]); len(u) > 0 {
			t.Errorf("%s: text from no catalogue: %q", stage, u)
		}
		plain := i18n.Strip(page)
		if !strings.Contains(plain, `<html lang="nl"`) {
			t.Errorf("%s: the page is not in Dutch", stage)
		}
		for _, w := range want {
			if !strings.Contains(plain, w) {
				t.Errorf("%s: page lacks %q", stage, w)
			}
		}
	}

	// Sign-in.
	resp, page := op.postForm("/rotations", url.Values{"credential": {itoa(creds[0].ID)}})
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Request.URL.Path, "/rotations/") {
		t.Fatalf("start rotation = %d at %s\n%.600s", resp.StatusCode, resp.Request.URL, page)
	}
	id := strings.TrimPrefix(resp.Request.URL.Path, "/rotations/")
	check("sign-in", page, "Een geheim rouleren van", "Waar de aanmelding om vraagt, en waarom", ", verloopt "+nl.Date(oldEnd),
		"<title>Exact Globe+ rouleren")

	// Review, with a tenant policy that shortens the secret.
	must(t, st.SetRotationPreflight(ctx, id, registration.RotationPreflight{UserName: "Fiona", UserUPN: "fiona@fabrikam.example",
		PolicyMaxDays: 30, OldFound: false, OtherSecrets: 1, Certificates: 2}))
	_, page = op.get(e.Portal.URL + "/rotations/" + id)
	check("review", page, "1 ander geheim, 2 certificaten; daaraan wordt niets gewijzigd.", "Het te rouleren geheim staat niet meer op de app-registratie",
		"staat geheimen van maximaal 30 dagen toe, dus het nieuwe geheim verloopt op "+nl.Date(now.Add(29*24*time.Hour)), ">1 dag</option>", ">7 dagen</option>")

	// A failure a rotation recorded: kept as a message, shown in the reader's language.
	must(t, st.SetRotationError(ctx, id, store.RotFailed, registration.Msg("rotation.error.sign_in_cancelled", "Tenant", "Fabrikam").Stored()))
	_, page = op.get(e.Portal.URL + "/rotations/" + id)
	check("failed", page, "De aanmelding bij Fabrikam is geannuleerd of geweigerd. Er is niets gewijzigd.")

	// Overlap: the new secret added (and shown once, earlier).
	_, err = st.BeginRotationStep(ctx, id, []string{store.RotFailed}, store.RotApplying, time.Minute)
	must(t, err)
	newEnd := now.AddDate(0, 0, 30)
	must(t, st.RecordRotationSecret(ctx, id, "d0000000-0000-4000-8000-000000000001", "Ab~", newEnd, store.AuditEvent{Action: "rotation.secret"}))
	_, page = op.get(e.Portal.URL + "/rotations/" + id)
	check("overlap", page, "Beide geheimen werken nu.", "blijft", "werken tot "+nl.Date(oldEnd)+".", "geldig tot "+nl.Date(newEnd)+").",
		"Het oude geheim automatisch verwijderen op")

	// A field error, in Dutch.
	resp, page = op.postForm("/rotations/"+id+"/schedule", url.Values{"remove_on": {"morgen"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("schedule with a bad date = %d, want 422", resp.StatusCode)
	}
	check("schedule refused", page, "Voer de datum in als JJJJ-MM-DD.")

	// Scheduled, then done.
	removeOn := now.AddDate(0, 0, 7)
	must(t, st.ScheduleRotationRemoval(ctx, id, removeOn, store.AuditEvent{Action: "rotation.schedule"}))
	_, page = op.get(e.Portal.URL + "/rotations/" + id)
	check("scheduled", page, "Het oude geheim wordt automatisch verwijderd op <strong>"+nl.Date(removeOn)+"</strong> tenzij je eerder bevestigt.")
	_, err = st.BeginRotationStep(ctx, id, []string{store.RotOverlap}, store.RotRemoving, time.Minute)
	must(t, err)
	must(t, st.FinishRotation(ctx, id, store.AuditEvent{Action: "rotation.done"}))
	_, page = op.get(e.Portal.URL + "/rotations/" + id)
	check("done", page, "Gerouleerd: het oude geheim", "Terug naar het dashboard")

	if len(missing) > 0 {
		t.Errorf("messages missing from the catalogues: %q", missing)
	}
}
