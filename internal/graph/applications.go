package graph

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/applications"
	"github.com/microsoftgraph/msgraph-sdk-go/applicationswithuniquename"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/appreg-portal/portal/internal/catalog"
)

// Application is an app registration with its credentials.
type Application struct {
	ObjectID    string
	AppID       string
	DisplayName string
	// NameCleaned says DisplayName had to be made safe (internal/safetext):
	// Graph's name held a control character, a line break or invalid text.
	NameCleaned    bool
	UniqueName     string
	SignInAudience string
	Credentials    []Credential
	// CredentialsListed: the response carried both credential lists (a
	// delta may leave out properties that did not change).
	CredentialsListed bool
	// What the app is configured with (set by GetApplication and
	// ApplicationByUniqueName; the list reads only the credentials).
	WebRedirectURIs          []string
	PublicClientRedirectURIs []string
	SPARedirectURIs          []string
	IDTokenIssuance          bool
	AccessTokenIssuance      bool
	RequiredResourceAccess   []catalog.ResourceAccess
	AppRoles                 []AppRole
}

// AppRole is an app role an application defines for the users (and groups)
// it assigns it to (https://learn.microsoft.com/graph/api/resources/approle).
// Graph refuses to change or drop an enabled role's ID: an update keeps the
// IDs it read.
type AppRole struct {
	ID          string // GUID
	Value       string // the "roles" claim value, e.g. Portal.Admin
	DisplayName string
	Description string
}

// ApplicationSpec is what UpsertApplication writes.
type ApplicationSpec struct {
	DisplayName               string
	SignInAudience            string // default AzureADMyOrg
	WebRedirectURIs           []string
	PublicClientRedirectURIs  []string
	SPARedirectURIs           []string
	EnableIDTokenIssuance     bool
	EnableAccessTokenIssuance bool
	RequiredResourceAccess    []catalog.ResourceAccess
	Tags                      []string
	Notes                     string
	// AppRoles, when not nil, replaces the app roles (assignable to users
	// and groups); nil leaves them as they are.
	AppRoles []AppRole
}

// Secret is a new client secret; Text is returned by Graph exactly once.
type Secret struct {
	KeyID       string
	DisplayName string
	Hint        string
	Text        string
	Start       time.Time
	End         time.Time
}

func toApplication(a models.Applicationable) Application {
	out := Application{ObjectID: deref(a.GetId()), AppID: deref(a.GetAppId()), DisplayName: text(a.GetDisplayName()),
		UniqueName: deref(a.GetUniqueName()), SignInAudience: deref(a.GetSignInAudience()),
		Credentials: credentials(a.GetPasswordCredentials(), a.GetKeyCredentials()), NameCleaned: cleaned(a.GetDisplayName()),
		CredentialsListed: a.GetPasswordCredentials() != nil && a.GetKeyCredentials() != nil}
	if w := a.GetWeb(); w != nil {
		out.WebRedirectURIs = w.GetRedirectUris()
		if ig := w.GetImplicitGrantSettings(); ig != nil {
			out.IDTokenIssuance, out.AccessTokenIssuance = deref(ig.GetEnableIdTokenIssuance()), deref(ig.GetEnableAccessTokenIssuance())
		}
	}
	if p := a.GetPublicClient(); p != nil {
		out.PublicClientRedirectURIs = p.GetRedirectUris()
	}
	if s := a.GetSpa(); s != nil {
		out.SPARedirectURIs = s.GetRedirectUris()
	}
	for _, r := range a.GetAppRoles() {
		if r != nil {
			out.AppRoles = append(out.AppRoles, AppRole{ID: strings.ToLower(uuidString(r.GetId())), Value: deref(r.GetValue()),
				DisplayName: deref(r.GetDisplayName()), Description: deref(r.GetDescription())})
		}
	}
	for _, rr := range a.GetRequiredResourceAccess() {
		if rr == nil {
			continue
		}
		ra := catalog.ResourceAccess{ResourceAppID: strings.ToLower(deref(rr.GetResourceAppId()))}
		for _, e := range rr.GetResourceAccess() {
			if e != nil {
				ra.Access = append(ra.Access, catalog.AccessEntry{ID: strings.ToLower(uuidString(e.GetId())), Type: deref(e.GetTypeEscaped())})
			}
		}
		out.RequiredResourceAccess = append(out.RequiredResourceAccess, ra)
	}
	return out
}

// ListApplications returns every application of the tenant with its credentials, following
// @odata.nextLink ($top=999, the maximum).
func (c *Client) ListApplications(ctx context.Context) ([]Application, error) {
	top := int32(999)
	cfg := &applications.ApplicationsRequestBuilderGetRequestConfiguration{
		QueryParameters: &applications.ApplicationsRequestBuilderGetQueryParameters{
			Select: []string{"id", "appId", "displayName", "uniqueName", "signInAudience", "passwordCredentials", "keyCredentials"},
			Top:    &top,
		},
	}
	res, err := applications.NewApplicationsRequestBuilderInternal(c.pathParams(), c.adapter).Get(ctx, cfg)
	if err != nil {
		return nil, mapError("list applications", err)
	}
	out := []Application{}
	err = iterate(ctx, c, "list applications", res, models.CreateApplicationCollectionResponseFromDiscriminatorValue, func(a models.Applicationable) {
		out = append(out, toApplication(a))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Validate rejects a spec Graph would misread: every permission needs a GUID
// and the type Role or Scope. (An unparsable ID used to be dropped silently,
// registering an app without a permission it was meant to have.)
func (spec ApplicationSpec) Validate() error {
	for _, r := range spec.AppRoles {
		if _, err := uuid.Parse(r.ID); err != nil || r.Value == "" {
			return fmt.Errorf("graph: application spec: app role %q needs a value and a GUID, has %q", r.Value, r.ID)
		}
	}
	for _, rr := range spec.RequiredResourceAccess {
		if _, err := uuid.Parse(rr.ResourceAppID); err != nil {
			return fmt.Errorf("graph: application spec: resource %q is not an appId", rr.ResourceAppID)
		}
		for _, p := range rr.Access {
			if _, err := uuid.Parse(p.ID); err != nil {
				return fmt.Errorf("graph: application spec: permission %q of resource %s is not a GUID", p.ID, rr.ResourceAppID)
			}
			if p.Type != "Role" && p.Type != "Scope" {
				return fmt.Errorf("graph: application spec: permission %s has type %q, want Role or Scope", p.ID, p.Type)
			}
		}
	}
	return nil
}

func (spec ApplicationSpec) model() models.Applicationable {
	a := models.NewApplication()
	a.SetDisplayName(&spec.DisplayName)
	aud := spec.SignInAudience
	if aud == "" {
		aud = "AzureADMyOrg"
	}
	a.SetSignInAudience(&aud)
	web := models.NewWebApplication()
	web.SetRedirectUris(nonNil(spec.WebRedirectURIs))
	ig := models.NewImplicitGrantSettings()
	ig.SetEnableIdTokenIssuance(&spec.EnableIDTokenIssuance)
	ig.SetEnableAccessTokenIssuance(&spec.EnableAccessTokenIssuance)
	web.SetImplicitGrantSettings(ig)
	a.SetWeb(web)
	pc := models.NewPublicClientApplication()
	pc.SetRedirectUris(nonNil(spec.PublicClientRedirectURIs))
	a.SetPublicClient(pc)
	spa := models.NewSpaApplication()
	spa.SetRedirectUris(nonNil(spec.SPARedirectURIs))
	a.SetSpa(spa)
	rras := []models.RequiredResourceAccessable{}
	for _, rr := range spec.RequiredResourceAccess {
		m := models.NewRequiredResourceAccess()
		id := rr.ResourceAppID
		m.SetResourceAppId(&id)
		var ras []models.ResourceAccessable
		for _, p := range rr.Access {
			ra := models.NewResourceAccess()
			u := uuid.MustParse(p.ID) // checked by Validate
			ra.SetId(&u)
			t := p.Type
			ra.SetTypeEscaped(&t)
			ras = append(ras, ra)
		}
		m.SetResourceAccess(ras)
		rras = append(rras, m)
	}
	a.SetRequiredResourceAccess(rras)
	if spec.AppRoles != nil {
		roles := []models.AppRoleable{}
		for _, r := range spec.AppRoles {
			m := models.NewAppRole()
			id := uuid.MustParse(r.ID) // checked by Validate
			m.SetId(&id)
			v, dn, d, enabled := r.Value, r.DisplayName, r.Description, true
			m.SetValue(&v)
			m.SetDisplayName(&dn)
			m.SetDescription(&d)
			m.SetIsEnabled(&enabled)
			m.SetAllowedMemberTypes([]string{"User"})
			roles = append(roles, m)
		}
		a.SetAppRoles(roles)
	}
	a.SetTags(nonNil(spec.Tags))
	if spec.Notes != "" {
		a.SetNotes(&spec.Notes)
	}
	return a
}

// UpsertApplication creates or updates the application with the given uniqueName:
// PATCH /applications(uniqueName='…') with Prefer: create-if-missing (201 created, 204 updated; see
// https://learn.microsoft.com/graph/api/application-upsert). It returns the application and whether it
// was created.
func (c *Client) UpsertApplication(ctx context.Context, uniqueName string, spec ApplicationSpec) (Application, bool, error) {
	if uniqueName == "" || spec.DisplayName == "" {
		return Application{}, false, errors.New("graph: upsert application: uniqueName and DisplayName are required")
	}
	if err := spec.Validate(); err != nil {
		return Application{}, false, err
	}
	headers := abs.NewRequestHeaders()
	headers.Add("Prefer", "create-if-missing")
	b := applicationswithuniquename.NewApplicationsWithUniqueNameRequestBuilderInternal(c.pathParams(), c.adapter, &uniqueName)
	res, err := b.Patch(ctx, spec.model(), &applicationswithuniquename.ApplicationsWithUniqueNameRequestBuilderPatchRequestConfiguration{Headers: headers})
	if err != nil {
		return Application{}, false, mapError("upsert application", err)
	}
	if res != nil {
		return toApplication(res), true, nil
	}
	// 204: updated, no body. Read it back (retrying while a just-created app is still replicating).
	var got models.Applicationable
	err = c.retryReplication(ctx, func() error {
		var err error
		got, err = b.Get(ctx, nil)
		return mapError("get application", err)
	})
	if err != nil {
		return Application{}, false, err
	}
	if got == nil {
		return Application{}, false, fmt.Errorf("get application: %w", ErrNotFound)
	}
	return toApplication(got), false, nil
}

// AddPassword adds a client secret ending at end (POST /applications/{id}/addPassword). The returned
// Secret.Text is the only time Graph discloses the value. A lifetime beyond the tenant's app management
// policy fails with ErrPolicyViolation. A 404 right after the application was created is retried.
func (c *Client) AddPassword(ctx context.Context, appObjectID, displayName string, end time.Time) (Secret, error) {
	body := applications.NewItemAddPasswordPostRequestBody()
	pc := models.NewPasswordCredential()
	pc.SetDisplayName(&displayName)
	if !end.IsZero() {
		e := end.UTC()
		pc.SetEndDateTime(&e)
	}
	body.SetPasswordCredential(pc)
	b := applications.NewApplicationsRequestBuilderInternal(c.pathParams(), c.adapter).ByApplicationId(appObjectID).AddPassword()
	var res models.PasswordCredentialable
	err := c.retryReplication(ctx, func() error {
		var err error
		res, err = b.Post(ctx, body, nil)
		return mapError("add password", err)
	})
	if err != nil {
		return Secret{}, err
	}
	if res == nil || res.GetSecretText() == nil {
		return Secret{}, errors.New("graph: add password: response without secretText")
	}
	return Secret{KeyID: uuidString(res.GetKeyId()), DisplayName: text(res.GetDisplayName()), Hint: text(res.GetHint()),
		Text: *res.GetSecretText(), Start: deref(res.GetStartDateTime()), End: deref(res.GetEndDateTime())}, nil
}

// RemovePassword removes a client secret (POST /applications/{id}/removePassword).
func (c *Client) RemovePassword(ctx context.Context, appObjectID, keyID string) error {
	id, err := uuid.Parse(keyID)
	if err != nil {
		return fmt.Errorf("graph: remove password: keyId: %w", err)
	}
	body := applications.NewItemRemovePasswordPostRequestBody()
	body.SetKeyId(&id)
	err = applications.NewApplicationsRequestBuilderInternal(c.pathParams(), c.adapter).ByApplicationId(appObjectID).RemovePassword().Post(ctx, body, nil)
	return mapError("remove password", err)
}

// DeleteApplication deletes an application registration (DELETE /applications/{id}); Graph moves it to
// deleted items and deletes its service principal.
func (c *Client) DeleteApplication(ctx context.Context, appObjectID string) error {
	err := applications.NewApplicationsRequestBuilderInternal(c.pathParams(), c.adapter).ByApplicationId(appObjectID).Delete(ctx, nil)
	return mapError("delete application", err)
}

// ApplicationByUniqueName returns the application with the given uniqueName
// (GET /applications(uniqueName='…')), or an error wrapping ErrNotFound.
func (c *Client) ApplicationByUniqueName(ctx context.Context, uniqueName string) (Application, error) {
	res, err := applicationswithuniquename.NewApplicationsWithUniqueNameRequestBuilderInternal(c.pathParams(), c.adapter, &uniqueName).Get(ctx, nil)
	if err != nil {
		return Application{}, mapError("get application", err)
	}
	if res == nil {
		return Application{}, fmt.Errorf("get application: %w", ErrNotFound)
	}
	return toApplication(res), nil
}

// GetApplication returns an application by object ID with its credentials.
func (c *Client) GetApplication(ctx context.Context, objectID string) (Application, error) {
	res, err := applications.NewApplicationsRequestBuilderInternal(c.pathParams(), c.adapter).ByApplicationId(objectID).Get(ctx, nil)
	if err != nil {
		return Application{}, mapError("get application", err)
	}
	if res == nil {
		return Application{}, fmt.Errorf("get application: %w", ErrNotFound)
	}
	return toApplication(res), nil
}

// ApplicationOwners counts the application's owners
// (GET /applications/{id}/owners; https://learn.microsoft.com/graph/api/application-list-owners).
func (c *Client) ApplicationOwners(ctx context.Context, objectID string) (int, error) {
	res, err := c.get(ctx, "/applications/"+url.PathEscape(objectID)+"/owners?%24select=id", models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue)
	if err != nil {
		return 0, mapError("list application owners", err)
	}
	n := 0
	err = iterate(ctx, c, "list application owners", res, models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue, func(models.DirectoryObjectable) { n++ })
	return n, err
}
