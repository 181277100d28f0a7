package main

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/appreg-portal/portal/internal/entrasim"
)

// The README's screenshots, taken in headless Chromium from `portal dev`'s
// demo world: the dashboard at first sign-in, the wizard's review and
// hand-off, and the registrations page. With UPDATE_SCREENSHOTS=1 they are
// written to docs/screenshots; otherwise they are still taken and checked
// to show a rendered page (pixels may differ from the committed ones).
func TestReadmeScreenshotsFromTheDemoWorld(t *testing.T) {
	chromium := findChromium(t)
	data, err := os.MkdirTemp("", "portal-shots-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(data)
	if err := os.Chmod(data, 0o755); err != nil {
		t.Fatal(err)
	}
	addr, entraAddr := freeAddr(t), freeAddr(t)
	base := "http://" + addr
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"dev", "-addr", addr, "-entra-addr", entraAddr, "-smtp-addr", "127.0.0.1:0", "-data", filepath.Join(data, "d")},
			func(string) string { return "" }, &stdout, &stderr)
	}()
	deadline := time.After(90 * time.Second)
	for !strings.Contains(stdout.String(), "AppReg Portal is running") {
		select {
		case err := <-done:
			t.Fatalf("portal dev stopped: %v\n%s", err, stderr.String())
		case <-deadline:
			t.Fatalf("portal dev not ready:\n%s", stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	defer func() {
		cancel()
		<-done
	}()

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelB := chromedp.NewContext(alloc)
	defer cancelB()
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	bctx, cancelT := context.WithTimeout(bctx, 2*time.Minute)
	defer cancelT()

	out := t.TempDir()
	update := os.Getenv("UPDATE_SCREENSHOTS") == "1"
	if update {
		out = filepath.Join("..", "..", "docs", "screenshots")
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	shoot := func(name string) {
		t.Helper()
		if err := chromedp.Do(bctx, chromedp.Sleep(300*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		b, err := chromedp.Run(bctx, chromedp.FullScreenshot(100)) // quality 100: PNG
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		checkRendered(t, name, b)
		if err := os.WriteFile(filepath.Join(out, name+".png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, actions...); err != nil {
			t.Fatalf("%v\nportal log:\n%.3000s", err, stderr.String())
		}
	}

	// The dashboard at first sign-in, as Oscar the operator.
	run(chromedp.Navigate(base+"/"),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-user-oscar@contoso-consulting.example"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="credential-row"]`)))
	shoot("dashboard")

	// The wizard in Fabrikam: Exact Globe+ mail, signed in as Fiona.
	run(chromedp.Navigate(base+"/catalogue/exact-globe-mail"),
		chromedp.Click(chromedp.CSS(`[data-testid="register-start"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="wizard-tenant"]`)),
		chromedp.SetValue(chromedp.CSS(`[data-testid="wizard-tenant"]`), entrasim.DemoFabrikamTenantID),
		chromedp.SendKeys(chromedp.CSS(`input[name="sender_mailbox"]`), "invoices@fabrikam.example"),
		chromedp.Click(chromedp.CSS(`[data-testid="wizard-next"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="wizard-signin"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="wizard-next"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-user-fiona@fabrikam.example"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="consent-accept"], [data-testid="wizard-review"]`)))
	consent, err := chromedp.Run(bctx, chromedp.Nodes(chromedp.CSS(`[data-testid="consent-accept"]`), chromedp.AtLeast(0)))
	if err != nil {
		t.Fatal(err)
	}
	if len(consent) > 0 {
		run(chromedp.Click(chromedp.CSS(`[data-testid="consent-accept"]`)))
	}
	run(chromedp.WaitVisible(chromedp.CSS(`[data-testid="wizard-review"]`)))
	shoot("wizard-review")
	run(chromedp.Click(chromedp.CSS(`[data-testid="wizard-apply"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="wizard-done"]`)),
		// The emulator's secret is no real secret, but a picture of one teaches the wrong habit.
		chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('.secret').forEach(e => e.textContent = '•'.repeat(40))`),
	)
	shoot("wizard-handoff")

	run(chromedp.Navigate(base+"/registrations"),
		chromedp.WaitVisible(chromedp.CSS(`main`)))
	page, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(`main`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page, "Exact Globe+") || !strings.Contains(page, "Fabrikam") {
		t.Errorf("the registrations page does not list the app just registered:\n%.1500s", page)
	}
	shoot("registrations")
	if update {
		t.Logf("screenshots written to %s", out)
	}
}

// checkRendered fails unless the PNG shows a page: a real size and more
// than a handful of colours (a blank or error-less white page has few).
func checkRendered(t *testing.T, name string, b []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("screenshot %s is no PNG: %v", name, err)
	}
	r := img.Bounds()
	if r.Dx() < 800 || r.Dy() < 600 {
		t.Errorf("screenshot %s is %dx%d", name, r.Dx(), r.Dy())
	}
	colours := map[[3]uint32]bool{}
	for y := r.Min.Y; y < r.Max.Y; y += 4 {
		for x := r.Min.X; x < r.Max.X; x += 4 {
			c := colourAt(img, x, y)
			colours[c] = true
		}
	}
	if len(colours) < 20 {
		t.Errorf("screenshot %s has %d colours: not a rendered page", name, len(colours))
	}
}

func colourAt(img image.Image, x, y int) [3]uint32 {
	r, g, b, _ := img.At(x, y).RGBA()
	return [3]uint32{r >> 8, g >> 8, b >> 8}
}

// findChromium returns the browser; the test fails, never skips, without
// one: `make test` installs Debian's chromium (as internal/e2e does).
func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PORTAL_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium found: run `make test` (it installs Debian's chromium as root), or set PORTAL_CHROMIUM")
	return ""
}
