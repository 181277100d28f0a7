package entrasim

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Fixed values of the demo world, for `portal dev`'s configuration. The secret is a demo-only value
// that exists nowhere but in this emulator.
const (
	DemoOperatorTenantID   = "c0a7e2d4-5b1f-4e8a-9c3d-2f6b8a1e4d70"
	DemoOperatorDomain     = "contoso-consulting.example"
	DemoPortalAppID        = "5e7a1c2d-8b3f-4d6e-9a0b-1c2d3e4f5a6b"
	DemoPortalSecret       = "dev8Q~DEMO-ONLY.portal-secret.not-a-real-one"
	DemoPortalRedirectURI  = "http://127.0.0.1:8080/auth/callback"
	DemoOnboardRedirectURI = "http://127.0.0.1:8080/onboarding/callback"
	DemoFabrikamTenantID   = "fab41c4e-2d3b-4a5c-8e6f-7a8b9c0d1e2f"
	DemoNorthwindTenantID  = "a0e7b1d2-3c4f-4a6b-9d8e-0f1a2b3c4d5e"
)

// DemoSeed is the demo world `portal dev` loads: the operator tenant "Contoso Consulting" with the portal
// app and four users, and two customer tenants (Fabrikam, Northwind) with app registrations whose
// credentials expire at various dates. The portal app's secret is a fixed, demo-only value.
//
//go:embed demo_seed.json
var DemoSeed []byte

// Seed is a world to load: tenants with users and applications. Keys are seed-local names that other
// entries refer to and SeedResult reports.
type Seed struct {
	Tenants []SeedTenant `json:"tenants"`
}

// SeedTenant is one tenant of a seed.
type SeedTenant struct {
	Key         string `json:"key"`
	ID          string `json:"id,omitempty"` // optional fixed tenant GUID
	DisplayName string `json:"displayName"`
	Domain      string `json:"domain"`
	// PasswordLifetimePolicy enables the default app management policy with this maximum secret lifetime
	// (ISO 8601, e.g. "P180D").
	PasswordLifetimePolicy string     `json:"passwordLifetimePolicy,omitempty"`
	Users                  []SeedUser `json:"users"`
	Applications           []SeedApp  `json:"applications"`
}

// SeedUser is a user with optional app role assignments.
type SeedUser struct {
	Key string `json:"key"`
	User
	AppRoles []SeedAppRole `json:"appRoles,omitempty"`
}

// SeedAppRole assigns the app role Role of the seed application Application (its key).
type SeedAppRole struct {
	Application string `json:"application"`
	Role        string `json:"role"`
}

// SeedApp is an application registration with extra credentials.
type SeedApp struct {
	Key string `json:"key"`
	AppSpec
	Secrets      []SeedCredential `json:"secrets,omitempty"`
	Certificates []SeedCredential `json:"certificates,omitempty"`
	// AdminConsentIn lists tenant keys where a (multi-tenant) app has been admin-consented: its service
	// principal exists there and its configured permissions are granted.
	AdminConsentIn []string `json:"adminConsentIn,omitempty"`
}

// SeedCredential is a client secret or certificate with dates relative to the Sim's clock.
type SeedCredential struct {
	DisplayName  string `json:"displayName"`
	StartDaysAgo int    `json:"startDaysAgo,omitempty"` // default 180
	EndsInDays   int    `json:"endsInDays"`             // negative: already expired
	Text         string `json:"text,omitempty"`         // fixed secret value (demo only)
}

// SeedResult reports what LoadSeed created, by seed key.
type SeedResult struct {
	Tenants      map[string]string     `json:"tenants"`      // key → tenant ID
	Users        map[string]string     `json:"users"`        // key → user object ID
	Applications map[string]AppCreated `json:"applications"` // key → IDs and generated secret
	// UserPrincipalNames maps user keys to their sign-in names.
	UserPrincipalNames map[string]string `json:"userPrincipalNames"`
	// TenantOf maps user and application keys to their tenant ID.
	TenantOf map[string]string `json:"tenantOf"`
}

// Summary is a human-readable list of what was created, for cmd/entrasim.
func (r SeedResult) Summary() string {
	var sb strings.Builder
	keys := make([]string, 0, len(r.Tenants))
	for k := range r.Tenants {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&sb, "tenant %-12s %s\n", k, r.Tenants[k])
	}
	keys = keys[:0]
	for k := range r.Users {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&sb, "user   %-12s %s (%s)\n", k, r.UserPrincipalNames[k], r.Users[k])
	}
	keys = keys[:0]
	for k := range r.Applications {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		a := r.Applications[k]
		fmt.Fprintf(&sb, "app    %-12s appId %s object %s tenant %s", k, a.AppID, a.ID, r.TenantOf[k])
		if a.SecretText != "" {
			fmt.Fprintf(&sb, " secret %s", a.SecretText)
		}
		sb.WriteString("\n")
	}
	return sb.String()
}

// LoadSeed creates the world a JSON Seed describes, on top of what exists.
func (s *Sim) LoadSeed(r io.Reader) (SeedResult, error) {
	var seed Seed
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&seed); err != nil {
		return SeedResult{}, fmt.Errorf("%w: seed: %v", ErrInvalid, err)
	}
	res := SeedResult{Tenants: map[string]string{}, Users: map[string]string{}, Applications: map[string]AppCreated{},
		UserPrincipalNames: map[string]string{}, TenantOf: map[string]string{}}
	now := s.Now()
	for _, st := range seed.Tenants {
		tid, err := s.createTenant(st.ID, st.DisplayName, st.Domain)
		if err != nil {
			return res, fmt.Errorf("seed tenant %q: %w", st.Key, err)
		}
		res.Tenants[st.Key] = tid
		if st.PasswordLifetimePolicy != "" {
			d, err := parseISODuration(st.PasswordLifetimePolicy)
			if err != nil {
				return res, fmt.Errorf("%w: seed tenant %q policy: %v", ErrInvalid, st.Key, err)
			}
			if err := s.SetPasswordLifetimePolicy(tid, d); err != nil {
				return res, err
			}
		}
		for _, su := range st.Users {
			id, err := s.CreateUser(tid, su.User)
			if err != nil {
				return res, fmt.Errorf("seed user %q: %w", su.Key, err)
			}
			res.Users[su.Key] = id
			res.UserPrincipalNames[su.Key] = su.UserPrincipalName
			res.TenantOf[su.Key] = tid
		}
		for _, sa := range st.Applications {
			created, err := s.CreateApplication(tid, sa.AppSpec)
			if err != nil {
				return res, fmt.Errorf("seed application %q: %w", sa.Key, err)
			}
			for _, sc := range sa.Secrets {
				start, end := seedDates(now, sc)
				if _, err := s.AddSecret(created.ID, sc.DisplayName, sc.Text, start, end); err != nil {
					return res, err
				}
			}
			for _, cc := range sa.Certificates {
				start, end := seedDates(now, cc)
				der, _, err := NewCertificate(strings.TrimPrefix(cc.DisplayName, "CN="), start, end)
				if err != nil {
					return res, err
				}
				if _, err := s.AddCertificate(created.ID, der, cc.DisplayName, start, end); err != nil {
					return res, err
				}
			}
			res.Applications[sa.Key] = created
			res.TenantOf[sa.Key] = tid
		}
	}
	// Cross references: consent in other tenants and app role assignments.
	for _, st := range seed.Tenants {
		for _, sa := range st.Applications {
			for _, tk := range sa.AdminConsentIn {
				tid, ok := res.Tenants[tk]
				if !ok {
					return res, fmt.Errorf("%w: seed application %q: unknown tenant key %q", ErrInvalid, sa.Key, tk)
				}
				if err := s.adminConsentAll(tid, res.Applications[sa.Key].AppID); err != nil {
					return res, err
				}
			}
		}
		for _, su := range st.Users {
			for _, ar := range su.AppRoles {
				app, ok := res.Applications[ar.Application]
				if !ok {
					return res, fmt.Errorf("%w: seed user %q: unknown application key %q", ErrInvalid, su.Key, ar.Application)
				}
				if err := s.AssignAppRole(res.Tenants[st.Key], res.Users[su.Key], app.AppID, ar.Role); err != nil {
					return res, fmt.Errorf("seed user %q: %w", su.Key, err)
				}
			}
		}
	}
	return res, nil
}

func seedDates(now time.Time, c SeedCredential) (time.Time, time.Time) {
	ago := c.StartDaysAgo
	if ago == 0 {
		ago = 180
	}
	return now.AddDate(0, 0, -ago), now.AddDate(0, 0, c.EndsInDays)
}

// adminConsentAll grants an application's configured permissions in a tenant, as an admin consent does.
func (s *Sim) adminConsentAll(tenantID, appID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenants[tenantID]
	app := s.appsByAppID[appID]
	if t == nil || app == nil {
		return fmt.Errorf("%w: tenant %s or application %s", ErrNotFound, tenantID, appID)
	}
	csp := t.spByAppID(appID)
	if csp == nil {
		csp = s.newSPForApp(t, app, s.now())
		csp.VisibleAt = time.Time{}
		t.sps = append(t.sps, csp)
	}
	items := adminConsentItems(app, &authRequest{Kind: "adminconsent"})
	for _, it := range items {
		rsp := t.spByAppID(it.Res.AppID)
		if !it.Role {
			t.grantScopes(csp.Data.ID, rsp.Data.ID, "", []string{it.Value})
			continue
		}
		t.assignments = append(t.assignments, &appRoleAssignment{ID: newAssignmentID(), AppRoleID: it.ID,
			CreatedDateTime: graphTime(s.now()), PrincipalDisplayName: csp.Data.DisplayName, PrincipalID: csp.Data.ID,
			PrincipalType: "ServicePrincipal", ResourceDisplayName: rsp.Data.DisplayName, ResourceID: rsp.Data.ID})
	}
	return nil
}
