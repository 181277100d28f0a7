package catalog

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// referenceDir is where the proof's reference lists are read from: the
// embedded lists' own directory (data/), which TestEmbeddedCopiesMatchReference
// pins to Microsoft's published lists by hash, and testdata/reference for the
// Exchange Online table. APPREG_REFERENCE_DIR points elsewhere (a fresh
// download of the lists) to compare against those instead.
func referenceDir(tb testing.TB) (csvDir, exchangeDoc string) {
	tb.Helper()
	if dir := os.Getenv("APPREG_REFERENCE_DIR"); dir != "" {
		return dir, filepath.Join(dir, "graph-entra.md")
	}
	return "data", filepath.Join("testdata", "reference", "exchange-permissions.md")
}

// referenceSHA256 are the SHA-256 sums of the permission lists as published
// (GraphAppRoles.csv and GraphDelegateRoles.csv, one row per permission: id,
// value, display name, description), taken when they were copied in.
var referenceSHA256 = map[string]string{
	"GraphAppRoles.csv":      "d0ca16db63eff29620d07f8fdc41037aad73b33e2a7bc9f09e2410f3c8dff4ef",
	"GraphDelegateRoles.csv": "271682868c301ab0508d556f148c31218c79ae32d2504266a9a94301d52c9e72",
}

// readReferenceCSV reads a reference list into value → id.
func readReferenceCSV(tb testing.TB, path string) map[string]string {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	m := map[string]string{}
	for _, r := range rows[1:] {
		m[r[1]] = strings.ToLower(r[0])
	}
	if len(m) < 500 {
		tb.Fatalf("%s: only %d permissions", path, len(m))
	}
	return m
}

// TestEmbeddedCopiesMatchReference proves the embedded permission lists are
// the reference lists, byte for byte: by their recorded hashes, and against
// APPREG_REFERENCE_DIR's copies when it is set.
func TestEmbeddedCopiesMatchReference(t *testing.T) {
	dir, _ := referenceDir(t)
	for _, name := range []string{"GraphAppRoles.csv", "GraphDelegateRoles.csv"} {
		emb, err := dataFS.ReadFile("data/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(emb); hex.EncodeToString(sum[:]) != referenceSHA256[name] {
			t.Errorf("data/%s is not the list it was copied from (SHA-256 %x)", name, sum)
		}
		ref, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ref, emb) {
			t.Errorf("data/%s differs from %s; copy it again", name, filepath.Join(dir, name))
		}
	}
}

// TestGraphGUIDsAgainstReference proves every Microsoft Graph GUID the
// built-in blueprints and the curated texts use against the reference lists,
// read independently of the package's own parser.
func TestGraphGUIDsAgainstReference(t *testing.T) {
	dir, _ := referenceDir(t)
	ref := map[PermissionType]map[string]string{
		Application: readReferenceCSV(t, filepath.Join(dir, "GraphAppRoles.csv")),
		Delegated:   readReferenceCSV(t, filepath.Join(dir, "GraphDelegateRoles.csv")),
	}
	checked := 0
	check := func(where string, p Permission) {
		if p.Resource != MicrosoftGraph {
			return
		}
		checked++
		want, ok := ref[p.Type][p.Name]
		if !ok {
			t.Errorf("%s: Microsoft Graph %s permission %s is not in the reference list", where, p.Type, p.Name)
		} else if p.ID != want {
			t.Errorf("%s: Microsoft Graph %s permission %s has ID %s, reference says %s", where, p.Type, p.Name, p.ID, want)
		}
	}
	for _, b := range Builtins() {
		for _, rp := range b.ResolvedPermissions() {
			check(b.ID, rp.Permission)
		}
	}
	for k := range curated {
		p, ok := Lookup(k.appID, k.name, k.typ)
		if !ok {
			t.Errorf("curated text for %s %s %s, which is not in the table", k.appID, k.typ, k.name)
			continue
		}
		check("curated", p)
	}
	// Every table entry, too: the table is the reference.
	for _, typ := range []PermissionType{Application, Delegated} {
		ps := Permissions(MicrosoftGraph, typ)
		if len(ps) != len(ref[typ]) {
			t.Errorf("%d Microsoft Graph %s permissions in the table, %d in the reference", len(ps), typ, len(ref[typ]))
		}
		for _, p := range ps {
			check("table", p)
		}
	}
	if checked < 1000 {
		t.Errorf("checked only %d GUIDs", checked)
	}
}

// TestExchangeGUIDsAgainstReference proves every Office 365 Exchange Online
// GUID and confidence mark against the reference table (testdata/reference/exchange-permissions.md).
func TestExchangeGUIDsAgainstReference(t *testing.T) {
	_, doc := referenceDir(t)
	data, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start := strings.Index(text, "### 5.3 Office 365 Exchange Online permissions")
	if start < 0 {
		t.Fatalf("%s has no section 5.3", doc)
	}
	end := start + strings.Index(text[start:], "\n---")
	section := text[start:end]
	guidRE := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	marks := map[string]Confidence{"[V]": Verified, "[C]": Community, "[U]": Unverified}
	types := map[string]PermissionType{"Role": Application, "Scope": Delegated}
	ps := append(Permissions(ExchangeOnline, Application), Permissions(ExchangeOnline, Delegated)...)
	if len(ps) != len(exchangePermissions) {
		t.Fatalf("%d Exchange permissions in the table, %d written", len(ps), len(exchangePermissions))
	}
	for _, p := range ps {
		found := false
		for _, row := range strings.Split(section, "\n") {
			cells := strings.Split(row, "|")
			if len(cells) < 5 {
				continue
			}
			names := strings.Split(cells[1], "/")
			for i, n := range names {
				if strings.TrimSpace(n) != p.Name {
					continue
				}
				found = true
				guids := guidRE.FindAllString(cells[3], -1)
				if i >= len(guids) || guids[i] != p.ID {
					t.Errorf("%s: ID %s, reference row %q", p.Name, p.ID, row)
				}
				if typ := types[strings.TrimSpace(cells[2])]; typ != p.Type {
					t.Errorf("%s: type %s, the reference says %q", p.Name, p.Type, cells[2])
				}
				mark := strings.TrimSpace(cells[4])[:3]
				if marks[mark] != p.Confidence {
					t.Errorf("%s: confidence %s, the reference says %s", p.Name, p.Confidence, mark)
				}
			}
		}
		if !found {
			t.Errorf("%s (%s) is not in the reference table", p.Name, p.Type)
		}
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		resource, name string
		typ            PermissionType
		want           Permission
	}{
		{"Microsoft Graph", "Mail.Send", Application, Permission{
			Resource: MicrosoftGraph, Name: "Mail.Send", Type: Application, ID: "b633e1c5-b582-4048-a93e-9f11b44c7e96",
			Confidence: Verified, Source: graphSource,
			DisplayName:  "Send mail as any user",
			Description:  "Allows the app to send mail as any user without a signed-in user.",
			AdminConsent: ConsentRequired, Privilege: PrivilegeHigh,
			Summary: "Mail.Send (application): can send mail as any user in your organisation",
		}},
		{"00000003-0000-0000-c000-000000000000", "offline_access", Delegated, Permission{
			Resource: MicrosoftGraph, Name: "offline_access", Type: Delegated, ID: "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
			Confidence: Verified, Source: graphSource,
			DisplayName:  "Maintain access to data you have given it access to",
			Description:  "Allows the app to see and update the data you gave it access to, even when users are not currently using the app. This does not give the app any additional permissions.",
			AdminConsent: ConsentNotRequired, Privilege: PrivilegeLow,
			Summary: "offline_access (delegated): can keep the access it was given while the user is away (refresh tokens)",
		}},
		{"office 365 exchange online", "full_access_as_app", Application, Permission{
			Resource: ExchangeOnline, Name: "full_access_as_app", Type: Application, ID: "dc890d15-9560-4a4c-9b7f-a736ec74ec40",
			Confidence: Verified, Source: "GUID: Exchange EWS OAuth documentation (app manifest example); texts: the portal's wording",
			DisplayName:  "Use Exchange Web Services with full access to all mailboxes",
			Description:  "Allows the app to use Exchange Web Services with full access to all mailboxes, without a signed-in user.",
			AdminConsent: ConsentRequired, Privilege: PrivilegeCritical,
			Summary: "full_access_as_app (application): can read, change and delete everything in every mailbox in your organisation through Exchange Web Services",
		}},
		{"Office 365 Exchange Online", "SMTP.SendAsApp", Application, Permission{
			Resource: ExchangeOnline, Name: "SMTP.SendAsApp", Type: Application, ID: "7146a1f0-8703-45b3-9eae-527a64c00995",
			Confidence: Unverified, Source: "GUID: two community sources; Microsoft documents the name but no GUID; texts: the portal's wording",
			DisplayName:  "SMTP.SendAsApp",
			Description:  "Allows the app to send mail over SMTP AUTH without a signed-in user, as mailboxes Exchange grants it.",
			AdminConsent: ConsentRequired, Privilege: PrivilegeHigh,
			Summary: "SMTP.SendAsApp (application): can send mail over SMTP as the mailboxes an Exchange administrator gives it access to",
		}},
		{"Microsoft Graph", "Directory.ReadWrite.All", Delegated, Permission{
			Resource: MicrosoftGraph, Name: "Directory.ReadWrite.All", Type: Delegated, ID: "c5366453-9fb0-48a5-a156-24f0c49a4b84",
			Confidence: Verified, Source: graphSource,
			DisplayName:  "Read and write directory data",
			Description:  "Allows the app to read and write data in your organization's directory, such as users, and groups.  It does not allow the app to delete users or groups, or reset user passwords.",
			AdminConsent: ConsentRequired, Privilege: PrivilegeCritical,
			Summary: "Directory.ReadWrite.All (delegated): can read and change everything in the directory that the signed-in user can change",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Lookup(tt.resource, tt.name, tt.typ)
			if !ok {
				t.Fatalf("Lookup(%q, %q, %q) not found", tt.resource, tt.name, tt.typ)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Lookup(%q, %q, %q) (-want +got):\n%s", tt.resource, tt.name, tt.typ, diff)
			}
		})
	}
	for _, miss := range []struct {
		resource, name string
		typ            PermissionType
	}{
		{"Microsoft Graph", "User.Read", Application},
		{"Microsoft Graph", "mail.send", Application},
		{"SharePoint", "Sites.Read.All", Application},
		{"Office 365 Exchange Online", "Mail.Send", Application},
	} {
		if p, ok := Lookup(miss.resource, miss.name, miss.typ); ok {
			t.Errorf("Lookup(%q, %q, %q) = %+v, want not found", miss.resource, miss.name, miss.typ, p)
		}
	}
}

// TestFallbackSummary: permissions without curated text use Microsoft's
// description and a rating from their name and consent.
func TestFallbackSummary(t *testing.T) {
	tests := []struct {
		name  string
		typ   PermissionType
		level PrivilegeLevel
	}{
		{"Sites.ReadWrite.All", Application, PrivilegeHigh},
		{"Sites.Read.All", Application, PrivilegeMedium},
		{"Calendars.Read", Delegated, PrivilegeLow},
		{"Group.ReadWrite.All", Delegated, PrivilegeHigh},
	}
	for _, tt := range tests {
		p, ok := Lookup("Microsoft Graph", tt.name, tt.typ)
		if !ok {
			t.Fatalf("Lookup(%s, %s) not found", tt.name, tt.typ)
		}
		if p.Privilege != tt.level {
			t.Errorf("%s (%s) privilege = %s, want %s", tt.name, tt.typ, p.Privilege, tt.level)
		}
		if want := tt.name + " (" + string(tt.typ) + "): " + p.Description; p.Summary != want {
			t.Errorf("%s (%s) summary = %q, want %q", tt.name, tt.typ, p.Summary, want)
		}
	}
}

func TestCheckTenant(t *testing.T) {
	mailSend, _ := Lookup("Microsoft Graph", "Mail.Send", Application)
	smtp, _ := Lookup("Office 365 Exchange Online", "SMTP.SendAsApp", Application)
	tests := []struct {
		name    string
		p       Permission
		offered []TenantPermission
		want    TenantPermission
		wantErr string
	}{
		{"match", mailSend, []TenantPermission{
			{ID: "e383f46e-2787-4529-855e-0e479a3ffac0", Value: "Mail.Send", Type: Delegated},
			{ID: "B633E1C5-B582-4048-A93E-9F11B44C7E96", Value: "Mail.Send", Type: Application},
		}, TenantPermission{ID: "B633E1C5-B582-4048-A93E-9F11B44C7E96", Value: "Mail.Send", Type: Application}, ""},
		{"verified GUID differs", mailSend, []TenantPermission{{ID: "00000000-0000-0000-0000-000000000001", Value: "Mail.Send", Type: Application}},
			TenantPermission{ID: "00000000-0000-0000-0000-000000000001", Value: "Mail.Send", Type: Application},
			"catalog: Microsoft Graph application permission Mail.Send has ID 00000000-0000-0000-0000-000000000001 in the tenant, the portal's table says b633e1c5-b582-4048-a93e-9f11b44c7e96"},
		{"unverified GUID: the tenant decides", smtp, []TenantPermission{{ID: "00000000-0000-0000-0000-000000000002", Value: "SMTP.SendAsApp", Type: Application}},
			TenantPermission{ID: "00000000-0000-0000-0000-000000000002", Value: "SMTP.SendAsApp", Type: Application}, ""},
		{"missing", mailSend, []TenantPermission{{ID: "e383f46e-2787-4529-855e-0e479a3ffac0", Value: "Mail.Send", Type: Delegated}},
			TenantPermission{}, "catalog: the tenant's Microsoft Graph service principal has no application permission Mail.Send"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.CheckTenant(tt.offered)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if got != tt.want || gotErr != tt.wantErr {
				t.Errorf("CheckTenant() = %+v, %q; want %+v, %q", got, gotErr, tt.want, tt.wantErr)
			}
		})
	}
}

// TestTakeoverPermissionsAreCritical: the Microsoft Graph application
// permissions that lead to Global Administrator or control of sign-ins are
// rated critical, with a sentence saying why, however a blueprint (built-in
// or custom) asks for them; Mail.Send stays high.
func TestTakeoverPermissionsAreCritical(t *testing.T) {
	tests := []struct {
		name string
		why  string // a word of the plain explanation
	}{
		{"RoleManagement.ReadWrite.Directory", "Global Administrator"},
		{"AppRoleAssignment.ReadWrite.All", "Global Administrator"},
		{"Application.ReadWrite.All", "Global Administrator"},
		{"Application.ReadWrite.OwnedBy", "Global Administrator"},
		{"Directory.ReadWrite.All", "widen its own access"},
		{"RoleAssignmentSchedule.ReadWrite.Directory", "Global Administrator"},
		{"RoleEligibilitySchedule.ReadWrite.Directory", "Global Administrator"},
		{"PrivilegedAccess.ReadWrite.AzureAD", "Global Administrator"},
		{"PrivilegedAccess.ReadWrite.AzureADGroup", "Global Administrator"},
		{"PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup", "Global Administrator"},
		{"PrivilegedEligibilitySchedule.ReadWrite.AzureADGroup", "Global Administrator"},
		{"Policy.ReadWrite.ConditionalAccess", "administrators"},
		{"Policy.ReadWrite.AuthenticationMethod", "sign in as any user"},
		{"Policy.ReadWrite.SecurityDefaults", "administrators"},
		{"Policy.ReadWrite.PermissionGrant", "without an administrator"},
		{"UserAuthenticationMethod.ReadWrite.All", "Global Administrators"},
		{"Domain.ReadWrite.All", "administrators"},
	}
	custom := func(name string) string {
		return strings.Replace(testBlueprint, "name: Mail.Send", "name: "+name, 1)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := Lookup("Microsoft Graph", tt.name, Application)
			if !ok {
				t.Fatalf("Lookup(%s) not found", tt.name)
			}
			if p.Privilege != PrivilegeCritical {
				t.Errorf("%s privilege = %s, want critical", tt.name, p.Privilege)
			}
			if !strings.HasPrefix(p.Summary, tt.name+" (application): ") || !strings.Contains(p.Summary, tt.why) {
				t.Errorf("%s summary = %q, want it to say why (%q)", tt.name, p.Summary, tt.why)
			}
			b, err := ParseCustom([]byte(custom(tt.name)))
			if err != nil {
				t.Fatalf("custom blueprint with %s: %v", tt.name, err)
			}
			rps := b.ResolvedPermissions()
			found := false
			for _, rp := range rps {
				if rp.Name == tt.name {
					found = true
					if rp.Permission.Privilege != PrivilegeCritical {
						t.Errorf("custom blueprint: %s privilege = %s, want critical", tt.name, rp.Permission.Privilege)
					}
				}
			}
			if !found {
				t.Errorf("custom blueprint does not ask for %s: %+v", tt.name, rps)
			}
		})
	}
	if p, _ := Lookup("Microsoft Graph", "Mail.Send", Application); p.Privilege != PrivilegeHigh {
		t.Errorf("Mail.Send privilege = %s, want high", p.Privilege)
	}
	// The delegated ones are bounded by the signed-in user's own roles.
	if p, _ := Lookup("Microsoft Graph", "RoleManagement.ReadWrite.Directory", Delegated); p.Privilege == PrivilegeCritical {
		t.Errorf("delegated RoleManagement.ReadWrite.Directory rated critical; the user's roles bound it")
	}
	// No built-in blueprint asks for any of them.
	for _, b := range Builtins() {
		for _, rp := range b.ResolvedPermissions() {
			if _, ok := takeoverPermissions[rp.Name]; ok && rp.Permission.Resource == MicrosoftGraph && rp.Type == Application {
				t.Errorf("built-in %s asks for %s", b.ID, rp.Name)
			}
		}
	}
}

func TestLookupID(t *testing.T) {
	tests := []struct {
		resource, id string
		typ          PermissionType
		wantName     string // "" when not found
	}{
		{"Microsoft Graph", "e2a3a72e-5f79-4c64-b1b1-878b674786c9", Application, "Mail.ReadWrite"},
		{"00000003-0000-0000-c000-000000000000", "E2A3A72E-5F79-4C64-B1B1-878B674786C9", Application, "Mail.ReadWrite"},
		{"Microsoft Graph", "e383f46e-2787-4529-855e-0e479a3ffac0", Delegated, "Mail.Send"},
		{"Office 365 Exchange Online", "dc890d15-9560-4a4c-9b7f-a736ec74ec40", Application, "full_access_as_app"},
		{"Microsoft Graph", "e383f46e-2787-4529-855e-0e479a3ffac0", Application, ""},
		{"Microsoft Graph", "00000000-0000-0000-0000-000000000001", Application, ""},
		{"SharePoint", "e2a3a72e-5f79-4c64-b1b1-878b674786c9", Application, ""},
	}
	for _, tt := range tests {
		p, ok := LookupID(tt.resource, tt.id, tt.typ)
		if ok != (tt.wantName != "") || p.Name != tt.wantName {
			t.Errorf("LookupID(%q, %q, %s) = %q, %v; want %q", tt.resource, tt.id, tt.typ, p.Name, ok, tt.wantName)
		}
	}
}
