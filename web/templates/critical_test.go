package templates

import (
	"context"
	"strings"
	"testing"
)

// The wizard's review warns above the permissions when a critical one is
// asked for, and only then.
func TestReviewWarnsOfCriticalPermissions(t *testing.T) {
	render := func(ps []WizardPermission) string {
		t.Helper()
		var b strings.Builder
		if err := runReview(WizardRunData{ID: "r1", State: "review", Permissions: ps}).Render(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	mailSend := WizardPermission{Resource: "Microsoft Graph", Name: "Mail.Send", Type: "application", Privilege: "high",
		Summary: "Mail.Send (application): can send mail as any user in your organisation"}
	roleMgmt := WizardPermission{Resource: "Microsoft Graph", Name: "RoleManagement.ReadWrite.Directory", Type: "application", Privilege: "critical",
		Summary: "RoleManagement.ReadWrite.Directory (application): can give any user or app any directory role, Global Administrator included"}
	if page := render([]WizardPermission{mailSend}); strings.Contains(page, `data-testid="critical-permission-warning"`) {
		t.Error("review of Mail.Send alone shows the critical-permission warning")
	}
	page := render([]WizardPermission{mailSend, roleMgmt})
	i := strings.Index(page, `data-testid="critical-permission-warning"`)
	if i < 0 {
		t.Fatalf("review of RoleManagement.ReadWrite.Directory shows no critical-permission warning:\n%s", page)
	}
	banner := page[i:]
	banner = banner[:strings.Index(banner, "</article>")]
	if !strings.Contains(banner, "RoleManagement.ReadWrite.Directory (application): can give any user or app any directory role, Global Administrator included") {
		t.Errorf("the warning does not list the critical permission with why:\n%s", banner)
	}
	if strings.Contains(banner, "Mail.Send") {
		t.Errorf("the warning lists a permission that is not critical:\n%s", banner)
	}
	if j := strings.Index(page, `data-testid="review-permissions"`); j < i {
		t.Errorf("the warning is not above the permissions table")
	}
}
