package catalog

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func mustBuiltin(tb testing.TB, id string) *Blueprint {
	tb.Helper()
	b, ok := Builtin(id)
	if !ok {
		tb.Fatalf("Builtin(%q) not found", id)
	}
	return b
}

func TestValidateParams(t *testing.T) {
	synergy := mustBuiltin(t, "exact-synergy-mail")
	afas := mustBuiltin(t, "afas-profit-exchange")
	globe := mustBuiltin(t, "exact-globe-mail")
	tests := []struct {
		name   string
		b      *Blueprint
		params map[string]string
		want   map[string]string
	}{
		{"valid", synergy, map[string]string{"server_name": "synergy.contoso.com", "sender_mailbox": "hrm@contoso.com"}, map[string]string{}},
		{"host with port", synergy, map[string]string{"server_name": "synergy:8443", "sender_mailbox": "hrm@contoso.com"}, map[string]string{}},
		{"missing", synergy, map[string]string{"server_name": " "}, map[string]string{
			"server_name":    "Enter synergy server name.",
			"sender_mailbox": "Enter sender account (email).",
		}},
		{"bad values", synergy, map[string]string{"server_name": "https://synergy.contoso.com/Synergy", "sender_mailbox": "HRM <hrm@contoso.com>"}, map[string]string{
			"server_name":    `Enter a server name such as "erp.example.com", without https:// or a path.`,
			"sender_mailbox": `Enter an e-mail address such as "name@example.com".`,
		}},
		{"bad port", synergy, map[string]string{"server_name": "synergy:https", "sender_mailbox": "hrm@contoso.com"}, map[string]string{
			"server_name": "The port after the colon must be a number.",
		}},
		{"unknown parameter", synergy, map[string]string{"server_name": "s.contoso.com", "sender_mailbox": "a@contoso.com", "evil": "x"}, map[string]string{
			"evil": "This blueprint has no such parameter.",
		}},
		{"domain", afas, map[string]string{"email_domain": "contoso"}, map[string]string{
			"email_domain": `Enter a domain such as "example.com", without @ or https://.`,
		}},
		{"domain with @", afas, map[string]string{"email_domain": "@contoso.com"}, map[string]string{
			"email_domain": `Enter a domain such as "example.com", without @ or https://.`,
		}},
		{"optional url left empty", globe, map[string]string{"sender_mailbox": "invoices@contoso.com"}, map[string]string{}},
		{"optional url must be https", globe, map[string]string{"sender_mailbox": "invoices@contoso.com", "web_redirect_uri": "http://erp.contoso.com/cb"}, map[string]string{
			"web_redirect_uri": "Enter an https:// address (http only for localhost).",
		}},
		{"control characters", afas, map[string]string{"email_domain": "contoso.com\n"}, map[string]string{}},
		{"template injection", afas, map[string]string{"email_domain": "{{client_id}}"}, map[string]string{
			"email_domain": "A value cannot contain {{ or }}.",
		}},
		{"too long", afas, map[string]string{"email_domain": strings.Repeat("a", 300) + ".com"}, map[string]string{
			"email_domain": "Use at most 256 characters.",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.b.ValidateParams(tt.params)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ValidateParams(%v) (-want +got):\n%s", tt.params, diff)
			}
		})
	}
}

func TestParamPattern(t *testing.T) {
	b, err := Parse([]byte(withLine(14, "    type: hostname\n    pattern: '[a-z.]+'\n    patternHelp: Lower case only.")))
	if err != nil {
		t.Fatal(err)
	}
	got := b.ValidateParams(map[string]string{"server_name": "ERP.contoso.com", "sender": "a@contoso.com"})
	want := map[string]string{"server_name": "Lower case only."}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ValidateParams (-want +got):\n%s", diff)
	}
}

func TestRedirectURIs(t *testing.T) {
	tests := []struct {
		name    string
		id      string
		params  map[string]string
		want    RedirectURIs
		wantErr string
	}{
		{"Synergy", "exact-synergy-calendar", map[string]string{"server_name": "synergy.contoso.com"}, RedirectURIs{
			Web:          []string{"https://synergy.contoso.com/Synergy/docs/SysJwtTokenLogin.aspx"},
			PublicClient: []string{"https://login.microsoftonline.com/common/oauth2/nativeclient"},
		}, ""},
		{"optional parameter left empty", "exact-globe-mail", map[string]string{"sender_mailbox": "a@contoso.com"}, RedirectURIs{
			PublicClient: []string{"https://login.microsoftonline.com/common/oauth2/nativeclient"},
		}, ""},
		{"optional parameter given", "exact-globe-mail", map[string]string{"sender_mailbox": "a@contoso.com", "web_redirect_uri": "https://erp.contoso.com/oauth"}, RedirectURIs{
			Web:          []string{"https://erp.contoso.com/oauth"},
			PublicClient: []string{"https://login.microsoftonline.com/common/oauth2/nativeclient"},
		}, ""},
		{"no redirect URIs", "afas-profit-exchange", map[string]string{"email_domain": "contoso.com"}, RedirectURIs{}, ""},
		{"invalid parameters", "exact-synergy-calendar", map[string]string{"server_name": "a/b"}, RedirectURIs{},
			"catalog: blueprint exact-synergy-calendar: parameters not valid: server_name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mustBuiltin(t, tt.id).RedirectURIs(tt.params)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" || gotErr != tt.wantErr {
				t.Errorf("RedirectURIs(%v) = %v; want %q (-want +got):\n%s", tt.params, err, tt.wantErr, diff)
			}
		})
	}
}

func TestHandoffSheet(t *testing.T) {
	b := mustBuiltin(t, "exact-globe-mail")
	v := Values{ClientID: "11111111-1111-1111-1111-111111111111", TenantID: "22222222-2222-2222-2222-222222222222",
		Params: map[string]string{"sender_mailbox": "invoices@contoso.com"}}
	got := b.HandoffSheet(v)
	want := []Sheet{{
		Title:    "Exact Globe+, Exact Globe Next, Exact Compact+ and Exact Compact",
		MenuPath: "System > General > User settings > Output",
		Steps: []string{"Go to System > General > User settings.", "Click the Output tab.",
			"Select Exchange Online in the E-mail section.", "Click Save after filling in the fields."},
		Fields: []SheetField{
			{Label: "E-mail", Value: "Exchange Online"},
			{Label: "Account", Value: "invoices@contoso.com", Note: "Under the Sender section."},
			{Label: "Client ID", Value: "11111111-1111-1111-1111-111111111111"},
			{Label: "Tenant ID", Value: "22222222-2222-2222-2222-222222222222"},
			{Label: "Client Secret", Value: "", Secret: true},
		},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("HandoffSheet (-want +got):\n%s", diff)
	}
}

func TestHardeningAdvice(t *testing.T) {
	b := mustBuiltin(t, "exact-globe-mail")
	got := b.HardeningAdvice(Values{ClientID: "c1", ServicePrincipalID: "sp1", Params: map[string]string{"sender_mailbox": "s@contoso.com"}})
	if len(got) != 2 {
		t.Fatalf("HardeningAdvice: %d steps, want 2", len(got))
	}
	for _, want := range []string{
		"New-ServicePrincipal -AppId c1 -ObjectId sp1 ",
		`-RecipientRestrictionFilter "PrimarySmtpAddress -eq 's@contoso.com'"`,
		`New-ManagementRoleAssignment -App c1 -Role "Application Mail.Send"`,
		"Test-ServicePrincipalAuthorization -Identity c1 -Resource s@contoso.com",
	} {
		if !strings.Contains(got[0].PowerShell, want) {
			t.Errorf("RBAC PowerShell lacks %q:\n%s", want, got[0].PowerShell)
		}
	}
	if strings.Contains(got[0].PowerShell+got[0].Text, "{{") {
		t.Errorf("unfilled template in %+v", got[0])
	}
	// The Exchange service principal takes the name chosen in the wizard,
	// not the blueprint's, quoted so that nothing in it runs.
	got = b.HardeningAdvice(Values{ClientID: "c1", ServicePrincipalID: "sp1", DisplayName: "Fabrikam's \"Globe\" $(Remove-Item x) \u2018y\u2019 `n",
		Params: map[string]string{"sender_mailbox": "s@contoso.com"}})
	if want := "New-ServicePrincipal -AppId c1 -ObjectId sp1 -DisplayName 'Fabrikam''s \"Globe\" $(Remove-Item x) \u2018\u2018y\u2019\u2019 `n'\n"; !strings.Contains(got[0].PowerShell, want) {
		t.Errorf("RBAC PowerShell lacks %q:\n%s", want, got[0].PowerShell)
	}
	for _, a := range got {
		if strings.Contains(a.PowerShell, "Exact Globe+ e-mail") {
			t.Errorf("PowerShell uses the blueprint's name, not the registration's:\n%s", a.PowerShell)
		}
	}
	// Before anything is registered the page names it in words.
	if d := b.Describe(b.Hardening[0].PowerShell, true); !strings.Contains(d, "-DisplayName '<app registration's name>'") {
		t.Errorf("Describe(hardening) = %s", d)
	}
}

// The Graph variant that still asks for an EWS permission says so, and does
// not tell the admin that the vendor names no Graph variant.
func TestEWSNoticeOfTheGraphVariant(t *testing.T) {
	n := mustBuiltin(t, "resourcexpress-graph").EWSNotice(Values{})
	if n == nil {
		t.Fatal("EWSNotice = nil for a blueprint asking for full_access_as_app")
	}
	if !n.IsGraphVariant || n.GraphVariant != "" {
		t.Errorf("IsGraphVariant, GraphVariant = %v, %q; want true, \"\"", n.IsGraphVariant, n.GraphVariant)
	}
	for _, bad := range []string{"name no Microsoft Graph variant", "the integration will stop working then"} {
		if strings.Contains(n.Text, bad) {
			t.Errorf("the Graph variant's EWS notice says %q:\n%s", bad, n.Text)
		}
	}
	if !strings.Contains(n.Text, "This blueprint is the vendor's Microsoft Graph variant, yet its guide still asks for an EWS permission") {
		t.Errorf("the Graph variant's EWS notice does not say what it is:\n%s", n.Text)
	}
	if n := mustBuiltin(t, "exact-synergy-calendar").EWSNotice(Values{}); n == nil || !strings.Contains(n.Text, "name no Microsoft Graph variant") ||
		!strings.Contains(n.Text, "the integration will stop working then") {
		t.Errorf("an EWS blueprint without a Graph variant lost its notice: %+v", n)
	}
}

func TestEWSNotice(t *testing.T) {
	if n := mustBuiltin(t, "exact-globe-mail").EWSNotice(Values{}); n != nil {
		t.Errorf("EWSNotice for a Graph blueprint = %+v, want nil", n)
	}
	b := mustBuiltin(t, "resourcexpress-ews")
	const id = "9f2c3a47-0d5e-4b6a-8c1f-2e3d4c5b6a79"
	n := b.EWSNotice(Values{ClientID: id})
	if n == nil {
		t.Fatal("EWSNotice = nil for an EWS blueprint")
	}
	if n.GraphVariant != "resourcexpress-graph" {
		t.Errorf("GraphVariant = %q, want resourcexpress-graph", n.GraphVariant)
	}
	if !n.AllowListEnforced.Equal(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)) || !n.Shutdown.Equal(time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("dates = %v, %v; want 2026-10-01, 2027-04-01", n.AllowListEnforced, n.Shutdown)
	}
	// The script reads the list before writing it whole, keeps the
	// entries, enables EWS and adds the app.
	ps := n.PowerShell
	read := strings.Index(ps, "(Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy).EwsAllowedAppIDs")
	write := strings.Index(ps, "Set-OrganizationConfig -EwsEnabled $true -EwsAllowedAppIDs ($list -join ',')")
	if read < 0 || write < 0 || read > write {
		t.Errorf("PowerShell must read EwsAllowedAppIDs before writing the merged list:\n%s", ps)
	}
	for _, want := range []string{"$appId = '" + id + "'", "$list = @($current -split ','", "if ($list -notcontains $appId) { $list += $appId }"} {
		if !strings.Contains(ps, want) {
			t.Errorf("PowerShell lacks %q:\n%s", want, ps)
		}
	}
	for _, want := range []string{"1 October 2026", "1 April 2027", "up to 24 hours", "whole list", `"resourcexpress-graph"`,
		"ResourceXpress can use the Microsoft Graph API instead"} {
		if !strings.Contains(n.Text, want) {
			t.Errorf("notice text lacks %q:\n%s", want, n.Text)
		}
	}
	adv := b.HardeningAdvice(Values{ClientID: id})
	if len(adv) == 0 || adv[0].PowerShell != ps {
		t.Errorf("HardeningAdvice does not start with the EWS allow-list step")
	}
	// Without a Graph variant, the notice says so.
	n = mustBuiltin(t, "exact-synergy-calendar").EWSNotice(Values{})
	if !strings.Contains(n.Text, "no Microsoft Graph variant") || !strings.Contains(n.PowerShell, "<Application (client) ID>") {
		t.Errorf("notice without Graph variant or client ID:\n%s\n%s", n.Text, n.PowerShell)
	}
}

func TestDisplayName(t *testing.T) {
	b, err := Parse([]byte(testBlueprint))
	if err != nil {
		t.Fatal(err)
	}
	if got := b.DisplayName(map[string]string{"server_name": " erp "}); got != "Test erp" {
		t.Errorf("DisplayName = %q, want %q", got, "Test erp")
	}
}

func TestResolvedPermissionsOtherResource(t *testing.T) {
	in := withLine(30, "  - resource: 00000003-0000-0ff1-ce00-000000000000\n    id: 678536FE-1083-478A-9C59-B99265E6B0D3") // SharePoint
	in = strings.Replace(in, "name: Mail.Send", "name: Sites.FullControl.All", 1)
	b, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	rp := b.ResolvedPermissions()[0]
	want := Permission{Resource: Resource{Name: "00000003-0000-0ff1-ce00-000000000000", AppID: "00000003-0000-0ff1-ce00-000000000000"},
		Name: "Sites.FullControl.All", Type: Application, ID: "678536fe-1083-478a-9c59-b99265e6b0d3", Confidence: Unverified,
		Source: "the blueprint; resolved from the tenant at run time", AdminConsent: ConsentRequired, Privilege: PrivilegeHigh,
		Summary: "Sites.FullControl.All (application): a permission of API 00000003-0000-0ff1-ce00-000000000000; the portal has no description of it"}
	if rp.Known {
		t.Errorf("Known = true for a resource without a table")
	}
	if diff := cmp.Diff(want, rp.Permission); diff != "" {
		t.Errorf("ResolvedPermissions()[0] (-want +got):\n%s", diff)
	}
}

// TestMarshalRoundTrip: "start from a built-in one" writes a file that reads
// back to the same blueprint.
func TestMarshalRoundTrip(t *testing.T) {
	for _, b := range append(Builtins(), mustParse(t, CustomTemplate()), mustParse(t, []byte(testBlueprint))) {
		t.Run(b.ID, func(t *testing.T) {
			data, err := Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse(Marshal(%s)) = %v\n%s", b.ID, err, data)
			}
			if diff := cmp.Diff(b, got, cmpopts.IgnoreUnexported(Blueprint{})); diff != "" {
				t.Errorf("Parse(Marshal(%s)) (-want +got):\n%s", b.ID, diff)
			}
		})
	}
}

func mustParse(tb testing.TB, data []byte) *Blueprint {
	tb.Helper()
	b, err := Parse(data)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestOptionalFeatures(t *testing.T) {
	b := mustBuiltin(t, "resourcexpress-ews")
	var got []string
	for _, f := range b.OptionalFeatures() {
		var names []string
		for _, p := range f.Permissions {
			names = append(names, p.Name)
		}
		got = append(got, f.Name+": "+strings.Join(names, ", "))
	}
	want := []string{"OAuth for SMTP: Mail.Send", "Azure AD User Sync: User.Read.All, Group.Read.All"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("OptionalFeatures (-want +got):\n%s", diff)
	}
	tests := []struct {
		features []string
		want     []string
		wantErr  string
	}{
		{nil, []string{"full_access_as_app"}, ""},
		{[]string{"Azure AD User Sync"}, []string{"full_access_as_app", "User.Read.All", "Group.Read.All"}, ""},
		{[]string{"Azure AD User Sync", "OAuth for SMTP"}, []string{"full_access_as_app", "Mail.Send", "User.Read.All", "Group.Read.All"}, ""},
		{[]string{"Calendars"}, nil, `catalog: blueprint resourcexpress-ews has no optional feature "Calendars"`},
	}
	for _, tt := range tests {
		ps, err := b.SelectPermissions(tt.features)
		var names []string
		for _, p := range ps {
			names = append(names, p.Name)
		}
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if diff := cmp.Diff(tt.want, names); diff != "" || gotErr != tt.wantErr {
			t.Errorf("SelectPermissions(%q) = %v; want error %q (-want +got):\n%s", tt.features, err, tt.wantErr, diff)
		}
	}
}

func TestConsentRole(t *testing.T) {
	tests := []struct {
		resource, name string
		typ            PermissionType
		want           ConsentRole
	}{
		{"Microsoft Graph", "Mail.Send", Application, RolePrivilegedRoleAdmin},
		{"Microsoft Graph", "Mail.Send", Delegated, RoleCloudAppAdmin},
		{"Office 365 Exchange Online", "full_access_as_app", Application, RoleCloudAppAdmin},
	}
	for _, tt := range tests {
		p, _ := Lookup(tt.resource, tt.name, tt.typ)
		if got := p.ConsentRole(); got != tt.want {
			t.Errorf("%s %s (%s).ConsentRole() = %q, want %q", tt.resource, tt.name, tt.typ, got, tt.want)
		}
	}
}

func BenchmarkParseBuiltin(b *testing.B) {
	data, _ := BuiltinYAML("resourcexpress-ews")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuiltins(b *testing.B) {
	for b.Loop() {
		if len(Builtins()) == 0 {
			b.Fatal("no built-ins")
		}
	}
}

func BenchmarkParseUnknownPermission(b *testing.B) {
	data := []byte(withLine(31, "    name: Mail.Sendd"))
	for b.Loop() {
		if _, err := Parse(data); err == nil {
			b.Fatal("no error")
		}
	}
}

func TestRequiredResourceAccess(t *testing.T) {
	b := mustBuiltin(t, "resourcexpress-ews")
	perms, err := b.SelectPermissions([]string{"OAuth for SMTP"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := RequiredResourceAccess(perms)
	if err != nil {
		t.Fatal(err)
	}
	want := []ResourceAccess{
		{ResourceAppID: ExchangeOnline.AppID, Access: []AccessEntry{{ID: "dc890d15-9560-4a4c-9b7f-a736ec74ec40", Type: "Role"}}},
		{ResourceAppID: MicrosoftGraph.AppID, Access: []AccessEntry{{ID: "b633e1c5-b582-4048-a93e-9f11b44c7e96", Type: "Role"}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RequiredResourceAccess (-want +got):\n%s", diff)
	}
	ibm := mustBuiltin(t, "ibm-app-connect-exchange").ResolvedPermissions()
	got, err = RequiredResourceAccess(ibm[:2])
	want = []ResourceAccess{{ResourceAppID: MicrosoftGraph.AppID, Access: []AccessEntry{
		{ID: "1ec239c2-d7c9-4623-a91a-a9775856bb36", Type: "Scope"}, {ID: "d56682ec-c09e-4743-aaf4-1a3aac4caa21", Type: "Scope"}}}}
	if diff := cmp.Diff(want, got); diff != "" || err != nil {
		t.Errorf("RequiredResourceAccess(delegated) = %v (-want +got):\n%s", err, diff)
	}
	// A permission of an API without a table and without an ID must be
	// resolved first.
	other := ResolvedPermission{Permission: Permission{Resource: Resource{Name: "x", AppID: "00000003-0000-0ff1-ce00-000000000000"}, Name: "Sites.Read.All", Type: Application}}
	if _, err := RequiredResourceAccess([]ResolvedPermission{other}); err == nil || !strings.Contains(err.Error(), "resolve it from the tenant first") {
		t.Errorf("RequiredResourceAccess(no ID) = %v, want an error", err)
	}
}

// Describe tells a template in words before anything is registered.
func TestDescribe(t *testing.T) {
	bp, ok := Builtin("exact-synergy-calendar")
	if !ok {
		t.Fatal("no exact-synergy-calendar")
	}
	for _, c := range []struct {
		in   string
		code bool
		want string
	}{
		{"{{client_id}}", true, "<client ID>"},
		{"Scope {{client_id}} to {{tenant_id}}.", false, "Scope the client ID to the tenant ID."},
		{"https://{{server_name}}/synergy", true, "https://<" + strings.ToLower(bp.Parameters[0].Label[:1]) + bp.Parameters[0].Label[1:] + ">/synergy"},
		{"no template", false, "no template"},
	} {
		if got := bp.Describe(c.in, c.code); got != c.want {
			t.Errorf("Describe(%q, %v) = %q, want %q", c.in, c.code, got, c.want)
		}
	}
}
