package graph

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/appreg-portal/portal/internal/safetext"
)

// FuzzTextFromGraph: names, credential names and hints that a tenant's
// administrator chose reach the rest of the portal as safe one-line text
// (issue 13), and an odd name is flagged.
func FuzzTextFromGraph(f *testing.F) {
	f.Add("Exact Globe+ mail", "globe 2026", "abc")
	f.Add("Evil\x00App\r\nCall +31", "s\x00", "\xff\xfe")
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, name, credName, hint string) {
		a := models.NewApplication()
		id, appID := "0a0a0a0a-0000-4000-8000-000000000001", "b0b0b0b0-0000-4000-8000-000000000001"
		a.SetId(&id)
		a.SetAppId(&appID)
		a.SetDisplayName(&name)
		p := models.NewPasswordCredential()
		kid := uuid.New()
		end := time.Now().Add(time.Hour)
		p.SetKeyId(&kid)
		p.SetDisplayName(&credName)
		p.SetHint(&hint)
		p.SetEndDateTime(&end)
		a.SetPasswordCredentials([]models.PasswordCredentialable{p})
		got := toApplication(a)
		for _, s := range []string{got.DisplayName, got.Credentials[0].DisplayName, got.Credentials[0].Hint} {
			if safetext.Problem(s) != "" || strings.ContainsAny(s, "\r\n\t") {
				t.Fatalf("unsafe text from Graph: %q", s)
			}
		}
		if got.NameCleaned != (safetext.Line(name) != strings.Trim(name, " ")) {
			t.Fatalf("NameCleaned = %v for %q", got.NameCleaned, name)
		}
	})
}
