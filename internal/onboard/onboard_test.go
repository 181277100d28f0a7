package onboard

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/appreg-portal/portal/internal/graph"
	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/problem"
)

// Onboarding waits while a fresh consent replicates (the token endpoint does not know the app in the
// tenant yet) and gives up at once on any other refusal.
func TestRefusedRetryable(t *testing.T) {
	token := func(status int, code, description string) error {
		return &oauth2.RetrieveError{Response: &http.Response{StatusCode: status}, ErrorCode: code, ErrorDescription: description}
	}
	tests := []struct {
		name      string
		err       error
		refused   bool
		retryable bool
	}{
		{"app not in the directory yet", token(400, "unauthorized_client", "AADSTS700016: Application not found in the directory."), false, true},
		{"no service principal yet", token(400, "invalid_client", "AADSTS7000229: missing service principal."), false, true},
		{"no consent", token(400, "invalid_grant", "AADSTS65001: not consented."), true, false},
		{"wrong secret", token(401, "invalid_client", "AADSTS7000215: Invalid client secret provided."), true, false},
		{"no such tenant", token(400, "invalid_request", "AADSTS90002: Tenant not found."), true, false},
		{"token endpoint failing", token(503, "temporarily_unavailable", "AADSTS90033: transient."), false, false},
		{"Graph has not caught up", fmt.Errorf("get organization: %w", graph.ErrInsufficientPrivileges), false, true},
		{"Graph throttled", fmt.Errorf("get organization: %w", graph.ErrThrottled), false, true},
		{"Graph not found", fmt.Errorf("get organization: %w", graph.ErrNotFound), false, false},
		{"network", errors.New("dial tcp: connection refused"), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := refused(tt.err); got != tt.refused {
				t.Errorf("refused(%v) = %v, want %v", tt.err, got, tt.refused)
			}
			if got := retryable(tt.err); got != tt.retryable {
				t.Errorf("retryable(%v) = %v, want %v", tt.err, got, tt.retryable)
			}
		})
	}
}

// Requested describes exactly what ".default" grants on the portal app, in
// order, from the permission table: ScanPermissions (application, what the
// consent check compares against) and then SignInPermissions (delegated),
// the seven Entra's consent screen lists.
func TestRequestedIsWhatTheConsentScreenShows(t *testing.T) {
	got := Requested()
	type want struct{ name, typ string }
	var wants []want
	for _, n := range ScanPermissions {
		wants = append(wants, want{n, "application"})
	}
	for _, n := range SignInPermissions {
		wants = append(wants, want{n, "delegated"})
	}
	if len(got) != len(wants) || len(got) != 7 {
		t.Fatalf("Requested() = %d permissions, want %d (2 application, 5 delegated)", len(got), len(wants))
	}
	for i, p := range got {
		if p.Name != wants[i].name || string(p.Type) != wants[i].typ || p.Resource.Name != "Microsoft Graph" || p.ID == "" ||
			!strings.HasPrefix(p.Summary, p.Name+" ("+wants[i].typ+"): ") || len(p.Summary) < len(p.Name)+len(wants[i].typ)+10 {
			t.Errorf("Requested()[%d] = %+v, want %s, a Microsoft Graph %s permission with its ID and a sentence", i, p, wants[i].name, wants[i].typ)
		}
	}
}

func TestGrantedProblems(t *testing.T) {
	if p := (Granted{}).Problems(); len(p) != 0 {
		t.Errorf("Problems() of exactly the scan permissions = %q, want none", p)
	}
	p := Granted{Extra: []string{"Mail.Send (Microsoft Graph)"}, Missing: []string{"Organization.Read.All"}}.Problems()
	if len(p) != 2 {
		t.Fatalf("Problems() = %q, want two", p)
	}
	// Stored as messages: said in English and Dutch, Microsoft's names as they are.
	en, nl := i18n.For(i18n.EN), i18n.For(i18n.NL)
	tests := []struct {
		l    *i18n.Localizer
		line string
		want []string
	}{
		{en, p[0], []string{"holds more than it asks for in this tenant: Mail.Send (Microsoft Graph).", "needs only Application.Read.All and Organization.Read.All."}},
		{nl, p[0], []string{"meer dan het vraagt: Mail.Send (Microsoft Graph).", "alleen Application.Read.All en Organization.Read.All nodig."}},
		{en, p[1], []string{"The portal lacks Organization.Read.All in this tenant"}},
		{nl, p[1], []string{"Het portal mist Organization.Read.All in deze tenant"}},
	}
	for _, tt := range tests {
		got := problem.Text(tt.l, tt.line)
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("problem in %s = %q, want it to contain %q", tt.l.Lang(), got, w)
			}
		}
	}
}
