package alerts

import (
	"bytes"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/safetext"
	"github.com/appreg-portal/portal/internal/store"
)

// The words of every message come from the mail and channels catalogues
// (internal/i18n/locales/*/mail.toml, channels.toml), in the language the
// recipient reads (language.go decides which). Names, key IDs and links
// are data and pass through as they are.

// RotateLink is the credential's page in the portal, where it is rotated;
// empty without a portal URL or a credential.
func RotateLink(portalURL string, credentialID int64) string {
	if portalURL == "" || credentialID == 0 {
		return ""
	}
	return strings.TrimRight(portalURL, "/") + "/credentials/" + strconv.FormatInt(credentialID, 10)
}

// subjectPrefix starts every e-mail subject: "[AppReg Portal] ".
func subjectPrefix(l *i18n.Localizer) string { return "[" + l.T("app.name") + "] " }

// stopsWorking says which product stops working when, and where: the
// sentence a reader acts on.
func stopsWorking(l *i18n.Localizer, d store.AlertDelivery, now time.Time) string {
	kind := "password"
	if d.Kind == "certificate" {
		kind = "certificate"
	}
	args := []any{"Owner", safetext.Line(d.OwnerName), "Tenant", safetext.Line(d.TenantName), "Date", l.Date(d.EndsAt)}
	if !d.EndsAt.After(now) {
		return l.T("mail.sentence.expired."+kind, args...)
	}
	return l.T("mail.sentence.expires."+kind, append(args, "When", when(l, d.EndsAt, now))...)
}

// kindName is "Client secret" or "Certificate".
func kindName(l *i18n.Localizer, kind string) string {
	if kind == "certificate" {
		return l.T("mail.kind.certificate")
	}
	return l.T("mail.kind.password")
}

// status is "Expires in 5 days" or "Expired".
func status(l *i18n.Localizer, end, now time.Time) string {
	if !end.After(now) {
		return l.T("mail.status.expired")
	}
	return l.T("mail.status.expires", "When", when(l, end, now))
}

var weekdayIDs = [7]string{"mail.weekday.sunday", "mail.weekday.monday", "mail.weekday.tuesday", "mail.weekday.wednesday",
	"mail.weekday.thursday", "mail.weekday.friday", "mail.weekday.saturday"}

// longDateTime is a moment written out, as a digest gives each expiry:
// "Monday 7 December 2026 14:05 UTC", "maandag 7 december 2026 14:05 UTC".
func longDateTime(l *i18n.Localizer, t time.Time) string {
	t = t.UTC()
	return l.T("mail.date_time", "Weekday", l.T(weekdayIDs[t.Weekday()]), "Date", l.Date(t), "Time", t.Format("15:04"))
}

var digestHTML = template.Must(template.New("digest").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family: sans-serif; line-height: 1.4">
{{if .Summary}}<p>{{.Summary}} <a href="{{.AllLink}}">{{.SeeAll}}</a>.</p>{{end}}
<p>{{.Intro}}</p>
<table style="border-collapse: collapse">
<thead><tr><th align="left">{{.ColTenant}}</th><th align="left">{{.ColApplication}}</th><th align="left">{{.ColCredential}}</th><th align="left">{{.ColExpires}}</th><th></th></tr></thead>
<tbody>
{{range .Items}}<tr>
<td translate="no">{{.Tenant}}</td><td translate="no">{{.Owner}}</td><td>{{.Kind}} <span translate="no">“{{.Name}}”</span><br><small>{{.KeyID}}</small></td>
<td>{{if .Expired}}<strong>{{.When}}</strong>{{else}}{{.When}}{{end}}<br><small>{{.Date}}</small></td>
<td>{{if .Rotate}}<a href="{{.Rotate}}">{{.RotateText}}</a>{{end}}</td>
</tr>
<tr><td colspan="5"><small>{{.Sentence}}</small></td></tr>
{{end}}</tbody></table>
<p>{{.Advice}}</p>
{{if .Dashboard}}<p><a href="{{.Dashboard}}">{{.DashboardText}}</a></p>{{end}}
<p><small>{{.Footer}}</small></p>
</body></html>
`))

type htmlItem struct {
	Tenant, Owner, Kind, Name, When, Date, Rotate, RotateText, Sentence string
	// KeyID is the "key ID …" line: the words from the catalogue, the ID marked as data.
	KeyID   template.HTML
	Expired bool
}

// DigestHTML is the HTML alternative of DigestBody: the same items, dates
// and links. html/template escapes every name a tenant's administrator
// chose; names, key IDs and links are marked translate="no".
func DigestHTML(l *i18n.Localizer, dg store.AlertDigest, now time.Time, portalURL string) string {
	data := struct {
		Lang, Subject, Summary, SeeAll, AllLink                     string
		Intro, ColTenant, ColApplication, ColCredential, ColExpires string
		Advice, Dashboard, DashboardText, Footer                    string
		Items                                                       []htmlItem
	}{Lang: string(l.Lang()), Subject: DigestSubject(l, dg, now), Intro: l.T("mail.intro"),
		ColTenant: l.T("mail.col.tenant"), ColApplication: l.T("mail.col.application"), ColCredential: l.T("mail.col.credential"),
		ColExpires: l.T("mail.col.expires"), Advice: l.T("mail.advice"), DashboardText: l.T("mail.open_dashboard"), Footer: l.T("mail.footer.html")}
	if more := dg.Total - len(dg.Items); more > 0 {
		data.Summary, data.SeeAll, data.AllLink = summary(l, dg), l.T("mail.see_all"), allLink(dg, now, portalURL)
	}
	if portalURL != "" {
		data.Dashboard = strings.TrimRight(portalURL, "/") + "/?within=30"
	}
	for _, d := range dg.Items {
		// The key ID goes in its own element, marked as data: a private-use
		// placeholder holds its place while the words are escaped.
		keyID := template.HTMLEscapeString(l.T("mail.key_id", "KeyID", "\ue0ff"))
		keyID = strings.Replace(keyID, "\ue0ff", `<span translate="no">`+template.HTMLEscapeString(safetext.Line(d.KeyID))+`</span>`, 1)
		data.Items = append(data.Items, htmlItem{Tenant: safetext.Line(d.TenantName), Owner: safetext.Line(d.OwnerName), Kind: kindName(l, d.Kind),
			Name: safetext.Line(d.DisplayName), KeyID: template.HTML(keyID), When: status(l, d.EndsAt, now), // #nosec G203 -- both parts escaped above
			Date: longDateTime(l, d.EndsAt), Rotate: RotateLink(portalURL, d.CredentialID), RotateText: l.T("mail.rotate_it"),
			Sentence: stopsWorking(l, d, now), Expired: !d.EndsAt.After(now)})
	}
	var b bytes.Buffer
	if err := digestHTML.Execute(&b, data); err != nil {
		// The template is fixed and the data plain strings: this cannot fail at run time.
		panic(err)
	}
	return b.String()
}

// summary counts what a digest holds beyond the items it lists.
func summary(l *i18n.Localizer, dg store.AlertDigest) string {
	return l.N("mail.summary", dg.Total, "Expired", dg.Expired, "Listed", len(dg.Items), "More", dg.Total-len(dg.Items))
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

// DigestSubject is Subject for a digest, counting every credential in it,
// not only those it lists.
func DigestSubject(l *i18n.Localizer, dg store.AlertDigest, now time.Time) string {
	if dg.Total <= len(dg.Items) {
		return Subject(l, dg.Items, now)
	}
	first := dg.Items[0]
	if dg.Expired > 0 {
		return subjectPrefix(l) + l.N("mail.subject.expired", dg.Total-1, "Expired", dg.Expired, "Owner", safetext.Line(first.OwnerName))
	}
	return subjectPrefix(l) + l.N("mail.subject.soon", dg.Total, "Owner", safetext.Line(first.OwnerName), "When", when(l, first.EndsAt, now))
}

// DigestBody is Body for the listed credentials, preceded, when the digest
// holds more than it lists, by a summary of the rest with a link to the
// dashboard filtered to them.
func DigestBody(l *i18n.Localizer, dg store.AlertDigest, now time.Time, portalURL string) string {
	body := Body(l, dg.Items, now, portalURL)
	if dg.Total-len(dg.Items) <= 0 {
		return body
	}
	return summary(l, dg) + " " + l.T("mail.see_all_at", "Link", allLink(dg, now, portalURL)) + "\n\n" + body
}

// Subject names the most urgent item of a digest.
func Subject(l *i18n.Localizer, ds []store.AlertDelivery, now time.Time) string {
	expired, soonest := 0, ds[0]
	for _, d := range ds {
		if !d.EndsAt.After(now) {
			expired++
		}
		if d.EndsAt.Before(soonest.EndsAt) {
			soonest = d
		}
	}
	owner := safetext.Line(soonest.OwnerName)
	switch {
	case expired > 0:
		return subjectPrefix(l) + l.N("mail.subject.expired", len(ds)-1, "Expired", expired, "Owner", owner)
	case len(ds) == 1:
		return subjectPrefix(l) + l.T("mail.subject.one", "Tenant", safetext.Line(soonest.TenantName), "Owner", owner, "When", when(l, soonest.EndsAt, now))
	}
	return subjectPrefix(l) + l.N("mail.subject.soon", len(ds), "Owner", owner, "When", when(l, soonest.EndsAt, now))
}

// Body is the plain-text digest. It names tenants, applications, key IDs
// and dates; it never carries a secret or any part of one.
func Body(l *i18n.Localizer, ds []store.AlertDelivery, now time.Time, portalURL string) string {
	var b strings.Builder
	b.WriteString(l.T("mail.intro") + "\n\n")
	for _, d := range ds {
		// Every name comes from a tenant's administrator: one line each, so
		// none can add lines (or "instructions") to the mail.
		b.WriteString("- " + safetext.Line(d.TenantName) + " — " + safetext.Line(d.OwnerName) + "\n  ")
		b.WriteString(l.T("mail.text.credential", "Kind", kindName(l, d.Kind), "Name", strconv.Quote(safetext.Line(d.DisplayName)),
			"KeyID", safetext.Line(d.KeyID), "AppID", safetext.Line(d.OwnerAppID)) + "\n  ")
		b.WriteString(status(l, d.EndsAt, now) + ": " + longDateTime(l, d.EndsAt) + "\n  " + stopsWorking(l, d, now) + "\n")
		if link := RotateLink(portalURL, d.CredentialID); link != "" {
			b.WriteString("  " + l.T("mail.rotate_it") + ": " + link + "\n")
		}
		b.WriteString("\n")
	}
	b.WriteString(l.T("mail.advice") + "\n")
	if portalURL != "" {
		b.WriteString("\n" + l.T("mail.dashboard") + ": " + strings.TrimRight(portalURL, "/") + "/?within=30\n")
	}
	b.WriteString("\n" + l.T("mail.footer.text") + "\n")
	return b.String()
}

// when is how far off an expiry is: "in 5 days", "tomorrow", "now".
func when(l *i18n.Localizer, end, now time.Time) string {
	d := end.Sub(now)
	days := int(d.Hours() / 24)
	switch {
	case d <= 0:
		return l.T("mail.when.now")
	case days == 0:
		return l.T("mail.when.within_a_day")
	case days == 1:
		return l.T("mail.when.tomorrow")
	}
	return l.N("mail.when.in_days", days)
}
