package alerts

import (
	"bytes"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/appreg-portal/portal/internal/safetext"
	"github.com/appreg-portal/portal/internal/store"
)

// RotateLink is the credential's page in the portal, where it is rotated;
// empty without a portal URL or a credential.
func RotateLink(portalURL string, credentialID int64) string {
	if portalURL == "" || credentialID == 0 {
		return ""
	}
	return strings.TrimRight(portalURL, "/") + "/credentials/" + strconv.FormatInt(credentialID, 10)
}

// stopsWorking says which product stops working when, and where: the
// sentence a reader acts on.
func stopsWorking(d store.AlertDelivery, now time.Time) string {
	what := "client secret"
	if d.Kind == "certificate" {
		what = "certificate"
	}
	if !d.EndsAt.After(now) {
		return fmt.Sprintf("%s has stopped signing in to tenant %s: its %s expired on %s.",
			safetext.Line(d.OwnerName), safetext.Line(d.TenantName), what, d.EndsAt.UTC().Format("2 January 2006"))
	}
	return fmt.Sprintf("%s stops signing in to tenant %s %s, on %s, when its %s expires.",
		safetext.Line(d.OwnerName), safetext.Line(d.TenantName), when(d.EndsAt, now), d.EndsAt.UTC().Format("2 January 2006"), what)
}

var digestHTML = template.Must(template.New("digest").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family: sans-serif; line-height: 1.4">
{{if .More}}<p>{{.Total}} client secrets and certificates need attention ({{.Expired}} of them expired). The {{len .Items}} most urgent are listed below; {{.More}} more are not: <a href="{{.AllLink}}">see them all</a>.</p>{{end}}
<p>These client secrets and certificates need a new one before they stop working:</p>
<table style="border-collapse: collapse">
<thead><tr><th align="left">Tenant</th><th align="left">Application</th><th align="left">Credential</th><th align="left">Expires</th><th></th></tr></thead>
<tbody>
{{range .Items}}<tr>
<td>{{.Tenant}}</td><td>{{.Owner}}</td><td>{{.Kind}} “{{.Name}}”<br><small>key ID {{.KeyID}}</small></td>
<td>{{if .Expired}}<strong>Expired</strong>{{else}}{{.When}}{{end}}<br><small>{{.Date}}</small></td>
<td>{{if .Rotate}}<a href="{{.Rotate}}">Rotate it</a>{{end}}</td>
</tr>
<tr><td colspan="5"><small>{{.Sentence}}</small></td></tr>
{{end}}</tbody></table>
<p>Rotate each one in the portal or the Entra admin center, then enter the new value in the product that uses it.</p>
{{if .Dashboard}}<p><a href="{{.Dashboard}}">Open the dashboard</a></p>{{end}}
<p><small>You get this e-mail because you are on the portal's alert list. Each alert is sent once per threshold.</small></p>
</body></html>
`))

type htmlItem struct {
	Tenant, Owner, Kind, Name, KeyID, When, Date, Rotate, Sentence string
	Expired                                                        bool
}

// DigestHTML is the HTML alternative of DigestBody: the same items, dates
// and links. html/template escapes every name a tenant's administrator
// chose.
func DigestHTML(dg store.AlertDigest, now time.Time, portalURL string) string {
	data := struct {
		Subject              string
		Total, Expired, More int
		AllLink, Dashboard   string
		Items                []htmlItem
	}{Subject: DigestSubject(dg, now), Total: dg.Total, Expired: dg.Expired, More: dg.Total - len(dg.Items), AllLink: allLink(dg, now, portalURL)}
	if portalURL != "" {
		data.Dashboard = strings.TrimRight(portalURL, "/") + "/?within=30"
	}
	for _, d := range dg.Items {
		kind := "Client secret"
		if d.Kind == "certificate" {
			kind = "Certificate"
		}
		data.Items = append(data.Items, htmlItem{Tenant: safetext.Line(d.TenantName), Owner: safetext.Line(d.OwnerName), Kind: kind,
			Name: safetext.Line(d.DisplayName), KeyID: safetext.Line(d.KeyID), When: "Expires " + when(d.EndsAt, now),
			Date: d.EndsAt.UTC().Format("Monday 2 January 2006 15:04 UTC"), Rotate: RotateLink(portalURL, d.CredentialID),
			Sentence: stopsWorking(d, now), Expired: !d.EndsAt.After(now)})
	}
	var b bytes.Buffer
	if err := digestHTML.Execute(&b, data); err != nil {
		// The template is fixed and the data plain strings: this cannot fail at run time.
		panic(err)
	}
	return b.String()
}

// allLink is the dashboard filtered to what a digest summarises.
func allLink(dg store.AlertDigest, now time.Time, portalURL string) string {
	within := "90"
	if !dg.LatestEnd.After(now.Add(30 * 24 * time.Hour)) {
		within = "30"
	}
	link := "/?within=" + within
	if dg.TenantID != 0 {
		link = "/?tenant=" + strconv.FormatInt(dg.TenantID, 10) + "&within=" + within
	}
	if portalURL != "" {
		link = strings.TrimRight(portalURL, "/") + link
	}
	return link
}
