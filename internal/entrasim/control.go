package entrasim

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The control API (/_sim/…) drives the emulator from scripts and other processes. It is not part of
// Entra or Graph.

func (s *Sim) serveControl(w http.ResponseWriter, r *http.Request, body []byte) {
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/_sim/"), "/"), "/")
	bad := func(err error) {
		status := http.StatusBadRequest
		switch {
		case errors.Is(err, ErrNotFound):
			status = http.StatusNotFound
		case errors.Is(err, ErrAlreadyExists):
			status = http.StatusConflict
		}
		writeJSON(w, status, map[string]string{"error": err.Error()})
	}
	decode := func(v any) bool {
		if err := json.Unmarshal(body, v); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid JSON: " + err.Error()})
			return false
		}
		return true
	}
	m := r.Method
	switch {
	case len(parts) == 1 && parts[0] == "tenants" && m == http.MethodPost:
		var req struct {
			DisplayName string `json:"displayName"`
			Domain      string `json:"domain"`
		}
		if !decode(&req) {
			return
		}
		id, err := s.CreateTenant(req.DisplayName, req.Domain)
		if err != nil {
			bad(err)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]string{"id": id})
	case len(parts) == 3 && parts[0] == "tenants" && parts[2] == "users" && m == http.MethodPost:
		var u User
		if !decode(&u) {
			return
		}
		id, err := s.CreateUser(parts[1], u)
		if err != nil {
			bad(err)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]string{"id": id})
	case len(parts) == 3 && parts[0] == "tenants" && parts[2] == "applications" && m == http.MethodPost:
		var a AppSpec
		if !decode(&a) {
			return
		}
		out, err := s.CreateApplication(parts[1], a)
		if err != nil {
			bad(err)
			return
		}
		writeJSON(w, http.StatusCreated, out)
	case len(parts) == 5 && parts[0] == "tenants" && parts[2] == "applications" && parts[4] == "roleAssignments" && m == http.MethodPost:
		var req struct {
			UserID string `json:"userId"`
			Role   string `json:"role"`
		}
		if !decode(&req) {
			return
		}
		if err := s.AssignAppRole(parts[1], req.UserID, parts[3], req.Role); err != nil {
			bad(err)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]string{})
	case len(parts) == 3 && parts[0] == "tenants" && parts[2] == "outbox" && m == http.MethodGet:
		s.mu.Lock()
		_, ok := s.tenants[parts[1]]
		s.mu.Unlock()
		if !ok {
			bad(ErrNotFound)
			return
		}
		out := s.Outbox(parts[1])
		if out == nil {
			out = []Mail{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"value": out})
	case len(parts) == 1 && parts[0] == "faults" && m == http.MethodPost:
		var f Fault
		if !decode(&f) {
			return
		}
		if err := s.AddFault(f); err != nil {
			bad(err)
			return
		}
		writeJSON(w, http.StatusCreated, f)
	case len(parts) == 1 && parts[0] == "faults" && m == http.MethodDelete:
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	case len(parts) == 1 && parts[0] == "clock" && m == http.MethodPost:
		var req struct {
			Now     *time.Time `json:"now"`
			Advance string     `json:"advance"`
		}
		if !decode(&req) {
			return
		}
		if req.Now != nil {
			s.SetNow(*req.Now)
		}
		if req.Advance != "" {
			d, err := time.ParseDuration(req.Advance)
			if err != nil {
				bad(errors.Join(ErrInvalid, err))
				return
			}
			s.Advance(d)
		}
		writeJSON(w, http.StatusOK, map[string]string{"now": s.Now().Format(time.RFC3339)})
	case len(parts) == 1 && parts[0] == "replicationLag" && m == http.MethodPost:
		var req struct {
			Lag string `json:"lag"`
		}
		if !decode(&req) {
			return
		}
		d, err := time.ParseDuration(req.Lag)
		if err != nil {
			bad(errors.Join(ErrInvalid, err))
			return
		}
		s.SetReplicationLag(d)
		writeJSON(w, http.StatusOK, map[string]string{"lag": d.String()})
	case len(parts) == 1 && parts[0] == "seed" && m == http.MethodPost:
		res, err := s.LoadSeed(strings.NewReader(string(body)))
		if err != nil {
			bad(err)
			return
		}
		writeJSON(w, http.StatusCreated, res)
	case len(parts) == 1 && parts[0] == "state" && m == http.MethodGet:
		writeJSON(w, http.StatusOK, s.State())
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown control route " + m + " " + r.URL.Path})
	}
}

// TenantState is one tenant in State.
type TenantState struct {
	ID                     string              `json:"id"`
	DisplayName            string              `json:"displayName"`
	Domain                 string              `json:"domain"`
	InitialDomain          string              `json:"initialDomain"`
	Users                  []map[string]any    `json:"users"`
	Applications           []appData           `json:"applications"`
	ServicePrincipals      []spData            `json:"servicePrincipals"`
	AppRoleAssignments     []appRoleAssignment `json:"appRoleAssignments"`
	OAuth2PermissionGrants []oauth2Grant       `json:"oauth2PermissionGrants"`
	Policy                 map[string]any      `json:"defaultAppManagementPolicy"`
	Outbox                 []Mail              `json:"outbox"`
}

// WorldState is the whole world, for GET /_sim/state.
type WorldState struct {
	Now     time.Time     `json:"now"`
	Tenants []TenantState `json:"tenants"`
	Faults  []Fault       `json:"faults"`
}

// State returns a snapshot of the whole world. Service principals of Microsoft's first-party resources
// are listed without their (long) appRoles and scopes.
func (s *Sim) State() WorldState {
	s.mu.Lock()
	defer s.mu.Unlock()
	ws := WorldState{Now: s.now(), Tenants: []TenantState{}, Faults: []Fault{}}
	for _, f := range s.faults {
		ws.Faults = append(ws.Faults, f.Fault)
	}
	for _, t := range s.tenantOrder {
		ts := TenantState{ID: t.ID, DisplayName: t.DisplayName, Domain: t.Domain, InitialDomain: t.InitialDomain,
			Users: []map[string]any{}, Applications: []appData{}, ServicePrincipals: []spData{},
			AppRoleAssignments: []appRoleAssignment{}, OAuth2PermissionGrants: []oauth2Grant{},
			Policy: policyJSON(t.policy), Outbox: slices.Clone(t.outbox)}
		if ts.Outbox == nil {
			ts.Outbox = []Mail{}
		}
		for _, u := range t.users {
			m := userJSON(u)
			var roles []string
			for _, id := range u.Roles {
				for n, x := range directoryRoleTemplates {
					if x == id {
						roles = append(roles, n)
					}
				}
			}
			m["directoryRoles"] = roles
			ts.Users = append(ts.Users, m)
		}
		for _, a := range t.apps {
			ts.Applications = append(ts.Applications, appView(a, nil))
		}
		for _, sp := range t.sps {
			d := sp.Data
			if d.AppID == GraphAppID || d.AppID == ExchangeAppID {
				d.AppRoles, d.Oauth2PermissionScopes = nil, nil
			}
			ts.ServicePrincipals = append(ts.ServicePrincipals, d)
		}
		for _, a := range t.assignments {
			ts.AppRoleAssignments = append(ts.AppRoleAssignments, *a)
		}
		for _, g := range t.grants {
			ts.OAuth2PermissionGrants = append(ts.OAuth2PermissionGrants, *g)
		}
		ws.Tenants = append(ws.Tenants, ts)
	}
	return ws
}
