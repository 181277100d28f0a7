package entrasim

import "time"

// Microsoft's own public client applications, homed in Microsoft's tenant and usable in every tenant as
// Entra allows them: command-line tools sign in with the device code flow under these client IDs, and an
// administrator consents to the Graph scopes they ask for. `portal setup` signs in as the Microsoft Graph
// Command Line Tools, as Microsoft Graph PowerShell does
// (https://learn.microsoft.com/powershell/microsoftgraph/authentication-commands,
// https://learn.microsoft.com/troubleshoot/entra/entra-id/governance/verify-first-party-apps-sign-in).
const (
	MicrosoftServicesTenantID  = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
	GraphCommandLineToolsAppID = "14d82eec-204b-4c2f-b7e8-296a70dab67e" // Microsoft Graph Command Line Tools
	AzureCLIAppID              = "04b07795-8ddb-461a-bbee-02f9e1bf7b46" // Microsoft Azure CLI
)

// addFirstPartyClients registers the first-party public clients in a hidden home tenant: it has no
// users, is not listed on the sign-in page or in State, and no domain names it, so only its
// applications show through (as a service principal made at consent in the user's tenant).
func (s *Sim) addFirstPartyClients() {
	now := s.now()
	ms := &tenant{ID: MicrosoftServicesTenantID, DisplayName: "Microsoft Services", Domain: "microsoft.example",
		InitialDomain: "microsoftservices.onmicrosoft.com", Created: now, dirRoles: map[string]string{},
		policy: appManagementPolicy{ID: "00000000-0000-0000-0000-000000000000"}}
	s.tenants[ms.ID] = ms
	yes := true
	for _, c := range []struct{ appID, name string }{
		{GraphCommandLineToolsAppID, "Microsoft Graph Command Line Tools"},
		{AzureCLIAppID, "Microsoft Azure CLI"},
	} {
		id := newGUID()
		app := &application{TenantID: ms.ID, ObjectID: id, AppID: c.appID, Created: now, VisibleAt: time.Time{}}
		app.Data = newAppData(id, c.appID, c.name, ms.Domain, now)
		app.Data.SignInAudience = "AzureADandPersonalMicrosoftAccount"
		app.Data.IsFallbackPublicClient = &yes
		app.Data.PublicClient.RedirectURIs = []string{"http://localhost"}
		s.insertApplication(ms, app)
	}
}
