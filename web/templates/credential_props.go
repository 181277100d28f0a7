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
	Failed          bool
}
