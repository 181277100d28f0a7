package catalog

import (
	"bytes"
	"embed"
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// PermissionType is how a permission is used: by the app on its own
// (application, an app role) or on behalf of a signed-in user (delegated, an
// OAuth2 scope).
type PermissionType string

// The permission types.
const (
	Application PermissionType = "application"
	Delegated   PermissionType = "delegated"
)

// Resource is an API that defines permissions, identified by its appId.
type Resource struct {
	Name  string
	AppID string
}

// The resources the portal has permission tables for.
var (
	MicrosoftGraph = Resource{Name: "Microsoft Graph", AppID: "00000003-0000-0000-c000-000000000000"}
	ExchangeOnline = Resource{Name: "Office 365 Exchange Online", AppID: "00000002-0000-0ff1-ce00-000000000000"}
)

// KnownResource returns the resource a blueprint's "resource" value names:
// the display name (any case) or the appId of a resource with a table.
func KnownResource(s string) (Resource, bool) {
	for _, r := range []Resource{MicrosoftGraph, ExchangeOnline} {
		if strings.EqualFold(s, r.Name) || strings.EqualFold(s, r.AppID) {
			return r, true
		}
	}
	return Resource{}, false
}

// Confidence says how well a permission's GUID is established.
type Confidence string

// The confidence levels, after the marks in the portal's reference notes.
const (
	// Verified: from an authoritative Microsoft source or a dump of the
	// live service principal.
	Verified Confidence = "verified"
	// Community: seen in community dumps and scripts, not documented.
	Community Confidence = "community"
	// Unverified: open; the portal must resolve it from the tenant.
	Unverified Confidence = "unverified"
)

// AdminConsent says whether granting a permission needs an administrator.
type AdminConsent string

// The admin consent requirements.
const (
	ConsentRequired    AdminConsent = "required"
	ConsentNotRequired AdminConsent = "not-required"
	// ConsentCheckTenant: the portal's table does not know; the tenant's
	// resource service principal says (oauth2PermissionScopes type "Admin"
	// or "User"). Treat it as required until checked.
	ConsentCheckTenant AdminConsent = "check-tenant"
)

// PrivilegeLevel is a plain-language rating of what a permission allows.
type PrivilegeLevel string

// The privilege levels, from least to most.
const (
	PrivilegeLow      PrivilegeLevel = "low"
	PrivilegeMedium   PrivilegeLevel = "medium"
	PrivilegeHigh     PrivilegeLevel = "high"
	PrivilegeCritical PrivilegeLevel = "critical"
)

// Permission is one permission from the portal's table.
type Permission struct {
	Resource Resource
	Name     string
	Type     PermissionType
	// ID is the permission's GUID, the same in every tenant.
	ID         string
	Confidence Confidence
	// Source says where ID, DisplayName and Description come from.
	Source string
	// DisplayName and Description are Microsoft's (for delegated Graph
	// permissions: the admin consent texts).
	DisplayName  string
	Description  string
	AdminConsent AdminConsent
	Privilege    PrivilegeLevel
	// Summary is a plain-language sentence: "Mail.Send (application): can
	// send mail as any user in your organisation".
	Summary string
}

// NeedsTenantCheck reports whether the GUID must be confirmed against the
// tenant's resource service principal before use. The portal checks every
// permission at run time anyway; for these, a mismatch is expected rather
// than alarming.
func (p Permission) NeedsTenantCheck() bool { return p.Confidence != Verified }

// Lookup finds a permission in the table. resource is a display name or
// appId as in KnownResource.
func Lookup(resource, name string, typ PermissionType) (Permission, bool) {
	r, ok := KnownResource(resource)
	if !ok {
		return Permission{}, false
	}
	p, ok := permissionTable()[permKey{r.AppID, typ, name}]
	return p, ok
}

// LookupID finds a permission in the table by its GUID (any case), for
// naming what a tenant reports by ID alone. resource is a display name or
// appId as in KnownResource. GUIDs the tenant resolved differently from the
// table (NeedsTenantCheck) are not found: the caller shows the GUID.
func LookupID(resource, id string, typ PermissionType) (Permission, bool) {
	r, ok := KnownResource(resource)
	if !ok {
		return Permission{}, false
	}
	p, ok := permissionsByID()[permKey{r.AppID, typ, strings.ToLower(strings.TrimSpace(id))}]
	return p, ok
}

// permissionsByID indexes the table by GUID (permKey.name holds the GUID).
var permissionsByID = sync.OnceValue(func() map[permKey]Permission {
	t := map[permKey]Permission{}
	for k, p := range permissionTable() {
		if p.ID != "" {
			t[permKey{k.appID, k.typ, p.ID}] = p
		}
	}
	return t
})

// Permissions returns every permission of a resource and type in the table,
// sorted by name.
func Permissions(resource Resource, typ PermissionType) []Permission {
	var ps []Permission
	for k, p := range permissionTable() {
		if k.appID == resource.AppID && k.typ == typ {
			ps = append(ps, p)
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
	return ps
}

// TenantPermission is a permission as the tenant's resource service principal
// lists it (an appRole or oauth2PermissionScope), for the run-time check.
type TenantPermission struct {
	ID    string
	Value string
	Type  PermissionType
}

// CheckTenant finds p among what the tenant's resource service principal
// offers, matching by value and type, and confirms the GUID. It returns the
// tenant's entry, whose ID is the one to grant.
func (p Permission) CheckTenant(offered []TenantPermission) (TenantPermission, error) {
	for _, o := range offered {
		if o.Value != p.Name || o.Type != p.Type {
			continue
		}
		if p.ID != "" && !strings.EqualFold(o.ID, p.ID) && !p.NeedsTenantCheck() {
			return o, fmt.Errorf("catalog: %s %s permission %s has ID %s in the tenant, the portal's table says %s",
				p.Resource.Name, p.Type, p.Name, o.ID, p.ID)
		}
		return o, nil
	}
	return TenantPermission{}, fmt.Errorf("catalog: the tenant's %s service principal has no %s permission %s",
		p.Resource.Name, p.Type, p.Name)
}

type permKey struct {
	appID string
	typ   PermissionType
	name  string
}

//go:embed data/GraphAppRoles.csv data/GraphDelegateRoles.csv
var dataFS embed.FS

const graphSource = "Microsoft Graph service principal (dump by merill/microsoft-info, 2026-08-20)"

// exchangePermissions is the hand-written table for Office 365 Exchange
// Online. The GUIDs of full_access_as_app and EWS.AccessAsUser.All (Verified)
// are those of the app manifest example in
// https://learn.microsoft.com/exchange/client-developer/exchange-web-services/how-to-authenticate-an-ews-application-by-using-oauth;
// the others come from community dumps of the Exchange Online service
// principal (Community, or Unverified where only two sources name it), since
// https://learn.microsoft.com/exchange/client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth
// names IMAP.AccessAsApp, POP.AccessAsApp and SMTP.SendAsApp without GUIDs.
// Display names and descriptions are the portal's wording, because those
// sources give none of Microsoft's.
var exchangePermissions = []Permission{
	{Name: "full_access_as_app", Type: Application, ID: "dc890d15-9560-4a4c-9b7f-a736ec74ec40", Confidence: Verified,
		Source:      "Exchange EWS OAuth documentation (app manifest example)",
		DisplayName: "Use Exchange Web Services with full access to all mailboxes",
		Description: "Allows the app to use Exchange Web Services with full access to all mailboxes, without a signed-in user."},
	{Name: "EWS.AccessAsUser.All", Type: Delegated, ID: "3b5f3d61-589b-4a3c-a359-5dd4b5ee5bd5", Confidence: Verified,
		Source:      "Exchange EWS OAuth documentation (app manifest example)",
		DisplayName: "Access mailboxes as the signed-in user via Exchange Web Services",
		Description: "Allows the app to have the same access to mailboxes as the signed-in user via Exchange Web Services."},
	{Name: "IMAP.AccessAsApp", Type: Application, ID: "5e5addcd-3e8d-4e90-baf5-964efab2b20a", Confidence: Community,
		Source:      "community dump of the Exchange Online service principal",
		DisplayName: "IMAP.AccessAsApp",
		Description: "Allows the app to read mailboxes over IMAP without a signed-in user, where Exchange grants it mailbox access."},
	{Name: "POP.AccessAsApp", Type: Application, ID: "cb842b43-da6e-4506-86fe-bb12199c656d", Confidence: Community,
		Source:      "community dump of the Exchange Online service principal",
		DisplayName: "POP.AccessAsApp",
		Description: "Allows the app to read mailboxes over POP without a signed-in user, where Exchange grants it mailbox access."},
	{Name: "SMTP.SendAsApp", Type: Application, ID: "7146a1f0-8703-45b3-9eae-527a64c00995", Confidence: Unverified,
		Source:      "two community sources; Microsoft documents the name but no GUID",
		DisplayName: "SMTP.SendAsApp",
		Description: "Allows the app to send mail over SMTP AUTH without a signed-in user, as mailboxes Exchange grants it."},
	{Name: "Exchange.ManageAsApp", Type: Application, ID: "dc50a0fb-09a3-484d-be87-e023b12c6440", Confidence: Community,
		Source:      "community scripts and dump of the Exchange Online service principal",
		DisplayName: "Manage Exchange As Application",
		Description: "Allows the app to manage Exchange Online through PowerShell without a signed-in user, within the Exchange role it is given."},
	{Name: "IMAP.AccessAsUser.All", Type: Delegated, ID: "195adc35-e27b-454b-a7ed-1ecdffa1c09f", Confidence: Community,
		Source:      "community dump of the Exchange Online service principal",
		DisplayName: "Read and write access to mailboxes via IMAP",
		Description: "Allows the app to have the same access to mailboxes as the signed-in user via IMAP."},
	{Name: "POP.AccessAsUser.All", Type: Delegated, ID: "fb698133-92fa-453e-a9ed-688e10f2e5ac", Confidence: Community,
		Source:      "community dump of the Exchange Online service principal",
		DisplayName: "Read and write access to mailboxes via POP",
		Description: "Allows the app to have the same access to mailboxes as the signed-in user via POP."},
	{Name: "SMTP.Send", Type: Delegated, ID: "76faac2a-0f20-42f1-928a-50de5b9dbe52", Confidence: Community,
		Source:      "community dump of the Exchange Online service principal",
		DisplayName: "Send emails from mailboxes using SMTP AUTH",
		Description: "Allows the app to send mail as the signed-in user via SMTP AUTH."},
}

// permissionTable is built once, on first use.
var permissionTable = sync.OnceValue(func() map[permKey]Permission {
	t := map[permKey]Permission{}
	for _, f := range []struct {
		file string
		typ  PermissionType
	}{{"data/GraphAppRoles.csv", Application}, {"data/GraphDelegateRoles.csv", Delegated}} {
		rows, err := readPermissionCSV(f.file)
		if err != nil {
			panic(err) // embedded data, proven by TestPermissionTable
		}
		for _, r := range rows {
			p := Permission{Resource: MicrosoftGraph, Name: r[1], Type: f.typ, ID: strings.ToLower(r[0]),
				Confidence: Verified, Source: graphSource, DisplayName: r[2], Description: r[3]}
			t[permKey{MicrosoftGraph.AppID, f.typ, p.Name}] = finish(p)
		}
	}
	for _, p := range exchangePermissions {
		p.Resource = ExchangeOnline
		p.Source = "GUID: " + p.Source + "; texts: the portal's wording"
		t[permKey{ExchangeOnline.AppID, p.Type, p.Name}] = finish(p)
	}
	return t
})

func readPermissionCSV(file string) ([][]string, error) {
	data, err := dataFS.ReadFile(file)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
	r.FieldsPerRecord = 4
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("catalog: %s: %w", file, err)
	}
	if header[0] != "Id" || header[1] != "Value" {
		return nil, fmt.Errorf("catalog: %s: unexpected header %q", file, header)
	}
	var rows [][]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("catalog: %s: %w", file, err)
		}
		rows = append(rows, rec)
	}
}

// finish fills in admin consent, privilege level and summary.
func finish(p Permission) Permission {
	p.AdminConsent = adminConsent(p)
	c, ok := curated[permKey{p.Resource.AppID, p.Type, p.Name}]
	if ok {
		p.Privilege = c.level
		p.Summary = fmt.Sprintf("%s (%s): %s", p.Name, p.Type, c.sentence)
		return p
	}
	p.Privilege = fallbackPrivilege(p)
	desc := strings.TrimSpace(p.Description)
	if desc == "" {
		desc = p.DisplayName
	}
	p.Summary = fmt.Sprintf("%s (%s): %s", p.Name, p.Type, desc)
	return p
}

// adminConsent: every application permission needs an administrator. For
// delegated ones the reference lists carry no consent column, so the portal
// knows only the common ones (from the Microsoft Graph permissions
// reference) and leaves the rest to the tenant.
func adminConsent(p Permission) AdminConsent {
	if p.Type == Application {
		return ConsentRequired
	}
	if p.Resource == ExchangeOnline {
		return ConsentNotRequired // EWS, IMAP, POP and SMTP user scopes are user-consentable
	}
	if delegatedUserConsent[p.Name] {
		return ConsentNotRequired
	}
	for _, prefix := range delegatedAdminPrefixes {
		if strings.HasPrefix(p.Name, prefix) {
			return ConsentRequired
		}
	}
	return ConsentCheckTenant
}

// delegatedUserConsent are delegated Microsoft Graph permissions a user may
// consent to alone (unless the tenant forbids user consent).
var delegatedUserConsent = map[string]bool{
	"openid": true, "profile": true, "email": true, "offline_access": true,
	"User.Read": true, "User.ReadBasic.All": true,
	"Mail.Read": true, "Mail.ReadBasic": true, "Mail.ReadWrite": true, "Mail.Send": true,
	"Mail.Read.Shared": true, "Mail.ReadWrite.Shared": true, "Mail.Send.Shared": true,
	"Calendars.Read": true, "Calendars.ReadWrite": true, "Calendars.Read.Shared": true, "Calendars.ReadWrite.Shared": true,
	"Contacts.Read": true, "Contacts.ReadWrite": true,
	"MailboxSettings.Read": true, "MailboxSettings.ReadWrite": true,
}

// delegatedAdminPrefixes start delegated Microsoft Graph permissions that
// need an administrator.
var delegatedAdminPrefixes = []string{
	"Directory.", "User.Read.All", "User.ReadWrite.All", "Group.", "GroupMember.", "AccessReview.",
	"Application.", "AppRoleAssignment.", "DelegatedPermissionGrant.", "Policy.", "RoleManagement.",
	"Organization.",
}

func fallbackPrivilege(p Permission) PrivilegeLevel {
	writes := strings.Contains(p.Name, "ReadWrite") || strings.Contains(p.Name, "Write") ||
		strings.Contains(p.Name, "Send") || strings.Contains(p.Name, "Manage") ||
		strings.Contains(p.Name, "FullControl") || strings.Contains(p.Name, "AccessAs")
	switch {
	case p.Type == Application && writes:
		return PrivilegeHigh
	case p.Type == Application:
		return PrivilegeMedium
	case p.AdminConsent != ConsentNotRequired && writes:
		return PrivilegeHigh
	case p.AdminConsent != ConsentNotRequired:
		return PrivilegeMedium
	default:
		return PrivilegeLow
	}
}

type curatedText struct {
	level    PrivilegeLevel
	sentence string
}

// curated are plain-language ratings of the permissions the built-in
// blueprints and the portal itself use. Others fall back to Microsoft's
// description.
var curated = map[permKey]curatedText{
	// Microsoft Graph, application.
	{MicrosoftGraph.AppID, Application, "Mail.Send"}:             {PrivilegeHigh, "can send mail as any user in your organisation"},
	{MicrosoftGraph.AppID, Application, "Mail.ReadWrite"}:        {PrivilegeCritical, "can read, change and delete the mail in every mailbox in your organisation"},
	{MicrosoftGraph.AppID, Application, "Calendars.ReadWrite"}:   {PrivilegeHigh, "can read, create, change and delete events in every calendar in your organisation"},
	{MicrosoftGraph.AppID, Application, "Contacts.ReadWrite"}:    {PrivilegeHigh, "can read, create, change and delete the contacts of every user in your organisation"},
	{MicrosoftGraph.AppID, Application, "MailboxSettings.Read"}:  {PrivilegeMedium, "can read the mailbox settings (time zone, language, automatic replies) of every user in your organisation"},
	{MicrosoftGraph.AppID, Application, "Directory.Read.All"}:    {PrivilegeHigh, "can read everything in your directory: users, groups, devices, applications and their settings"},
	{MicrosoftGraph.AppID, Application, "User.Read.All"}:         {PrivilegeMedium, "can read the full profile of every user in your organisation"},
	{MicrosoftGraph.AppID, Application, "Group.Read.All"}:        {PrivilegeMedium, "can read every group in your organisation, its members and its conversations"},
	{MicrosoftGraph.AppID, Application, "AccessReview.Read.All"}: {PrivilegeMedium, "can read every access review in your organisation, with its reviewers and decisions"},
	{MicrosoftGraph.AppID, Application, "Application.Read.All"}:  {PrivilegeMedium, "can read every app registration and enterprise application in your organisation"},
	// Microsoft Graph, application, that lead to control of the directory:
	// see takeoverPermissions.
	// Microsoft Graph, delegated.
	{MicrosoftGraph.AppID, Delegated, "openid"}:                  {PrivilegeLow, "can sign users in"},
	{MicrosoftGraph.AppID, Delegated, "profile"}:                 {PrivilegeLow, "can see the signed-in user's basic profile (name, user name)"},
	{MicrosoftGraph.AppID, Delegated, "email"}:                   {PrivilegeLow, "can see the signed-in user's e-mail address"},
	{MicrosoftGraph.AppID, Delegated, "offline_access"}:          {PrivilegeLow, "can keep the access it was given while the user is away (refresh tokens)"},
	{MicrosoftGraph.AppID, Delegated, "User.Read"}:               {PrivilegeLow, "can sign users in and read their own profile"},
	{MicrosoftGraph.AppID, Delegated, "Mail.Send"}:               {PrivilegeMedium, "can send mail as the signed-in user"},
	{MicrosoftGraph.AppID, Delegated, "Mail.ReadWrite"}:          {PrivilegeMedium, "can read, change and delete the signed-in user's mail"},
	{MicrosoftGraph.AppID, Delegated, "Calendars.ReadWrite"}:     {PrivilegeMedium, "can read, create, change and delete the signed-in user's calendar events"},
	{MicrosoftGraph.AppID, Delegated, "Contacts.ReadWrite"}:      {PrivilegeMedium, "can read, create, change and delete the signed-in user's contacts"},
	{MicrosoftGraph.AppID, Delegated, "Directory.Read.All"}:      {PrivilegeMedium, "can read everything in the directory that the signed-in user can read"},
	{MicrosoftGraph.AppID, Delegated, "Directory.ReadWrite.All"}: {PrivilegeCritical, "can read and change everything in the directory that the signed-in user can change"},
	// Office 365 Exchange Online.
	{ExchangeOnline.AppID, Application, "full_access_as_app"}:   {PrivilegeCritical, "can read, change and delete everything in every mailbox in your organisation through Exchange Web Services"},
	{ExchangeOnline.AppID, Application, "IMAP.AccessAsApp"}:     {PrivilegeHigh, "can read, over IMAP, the mailboxes an Exchange administrator gives it access to"},
	{ExchangeOnline.AppID, Application, "POP.AccessAsApp"}:      {PrivilegeHigh, "can read, over POP, the mailboxes an Exchange administrator gives it access to"},
	{ExchangeOnline.AppID, Application, "SMTP.SendAsApp"}:       {PrivilegeHigh, "can send mail over SMTP as the mailboxes an Exchange administrator gives it access to"},
	{ExchangeOnline.AppID, Application, "Exchange.ManageAsApp"}: {PrivilegeCritical, "can administer Exchange Online with PowerShell, within the Exchange role it is given"},
	{ExchangeOnline.AppID, Delegated, "EWS.AccessAsUser.All"}:   {PrivilegeHigh, "can do everything the signed-in user can do in mailboxes through Exchange Web Services"},
	{ExchangeOnline.AppID, Delegated, "IMAP.AccessAsUser.All"}:  {PrivilegeMedium, "can read and change the signed-in user's mailboxes over IMAP"},
	{ExchangeOnline.AppID, Delegated, "POP.AccessAsUser.All"}:   {PrivilegeMedium, "can read the signed-in user's mailboxes over POP"},
	{ExchangeOnline.AppID, Delegated, "SMTP.Send"}:              {PrivilegeMedium, "can send mail as the signed-in user over SMTP"},
}

// takeoverPermissions are the Microsoft Graph application permissions with
// which an app can make itself (or anyone) a Global Administrator, or take
// control of the directory's sign-ins, without a signed-in user. They are
// rated critical whatever their name suggests, because whoever holds the
// app's secret holds that power. The list follows Microsoft's own cautions:
// the Microsoft Graph permissions reference warns that permissions which
// grant authorization (RoleManagement.ReadWrite.Directory,
// AppRoleAssignment.ReadWrite.All) "allow an application to grant additional
// privileges to itself, other applications, or any user"
// (https://learn.microsoft.com/graph/permissions-reference), and Microsoft
// Entra labels as privileged the permissions that delegate directory
// management or change credentials, authentication or authorization policies
// (https://learn.microsoft.com/entra/identity/role-based-access-control/privileged-roles-permissions).
var takeoverPermissions = map[string]string{
	"RoleManagement.ReadWrite.Directory": "can give any user or app any directory role, Global Administrator included, so whoever holds the app's secret can take over your whole tenant",
	"AppRoleAssignment.ReadWrite.All":    "can grant any app, itself included, any permission without an administrator's consent (for example RoleManagement.ReadWrite.Directory), and from there make anyone Global Administrator",
	"Application.ReadWrite.All":          "can create, change and delete every app registration in your organisation and add secrets to them, so it can act as any app with more permissions than its own, up to Global Administrator",
	"Application.ReadWrite.OwnedBy":      "can add secrets to the apps it owns and act as them, so it holds every permission those apps hold, up to Global Administrator if one of them may",
	"Directory.ReadWrite.All":            "can read and change everything in your directory, so it can change users, groups and apps to widen its own access",
	// Privileged Identity Management: assignments and eligibilities of
	// directory roles and of groups that hold directory roles.
	"RoleAssignmentSchedule.ReadWrite.Directory":           "can assign directory roles through Privileged Identity Management, Global Administrator included, so whoever holds the app's secret can take over your whole tenant",
	"RoleEligibilitySchedule.ReadWrite.Directory":          "can make any user eligible for any directory role through Privileged Identity Management, Global Administrator included",
	"PrivilegedAccess.ReadWrite.AzureAD":                   "can manage privileged access to directory roles in Privileged Identity Management, Global Administrator included",
	"PrivilegedAccess.ReadWrite.AzureADGroup":              "can make any user a member or owner of privileged access groups in Privileged Identity Management, including groups that hold directory roles such as Global Administrator",
	"PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup":  "can assign membership and ownership of privileged access groups, including groups that hold directory roles such as Global Administrator",
	"PrivilegedEligibilitySchedule.ReadWrite.AzureADGroup": "can make any user eligible for membership of privileged access groups, including groups that hold directory roles such as Global Administrator",
	// Sign-in and authentication: switching off the controls that protect
	// administrators, or signing in as them.
	"Policy.ReadWrite.ConditionalAccess":     "can change or switch off every Conditional Access policy, so the multifactor and device checks that protect your administrators no longer apply",
	"Policy.ReadWrite.AuthenticationMethod":  "can change which sign-in methods are allowed for everyone (for example switch on Temporary Access Passes), which opens a way to sign in as any user",
	"Policy.ReadWrite.SecurityDefaults":      "can switch off security defaults, and with them the multifactor sign-in they require of administrators",
	"Policy.ReadWrite.PermissionGrant":       "can change which permissions users and apps may be granted without an administrator, so apps can gain directory-wide access unreviewed",
	"UserAuthenticationMethod.ReadWrite.All": "can add or change the sign-in methods (phone, Temporary Access Pass, passkeys) of any user, Global Administrators included, and so sign in as them",
	"Domain.ReadWrite.All":                   "can add domains and change how they sign in (federation), so an outside identity provider can sign in as users of your organisation, administrators included",
}

func init() {
	for name, sentence := range takeoverPermissions {
		curated[permKey{MicrosoftGraph.AppID, Application, name}] = curatedText{PrivilegeCritical, sentence}
	}
}

// ewsPermissions are the permissions that make a blueprint EWS-based.
var ewsPermissions = map[permKey]bool{
	{ExchangeOnline.AppID, Application, "full_access_as_app"}: true,
	{ExchangeOnline.AppID, Delegated, "EWS.AccessAsUser.All"}: true,
}

// IsEWS reports whether p is an Exchange Web Services permission.
func (p Permission) IsEWS() bool { return ewsPermissions[permKey{p.Resource.AppID, p.Type, p.Name}] }
