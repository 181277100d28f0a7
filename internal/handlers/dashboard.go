package handlers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/auth"
	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/web/templates"
)

type tenantLister interface {
	ListTenants(ctx context.Context) ([]store.Tenant, error)
	TenantChoices(ctx context.Context) ([]store.TenantChoice, error)
	TenantsVersion(ctx context.Context) (count int, version string, err error)
}

// tenantOptionsCache keeps the dashboard's tenant filter options rendered
// for one version of the tenants table: at a thousand tenants, reading and
// rendering them on every view was most of the page's cost. Each view
// still asks the database for the version, so every replica shows a new or
// renamed tenant on the next view.
type tenantOptionsCache struct {
	mu       sync.Mutex
	version  string
	rendered []byte
}

// tenantOptions returns the number of tenants and their options rendered.
func (h *Handler) tenantOptions(ctx context.Context) (int, []byte, error) {
	n, version, err := h.tenants.TenantsVersion(ctx)
	if err != nil {
		return 0, nil, err
	}
	c := &h.tenantOpts
	c.mu.Lock()
	if c.version == version {
		defer c.mu.Unlock()
		return n, c.rendered, nil
	}
	c.mu.Unlock()
	choices, err := h.tenants.TenantChoices(ctx)
	if err != nil {
		return 0, nil, err
	}
	opts := make([]templates.Option, len(choices))
	for i, t := range choices {
		opts[i] = templates.Option{Value: strconv.FormatInt(t.ID, 10), Label: t.DisplayName}
	}
	var buf bytes.Buffer
	if err := templates.TenantOptions(opts).Render(ctx, &buf); err != nil {
		return 0, nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// The tenants read may be newer than version, never older: keeping it under version is safe.
	c.version, c.rendered = version, buf.Bytes()
	return n, c.rendered, nil
}

// credentialLister reads the credential inventory.
type credentialLister interface {
	ListCredentials(ctx context.Context, f store.CredentialFilter) ([]store.Credential, error)
	EachCredential(ctx context.Context, f store.CredentialFilter, fn func(store.Credential) error) error
	CredentialSummary(ctx context.Context, tenantID int64, now time.Time) (store.ExpirySummary, []store.ExpiryMonth, error)
}

// dashboardRows is one page of the dashboard's list; "Later →" pages on by
// keyset, so every page costs the same however far it is.
const dashboardRows = 50

// listTarget is the list fragment's id: an htmx request that targets it
// (the pager) gets only the list, without counts or timeline.
const listTarget = "credential-list"

func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	now := h.now()
	q := r.URL.Query()
	f, err := credentialFilter(q, now)
	if err != nil {
		return err
	}
	if v := q.Get("after"); v != "" {
		if f.After, err = strconv.ParseInt(v, 10, 64); err != nil || f.After <= 0 {
			return errBadRequest("dashboard.error.bad_page")
		}
	}
	d := templates.DashboardData{Tenant: q.Get("tenant"), Within: q.Get("within")}
	if err := h.dashboardRows(ctx, &d, f, now); err != nil {
		return err
	}
	if r.Header.Get("HX-Target") == listTarget {
		h.render(w, r, http.StatusOK, templates.CredentialList(d))
		return nil
	}
	tenants, options, err := h.tenantOptions(ctx)
	if err != nil {
		return err
	}
	d.TenantOptions = templates.SelectedOption(options, d.Tenant)
	// The figures are for the filter's tenant (all when none), so they agree with the list.
	sum, months, err := h.credentials.CredentialSummary(ctx, f.TenantID, now)
	if err != nil {
		return err
	}
	d.Tenants, d.Expired, d.Within30, d.Within90, d.Tracked = tenants, sum.Expired, sum.Within30, sum.Within90, sum.Total
	switch d.Within {
	case "30":
		d.Matching = sum.Expired + sum.Within30
	case "90":
		d.Matching = sum.Expired + sum.Within90
	default:
		d.Matching = sum.Total
	}
	highest := 0
	for _, m := range months {
		highest = max(highest, m.Count)
	}
	for i, m := range months {
		pct := 0
		if highest > 0 {
			pct = int(math.Round(float64(m.Count)/float64(highest)*20)) * 5
		}
		d.Months = append(d.Months, templates.MonthBar{Label: i18n.From(ctx).Month(m.Month), Count: m.Count, Percent: pct, Soon: i < 2 && m.Count > 0})
	}
	h.render(w, r, http.StatusOK, templates.DashboardPage(h.page(r, i18n.T(ctx, "nav.dashboard"), templates.SectionDashboard), d))
	return nil
}

// dashboardRows fills in one page of the list and its pager links.
func (h *Handler) dashboardRows(ctx context.Context, d *templates.DashboardData, f store.CredentialFilter, now time.Time) error {
	f.Limit = dashboardRows + 1
	creds, err := h.credentials.ListCredentials(ctx, f)
	if err != nil {
		return err
	}
	page := url.Values{}
	if d.Tenant != "" {
		page.Set("tenant", d.Tenant)
	}
	if d.Within != "" {
		page.Set("within", d.Within)
	}
	if f.After != 0 {
		d.FirstHref = "/?" + page.Encode()
	}
	if len(creds) > dashboardRows {
		creds = creds[:dashboardRows]
		page.Set("after", strconv.FormatInt(creds[len(creds)-1].ID, 10))
		d.NextHref = "/?" + page.Encode()
	}
	canRotate := auth.Rank(userFrom(ctx).Role) >= auth.Rank(auth.RoleOperator)
	open := map[string]store.Rotation{}
	if canRotate && h.rotations != nil {
		if open, err = h.rotations.OpenRotations(ctx); err != nil {
			return err
		}
	}
	for _, c := range creds {
		row := localRow(ctx, c, now)
		row.ID, row.KeyID = strconv.FormatInt(c.ID, 10), c.KeyID
		credentialActions(&row, c, canRotate, open)
		d.Rows = append(d.Rows, row)
	}
	return nil
}

// credentialFilter reads the dashboard's filter: a tenant and a window.
// "Within 30 days" means ending at or before now + 30 days, expired ones
// included, exactly what the Expired and Within30 figures count.
func credentialFilter(q url.Values, now time.Time) (store.CredentialFilter, error) {
	var f store.CredentialFilter
	if v := q.Get("tenant"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return f, errBadRequest("dashboard.error.bad_tenant")
		}
		f.TenantID = id
	}
	switch q.Get("within") {
	case "":
	case "30":
		f.EndsBy = now.Add(30 * 24 * time.Hour)
	case "90":
		f.EndsBy = now.Add(90 * 24 * time.Hour)
	default:
		return f, errBadRequest("dashboard.error.bad_within")
	}
	return f, nil
}

// eachExported calls fn for every live credential matching the
// dashboard's filter, as the rows arrive from the database: an export of
// any size streams in constant memory, and nothing is cut off. The filter
// is checked before anything is written, so a bad one is still a plain
// error page.
func (h *Handler) eachExported(r *http.Request, now time.Time) (func(fn func(store.Credential) error) error, error) {
	f, err := credentialFilter(r.URL.Query(), now)
	if err != nil {
		return nil, err
	}
	return func(fn func(store.Credential) error) error { return h.credentials.EachCredential(r.Context(), f, fn) }, nil
}

// abortExport ends a download whose headers are already sent: the client
// sees a broken transfer, never a file that looks complete but is not.
func (h *Handler) abortExport(r *http.Request, err error) {
	if r.Context().Err() == nil {
		h.log.WarnContext(r.Context(), "export cut short", "request_id", RequestID(r.Context()), "err", err)
	}
	panic(http.ErrAbortHandler)
}

// errClientGone stops an export whose client stopped reading.
var errClientGone = errors.New("handlers: export client went away")

// finishExport ends an export after the last row: a client that went away
// is not an error, a database error mid-way breaks the transfer.
func (h *Handler) finishExport(r *http.Request, err error) error {
	if err != nil && !errors.Is(err, errClientGone) {
		h.abortExport(r, err)
	}
	return nil
}

// credentialsCSV exports the inventory with the dashboard's filter, for
// spreadsheets and change tickets. It holds no secret values. Rows stream
// from the database to the client; there is no cap.
func (h *Handler) credentialsCSV(w http.ResponseWriter, r *http.Request) error {
	now := h.now()
	each, err := h.eachExported(r, now)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="credentials-`+now.UTC().Format("20060102")+`.csv"`)
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"tenant", "application", "owner_kind", "application_id", "object_id", "kind", "name", "key_id", "starts_at", "ends_at", "days_left", "state"}); err != nil {
		return nil // the client went away
	}
	rec := make([]string, 12)
	err = each(func(c store.Credential) error {
		row := credentialRow(c, now)
		starts := ""
		if c.StartsAt != nil {
			starts = c.StartsAt.UTC().Format(time.RFC3339)
		}
		// Text from Graph is defused; days_left is a number the portal wrote, and a
		// spreadsheet must read "-10" as minus ten, not as the text "'-10".
		rec = append(rec[:0], csvSafe(c.TenantName), csvSafe(c.OwnerName), c.OwnerKind, csvSafe(c.OwnerAppID), csvSafe(c.OwnerObjectID), c.Kind,
			csvSafe(c.DisplayName), csvSafe(c.KeyID), starts, c.EndsAt.UTC().Format(time.RFC3339), strconv.Itoa(row.Days), row.State)
		if err := cw.Write(rec); err != nil {
			return errClientGone
		}
		return nil
	})
	cw.Flush()
	return h.finishExport(r, err)
}

// credentialJSON is one credential in the JSON export.
type credentialJSON struct {
	Tenant        string     `json:"tenant"`
	Application   string     `json:"application"`
	OwnerKind     string     `json:"ownerKind"`
	ApplicationID string     `json:"applicationId"`
	ObjectID      string     `json:"objectId"`
	Kind          string     `json:"kind"`
	Name          string     `json:"name"`
	KeyID         string     `json:"keyId"`
	StartsAt      *time.Time `json:"startsAt,omitempty"`
	EndsAt        time.Time  `json:"endsAt"`
	DaysLeft      int        `json:"daysLeft"`
	State         string     `json:"state"`
}

// credentialsJSON exports the inventory for scripts, with the dashboard's
// filter: {"generatedAt": …, "credentials": [ … ]}, indented, written one
// credential at a time as the rows arrive.
func (h *Handler) credentialsJSON(w http.ResponseWriter, r *http.Request) error {
	now := h.now()
	each, err := h.eachExported(r, now)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="credentials-`+now.UTC().Format("20060102")+`.json"`)
	bw := bufio.NewWriterSize(w, 32<<10)
	stamp, _ := json.Marshal(now.UTC()) // a time always marshals
	bw.WriteString("{\n  \"generatedAt\": " + string(stamp) + ",\n  \"credentials\": [")
	n := 0
	err = each(func(c store.Credential) error {
		row := credentialRow(c, now)
		b, err := json.MarshalIndent(credentialJSON{Tenant: c.TenantName, Application: c.OwnerName, OwnerKind: c.OwnerKind,
			ApplicationID: c.OwnerAppID, ObjectID: c.OwnerObjectID, Kind: c.Kind, Name: c.DisplayName, KeyID: c.KeyID,
			StartsAt: c.StartsAt, EndsAt: c.EndsAt.UTC(), DaysLeft: row.Days, State: row.State}, "    ", "  ")
		if err != nil {
			return err
		}
		if n > 0 {
			bw.WriteByte(',')
		}
		n++
		bw.WriteString("\n    ")
		if _, err := bw.Write(b); err != nil {
			return errClientGone
		}
		return nil
	})
	if err == nil {
		if n > 0 {
			bw.WriteString("\n  ")
		}
		bw.WriteString("]\n}\n")
		bw.Flush() // an error here is a client that went away
	}
	return h.finishExport(r, err)
}

// credentialsICS exports expiry dates as an iCalendar file to import into a
// calendar: one all-day event per live credential, with reminders 14 and 2
// days before. It is a download for the signed-in user, not a subscription
// URL, so no token ever travels in a link. Events stream as the rows arrive.
func (h *Handler) credentialsICS(w http.ResponseWriter, r *http.Request) error {
	now := h.now()
	each, err := h.eachExported(r, now)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Disposition", `attachment; filename="credential-expiry.ics"`)
	return h.writeICS(w, r, i18n.From(r.Context()), each, now)
}

// writeICS streams the calendar of credentials that have not expired: one
// all-day event on each expiry day, with reminders 14 and 2 days before.
// Its words are in l's language: the request's for a download, the
// owner's for a subscription (a calendar service has no language).
func (h *Handler) writeICS(w http.ResponseWriter, r *http.Request, l *i18n.Localizer, each func(fn func(store.Credential) error) error, now time.Time) error {
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	bw := bufio.NewWriterSize(w, 32<<10)
	line := func(s string) { bw.WriteString(icsFold(s)); bw.WriteString("\r\n") }
	line("BEGIN:VCALENDAR")
	line("VERSION:2.0")
	line("PRODID:-//AppReg Portal//Credential expiry//EN")
	line("CALSCALE:GREGORIAN")
	line("X-WR-CALNAME:" + icsText(l.T("ics.calendar_name")))
	stamp := now.UTC().Format("20060102T150405Z")
	err := each(func(c store.Credential) error {
		if !c.EndsAt.After(now) {
			return nil // already expired: nothing to plan
		}
		kind := l.T(kindID(c.Kind))
		day := c.EndsAt.UTC()
		line("BEGIN:VEVENT")
		line("UID:" + c.KeyID + "@" + h.baseURL.Hostname())
		line("DTSTAMP:" + stamp)
		line("DTSTART;VALUE=DATE:" + day.Format("20060102"))
		line("DTEND;VALUE=DATE:" + day.AddDate(0, 0, 1).Format("20060102"))
		line("SUMMARY:" + icsText(l.T("ics.summary", "Kind", kind, "Owner", c.OwnerName, "Tenant", c.TenantName)))
		line("DESCRIPTION:" + icsText(l.T("ics.description", "Kind", kind, "Name", c.DisplayName, "Owner", c.OwnerName, "Tenant", c.TenantName,
			"When", l.DateTime(day), "KeyID", c.KeyID, "URL", h.baseURL.JoinPath("/credentials", strconv.FormatInt(c.ID, 10)).String())))
		line("URL:" + h.baseURL.JoinPath("/credentials", strconv.FormatInt(c.ID, 10)).String())
		for _, before := range []string{"-P14D", "-P2D"} {
			line("BEGIN:VALARM")
			line("ACTION:DISPLAY")
			line("DESCRIPTION:" + icsText(l.T("ics.alarm", "Kind", kind, "Owner", c.OwnerName)))
			line("TRIGGER:" + before)
			line("END:VALARM")
		}
		line("END:VEVENT")
		if _, err := bw.Write(nil); err != nil { // a bufio.Writer keeps its first write error
			return errClientGone
		}
		return nil
	})
	if err == nil {
		line("END:VCALENDAR")
		bw.Flush() // an error here is a client that went away
	}
	return h.finishExport(r, err)
}

// icsText escapes a TEXT value (RFC 5545 §3.3.11).
func icsText(s string) string {
	return strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\n", `\n`, "\r", "").Replace(s)
}

// icsFold folds a content line at 75 octets (RFC 5545 §3.1), never inside
// a UTF-8 character.
func icsFold(s string) string {
	if len(s) <= 75 {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		size := utf8.RuneLen(r)
		if n+size > 75 {
			b.WriteString("\r\n ")
			n = 1
		}
		b.WriteRune(r)
		n += size
	}
	return b.String()
}

// localRow is credentialRow in the request's language: the kinds in words
// and the end as a date of that language.
func localRow(ctx context.Context, c store.Credential, now time.Time) templates.CredentialRow {
	row := credentialRow(c, now)
	row.Kind, row.OwnerKind, row.Ends = i18n.T(ctx, kindID(c.Kind)), i18n.T(ctx, ownerKindID(c.OwnerKind)), i18n.DateTime(ctx, c.EndsAt)
	return row
}

// kindID is the message naming a credential's kind.
func kindID(kind string) string {
	if kind == "certificate" {
		return "dashboard.kind.certificate"
	}
	return "dashboard.kind.secret"
}

// ownerKindID is the message naming what owns a credential.
func ownerKindID(ownerKind string) string {
	if ownerKind == "service_principal" {
		return "dashboard.owner.enterprise_app"
	}
	return "dashboard.owner.app_registration"
}

// credentialRow is a credential's row with its state and days left; its
// words are English (localRow puts them in the request's language).
func credentialRow(c store.Credential, now time.Time) templates.CredentialRow {
	// Whole days, rounded towards now: "in 11 days" until 12 full days are left, "expired 3 days ago" from 3 full days on.
	left := c.EndsAt.Sub(now).Hours() / 24
	days := int(math.Floor(left))
	if left < 0 {
		days = -int(math.Floor(-left))
	}
	row := templates.CredentialRow{Tenant: c.TenantName, Owner: c.OwnerName, OwnerKind: "App registration", Kind: "Client secret",
		Name: c.DisplayName, Hint: c.Hint, Ends: c.EndsAt.UTC().Format("2 Jan 2006 15:04 UTC"), Days: days, State: "later"}
	if c.OwnerKind == "service_principal" {
		row.OwnerKind = "Enterprise application"
	}
	if c.Kind == "certificate" {
		row.Kind = "Certificate"
	}
	switch {
	case !c.EndsAt.After(now):
		row.State = "expired"
	case days <= 30:
		row.State = "soon"
	}
	return row
}

// AlertSettings is what the alerts page shows of the configuration.
type AlertSettings struct {
	Enabled    bool
	From       string
	Recipients []string
	Thresholds []int
}

type deliveryLister interface {
	RecentDeliveries(ctx context.Context, limit int) ([]store.AlertDelivery, error)
}

func (h *Handler) alertsPage(w http.ResponseWriter, r *http.Request) error {
	d, err := h.alertsData(r)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, templates.AlertsPage(h.page(r, i18n.T(r.Context(), "nav.alerts"), templates.SectionAlerts), d))
	return nil
}

// alertReasonText is a delivery's stored failure reason in words.
func alertReasonText(reason string) string { return alerts.ReasonText(reason) }

// thresholdsText says "60, 30 and 7 days before expiry, and on expiry".
func thresholdsText(ts []int) string {
	var days []string
	onExpiry := false
	for _, t := range ts {
		if t == 0 {
			onExpiry = true
			continue
		}
		days = append(days, strconv.Itoa(t))
	}
	out := ""
	switch len(days) {
	case 0:
	case 1:
		out = days[0] + " days before expiry"
	default:
		out = strings.Join(days[:len(days)-1], ", ") + " and " + days[len(days)-1] + " days before expiry"
	}
	if onExpiry {
		if out != "" {
			out += ", and "
		}
		out += "on the day of expiry"
	}
	if out == "" {
		out = "before secrets expire"
	}
	return out
}
