package templates

// RotationData is a secret rotation's page.
type RotationData struct {
	ID, State, Error           string
	TenantID, TenantName       string
	AppName, ClientID          string
	OldName, OldKeyID, OldEnds string
	NewName, NewHint, NewEnds  string
	SignedInAs                 string
	Roles                      []string
	OtherSecrets, Certificates int
	OldFound                   bool
	Months                     int
	PlannedEnd, ClampNote      string
	// BlueprintName and Handoff: where the secret goes, when the portal made the app.
	BlueprintName string
	Handoff       []HandoffSheetView
	// RemoveOn is the scheduled removal of the old secret, if any.
	RemoveOn, SuggestRemoveOn string
	// MinRemoveOn and MaxRemoveOn bound the removal date (YYYY-MM-DD).
	MinRemoveOn, MaxRemoveOn string
	Errors                   FieldErrors
	// SignInsKnown: Graph reported the credentials' last sign-ins.
	SignInsKnown             bool
	NewLastUsed, OldLastUsed string
	// ShareLink is the one-time link made with the secret (on that response only).
	ShareLink, ShareExpires string
	Shares                  []ShareRow
}

func rotationStepOf(state string) int {
	switch state {
	case "signin":
		return 1
	case "review", "failed", "applying":
		return 2
	case "overlap":
		return 3
	case "removing":
		return 4
	case "done":
		return 5
	}
	return 1
}
