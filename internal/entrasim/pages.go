package entrasim

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

// The pages are plain, accessible HTML: one labelled button per account, real form controls that work with
// the keyboard, and data-testid attributes for browser tests.

const pageHead = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} – Entra ID emulator</title>
<style>
body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
button{display:block;width:100%;text-align:left;padding:.75rem;margin:.5rem 0;font-size:1rem;border:1px solid #8a8886;background:#fff;border-radius:2px;cursor:pointer}
button:focus{outline:3px solid #0067b8;outline-offset:2px}
button.primary{background:#0067b8;color:#fff;text-align:center}
button.hinted{border:2px solid #0067b8}
.upn{display:block;color:#605e5c;font-size:.875rem}
fieldset{border:0;padding:0;margin:1rem 0}
legend{font-weight:600}
.error{color:#a80000}
</style></head>
<body><main>
`

const pageFoot = `</main></body></html>`

var signInTmpl = template.Must(template.New("signin").Parse(pageHead + `
<h1>Pick an account</h1>
<p>Sign in to <strong>{{.AppName}}</strong>. This is the Entra ID emulator: no passwords.</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="req" value="{{.Req}}">
{{range .Groups}}<fieldset data-testid="signin-tenant-{{.Domain}}">
<legend>{{.Name}}</legend>
{{range .Users}}<button type="submit" name="user" value="{{.ID}}" data-testid="signin-user-{{.UPN}}" aria-label="Sign in as {{.Name}} ({{.UPN}})"{{if .Hinted}} autofocus class="hinted"{{end}}>{{.Name}}<span class="upn">{{.UPN}}</span></button>
{{end}}</fieldset>
{{else}}<p class="error" role="alert">There are no users to sign in with.</p>
{{end}}</form>
` + pageFoot))

type signInUser struct {
	ID, Name, UPN string
	Hinted        bool // named by login_hint: listed first and focused
}
type signInGroup struct {
	Name, Domain string
	Users        []signInUser
}

func (s *Sim) renderSignIn(w http.ResponseWriter, ar *authRequest) {
	s.mu.Lock()
	var groups []signInGroup
	for _, t := range s.tenantOrder {
		if ar.TenantID != "" && t.ID != ar.TenantID {
			continue
		}
		g := signInGroup{Name: t.DisplayName, Domain: t.Domain}
		for _, u := range t.users {
			su := signInUser{ID: u.ID, Name: u.DisplayName, UPN: u.UserPrincipalName,
				Hinted: ar.LoginHint != "" && strings.EqualFold(ar.LoginHint, u.UserPrincipalName)}
			if su.Hinted {
				g.Users = append([]signInUser{su}, g.Users...)
			} else {
				g.Users = append(g.Users, su)
			}
		}
		if len(g.Users) > 0 {
			groups = append(groups, g)
		}
	}
	appName := ar.ClientID
	if app := s.appsByAppID[ar.ClientID]; app != nil {
		appName = app.Data.DisplayName
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	err := signInTmpl.Execute(w, map[string]any{"Title": "Sign in", "AppName": appName, "Req": ar.ID,
		"Action": "/" + url.PathEscape(ar.TenantSeg) + "/login", "Groups": groups})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

var consentTmpl = template.Must(template.New("consent").Parse(pageHead + `
<h1>Permissions requested</h1>
<p><strong>{{.AppName}}</strong> ({{.Publisher}}) wants to:</p>
<ul data-testid="consent-permissions">
{{range .Items}}<li>{{.}}</li>
{{end}}</ul>
<p>Signed in as {{.UserName}} ({{.UPN}}).</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="req" value="{{.Req}}">
<input type="hidden" name="user" value="{{.UserID}}">
{{if .ShowOrg}}<p><input type="checkbox" id="consent-org" name="org" data-testid="consent-org"{{if .OrgChecked}} checked{{end}}>
<label for="consent-org">Consent on behalf of your organization</label></p>{{end}}
<button type="submit" class="primary" name="action" value="accept" data-testid="consent-accept">Accept</button>
<button type="submit" name="action" value="cancel" data-testid="consent-cancel">Cancel</button>
</form>
` + pageFoot))

func (s *Sim) renderConsent(w http.ResponseWriter, ar *authRequest, u *user, app *application, needs []scopeNeed, isAdmin bool) {
	var items []string
	for _, n := range needs {
		if p, ok := n.res.scope(n.value); ok {
			items = append(items, fmt.Sprintf("%s (%s: %s)", p.DisplayName, n.res.DisplayName, p.Value))
		}
	}
	s.renderConsentPage(w, ar, u, app, items, isAdmin, ar.Prompt == "consent" && isAdmin)
}

func (s *Sim) renderAdminConsent(w http.ResponseWriter, ar *authRequest, u *user, app *application, items []consentItem) {
	var labels []string
	for _, it := range items {
		kind := "delegated"
		if it.Role {
			kind = "application"
		}
		labels = append(labels, fmt.Sprintf("%s (%s %s permission: %s)", it.Label, it.Res.DisplayName, kind, it.Value))
	}
	s.renderConsentPage(w, ar, u, app, labels, false, false)
}

func (s *Sim) renderConsentPage(w http.ResponseWriter, ar *authRequest, u *user, app *application, items []string, showOrg, orgChecked bool) {
	s.mu.Lock()
	publisher := app.Data.PublisherDomain
	name := app.Data.DisplayName
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	err := consentTmpl.Execute(w, map[string]any{"Title": "Permissions requested", "AppName": name, "Publisher": publisher,
		"Items": items, "UserName": u.DisplayName, "UPN": u.UserPrincipalName, "UserID": u.ID, "Req": ar.ID,
		"Action": "/" + url.PathEscape(ar.TenantSeg) + "/consent", "ShowOrg": showOrg, "OrgChecked": orgChecked})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

var formPostTmpl = template.Must(template.New("formpost").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Working...</title></head>
<body onload="document.forms[0].submit()"><form method="post" action="{{.Action}}">
{{range $k, $v := .Values}}<input type="hidden" name="{{$k}}" value="{{index $v 0}}">
{{end}}<noscript><p>Script is disabled. Click Submit to continue.</p><button type="submit">Submit</button></noscript>
</form></body></html>`))

func renderFormPost(w http.ResponseWriter, action string, v url.Values) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := formPostTmpl.Execute(w, map[string]any{"Action": template.URL(action), "Values": v}); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

var messageTmpl = template.Must(template.New("msg").Parse(pageHead + `
<h1>{{.Title}}</h1>
<p data-testid="{{.TestID}}" {{if .IsError}}class="error" role="alert"{{end}}>{{.Message}}</p>
` + pageFoot))

func renderPage(w http.ResponseWriter, status int, title, message, testID string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = messageTmpl.Execute(w, map[string]any{"Title": title, "Message": message, "TestID": testID, "IsError": status >= 400}) // headers sent
}

// errorPage is shown when an error cannot go back to the application (unknown client, untrusted redirect
// URI), as Entra shows its own error page.
func (s *Sim) errorPage(w http.ResponseWriter, status, aadsts int, title, msg string) {
	if aadsts != 0 {
		msg = fmt.Sprintf("AADSTS%d: %s", aadsts, msg)
	}
	renderPage(w, status, title, msg, "error-message")
}

var deviceTmpl = template.Must(template.New("device").Parse(pageHead + `
<h1>Enter code</h1>
<p>Enter the code displayed on your app or device.</p>
{{if .Err}}<p class="error" role="alert">{{.Err}}</p>{{end}}
<form method="post" action="/devicelogin">
<label for="otc">Code</label>
<input id="otc" name="otc" autocomplete="off" data-testid="device-code" required>
<button type="submit" class="primary" data-testid="device-next">Next</button>
</form>
` + pageFoot))

func renderDeviceForm(w http.ResponseWriter, errMsg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = deviceTmpl.Execute(w, map[string]any{"Title": "Enter code", "Err": strings.TrimSpace(errMsg)}) // headers sent
}
