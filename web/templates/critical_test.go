package templates

import (
	"context"
	"io"
	"regexp"
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

func mustRender(t *testing.T, c interface {
	Render(context.Context, io.Writer) error
}) string {
	t.Helper()
	var b strings.Builder
	if err := c.Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// visibleText drops the markup, as a reader sees the text run on.
func visibleText(html string) string {
	return strings.Join(strings.Fields(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(html, " ")), " ")
}

// Counts read as English, with "1 permission" and "1 doubt" singular.
func TestCatalogueCardCounts(t *testing.T) {
	page := mustRender(t, CataloguePage(PageData{}, CatalogueData{Cards: []BlueprintCard{
		{ID: "one", Name: "One", Permissions: 1, Doubts: 1, Highest: "high"},
		{ID: "three", Name: "Three", Permissions: 3, Doubts: 2, Highest: "low"},
	}}))
	for _, want := range []string{"1 permission ·", "3 permissions ·", "1 doubt about the guide", "2 doubts about the guide"} {
		if !strings.Contains(page, want) {
			t.Errorf("catalogue lacks %q", want)
		}
	}
	for _, bad := range []string{"1 permissions", "1 doubts"} {
		if strings.Contains(page, bad) {
			t.Errorf("catalogue says %q", bad)
		}
	}
}

// The review's first sentence has no space before its full stop.
func TestReviewFirstSentence(t *testing.T) {
	for _, tt := range []struct {
		roles []string
		want  string
	}{
		{[]string{"Global Administrator"}, "Signed in as fiona@fabrikam.example (Global Administrator). This is exactly what will be written:"},
		{nil, "Signed in as fiona@fabrikam.example (no administrator role). This is exactly what will be written:"},
	} {
		page := visibleText(mustRender(t, runReview(WizardRunData{ID: "r1", State: "review", SignedInAs: "fiona@fabrikam.example", Roles: tt.roles})))
		// The markup around the name is inline: the reader sees no space
		// where the source has none.
		page = strings.NewReplacer("( ", "(", " )", ")").Replace(page)
		if !strings.Contains(page, tt.want) {
			t.Errorf("review with roles %v lacks %q:\n%.400s", tt.roles, tt.want, page)
		}
	}
}

// The drift-check link of a credential that is not rotated here starts on a
// line of its own, not glued to the sentence before it ("one.Drift check").
func TestDriftCheckLinkOnItsOwnLine(t *testing.T) {
	html := mustRender(t, CredentialList(DashboardData{Rows: []CredentialRow{{ID: "c1", KeyID: "k1", CanTrack: true,
		NotRotated: "A certificate is not rotated here: remove this one once the product uses the new one."}}}))
	i := strings.Index(html, `data-testid="not-rotated-k1"`)
	j := strings.Index(html, `data-testid="adopt-k1"`)
	if i < 0 || j < 0 {
		t.Fatalf("row lacks the note or the drift-check link:\n%s", html)
	}
	between := html[i:j]
	if !strings.Contains(between, "<div>") {
		t.Errorf("the drift-check link follows the note inline:\n%s", between)
	}
}
