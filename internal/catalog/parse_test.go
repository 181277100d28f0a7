package catalog

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testBlueprint is a valid blueprint; the bad-blueprint cases change one
// line of it, so each wanted error names a line of this text.
const testBlueprint = `apiVersion: appreg.portal/v1
kind: Blueprint
id: test-product
name: Test product
vendor: Test vendor
appliesTo:
  - product: Test product
source:
  title: Test guide
description: A test blueprint.
parameters:
  - name: server_name
    label: Server name
    type: hostname
  - name: sender
    label: Sender
    type: email
registration:
  displayName: Test {{server_name}}
  signInAudience: AzureADMyOrg
  web:
    redirectUris:
      - https://{{server_name}}/callback
    implicitGrant:
      accessTokens: false
  publicClient:
    redirectUris:
      - https://login.microsoftonline.com/common/oauth2/nativeclient
permissions:
  - resource: Microsoft Graph
    name: Mail.Send
    type: application
    reason: Sends mail.
  - resource: Microsoft Graph
    name: User.Read
    type: delegated
    reason: Signs in.
secret:
  defaultLifetimeMonths: 6
  maxLifetimeMonths: 12
  portalDoes: Reminds before expiry.
handoff:
  - title: Test product
    menuPath: Settings
    fields:
      - label: Client ID
        value: "{{client_id}}"
      - label: Secret
        value: "{{client_secret}}"
hardening:
  - title: Scope it
    text: Scope {{client_id}}.
    powershell: Test-ServicePrincipalAuthorization -Identity {{client_id}} -Resource {{sender}}
`

// withLine returns testBlueprint with line n (1-based) replaced by repl,
// which may span several lines or be empty to delete the line.
func withLine(n int, repl string) string {
	lines := strings.Split(testBlueprint, "\n")
	if repl == "" {
		lines = append(lines[:n-1], lines[n:]...)
	} else {
		lines[n-1] = repl
	}
	return strings.Join(lines, "\n")
}

func TestParseValid(t *testing.T) {
	b, err := Parse([]byte(testBlueprint))
	if err != nil {
		t.Fatalf("Parse(testBlueprint) = %v", err)
	}
	if b.ID != "test-product" || len(b.Permissions) != 2 || b.Line("permissions[1].name") != 35 {
		t.Errorf("Parse(testBlueprint) = id %q, %d permissions, permissions[1].name on line %d; want test-product, 2, 35",
			b.ID, len(b.Permissions), b.Line("permissions[1].name"))
	}
	if b.IsBuiltin() {
		t.Errorf("parsed blueprint IsBuiltin() = true")
	}
}

func TestParseBad(t *testing.T) {
	huge := testBlueprint + "# " + strings.Repeat("x", MaxFileSize) + "\n"
	tests := []struct {
		name string
		in   string
		want ValidationErrors
	}{
		{"unknown permission", withLine(31, "    name: Mail.Sendd"), ValidationErrors{
			{31, "permissions[0].name", `unknown Microsoft Graph application permission "Mail.Sendd" (did you mean "Mail.Send"?)`, Msg{}}}},
		{"Windows line endings", strings.ReplaceAll(withLine(31, "    name: Mail.Sendd"), "\n", "\r\n"), ValidationErrors{
			{31, "permissions[0].name", `unknown Microsoft Graph application permission "Mail.Sendd" (did you mean "Mail.Send"?)`, Msg{}}}},
		{"JSON", `{"apiVersion": "appreg.portal/v1",` + "\n" + `"kind": "Blueprint", "id": "x"}`, ValidationErrors{
			{1, "name", "missing; this field is required", Msg{}},
			{1, "vendor", "missing; this field is required", Msg{}},
			{1, "description", "missing; this field is required", Msg{}},
			{1, "appliesTo", "missing; name at least one product (and its versions)", Msg{}},
			{1, "source.title", "missing; this field is required", Msg{}},
			{1, "registration.displayName", "missing; this field is required", Msg{}},
			{1, "registration.signInAudience", "missing; want one of AzureADMyOrg, AzureADMultipleOrgs, AzureADandPersonalMicrosoftAccount", Msg{}},
			{1, "permissions", "missing; a blueprint asks for at least one permission", Msg{}},
			{1, "secret.maxLifetimeMonths", "missing; give the longest secret lifetime in months (at most 24)", Msg{}},
			{1, "secret.defaultLifetimeMonths", "missing; give the default secret lifetime in months", Msg{}},
			{1, "secret.portalDoes", "missing; this field is required", Msg{}},
			{1, "handoff", "missing; say where the client ID, tenant ID and secret go in the product", Msg{}}}},
		{"wrong permission type", withLine(32, "    type: app"), ValidationErrors{
			{32, "permissions[0].type", `unknown permission type "app"; want application or delegated`, Msg{}}}},
		{"permission of the other type", withLine(36, "    type: application"), ValidationErrors{
			{35, "permissions[1].name", `Microsoft Graph has no application permission "User.Read"; "User.Read" exists only as a delegated permission`, Msg{}}}},
		{"Exchange permission that is Graph's", withLine(30, "  - resource: Office 365 Exchange Online"), ValidationErrors{
			{31, "permissions[0].name", `unknown Office 365 Exchange Online application permission "Mail.Send" ("Mail.Send" is a Microsoft Graph permission)`, Msg{}}}},
		{"unknown resource", withLine(30, "  - resource: Graph"), ValidationErrors{
			{30, "permissions[0].resource", `unknown resource "Graph"; want "Microsoft Graph", "Office 365 Exchange Online" or the appId (a GUID) of another API`, Msg{}}}},
		{"wrong GUID", withLine(32, "    type: application\n    id: 00000000-0000-0000-0000-000000000000"), ValidationErrors{
			{33, "permissions[0].id", "Microsoft Graph application permission Mail.Send has ID b633e1c5-b582-4048-a93e-9f11b44c7e96, not 00000000-0000-0000-0000-000000000000", Msg{}}}},
		{"duplicate permission", withLine(35, "    name: Mail.Send\n    type: application\n    reason: Again.\n  - resource: Microsoft Graph\n    name: User.Read"), ValidationErrors{
			{34, "permissions[1]", "duplicate permission Mail.Send (application), also at permissions[0]", Msg{}}}},
		{"missing permission field", withLine(33, ""), ValidationErrors{
			{30, "permissions[0].reason", "missing; this field is required", Msg{}}}},
		{"missing top-level field", withLine(4, ""), ValidationErrors{
			{1, "name", "missing; this field is required", Msg{}}}},
		{"bad redirect URI", withLine(23, "      - http://{{server_name}}/callback"), ValidationErrors{
			{23, "registration.web.redirectUris[0]", `"http://{{server_name}}/callback" (filled in as "http://server.example.com/callback"): redirect URIs must use https (http is allowed only for localhost)`, Msg{}}}},
		{"relative redirect URI", withLine(28, "      - /callback"), ValidationErrors{
			{28, "registration.publicClient.redirectUris[0]", `"/callback": not an absolute URI; a redirect URI starts with https://`, Msg{}}}},
		{"wildcard redirect URI", withLine(23, "      - https://*.example.com/callback"), ValidationErrors{
			{23, "registration.web.redirectUris[0]", `"https://*.example.com/callback": wildcards are not allowed in redirect URIs`, Msg{}}}},
		{"duplicate parameter", withLine(15, "  - name: server_name"), ValidationErrors{
			{15, "parameters[1].name", `duplicate parameter "server_name" (first declared at parameters[0].name, line 12)`, Msg{}},
			{53, "hardening[0].powershell", "{{sender}} is not a declared parameter", Msg{}}}},
		{"reserved parameter name", withLine(15, "  - name: client_id"), ValidationErrors{
			{15, "parameters[1].name", `"client_id" is reserved: the portal fills in {{client_id}} itself`, Msg{}},
			{53, "hardening[0].powershell", "{{sender}} is not a declared parameter", Msg{}}}},
		{"undeclared parameter", withLine(19, "  displayName: Test {{servername}}"), ValidationErrors{
			{19, "registration.displayName", "{{servername}} is not a declared parameter (did you mean {{server_name}}?)", Msg{}}}},
		{"secret in a script", withLine(52, "    text: Use {{client_secret}}."), ValidationErrors{
			{52, "hardening[0].text", "{{client_secret}} may appear only in hand-off fields; never put the secret in text or scripts", Msg{}}}},
		{"spaces in a template", withLine(47, `        value: "{{ client_secret }}"`), ValidationErrors{
			{47, "handoff[0].fields[0].value", `write "{{ client_secret }}" without spaces, as {{client_secret}}`, Msg{}}}},
		{"unbalanced template", withLine(47, `        value: "{{client_id}"`), ValidationErrors{
			{47, "handoff[0].fields[0].value", "unbalanced {{ }} in template", Msg{}}}},
		{"unknown parameter type", withLine(14, "    type: hostnam"), ValidationErrors{
			{14, "parameters[0].type", `unknown parameter type "hostnam"; want one of text, hostname, email, domain, url`, Msg{}}}},
		{"bad pattern", withLine(14, "    type: hostname\n    pattern: '[a-'"), ValidationErrors{
			{15, "parameters[0].pattern", "not a valid regular expression: error parsing regexp: missing closing ]: `[a-`", Msg{}}}},
		{"secret too long", withLine(40, "  maxLifetimeMonths: 36"), ValidationErrors{
			{40, "secret.maxLifetimeMonths", "36 months is too long: client secrets live at most 24 months (Microsoft recommends less than 12)", Msg{}}}},
		{"secret default above max", withLine(39, "  defaultLifetimeMonths: 18"), ValidationErrors{
			{39, "secret.defaultLifetimeMonths", "18 months is longer than maxLifetimeMonths (12)", Msg{}}}},
		{"bad ID", withLine(3, "id: Test Product"), ValidationErrors{
			{3, "id", `"Test Product" is not a valid ID: use lower-case letters, digits and single hyphens, at most 64 characters (e.g. "exact-globe-mail")`, Msg{}}}},
		{"bad audience", withLine(20, "  signInAudience: AzureADMyOrgs"), ValidationErrors{
			{20, "registration.signInAudience", `unknown sign-in audience "AzureADMyOrgs"; want one of AzureADMyOrg, AzureADMultipleOrgs, AzureADandPersonalMicrosoftAccount (did you mean "AzureADMyOrg"?)`, Msg{}}}},
		{"other version", withLine(1, "apiVersion: appreg.portal/v2"), ValidationErrors{
			{1, "apiVersion", `"appreg.portal/v2" is not a version this portal reads; want "appreg.portal/v1"`, Msg{}}}},
		{"missing version", withLine(1, ""), ValidationErrors{
			{1, "apiVersion", `missing; the first line of a blueprint is "apiVersion: appreg.portal/v1"`, Msg{}}}},
		{"unknown field", withLine(22, "    redirectURIs:"), ValidationErrors{
			{22, "registration.web.redirectURIs", `unknown field "redirectURIs" (did you mean "redirectUris"?)`, Msg{}}}},
		{"unknown field and other version", withLine(1, "apiVersion: appreg.portal/v2\nextra: 1"), ValidationErrors{
			{1, "apiVersion", `"appreg.portal/v2" is not a version this portal reads; want "appreg.portal/v1"`, Msg{}},
			{2, "extra", `unknown field "extra"`, Msg{}}}},
		{"wrong kind of value", withLine(25, `      accessTokens: "yes"`), ValidationErrors{
			{25, "registration.web.implicitGrant.accessTokens", `want true or false, got the text "yes"`, Msg{}}}},
		{"text for a number", withLine(40, "  maxLifetimeMonths: twelve"), ValidationErrors{
			{40, "secret.maxLifetimeMonths", `want a whole number, got the text "twelve"`, Msg{}}}},
		{"list for text", withLine(4, "name: [a, b]"), ValidationErrors{
			{4, "name", "want text, got a list", Msg{}}}},
		{"mapping for a list", withLine(7, "  product: x"), ValidationErrors{
			{7, "appliesTo", "want a list, got a mapping", Msg{}}}},
		{"duplicate field", withLine(4, "name: Test product\nname: Again"), ValidationErrors{
			{5, "name", "duplicate field (first set on line 4)", Msg{}}}},
		{"anchors and aliases", withLine(31, "    name: &n Mail.Send"), ValidationErrors{
			{31, "permissions[0].name", "YAML anchors and aliases are not allowed in blueprints", Msg{}}}},
		{"ews section without EWS", testBlueprint + "ews:\n  note: x\n", ValidationErrors{
			{54, "ews", "only for blueprints that ask for an Exchange Web Services permission (full_access_as_app, EWS.AccessAsUser.All)", Msg{}}}},
		{"Graph variant that names one", strings.Replace(testBlueprint, "  - resource: Microsoft Graph\n    name: Mail.Send", "  - resource: Office 365 Exchange Online\n    name: full_access_as_app", 1) +
			"ews:\n  graphVariant: other-product\n  isGraphVariant: true\n", ValidationErrors{
			{56, "ews.isGraphVariant", "a blueprint is either the Graph variant or names one in graphVariant, not both", Msg{}}}},
		{"display name outside single quotes", withLine(53, `    powershell: New-ServicePrincipal -DisplayName "{{display_name}}"`), ValidationErrors{
			{53, "hardening[0].powershell", "write {{display_name}} in single quotes, as '{{display_name}}': it is free text", Msg{}}}},
		{"display name in a hand-off field", withLine(47, `        value: "{{display_name}}"`), ValidationErrors{
			{47, "handoff[0].fields[0].value", "{{display_name}} cannot be used here", Msg{}}}},
		{"feature on a required permission", withLine(33, "    reason: Sends mail.\n    feature: Mail"), ValidationErrors{
			{34, "permissions[0].feature", "feature is only for optional permissions (add optional: true)", Msg{}}}},
		{"doubt about nothing", testBlueprint + "doubts:\n  - about: nothing\n    guide: g\n    note: n\n", ValidationErrors{
			{55, "doubts[0].about", `"nothing" is not a field of a blueprint`, Msg{}}}},
		{"bad source date", withLine(9, "  title: Test guide\n  date: 15-05-2024"), ValidationErrors{
			{10, "source.date", `"15-05-2024" is not a date; write it as YYYY-MM-DD`, Msg{}}}},
		{"no permissions", strings.Replace(testBlueprint, testBlueprint[strings.Index(testBlueprint, "permissions:"):strings.Index(testBlueprint, "secret:")], "", 1), ValidationErrors{
			{1, "permissions", "missing; a blueprint asks for at least one permission", Msg{}}}},
		{"YAML syntax error", withLine(31, "    name: [Mail.Send"), ValidationErrors{
			{31, "", "not valid YAML: did not find expected ',' or ']'", Msg{}}}},
		{"tab indentation", withLine(31, "\tname: Mail.Send"), ValidationErrors{
			{31, "", "not valid YAML: found a tab character that violates indentation", Msg{}}}},
		{"two documents", testBlueprint + "---\nid: x\n", ValidationErrors{
			{54, "", "the file holds more than one YAML document; a blueprint is one document", Msg{}}}},
		{"not a mapping", "- a\n- b\n", ValidationErrors{
			{1, "", "want a mapping of fields, got a list", Msg{}}}},
		{"empty file", " \n", ValidationErrors{
			{1, "", "the file is empty", Msg{}}}},
		{"huge file", huge, ValidationErrors{
			{0, "", fmt.Sprintf("the file is %d bytes; a blueprint may be at most 262144 bytes (256 KiB)", len(huge)), Msg{}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Parse([]byte(tt.in))
			if b != nil {
				t.Errorf("Parse() returned a blueprint with error %v", err)
			}
			var got ValidationErrors
			if !errors.As(err, &got) {
				t.Fatalf("Parse() error = %v (%T), want ValidationErrors", err, err)
			}
			if diff := cmp.Diff(tt.want, got, englishOnly); diff != "" {
				t.Errorf("Parse() errors (-want +got):\n%s", diff)
			}
		})
	}
}

// A blueprint with a structural mistake (a list where text belongs) and
// three others gets all four back in one answer, not in two rounds.
func TestParseReportsEveryProblemAtOnce(t *testing.T) {
	in := withLine(3, "id: [test-product]")                 // structural: a list, not text
	in = strings.Replace(in, "name: Test product\n", "", 1) // name missing
	in = strings.Replace(in, "    name: Mail.Send\n", "    name: Mail.Sendd\n", 1)
	in = strings.Replace(in, "  defaultLifetimeMonths: 6", "  defaultLifetimeMonths: 36", 1)
	_, err := Parse([]byte(in))
	var errs ValidationErrors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse = %v, want ValidationErrors", err)
	}
	var fields []string
	for _, e := range errs {
		fields = append(fields, e.Field)
	}
	want := []string{"name", "id", "permissions[0].name", "secret.defaultLifetimeMonths"} // by line; a missing field is on line 1
	if !cmp.Equal(fields, want) {
		t.Errorf("problems in fields %v, want %v:\n%v", fields, want, err)
	}
}

func TestValidationErrorsError(t *testing.T) {
	errs := ValidationErrors{
		{Line: 0, Message: "the file is too big"},
		{Line: 14, Field: "permissions[2].name", Message: `unknown Microsoft Graph application permission "Mail.Sendd" (did you mean "Mail.Send"?)`},
	}
	want := "the file is too big\n" + `line 14: permissions[2].name: unknown Microsoft Graph application permission "Mail.Sendd" (did you mean "Mail.Send"?)`
	if got := errs.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestParseCustom(t *testing.T) {
	data, _ := BuiltinYAML("exact-globe-mail")
	_, err := ParseCustom(data)
	want := ValidationErrors{{7, "id", `"exact-globe-mail" is the ID of a built-in blueprint; choose another ID`, Msg{}}}
	var got ValidationErrors
	if !errors.As(err, &got) {
		t.Fatalf("ParseCustom(built-in) error = %v, want ValidationErrors", err)
	}
	if diff := cmp.Diff(want, got, englishOnly); diff != "" {
		t.Errorf("ParseCustom(built-in) (-want +got):\n%s", diff)
	}
	renamed := strings.Replace(string(data), "id: exact-globe-mail", "id: my-globe-mail", 1)
	b, err := ParseCustom([]byte(renamed))
	if err != nil || b.ID != "my-globe-mail" {
		t.Errorf("ParseCustom(renamed) = %v, %v; want my-globe-mail", b, err)
	}
}

func TestCustomTemplate(t *testing.T) {
	b, err := ParseCustom(CustomTemplate())
	if err != nil {
		t.Fatalf("ParseCustom(CustomTemplate()) = %v", err)
	}
	if b.ID != "my-product" {
		t.Errorf("template ID = %q, want my-product", b.ID)
	}
}

// TestParseHostileLimits: a file built to be expensive to check is cut
// short cheaply.
func TestParseHostileLimits(t *testing.T) {
	var many strings.Builder
	for i := 0; i < maxListItems; i++ {
		fmt.Fprintf(&many, "  - resource: Microsoft Graph\n    name: %s%d\n    type: application\n", strings.Repeat("Mail.Sendd", 6), i)
	}
	in := strings.Replace(testBlueprint, testBlueprint[strings.Index(testBlueprint, "  - resource"):strings.Index(testBlueprint, "secret:")], many.String(), 1)
	_, err := Parse([]byte(in))
	var errs ValidationErrors
	if !errors.As(err, &errs) || len(errs) != maxErrors+1 {
		t.Fatalf("Parse(%d unknown permissions without reasons) = %d errors, want %d and a summary", maxListItems, len(errs), maxErrors)
	}
	if last := errs[len(errs)-1]; last.Message != "and 100 more problems; fix these first" {
		t.Errorf("last error = %+v", last)
	}

	in = strings.Replace(testBlueprint, "appliesTo:\n", "appliesTo:\n"+strings.Repeat("  - product: p\n", maxListItems+1), 1)
	_, err = Parse([]byte(in))
	want := ValidationErrors{{7, "appliesTo", "102 items; a list in a blueprint has at most 100", Msg{}}}
	if !errors.As(err, &errs) {
		t.Fatalf("Parse(long list) = %v", err)
	}
	if diff := cmp.Diff(want, errs, englishOnly); diff != "" {
		t.Errorf("Parse(long list) (-want +got):\n%s", diff)
	}
}
