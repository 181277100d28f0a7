package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/appreg-portal/portal/internal/pgtest"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/internal/testenv"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// A person opens the portal, is sent to Entra's sign-in page, picks their
// account, lands on the dashboard with their name and role, and signs out.
func TestSignInAndOutInChromium(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	browser := newBrowser(t)
	ctx, cancel := context.WithTimeout(browser, 60*time.Second)
	defer cancel()

	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.Portal.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="signin-user-ada@contoso.example"]`)),
	))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	must(t, err)
	if !strings.HasPrefix(loc, env.Entra.URL+"/organizations/oauth2/v2.0/authorize") {
		t.Fatalf("signed out, / led to %s, want Entra's authorize endpoint", loc)
	}
	screenshot(t, ctx, "signin-page")

	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="signin-user-ada@contoso.example"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="current-user-name"]`)),
	))
	name, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="current-user-name"]`)))
	must(t, err)
	role, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="current-user-role"]`)))
	must(t, err)
	loc, err = chromedp.Run(ctx, chromedp.Location())
	must(t, err)
	if name != "Ada Admin" || role != "Admin" || loc != env.Portal.URL+"/" {
		t.Fatalf("after sign-in: name %q, role %q, at %s; want Ada Admin, Admin, the dashboard", name, role, loc)
	}
	screenshot(t, ctx, "dashboard")

	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="signout"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="signed-out"]`)),
	))
	screenshot(t, ctx, "signed-out")

	// Signed out for real: the dashboard sends the browser back to Entra.
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.Portal.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="signin-user-ada@contoso.example"]`)),
	))

	ev, err := env.Store.ListAudit(context.Background(), store.AuditFilter{})
	must(t, err)
	var actions []string
	for _, e := range ev {
		actions = append(actions, e.Action)
	}
	if strings.Join(actions, ",") != "signout,signin" {
		t.Errorf("audit trail = %v, want [signout signin]", actions)
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
