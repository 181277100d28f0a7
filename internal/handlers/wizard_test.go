package handlers_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/store"
)

// Step 1 refuses bad input with a clear message per field and a 422,
// keeps what was typed, and records nothing.
func TestWizardStartValidates(t *testing.T) {
	e := newFlowEnv(t)
	connectFabrikam(t, e)
	b := e.browser()
	b.signIn("oscar")
	resp, body := b.get(e.Portal.URL + "/catalogue/exact-synergy-calendar/register")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="server_name"`) || !strings.Contains(body, "Fabrikam") {
		t.Fatalf("start page: %d, server_name input and Fabrikam in the tenant list expected", resp.StatusCode)
	}
	for _, c := range []struct {
		name string
		form url.Values
		want []string
	}{
		{"bad hostname", url.Values{"blueprint": {"exact-synergy-calendar"}, "tenant": {e.Other}, "server_name": {"https://x/<script>"}},
			[]string{"Enter a server name", `value="https://x/&lt;script&gt;"`}},
		{"missing parameter", url.Values{"blueprint": {"exact-synergy-calendar"}, "tenant": {e.Other}},
			[]string{"Enter "}},
		{"tenant not connected", url.Values{"blueprint": {"exact-synergy-calendar"}, "tenant": {"11111111-2222-3333-4444-555555555555"}, "server_name": {"erp.fabrikam.example"}},
			[]string{"A customer tenant must be connected first"}},
		{"secret too long", url.Values{"blueprint": {"exact-synergy-calendar"}, "tenant": {e.Other}, "server_name": {"erp.fabrikam.example"}, "secret_months": {"60"}},
			[]string{"Choose between 1 and"}},
		{"secret not a number", url.Values{"blueprint": {"exact-synergy-calendar"}, "tenant": {e.Other}, "server_name": {"erp.fabrikam.example"}, "secret_months": {"six"}},
			[]string{"whole number of months"}},
		{"unknown feature", url.Values{"blueprint": {"exact-synergy-calendar"}, "tenant": {e.Other}, "server_name": {"erp.fabrikam.example"}, "feature": {"Everything"}},
			[]string{"Choose only features"}},
		{"name with a line break", url.Values{"blueprint": {"exact-synergy-calendar"}, "tenant": {e.Other}, "server_name": {"erp.fabrikam.example"}, "display_name": {"a\nb"}},
			[]string{"line breaks"}},
		{"share days kept", url.Values{"blueprint": {"exact-synergy-calendar"}, "tenant": {e.Other}, "share_days": {"5"}},
			[]string{`<option value="5" selected>`}},
	} {
		resp, body := b.postForm("/registrations", c.form)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422", c.name, resp.StatusCode)
		}
		for _, w := range c.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: page lacks %q", c.name, w)
			}
		}
	}
	if runs, _ := e.Store.ListRuns(context.Background(), "", 10); len(runs) != 0 {
		t.Errorf("refused forms recorded %d runs", len(runs))
	}
	// A good form makes a run and leads to the sign-in step.
	resp, body = b.postForm("/registrations", url.Values{"blueprint": {"exact-synergy-calendar"}, "tenant": {e.Other}, "server_name": {"erp.fabrikam.example"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="wizard-signin"`) {
		t.Fatalf("good form: %d, want the sign-in step", resp.StatusCode)
	}
	runs, _ := e.Store.ListRuns(context.Background(), e.Other, 10)
	if len(runs) != 1 || runs[0].State != store.RunSignIn || runs[0].Params["server_name"] != "erp.fabrikam.example" {
		t.Fatalf("runs = %+v", runs)
	}
	if ev := e.auditEvents("registration.start"); len(ev) != 1 {
		t.Errorf("%d registration.start audit events, want 1", len(ev))
	}
	// Nothing to apply before the review: the apply is refused by being a no-op redirect.
	resp, _ = b.postForm("/registrations/"+runs[0].ID+"/apply", url.Values{})
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/registrations/"+runs[0].ID {
		t.Errorf("apply before review: %d at %s", resp.StatusCode, resp.Request.URL.Path)
	}
}

func TestWizardRefusesViewersAndBadIDs(t *testing.T) {
	e := newFlowEnv(t)
	v := e.browser()
	v.signIn("vera")
	if resp, _ := v.get(e.Portal.URL + "/catalogue/exact-globe-mail/register"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer GET register = %d, want 403", resp.StatusCode)
	}
	if resp, _ := v.postForm("/registrations", url.Values{"blueprint": {"exact-globe-mail"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer POST /registrations = %d, want 403", resp.StatusCode)
	}
	if resp, _ := v.get(e.Portal.URL + "/registrations"); resp.StatusCode != http.StatusOK {
		t.Errorf("viewer GET /registrations = %d, want 200", resp.StatusCode)
	}
	o := e.browser()
	o.signIn("oscar")
	for _, p := range []string{"/registrations/not-a-uuid", "/registrations/00000000-0000-4000-8000-000000000000", "/catalogue/no-such/register"} {
		if resp, _ := o.get(e.Portal.URL + p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, resp.StatusCode)
		}
	}
	if resp, _ := o.get(e.Portal.URL + "/registrations?tenant=x' OR 1=1"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad tenant filter = %d, want 400", resp.StatusCode)
	}
	// A consent answer with a made-up state records nothing and says so.
	anon := e.browser()
	resp, body := anon.get(e.Portal.URL + "/registrations/consented?admin_consent=True&state=forged&tenant=" + e.Other)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "does not belong") {
		t.Errorf("forged consent return = %d", resp.StatusCode)
	}
	// A sign-in answer this browser did not start is refused.
	resp, _ = o.get(e.Portal.URL + "/registrations/callback?code=x&state=y")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unsolicited callback = %d, want 400", resp.StatusCode)
	}
}

// "Register an app" on a tenant's row carries the tenant to the wizard.
func TestWizardStartsFromATenant(t *testing.T) {
	e := newFlowEnv(t)
	connectFabrikam(t, e)
	b := e.browser()
	b.signIn("oscar")
	_, page := b.get(e.Portal.URL + "/tenants")
	want := `href="/catalogue?tenant=` + e.Other + `"`
	if !strings.Contains(page, want) {
		t.Fatalf("tenants page lacks %s", want)
	}
	_, page = b.get(e.Portal.URL + "/catalogue?tenant=" + e.Other)
	if !strings.Contains(page, `href="/catalogue/exact-globe-mail?tenant=`+e.Other+`"`) {
		t.Fatal("catalogue cards do not carry the tenant")
	}
	_, page = b.get(e.Portal.URL + "/catalogue/exact-globe-mail?tenant=" + e.Other)
	if !strings.Contains(page, `href="/catalogue/exact-globe-mail/register?tenant=`+e.Other+`"`) {
		t.Fatal("register-start does not carry the tenant")
	}
	_, page = b.get(e.Portal.URL + "/catalogue/exact-globe-mail/register?tenant=" + e.Other)
	if !strings.Contains(page, `<option value="`+e.Other+`" selected`) {
		t.Error("the wizard does not preselect the tenant")
	}
	// Anything but a tenant ID is ignored, never echoed into links.
	_, page = b.get(e.Portal.URL + "/catalogue/exact-globe-mail?tenant=%22%3E%3Cscript%3E")
	if strings.Contains(page, "<script>") || strings.Contains(page, "register?tenant=") {
		t.Error("a hostile tenant parameter reached the page")
	}
}

// An app made by hand is tracked with a blueprint: nothing is written to the
// tenant, and its drift page reports what differs (it asks for none of the
// blueprint's permissions) and its secrets' hygiene.
func TestAdoptAnAppMadeByHand(t *testing.T) {
	e := newFlowEnv(t)
	seedFabrikam(t, e)
	tn := connectFabrikam(t, e)
	var cred store.Credential
	deadline := time.Now().Add(10 * time.Second)
	for cred.ID == 0 {
		creds, err := e.Store.ListCredentials(context.Background(), store.CredentialFilter{TenantID: tn.ID})
		must(t, err)
		for _, c := range creds {
			if c.DisplayName == "globe 2026" {
				cred = c
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the first scan did not find the Exact Globe+ secret")
		}
		time.Sleep(100 * time.Millisecond)
	}
	op := e.browser()
	op.signIn("oscar")
	_, page := op.get(e.Portal.URL + "/")
	if !strings.Contains(page, `/adopt?credential=`+strconv.FormatInt(cred.ID, 10)) {
		t.Fatal("the dashboard offers no drift check for the app")
	}
	writes := 0
	for _, r := range e.Sim.Requests() {
		if r.Method != "GET" && strings.HasPrefix(r.Path, "/v1.0/") {
			writes++
		}
	}
	_, page = op.get(e.Portal.URL + "/adopt?credential=" + strconv.FormatInt(cred.ID, 10) + "&blueprint=exact-globe-mail")
	if !strings.Contains(page, `name="sender_mailbox"`) {
		t.Fatal("the adopt form lacks the blueprint's parameters")
	}
	resp, _ := op.postForm("/adopt", url.Values{"credential": {strconv.FormatInt(cred.ID, 10)}, "blueprint": {"exact-globe-mail"}, "sender_mailbox": {"not an address"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("bad parameter: %d, want 422", resp.StatusCode)
	}
	resp, page = op.postForm("/adopt", url.Values{"credential": {strconv.FormatInt(cred.ID, 10)}, "blueprint": {"exact-globe-mail"}, "sender_mailbox": {"invoices@fabrikam.example"}})
	if resp.StatusCode != http.StatusOK || !strings.HasSuffix(resp.Request.URL.Path, "/drift") {
		t.Fatalf("adopt: %d at %s", resp.StatusCode, resp.Request.URL.Path)
	}
	// Names in a finding are marked as data (<span translate="no">): read the text.
	for _, want := range []string{"Mail.Send (application) is missing", "Expired: globe 2025", "Ends within 30 days: globe 2026", "No owners"} {
		if !strings.Contains(pageText(page), want) {
			t.Errorf("drift page lacks %q", want)
		}
	}
	after := 0
	for _, r := range e.Sim.Requests() {
		if r.Method != "GET" && strings.HasPrefix(r.Path, "/v1.0/") {
			after++
		}
	}
	if after != writes {
		t.Errorf("adopting wrote to Graph (%d writes)", after-writes)
	}
	regs, _ := e.Store.ListRegistrations(context.Background(), e.Other)
	if len(regs) != 1 || regs[0].BlueprintID != "exact-globe-mail" {
		t.Fatalf("registrations after adopting: %+v", regs)
	}
	// The portal tracks the app and never changes it: no Repair (the wizard would make a second
	// app), no claim that the grants were read back or that no secret exists, and the list says so.
	if strings.Contains(page, `data-testid="drift-repair"`) || !strings.Contains(page, `data-testid="drift-fix-by-hand"`) {
		t.Error("the drift page of a tracked app offers Repair instead of fixing it in Entra")
	}
	runID := *regs[0].LastRunID
	_, run := op.get(e.Portal.URL + "/registrations/" + runID)
	if !strings.Contains(run, `data-testid="run-tracked"`) || strings.Contains(run, `data-testid="consent-verified"`) || strings.Contains(run, "Not made yet") {
		t.Errorf("a tracked app's page claims what the portal did not do:\n%.2000s", run)
	}
	if _, list := op.get(e.Portal.URL + "/registrations"); !strings.Contains(list, `data-testid="registration-tracked"`) {
		t.Error("the registrations list does not say the app is tracked, not applied")
	}
	if resp, _ := op.get(e.Portal.URL + "/catalogue/exact-globe-mail/register?repair=" + runID); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("repair of a tracked app = %d, want 400", resp.StatusCode)
	}
	// Asking again goes to its drift page, not a second record.
	resp, _ = op.get(e.Portal.URL + "/adopt?credential=" + strconv.FormatInt(cred.ID, 10))
	if !strings.HasSuffix(resp.Request.URL.Path, "/drift") {
		t.Errorf("adopting a tracked app again leads to %s", resp.Request.URL.Path)
	}
}

// A run that has written nothing (started for the wrong tenant, abandoned on
// its review) can be discarded by an operator: it stays listed as
// discarded, its delegated token goes, the audit says who. A run being
// applied, or one already discarded, is refused and left as it is.
func TestDiscardARunThatWroteNothing(t *testing.T) {
	e := newFlowEnv(t)
	connectFabrikam(t, e)
	ctx := context.Background()
	op, viewer := e.browser(), e.browser()
	op.signIn("oscar")
	viewer.signIn("vera")
	start := func() store.RegistrationRun {
		t.Helper()
		before, _ := e.Store.ListRuns(ctx, e.Other, 50)
		resp, body := op.postForm("/registrations", url.Values{"blueprint": {"exact-synergy-calendar"}, "tenant": {e.Other}, "server_name": {"erp.fabrikam.example"}})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("start: %d\n%s", resp.StatusCode, body)
		}
		runs, _ := e.Store.ListRuns(ctx, e.Other, 50)
		if len(runs) != len(before)+1 {
			t.Fatalf("start made %d runs", len(runs)-len(before))
		}
		return runs[0]
	}
	run := start()
	must(t, e.Store.SaveRunToken(ctx, run.ID, []byte("sealed-token-bytes"), "", "Fiona", time.Now().Add(time.Hour)))
	_, page := op.get(e.Portal.URL + "/registrations/" + run.ID)
	if !strings.Contains(page, `data-testid="run-discard"`) {
		t.Fatal("a run waiting for its sign-in offers no Discard")
	}
	if resp, _ := viewer.postForm("/registrations/"+run.ID+"/discard", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer discard: %d, want 403", resp.StatusCode)
	}
	resp, page := op.postForm("/registrations/"+run.ID+"/discard", url.Values{})
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/registrations" || !strings.Contains(page, "Discarded the registration of") {
		t.Fatalf("discard: %d at %s", resp.StatusCode, resp.Request.URL.Path)
	}
	got, err := e.Store.GetRun(ctx, run.ID)
	must(t, err)
	if got.State != store.RunCancelled {
		t.Errorf("state after discard = %q", got.State)
	}
	if _, _, err := e.Store.RunToken(ctx, run.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the run's token outlived the discard: %v", err)
	}
	if ev := e.auditEvents("registration.discard"); len(ev) != 1 || ev[0].ActorName != "Oscar Operator" {
		t.Errorf("audit = %+v, want one discard by Oscar", ev)
	}
	_, page = op.get(e.Portal.URL + "/registrations/" + run.ID)
	if !strings.Contains(page, `data-testid="run-discarded"`) || strings.Contains(page, `data-testid="run-discard"`) {
		t.Error("a discarded run's page does not say so, or still offers Discard")
	}
	if resp, _ := op.postForm("/registrations/"+run.ID+"/discard", url.Values{}); resp.StatusCode != http.StatusConflict {
		t.Errorf("second discard: %d, want 409", resp.StatusCode)
	}
	// An apply under way is not taken back.
	run2 := start()
	must(t, e.Store.SetRunState(ctx, run2.ID, store.RunApplying, "", store.AuditEvent{}))
	if resp, _ := op.postForm("/registrations/"+run2.ID+"/discard", url.Values{}); resp.StatusCode != http.StatusConflict {
		t.Errorf("discard while applying: %d, want 409", resp.StatusCode)
	}
	if got, _ := e.Store.GetRun(ctx, run2.ID); got.State != store.RunApplying {
		t.Errorf("a refused discard changed the state to %q", got.State)
	}
	if resp, _ := op.postForm("/registrations/not-a-run/discard", url.Values{}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown run: %d, want 404", resp.StatusCode)
	}
}
