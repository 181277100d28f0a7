package catalog

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// builtinWant is what a vendor guide says, for one built-in blueprint.
type builtinWant struct {
	audience     string
	params       []string // name:type, "?" suffix when optional
	webURIs      []string // templates, as in the blueprint
	publicURIs   []string
	accessTokens bool
	idTokens     bool
	// perms are "resource|name|type", with "|optional" for optional ones.
	perms []string
	// handoff maps each place's menu path (or title when the guide gives
	// no path) to its field labels and values.
	handoff         []handoffWant
	secretDefault   int
	secretMax       int
	ews             bool
	graphVariant    string
	minDoubts       int
	vendorSaysNever bool
}

type handoffWant struct {
	where  string
	fields [][2]string // label, value template
}

const (
	graph    = "Microsoft Graph"
	exchange = "Office 365 Exchange Online"
)

func checkBuiltin(t *testing.T, id string, want builtinWant) {
	t.Helper()
	b, ok := Builtin(id)
	if !ok {
		t.Fatalf("Builtin(%q) not found", id)
	}
	if !b.IsBuiltin() {
		t.Errorf("Builtin(%q).IsBuiltin() = false", id)
	}
	if got := b.Registration.SignInAudience; got != want.audience {
		t.Errorf("signInAudience = %q, want %q", got, want.audience)
	}
	var params []string
	for _, p := range b.Parameters {
		s := p.Name + ":" + string(p.Type)
		if p.Optional {
			s += "?"
		}
		params = append(params, s)
	}
	if diff := cmp.Diff(want.params, params); diff != "" {
		t.Errorf("parameters (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.webURIs, b.Registration.Web.RedirectURIs); diff != "" {
		t.Errorf("web redirect URIs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.publicURIs, b.Registration.PublicClient.RedirectURIs); diff != "" {
		t.Errorf("public client redirect URIs (-want +got):\n%s", diff)
	}
	if got := b.Registration.Web.ImplicitGrant; got != (ImplicitGrant{AccessTokens: want.accessTokens, IDTokens: want.idTokens}) {
		t.Errorf("implicit grant = %+v, want access tokens %v, ID tokens %v", got, want.accessTokens, want.idTokens)
	}
	var perms []string
	for _, rp := range b.ResolvedPermissions() {
		if !rp.Known {
			t.Errorf("permission %s %s (%s) is not in the table", rp.Resource, rp.Name, rp.Type)
		}
		s := rp.Permission.Resource.Name + "|" + rp.Name + "|" + string(rp.Type)
		if rp.Optional {
			s += "|optional"
		}
		perms = append(perms, s)
	}
	if diff := cmp.Diff(want.perms, perms); diff != "" {
		t.Errorf("permissions (-want +got):\n%s", diff)
	}
	var handoff []handoffWant
	for _, h := range b.Handoff {
		hw := handoffWant{where: h.MenuPath}
		if hw.where == "" {
			hw.where = h.Title
		}
		for _, f := range h.Fields {
			hw.fields = append(hw.fields, [2]string{f.Label, f.Value})
		}
		handoff = append(handoff, hw)
	}
	if diff := cmp.Diff(want.handoff, handoff, cmp.AllowUnexported(handoffWant{})); diff != "" {
		t.Errorf("hand-off (-want +got):\n%s", diff)
	}
	if b.Secret.DefaultLifetimeMonths != want.secretDefault || b.Secret.MaxLifetimeMonths != want.secretMax {
		t.Errorf("secret lifetime default %d, max %d months; want %d, %d",
			b.Secret.DefaultLifetimeMonths, b.Secret.MaxLifetimeMonths, want.secretDefault, want.secretMax)
	}
	if got := containsFold(b.Secret.VendorSays, "never"); got != want.vendorSaysNever {
		t.Errorf("secret.vendorSays mentions never = %v, want %v", got, want.vendorSaysNever)
	}
	if got := b.UsesEWS(); got != want.ews {
		t.Errorf("UsesEWS() = %v, want %v", got, want.ews)
	}
	if want.ews {
		if b.EWS == nil {
			t.Fatalf("EWS blueprint has no ews section")
		}
		if b.EWS.GraphVariant != want.graphVariant {
			t.Errorf("ews.graphVariant = %q, want %q", b.EWS.GraphVariant, want.graphVariant)
		}
		if want.graphVariant != "" {
			if g, ok := Builtin(want.graphVariant); !ok || g.Vendor != b.Vendor {
				t.Errorf("Graph variant %q is not a built-in blueprint of %s", want.graphVariant, b.Vendor)
			}
		}
	}
	if len(b.Doubts) < want.minDoubts {
		t.Errorf("%d doubts, want at least %d", len(b.Doubts), want.minDoubts)
	}
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// The OpenID scopes and application permissions of Exact's "Define settings
// to synchronise emails" (31.049.004): "Delegated permissions ... OpenId
// permissions > email, offline_access, openid, and profile" and "Application
// permissions ... AccessReview > AccessReview.Read.All, Mail > Mail.Send".
var exactMailPerms = []string{
	graph + "|email|delegated",
	graph + "|offline_access|delegated",
	graph + "|openid|delegated",
	graph + "|profile|delegated",
	graph + "|AccessReview.Read.All|application",
	graph + "|Mail.Send|application",
}

// "Click Mobile and desktop applications. Select the
// https://login.microsoftonline.com/common/oauth2/nativeclient checkbox."
var exactPublic = []string{"https://login.microsoftonline.com/common/oauth2/nativeclient"}

func TestBuiltinExactGlobeMail(t *testing.T) {
	checkBuiltin(t, "exact-globe-mail", builtinWant{
		audience: AudienceMyOrg,
		params:   []string{"sender_mailbox:email", "web_redirect_uri:url?"},
		// "Under the Web section, click Add URI. Specify the address at
		// the available field." (no address given)
		webURIs:    []string{"{{web_redirect_uri}}"},
		publicURIs: exactPublic,
		// "select the Access tokens check box"
		accessTokens: true,
		perms:        exactMailPerms,
		// "Go to System > General > User settings. Click the Output tab.
		// Select Exchange Online in the E-mail section. At Account under
		// the Sender section ... At Client ID ... At Tenant ID ... At
		// Client Secret"
		handoff: []handoffWant{{where: "System > General > User settings > Output", fields: [][2]string{
			{"E-mail", "Exchange Online"},
			{"Account", "{{sender_mailbox}}"},
			{"Client ID", "{{client_id}}"},
			{"Tenant ID", "{{tenant_id}}"},
			{"Client Secret", "{{client_secret}}"},
		}}},
		secretDefault: 12, secretMax: 24,
		minDoubts: 3,
	})
}

func TestBuiltinExactSynergyMail(t *testing.T) {
	checkBuiltin(t, "exact-synergy-mail", builtinWant{
		audience: AudienceMyOrg,
		params:   []string{"server_name:hostname", "sender_mailbox:email"},
		// 29.697.959: "for example
		// https://<servername>/Synergy/docs/SysJwtTokenLogin.aspx"
		webURIs:      []string{"https://{{server_name}}/Synergy/docs/SysJwtTokenLogin.aspx"},
		publicURIs:   exactPublic,
		accessTokens: true,
		perms:        exactMailPerms,
		// "Go to Modules > HRM > Setup > General > Settings. Click Edit. In
		// the Server section at E-mail, select Exchange Online. At Tenant
		// ID ... At Client ID ... At Client Secret ... At Sender account
		// (email)"
		handoff: []handoffWant{{where: "Modules > HRM > Setup > General > Settings", fields: [][2]string{
			{"E-mail", "Exchange Online"},
			{"Tenant ID", "{{tenant_id}}"},
			{"Client ID", "{{client_id}}"},
			{"Client Secret", "{{client_secret}}"},
			{"Sender account (email)", "{{sender_mailbox}}"},
		}}},
		secretDefault: 12, secretMax: 24,
		minDoubts: 3,
	})
}

func TestBuiltinExactSynergyCalendar(t *testing.T) {
	checkBuiltin(t, "exact-synergy-calendar", builtinWant{
		audience: AudienceMyOrg,
		params:   []string{"server_name:hostname"},
		// "Specify the address at the available field, for example
		// https://<servername>/Synergy/docs/SysJwtTokenLogin.aspx."
		webURIs:      []string{"https://{{server_name}}/Synergy/docs/SysJwtTokenLogin.aspx"},
		publicURIs:   exactPublic,
		accessTokens: true,
		// "Select Office 365 Exchange Online. Click Application permissions
		// and enable the following: Other permissions > full_access_as_app"
		perms: []string{exchange + "|full_access_as_app|application"},
		// "The Tenant ID is displayed at Directory (tenant) ID, and the
		// Client ID is displayed at Application (client) ID"; the guide
		// names no place in Synergy.
		handoff: []handoffWant{{where: "Exact Synergy Enterprise", fields: [][2]string{
			{"Client ID", "{{client_id}}"},
			{"Tenant ID", "{{tenant_id}}"},
			{"Client Secret", "{{client_secret}}"},
		}}},
		secretDefault: 12, secretMax: 24,
		ews:       true,
		minDoubts: 4,
	})
}

func TestBuiltinExactELISMail(t *testing.T) {
	checkBuiltin(t, "exact-elis-mail", builtinWant{
		audience:     AudienceMyOrg,
		params:       []string{"sender_mailbox:email", "web_redirect_uri:url?"},
		webURIs:      []string{"{{web_redirect_uri}}"},
		publicURIs:   exactPublic,
		accessTokens: true,
		perms:        exactMailPerms,
		// "Select Settings on the left panel. Select Exchange Online at
		// Server. Type the tenant ID at Tenant ID. Type the application
		// (client) ID at Client ID. Type the client secret at Client
		// secret. Type the sender account email at Sender account."
		handoff: []handoffWant{{where: "Settings", fields: [][2]string{
			{"Server", "Exchange Online"},
			{"Tenant ID", "{{tenant_id}}"},
			{"Client ID", "{{client_id}}"},
			{"Client secret", "{{client_secret}}"},
			{"Sender account", "{{sender_mailbox}}"},
		}}},
		secretDefault: 12, secretMax: 24,
		minDoubts: 3,
	})
}

func TestBuiltinExactELISExchangeSync(t *testing.T) {
	checkBuiltin(t, "exact-elis-exchange-sync", builtinWant{
		audience:     AudienceMyOrg,
		params:       []string{"web_redirect_uri:url?"},
		webURIs:      []string{"{{web_redirect_uri}}"},
		publicURIs:   exactPublic,
		accessTokens: true,
		perms:        []string{exchange + "|full_access_as_app|application"},
		// "Select Solutions on the left panel followed by Exchange
		// Synchronization. Type the application (client) ID at AppID
		// (Exchange Online). Type the tenant ID at TenantID (Exchange
		// Online). Type the client secret at Client Secret (Exchange
		// Online)."
		handoff: []handoffWant{{where: "Solutions > Exchange Synchronization", fields: [][2]string{
			{"AppID (Exchange Online)", "{{client_id}}"},
			{"TenantID (Exchange Online)", "{{tenant_id}}"},
			{"Client Secret (Exchange Online)", "{{client_secret}}"},
		}}},
		secretDefault: 12, secretMax: 24,
		ews:       true,
		minDoubts: 3,
	})
}

func TestBuiltinAFASProfit(t *testing.T) {
	checkBuiltin(t, "afas-profit-exchange", builtinWant{
		audience: AudienceMyOrg,
		params:   []string{"email_domain:domain"},
		// "Calendars.ReadWrite, Directory.Read.All, User.Read.All,
		// MailboxSettings.Read ... The Permission level should be
		// Application (Delegated isn't sufficient)." "Click Application
		// permissions. Select Mail.ReadWrite and Mail.Send permissions."
		perms: []string{
			graph + "|Calendars.ReadWrite|application",
			graph + "|Directory.Read.All|application",
			graph + "|User.Read.All|application",
			graph + "|MailboxSettings.Read|application",
			graph + "|Mail.ReadWrite|application",
			graph + "|Mail.Send|application",
		},
		// "Select Exchange Azure AD at Sync. Profit Calendar with. Enter
		// E-mail DNS. ... Directory id: Directory/Map (tentant) ID,
		// Application id: Application (Client) ID, Application secret:
		// Application (Client) secret" and, per user, "Enter the deviating
		// e-mail address".
		handoff: []handoffWant{
			{where: "General / Environment / Management / Properties, tab Exchange/Outlook", fields: [][2]string{
				{"Sync. Profit Calendar with", "Exchange Azure AD"},
				{"E-mail DNS", "{{email_domain}}"},
				{"Directory id", "{{tenant_id}}"},
				{"Application id", "{{client_id}}"},
				{"Application secret", "{{client_secret}}"},
			}},
			{where: "General / Management / Authorisation tool, tab User maintenance", fields: [][2]string{
				{"E-mail address", "The user's own e-mail address in Exchange Online"},
			}},
		},
		secretDefault: 12, secretMax: 24,
		minDoubts: 3,
	})
}

// ResourceXpress's optional permissions: "Mail.Send permission — optional.
// Required to use OAuth for SMTP" and "User.Read.All & Group.Read.All
// permission — optional. Required to use Azure AD User Sync".
var rxOptional = []string{
	graph + "|Mail.Send|application|optional",
	graph + "|User.Read.All|application|optional",
	graph + "|Group.Read.All|application|optional",
}

func TestBuiltinResourceXpressEWS(t *testing.T) {
	checkBuiltin(t, "resourcexpress-ews", builtinWant{
		audience: AudienceMyOrg,
		// "The Resource Login User ID is the service account email address
		// that has impersonation rights to all room mailboxes."
		params: []string{"service_account:email"},
		// "full_access_as_app — required"
		perms: append([]string{exchange + "|full_access_as_app|application"}, rxOptional...),
		// "select Administration Settings then System Settings, the OAuth
		// options can be found under the Resource Server tab" ... "paste
		// this value into the OAuth Client Secret field"
		handoff: []handoffWant{{where: "Administration Settings > System Settings > Resource Server tab", fields: [][2]string{
			{"Use OAuth", "Yes"},
			{"Resource Login User ID", "{{service_account}}"},
			{"OAuth Tenant ID", "{{tenant_id}}"},
			{"OAuth Client ID", "{{client_id}}"},
			{"OAuth Client Secret", "{{client_secret}}"},
		}}},
		// "We recommend choosing Never": out of date. The portal defaults
		// to Microsoft's recommendation and allows its maximum for those who
		// follow the guide.
		secretDefault: 12, secretMax: 24, vendorSaysNever: true,
		ews: true, graphVariant: "resourcexpress-graph",
		minDoubts: 3,
	})
}

func TestBuiltinResourceXpressGraph(t *testing.T) {
	checkBuiltin(t, "resourcexpress-graph", builtinWant{
		audience: AudienceMyOrg,
		perms:    append([]string{exchange + "|full_access_as_app|application"}, rxOptional...),
		// "For Microsoft Graph API Firstly, select Yes for Use Graph API
		// Select Yes for Use OAuth."
		handoff: []handoffWant{{where: "Administration Settings > System Settings > Resource Server tab", fields: [][2]string{
			{"Use Graph API", "Yes"},
			{"Use OAuth", "Yes"},
			{"OAuth Tenant ID", "{{tenant_id}}"},
			{"OAuth Client ID", "{{client_id}}"},
			{"OAuth Client Secret", "{{client_secret}}"},
		}}},
		secretDefault: 12, secretMax: 24, vendorSaysNever: true,
		ews:       true,
		minDoubts: 3,
	})
	b, _ := Builtin("resourcexpress-graph")
	for _, p := range b.Parameters {
		if p.Name == "service_account" {
			t.Errorf("Graph variant asks for the impersonation service account; %q", "Exchange Impersonation is not a requirement when integrating using Microsoft Graph API")
		}
	}
}

func TestBuiltinIBMAppConnect(t *testing.T) {
	checkBuiltin(t, "ibm-app-connect-exchange", builtinWant{
		// "select Accounts in any organizational directory (Any Azure AD
		// directory - Multitenant)"
		audience: AudienceMultipleOrgs,
		params:   []string{"token_redirect_uri:url?"},
		webURIs:  []string{"{{token_redirect_uri}}"},
		// "Microsoft Graph > Delegated permissions": Calendars.ReadWrite,
		// Contacts.ReadWrite, Mail.ReadWrite, Mail.Send, offline_access,
		// User.Read; "Note: Directory.ReadWrite.All requires admin consent."
		perms: []string{
			graph + "|Calendars.ReadWrite|delegated",
			graph + "|Contacts.ReadWrite|delegated",
			graph + "|Mail.ReadWrite|delegated",
			graph + "|Mail.Send|delegated",
			graph + "|offline_access|delegated",
			graph + "|User.Read|delegated",
			graph + "|Directory.ReadWrite.All|delegated|optional",
		},
		handoff: []handoffWant{{where: "App Connect — Microsoft Exchange account (connection values)", fields: [][2]string{
			{"Application (client) ID", "{{client_id}}"},
			{"Client secret", "{{client_secret}}"},
			{"Access token", "The access token from your token request"},
			{"Refresh token", "The refresh token from your token request"},
		}}},
		secretDefault: 12, secretMax: 24,
		minDoubts: 3,
	})
	// The guide's password grant must be called out, with what to do instead.
	b, _ := Builtin("ibm-app-connect-exchange")
	var found bool
	for _, w := range b.Warnings {
		if containsFold(w, "grant_type password") && containsFold(w, "multi-factor") && containsFold(w, "Authorization Code") {
			found = true
		}
	}
	if !found {
		t.Errorf("no warning explains that the password grant is discouraged, fails with MFA, and what to use instead")
	}
}

// TestBuiltins covers what holds for every built-in blueprint.
func TestBuiltins(t *testing.T) {
	want := []string{
		"afas-profit-exchange",
		"exact-elis-exchange-sync",
		"exact-elis-mail",
		"exact-globe-mail",
		"exact-synergy-calendar",
		"exact-synergy-mail",
		"ibm-app-connect-exchange",
		"resourcexpress-ews",
		"resourcexpress-graph",
	}
	var got []string
	for _, b := range Builtins() {
		got = append(got, b.ID)
		if !b.IsBuiltin() {
			t.Errorf("%s: IsBuiltin() = false", b.ID)
		}
		for _, rp := range b.ResolvedPermissions() {
			if rp.Permission.Confidence != Verified {
				t.Errorf("%s: %s %s uses a GUID that is %s", b.ID, rp.Resource, rp.Name, rp.Permission.Confidence)
			}
		}
		for i, d := range b.Doubts {
			if d.About == "" || d.Guide == "" || d.Note == "" {
				t.Errorf("%s: doubts[%d] incomplete: %+v", b.ID, i, d)
			}
		}
		if b.UsesEWS() {
			n := b.EWSNotice(Values{ClientID: "11111111-2222-3333-4444-555555555555"})
			if n == nil || n.Shutdown != EWSShutdown {
				t.Errorf("%s: EWS blueprint without an EWS notice", b.ID)
			} else if strings.Contains(n.Text, "name no Microsoft Graph variant") {
				// Saying there is none is true only when no built-in names this
				// one as the Graph variant and its own note does not claim it.
				if containsFold(b.EWS.Note, "Graph variant") {
					t.Errorf("%s: the EWS notice says there is no Graph variant, its note says otherwise: %q", b.ID, n.Text)
				}
				for _, o := range Builtins() {
					if o.EWS != nil && o.EWS.GraphVariant == b.ID {
						t.Errorf("%s: the EWS notice says there is no Graph variant, yet %s names it as one", b.ID, o.ID)
					}
				}
			}
		}
		// Microsoft recommends secrets of less than 12 months: a built-in may
		// allow more where its vendor's guide asks for it (vendorSays), but
		// never default to more.
		if b.Secret.DefaultLifetimeMonths > RecommendedSecretLifetimeMonths {
			t.Errorf("%s: secret defaults to %d months, more than the recommended %d", b.ID, b.Secret.DefaultLifetimeMonths, RecommendedSecretLifetimeMonths)
		}
		data, _ := BuiltinYAML(b.ID)
		if len(data) > 16<<10 {
			t.Errorf("%s: %d bytes; keep built-ins under 16 KiB (MaxFileSize comment)", b.ID, len(data))
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Builtins() IDs (-want +got):\n%s", diff)
	}
	// Copies are fresh: changing one does not change the catalogue.
	a, _ := Builtin("exact-globe-mail")
	a.Permissions[0].Name = "changed"
	c, _ := Builtin("exact-globe-mail")
	if c.Permissions[0].Name == "changed" {
		t.Errorf("Builtin returns shared blueprints; want copies")
	}
}

// TestBuiltinCopiesAreDeep: every slice and pointer of a returned built-in
// is the caller's own.
func TestBuiltinCopiesAreDeep(t *testing.T) {
	a := mustBuiltin(t, "resourcexpress-ews")
	a.AppliesTo[0].Product = "x"
	a.Parameters[0].Name = "x"
	a.Permissions[0].Name = "x"
	a.Handoff[0].Steps[0] = "x"
	a.Handoff[0].Fields[0].Label = "x"
	a.Hardening[0].Title = "x"
	a.Warnings[0] = "x"
	a.Doubts[0].Note = "x"
	a.EWS.GraphVariant = "x"
	a.lines["id"] = -1
	b := mustBuiltin(t, "resourcexpress-ews")
	data, _ := BuiltinYAML("resourcexpress-ews")
	want := mustParse(t, data)
	if diff := cmp.Diff(want, b, cmpopts.IgnoreUnexported(Blueprint{})); diff != "" || b.Line("id") != want.Line("id") {
		t.Errorf("a change to one copy shows in the next (-want +got):\n%s", diff)
	}
}
