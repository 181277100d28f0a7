package entrasim

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"strings"
	"sync"
)

//go:embed data/GraphAppRoles.csv
var graphAppRolesCSV []byte

//go:embed data/GraphDelegateRoles.csv
var graphDelegateRolesCSV []byte

// permission is one app role or delegated scope of a first-party resource.
type permission struct {
	ID, Value, DisplayName, Description string
	Admin                               bool // delegated scope that only an admin may consent to
}

// resource is a first-party API every tenant has a service principal for.
type resource struct {
	AppID       string
	DisplayName string
	URIs        []string // identifier URIs used in scope strings, e.g. https://graph.microsoft.com
	Roles       []permission
	Scopes      []permission
}

func (r *resource) roleByValue(v string) (string, bool) {
	for _, p := range r.Roles {
		if p.Value == v {
			return p.ID, true
		}
	}
	return "", false
}

func (r *resource) scopeByValue(v string) (string, bool) {
	for _, p := range r.Scopes {
		if strings.EqualFold(p.Value, v) {
			return p.ID, true
		}
	}
	return "", false
}

func (r *resource) scope(v string) (permission, bool) {
	for _, p := range r.Scopes {
		if strings.EqualFold(p.Value, v) {
			return p, true
		}
	}
	return permission{}, false
}

func (r *resource) appRolesJSON() []appRoleJSON {
	out := make([]appRoleJSON, 0, len(r.Roles))
	for _, p := range r.Roles {
		out = append(out, appRoleJSON{AllowedMemberTypes: []string{"Application"}, Description: p.Description,
			DisplayName: p.DisplayName, ID: p.ID, IsEnabled: true, Value: p.Value})
	}
	return out
}

func (r *resource) scopesJSON() []permissionScope {
	out := make([]permissionScope, 0, len(r.Scopes))
	for _, p := range r.Scopes {
		typ := "User"
		if p.Admin {
			typ = "Admin"
		}
		out = append(out, permissionScope{AdminConsentDescription: p.Description, AdminConsentDisplayName: p.DisplayName,
			ID: p.ID, IsEnabled: true, Type: typ, UserConsentDescription: strPtr(p.Description),
			UserConsentDisplayName: strPtr(p.DisplayName), Value: p.Value})
	}
	return out
}

var (
	resourcesOnce sync.Once
	graphRes      *resource
	exchangeRes   *resource
)

func firstPartyResources() []*resource {
	resourcesOnce.Do(loadResources)
	return []*resource{graphRes, exchangeRes}
}

func graphResource() *resource { firstPartyResources(); return graphRes }

// userConsentable lists delegated Graph scopes ending in ".All" that users may consent to themselves
// (https://learn.microsoft.com/graph/permissions-reference "Admin consent required: No"). Every other
// ".All" scope, and Directory.AccessAsUser.All, needs an admin. The CSV dump does not carry the consent type, so this rule approximates it [C].
var userConsentable = map[string]bool{
	"User.ReadBasic.All": true, "Files.Read.All": true, "Files.ReadWrite.All": true, "Sites.Read.All": true,
	"Sites.ReadWrite.All": true, "Notes.Read.All": true, "Notes.ReadWrite.All": true, "People.Read.All": false,
	"Calendars.Read.Shared": true, "Mail.Read.Shared": true, "Contacts.Read.Shared": true,
}

func loadResources() {
	graphRes = &resource{AppID: GraphAppID, DisplayName: "Microsoft Graph",
		URIs: []string{"https://graph.microsoft.com", "https://graph.microsoft.com/", "https://canary.graph.microsoft.com"}}
	graphRes.Roles = mustParseCSV(graphAppRolesCSV, false)
	graphRes.Scopes = mustParseCSV(graphDelegateRolesCSV, true)
	// Office 365 Exchange Online
	// (https://learn.microsoft.com/exchange/client-developer/exchange-web-services/how-to-authenticate-an-ews-application-by-using-oauth
	// for full_access_as_app and EWS.AccessAsUser.All, community dumps of the Exchange Online service
	// principal for the rest).
	exchangeRes = &resource{AppID: ExchangeAppID, DisplayName: "Office 365 Exchange Online",
		URIs: []string{"https://outlook.office365.com", "https://outlook.office.com", "https://ps.outlook.com"},
		Roles: []permission{
			{ID: "dc890d15-9560-4a4c-9b7f-a736ec74ec40", Value: "full_access_as_app", DisplayName: "Use Exchange Web Services with full access to all mailboxes", Description: "Allows the app to have full access via Exchange Web Services to all mailboxes without a signed-in user."},
			{ID: "5e5addcd-3e8d-4e90-baf5-964efab2b20a", Value: "IMAP.AccessAsApp", DisplayName: "IMAP.AccessAsApp", Description: "Allows the app to access mailboxes via IMAP without a signed-in user."},
			{ID: "cb842b43-da6e-4506-86fe-bb12199c656d", Value: "POP.AccessAsApp", DisplayName: "POP.AccessAsApp", Description: "Allows the app to access mailboxes via POP without a signed-in user."},
			{ID: "7146a1f0-8703-45b3-9eae-527a64c00995", Value: "SMTP.SendAsApp", DisplayName: "SMTP.SendAsApp", Description: "Allows the app to send mail via SMTP AUTH without a signed-in user."},
			{ID: "dc50a0fb-09a3-484d-be87-e023b12c6440", Value: "Exchange.ManageAsApp", DisplayName: "Manage Exchange As Application", Description: "Allows the app to manage the organization's Exchange environment without any user interaction."},
		},
		Scopes: []permission{
			{ID: "3b5f3d61-589b-4a3c-a359-5dd4b5ee5bd5", Value: "EWS.AccessAsUser.All", DisplayName: "Access mailboxes as the signed-in user via Exchange Web Services", Description: "Allows the app to have the same access to mailboxes as the signed-in user via Exchange Web Services."},
			{ID: "195adc35-e27b-454b-a7ed-1ecdffa1c09f", Value: "IMAP.AccessAsUser.All", DisplayName: "Read and write access to mailboxes via IMAP.", Description: "Allows the app to have the same access to mailboxes as the signed-in user via IMAP protocol."},
			{ID: "fb698133-92fa-453e-a9ed-688e10f2e5ac", Value: "POP.AccessAsUser.All", DisplayName: "Read and write access to mailboxes via POP.", Description: "Allows the app to have the same access to mailboxes as the signed-in user via POP protocol."},
			{ID: "76faac2a-0f20-42f1-928a-50de5b9dbe52", Value: "SMTP.Send", DisplayName: "Send emails from mailboxes using SMTP AUTH.", Description: "Allows the app to be able to send emails from the user's mailbox using the SMTP AUTH client submission protocol."},
		},
	}
}

func mustParseCSV(b []byte, delegated bool) []permission {
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		panic(fmt.Sprintf("entrasim: embedded permission CSV: %v", err))
	}
	out := make([]permission, 0, len(rows))
	for _, r := range rows[1:] {
		if len(r) < 4 {
			continue
		}
		p := permission{ID: r[0], Value: r[1], DisplayName: r[2], Description: r[3]}
		if delegated {
			p.Admin = (strings.HasSuffix(p.Value, ".All") && !userConsentable[p.Value])
		}
		out = append(out, p)
	}
	return out
}

// resourceForURI finds the first-party resource a scope prefix or appId names.
func resourceForURI(u string) *resource {
	u = strings.TrimRight(strings.ToLower(u), "/")
	for _, r := range firstPartyResources() {
		if u == r.AppID {
			return r
		}
		for _, x := range r.URIs {
			if strings.TrimRight(strings.ToLower(x), "/") == u {
				return r
			}
		}
	}
	return nil
}

// resolvePermissionName splits "Application.Read.All" (Microsoft Graph) or
// "https://outlook.office365.com/full_access_as_app" into resource and value.
func resolvePermissionName(p string) (*resource, string) {
	if i := strings.LastIndex(p, "/"); i >= 0 {
		return resourceForURI(p[:i]), p[i+1:]
	}
	return graphResource(), p
}

// oidcScopes are the OpenID Connect scopes; they are Microsoft Graph delegated permissions too.
var oidcScopes = map[string]bool{"openid": true, "profile": true, "email": true, "offline_access": true}
