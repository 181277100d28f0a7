package templates

// CredentialDetailData is one credential's page: what it is, where it lives,
// what the portal knows of it and what happened to it.
type CredentialDetailData struct {
	Row                CredentialRow // state, days left and the actions (rotate)
	TenantName         string
	TenantID           string // directory ID
	OwnerName          string
	OwnerKind          string // in words
	AppID, ObjectID    string
	KeyID, Thumbprint  string
	Starts, Ends       string
	FirstSeen          string
	LastSeen           string
	Removed            string // when a scan no longer found it; "" while live
	EntraURL           string // the app in the Entra admin center
	Registration       *CredentialRegistration
	History            []CredentialEvent
	CanTrack, CanAdopt bool
	// Alerts is what keeps the credential's alerts quiet, and the form to
	// quiet them.
	Alerts CredentialAlerts
}

// CredentialAlerts is the credential page's alerts section.
type CredentialAlerts struct {
	Silences []SilenceView
	// CanSilence shows the form (operators, live credentials).
	CanSilence bool
	// Form values and errors, re-shown when the form is refused.
	What, Until, Reason string
	Errors              FieldErrors
	MinDate, MaxDate    string // the date picker's bounds, YYYY-MM-DD
}

// SilenceView is one silence that applies to a credential: "Snoozed until
// 14 Dec 2026 — set by Oscar on 7 Dec 2026: vendor will renew".
type SilenceView struct {
	ID string
	// What it does, in words; By (who set it, "" when unknown) and Reason
	// are data; On is the day it was set.
	What, By, On, Reason string
	Active               bool
	// LiftLabel is the button that ends it; "" when it cannot be ended here.
	LiftLabel string
}

// CredentialRegistration is what the portal registered for the credential's
// app: its blueprint and where the secret goes.
type CredentialRegistration struct {
	RunID         string
	BlueprintID   string
	BlueprintName string
	AppliedBy     string
	AppliedAt     string
	Handoff       []HandoffSheetView
}

// CredentialEvent is one line of a credential's history.
type CredentialEvent struct {
	When, Who, What string
	// Reason is what the person typed (a silence's), shown after What.
	Reason string
	Failed bool
}
