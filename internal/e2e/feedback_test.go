package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/appreg-portal/portal/internal/catalog"
	"github.com/appreg-portal/portal/internal/testenv"
)

// flashText waits for the outcome message an action leaves on the next page.
func flashText(t *testing.T, ctx context.Context) string {
	t.Helper()
	fctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	must(t, chromedp.Do(fctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`))))
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="flash"]`)))
	must(t, err)
	return text
}

// Every action says what it did on the page it leads to, once; destructive
// ones ask first.
func TestActionsGiveFeedbackInChromium(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	browser := newBrowser(t)
	ctx, cancel := context.WithTimeout(browser, 3*time.Minute)
	defer cancel()
	signIn(t, ctx, env, "ada")
	connectByConsent(t, ctx, env)

	// Scan now.
	scanNow(t, ctx, env)
	if got := flashText(t, ctx); !strings.Contains(got, "Scanned Fabrikam") {
		t.Errorf("after Scan now: %q", got)
	}
	// Shown once: a reload no longer has it.
	must(t, chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`footer`))))
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="flash"]').length`)); n != 0 {
		t.Error("the flash message is shown again after a reload")
	}

	// Alert contacts.
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.Portal.URL+"/tenants"),
		chromedp.Click(chromedp.CSS(`[data-testid="tenant-contacts"] summary`)),
		chromedp.SetValue(chromedp.CSS(`[data-testid="contacts-input"]`), "it@fabrikam.example\nops@fabrikam.example"),
		chromedp.Click(chromedp.CSS(`[data-testid="contacts-save"]`)),
	))
	if got := flashText(t, ctx); got != "Alert contacts saved: 2 addresses." {
		t.Errorf("after saving contacts: %q", got)
	}

	// A custom blueprint: saved, then deleted after the confirmation.
	src := strings.Replace(string(catalog.CustomTemplate()), "id: my-product", "id: feedback-made", 1)
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.Portal.URL+"/catalogue/new"),
		chromedp.SetValue(chromedp.CSS(`[data-testid="blueprint-source"]`), src),
		chromedp.Click(chromedp.CSS(`[data-testid="save-blueprint"]`)),
	))
	if got := flashText(t, ctx); !strings.HasPrefix(got, "Blueprint saved") {
		t.Errorf("after saving a blueprint: %q", got)
	}
	visible, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('[data-testid="delete-blueprint"]').checkVisibility()`))
	must(t, err)
	if visible {
		t.Error("the delete button is there before the confirmation was opened")
	}
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="delete-blueprint-ask"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="delete-blueprint"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="blueprint-list"]`)),
	))
	if got := flashText(t, ctx); !strings.Contains(got, "feedback-made deleted") {
		t.Errorf("after deleting a blueprint: %q", got)
	}

	// Ending another person's session.
	other := newBrowser(t)
	octx, ocancel := context.WithTimeout(other, time.Minute)
	defer ocancel()
	signIn(t, octx, env, "vera")
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.Portal.URL+"/admin/sessions"),
		chromedp.Click(chromedp.CSS(`[data-testid="end-session-ask"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="end-session"]`)),
	))
	if got := flashText(t, ctx); !strings.HasPrefix(got, "Session ended") {
		t.Errorf("after ending a session: %q", got)
	}
	// The person signed out is told why at their next request.
	must(t, chromedp.Do(octx,
		chromedp.Navigate(env.Portal.URL+"/catalogue"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="ended-by-admin"]`)),
	))
}
