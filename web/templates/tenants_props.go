package templates

// Props of the Tenants and Alerts pages that changed with their
// translation (issue #16); the rest are in props.go.

// TenantRow is one tenant on the tenants page. Texts are in the page's
// language already; names, IDs and addresses are data.
type TenantRow struct {
	ID        string // portal ID
	Name      string
	TenantID  string
	Domain    string
	Status    string // "pending", "connected", "consent_revoked" or "disconnected"
	Added     string
	LastScan  string // "" when never scanned
	ScanError string
	// ScanProblems are what the latest scan or consent check left out or
	// found wrong, while the rest of the scan stands.
	ScanProblems []string
	Contacts     []string // who gets this tenant's alerts
	// Language is the language of the tenant's alert e-mail: "en" or "nl".
	Language string
	// Excluded says who excluded the tenant from alerts, when and why; ""
	// while its alerts go out.
	Excluded string
	// Policy says the tenant's own thresholds and recipients in words; ""
	// when it follows the portal-wide policy. The inputs fill its form.
	Policy                           string
	ThresholdsInput, RecipientsInput string
	// Errors and ContactsInput re-show a refused contacts form.
	Errors        FieldErrors
	ContactsInput string
}

// OnboardingRow is an open consent link on the tenants page.
type OnboardingRow struct {
	ID       string
	Label    string
	Expected string
	By       string
	Created  string
	Expires  string
	// State is "waiting", "declined", "failed", "withdrawn", "expired" or
	// "superseded" (ended, but its tenant is connected since: SupersededBy);
	// Reason says why a link ended without connecting a tenant.
	State  string
	Reason string
	// ReasonIsData: Reason is what was recorded, not a message (a detail
	// the portal has no words for), so translators leave it alone.
	ReasonIsData bool
	SupersededBy string
	// NewLinkHref starts a new link for the same customer.
	NewLinkHref string
}

// ChannelRow is one webhook channel on the Alerts page: never its URL.
type ChannelRow struct {
	ID, Name, Kind, Scope, Host, AddedBy string
	// ScopeIsTenant: Scope is a tenant's name, not "every tenant".
	ScopeIsTenant bool
}
