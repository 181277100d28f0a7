package handlers_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/appreg-portal/portal/internal/catalog"
	"github.com/appreg-portal/portal/internal/store"
)

// postForm sends a same-origin form POST from the browser.
func (b *browser) postForm(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.e.Portal.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.e.Portal.URL)
	resp, err := b.client.Do(req)
	must(b.t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestCatalogueListsEveryBuiltinWithPlainPermissions(t *testing.T) {
	e := newFlowEnv(t)
	b := e.browser()
	b.signIn("vera")
	_, list := b.get(e.Portal.URL + "/catalogue")
	for _, bp := range catalog.Builtins() {
		if !strings.Contains(list, `data-testid="blueprint-card-`+bp.ID+`"`) {
			t.Errorf("catalogue lacks %s", bp.ID)
		}
	}
	if strings.Contains(list, `data-testid="new-blueprint"`) {
		t.Error("a viewer is offered 'Add a custom blueprint'")
	}
	if strings.Contains(list, ">1 permissions") || strings.Contains(list, " 1 permissions") || strings.Contains(list, "1 doubts") {
		t.Error("the catalogue counts in the plural for one")
	}
	// Search narrows the list.
	_, found := b.get(e.Portal.URL + "/catalogue?q=" + url.QueryEscape("full_access_as_app"))
	if !strings.Contains(found, "blueprint-card-resourcexpress-ews") || strings.Contains(found, "blueprint-card-afas-profit-exchange") {
		t.Errorf("search for full_access_as_app did not narrow to the EWS blueprint")
	}

	// Every built-in page shows each permission with its plain-language summary.
	for _, bp := range catalog.Builtins() {
		resp, page := b.get(e.Portal.URL + "/catalogue/" + bp.ID)
		if resp.StatusCode != 200 {
			t.Errorf("GET /catalogue/%s = %d", bp.ID, resp.StatusCode)
			continue
		}
		for _, rp := range bp.ResolvedPermissions() {
			if !strings.Contains(page, `data-testid="permission-`+rp.Name+`-`+string(rp.Type)+`"`) {
				t.Errorf("%s: permission %s (%s) not shown", bp.ID, rp.Name, rp.Type)
			}
			if rp.Permission.Summary != "" && !strings.Contains(page, htmlEscape(rp.Permission.Summary)) {
				t.Errorf("%s: summary of %s missing: %q", bp.ID, rp.Name, rp.Permission.Summary)
			}
		}
		// Nothing is registered yet: templates are told in words, never as raw {{client_id}}.
		if i := strings.Index(page, "{{"); i >= 0 {
			t.Errorf("%s: a raw template on the page: %q", bp.ID, page[i:min(len(page), i+40)])
		}
		if strings.Contains(page, `\&#34;`) || strings.Contains(page, `\"`) {
			t.Errorf("%s: Go-escaped quotes on the page", bp.ID)
		}
		if strings.Contains(page, "-DisplayName &#34;") {
			t.Errorf("%s: hardening PowerShell names the service principal with a fixed name, not the registration's", bp.ID)
		}
		if strings.Contains(page, `aria-invalid="false"`) {
			t.Errorf("%s: a field marked valid that nobody checked", bp.ID)
		}
		if bp.UsesEWS() != strings.Contains(page, `data-testid="ews-notice"`) {
			t.Errorf("%s: EWS notice shown = %v, want %v", bp.ID, !bp.UsesEWS(), bp.UsesEWS())
		}
	}
	_, globe := b.get(e.Portal.URL + "/catalogue/exact-globe-mail")
	if want := htmlEscape("-DisplayName '<app registration's name>'"); !strings.Contains(globe, want) {
		t.Errorf("exact-globe-mail hardening lacks %q", want)
	}
	if resp, _ := b.get(e.Portal.URL + "/catalogue/no-such-blueprint"); resp.StatusCode != 404 {
		t.Errorf("unknown blueprint = %d, want 404", resp.StatusCode)
	}
}

func htmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")
	return r.Replace(s)
}

func TestOperatorAddsCustomBlueprint(t *testing.T) {
	e := newFlowEnv(t)
	op := e.browser()
	op.signIn("oscar")

	// The form starts from the template, or from a built-in with a new ID.
	_, form := op.get(e.Portal.URL + "/catalogue/new?from=exact-globe-mail")
	if !strings.Contains(form, "id: exact-globe-mail-custom") {
		t.Fatalf("form from a built-in does not suggest a new ID:\n%.800s", form)
	}

	// A broken blueprint is refused with line-numbered errors and nothing is stored.
	bad := strings.Replace(string(catalog.CustomTemplate()), "id: my-product", "id: my-product\nid_typo: x", 1)
	bad = strings.Replace(bad, "name: Mail.Send", "name: Mail.Sendd", 1)
	resp, page := op.postForm("/catalogue", url.Values{"source": {bad}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `data-testid="blueprint-errors"`) {
		t.Fatalf("bad blueprint = %d:\n%.1500s", resp.StatusCode, page)
	}
	if !strings.Contains(page, "Line 7") || !strings.Contains(page, "id_typo") {
		t.Errorf("the unknown field is not named with its line:\n%.3000s", page)
	}
	if customs, _ := e.Store.ListCustomBlueprints(context.Background()); len(customs) != 0 {
		t.Fatalf("an invalid blueprint was stored: %+v", customs)
	}

	// A valid one is stored, audited and shown.
	good := strings.Replace(string(catalog.CustomTemplate()), "id: my-product", "id: contoso-crm", 1)
	resp, page = op.postForm("/catalogue", url.Values{"source": {good}})
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/catalogue/contoso-crm" || !strings.Contains(page, `data-testid="blueprint-name"`) {
		t.Fatalf("valid blueprint = %d at %s", resp.StatusCode, resp.Request.URL.Path)
	}
	if ev, _ := e.Store.ListAudit(context.Background(), store.AuditFilter{Action: "blueprint.create"}); len(ev) != 1 || ev[0].Details["id"] != "contoso-crm" {
		t.Errorf("audit blueprint.create = %+v", ev)
	}
	_, list := op.get(e.Portal.URL + "/catalogue")
	if !strings.Contains(list, "blueprint-card-contoso-crm") {
		t.Error("the custom blueprint is not in the catalogue")
	}
	// The same ID again is a clear conflict, not a crash.
	resp, page = op.postForm("/catalogue", url.Values{"source": {good}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "exists already") {
		t.Errorf("duplicate ID = %d", resp.StatusCode)
	}
	// A built-in's ID is refused.
	dup := strings.Replace(string(catalog.CustomTemplate()), "id: my-product", "id: exact-globe-mail", 1)
	if resp, page := op.postForm("/catalogue", url.Values{"source": {dup}}); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "built-in") {
		t.Errorf("built-in ID = %d", resp.StatusCode)
	}

	// Upload as a file works too.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "other.yaml")
	fw.Write([]byte(strings.Replace(string(catalog.CustomTemplate()), "id: my-product", "id: uploaded-one", 1)))
	mw.Close()
	req, _ := http.NewRequest("POST", e.Portal.URL+"/catalogue", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", e.Portal.URL)
	up, err := op.client.Do(req)
	must(t, err)
	up.Body.Close()
	if up.Request.URL.Path != "/catalogue/uploaded-one" {
		t.Errorf("upload ended at %s (%d)", up.Request.URL.Path, up.StatusCode)
	}

	// A huge upload is refused plainly.
	huge := "# " + strings.Repeat("x", catalog.MaxFileSize+10)
	if resp, page := op.postForm("/catalogue", url.Values{"source": {huge}}); resp.StatusCode < 400 || !strings.Contains(page, "256 KiB") {
		t.Errorf("huge blueprint = %d", resp.StatusCode)
	}

	// Delete.
	if resp, _ := op.postForm("/catalogue/contoso-crm/delete", nil); resp.Request.URL.Path != "/catalogue" {
		t.Errorf("delete ended at %s", resp.Request.URL.Path)
	}
	if resp, _ := op.get(e.Portal.URL + "/catalogue/contoso-crm"); resp.StatusCode != 404 {
		t.Errorf("deleted blueprint = %d, want 404", resp.StatusCode)
	}
}

func TestViewerCannotAddBlueprints(t *testing.T) {
	e := newFlowEnv(t)
	v := e.browser()
	v.signIn("vera")
	good := strings.Replace(string(catalog.CustomTemplate()), "id: my-product", "id: sneaky", 1)
	resp, _ := v.postForm("/catalogue", url.Values{"source": {good}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer POST /catalogue = %d, want 403", resp.StatusCode)
	}
	if customs, _ := e.Store.ListCustomBlueprints(context.Background()); len(customs) != 0 {
		t.Errorf("a viewer stored a blueprint: %+v", customs)
	}
	if resp, _ := v.get(e.Portal.URL + "/catalogue/new"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer GET /catalogue/new = %d, want 403", resp.StatusCode)
	}
}

// A custom blueprint asking for a permission that leads to Global
// Administrator shows it as critical, with a warning banner that says why; a
// built-in asking for nothing critical shows no banner.
func TestBlueprintWithTakeoverPermissionWarns(t *testing.T) {
	e := newFlowEnv(t)
	op := e.browser()
	op.signIn("oscar")
	src := strings.Replace(string(catalog.CustomTemplate()), "id: my-product", "id: rolemgmt", 1)
	src = strings.Replace(src, "name: Mail.Send", "name: RoleManagement.ReadWrite.Directory", 1)
	if resp, _ := op.postForm("/catalogue", url.Values{"source": {src}}); resp.Request.URL.Path != "/catalogue/rolemgmt" {
		t.Fatalf("custom blueprint not stored: %d at %s", resp.StatusCode, resp.Request.URL.Path)
	}
	_, page := op.get(e.Portal.URL + "/catalogue/rolemgmt")
	i := strings.Index(page, `data-testid="critical-permission-warning"`)
	if i < 0 {
		t.Fatalf("no critical-permission warning for RoleManagement.ReadWrite.Directory:\n%.3000s", page)
	}
	banner := page[i:min(len(page), i+1500)]
	if !strings.Contains(banner, "RoleManagement.ReadWrite.Directory (application)") || !strings.Contains(banner, "Global Administrator") {
		t.Errorf("the warning does not name the permission and say why:\n%s", banner)
	}
	row := page[strings.Index(page, `data-testid="permission-RoleManagement.ReadWrite.Directory-application"`):]
	if !strings.Contains(row[:min(len(row), 800)], ">critical<") {
		t.Errorf("RoleManagement.ReadWrite.Directory not rated critical:\n%.800s", row)
	}
	_, list := op.get(e.Portal.URL + "/catalogue?q=rolemgmt")
	if !strings.Contains(list, "highest privilege <span class=\"tag danger\">critical</span>") {
		t.Errorf("the card does not rate the blueprint critical:\n%.2000s", list)
	}
	_, plain := op.get(e.Portal.URL + "/catalogue/exact-globe-mail")
	if strings.Contains(plain, `data-testid="critical-permission-warning"`) {
		t.Error("exact-globe-mail (Mail.Send, nothing critical) shows the critical-permission warning")
	}
	_, ews := op.get(e.Portal.URL + "/catalogue/resourcexpress-ews")
	if !strings.Contains(ews, `data-testid="critical-permission-warning"`) {
		t.Error("resourcexpress-ews (full_access_as_app, critical) shows no critical-permission warning")
	}
}
