package graph

import (
	"encoding/base64"
	"time"

	"github.com/google/uuid"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/appreg-portal/portal/internal/safetext"
)

// Well-known resource application IDs: Microsoft Graph
// (https://learn.microsoft.com/graph/permissions-reference) and Office 365 Exchange Online
// (https://learn.microsoft.com/exchange/client-developer/exchange-web-services/how-to-authenticate-an-ews-application-by-using-oauth).
const (
	MicrosoftGraphAppID   = "00000003-0000-0000-c000-000000000000"
	ExchangeOnlineAppID   = "00000002-0000-0ff1-ce00-000000000000"
	CredentialPassword    = "password"
	CredentialCertificate = "certificate"
)

// Credential is a client secret (password) or certificate of an application. Secret values are never
// part of it.
type Credential struct {
	Kind        string // CredentialPassword or CredentialCertificate
	KeyID       string
	DisplayName string
	Hint        string // first three characters of a secret
	Thumbprint  string // base64 customKeyIdentifier of a certificate
	Start       time.Time
	End         time.Time
}

// credentials converts an object's passwordCredentials and keyCredentials (applications and service
// principals carry the same two lists).
func credentials(passwords []models.PasswordCredentialable, keys []models.KeyCredentialable) []Credential {
	var out []Credential
	for _, p := range passwords {
		if p == nil {
			continue
		}
		out = append(out, Credential{Kind: CredentialPassword, KeyID: uuidString(p.GetKeyId()),
			DisplayName: text(p.GetDisplayName()), Hint: text(p.GetHint()), Start: deref(p.GetStartDateTime()), End: deref(p.GetEndDateTime())})
	}
	for _, k := range keys {
		if k == nil {
			continue
		}
		cr := Credential{Kind: CredentialCertificate, KeyID: uuidString(k.GetKeyId()), DisplayName: text(k.GetDisplayName()),
			Start: deref(k.GetStartDateTime()), End: deref(k.GetEndDateTime())}
		if id := k.GetCustomKeyIdentifier(); len(id) > 0 {
			cr.Thumbprint = base64.StdEncoding.EncodeToString(id)
		}
		out = append(out, cr)
	}
	return out
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// text reads a string Graph returned for people to read (a name, a
// description, a hint) as one line of safe text (internal/safetext): a
// tenant's administrator chooses these, and NUL, invalid UTF-8 or a line
// break must not reach Postgres, a mail or an export. IDs are not passed
// through it; callers check those.
func text(p *string) string { return safetext.Line(deref(p)) }

// cleaned reports whether text changed the string, so the odd item can be named.
func cleaned(p *string) bool { return safetext.Changed(deref(p)) }

func uuidString(p *uuid.UUID) string {
	if p == nil {
		return ""
	}
	return p.String()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
