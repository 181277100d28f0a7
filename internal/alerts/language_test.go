package alerts_test

import (
	"context"
	"encoding/json"
	"net"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/mailtest"
	"github.com/appreg-portal/portal/internal/pgtest"
	"github.com/appreg-portal/portal/internal/store"
)

// missingIDs collects message IDs a Localizer did not find.
type missingIDs struct {
	mu  sync.Mutex
	ids []string
}

func (m *missingIDs) localizer(l i18n.Lang) *i18n.Localizer {
	return i18n.For(l, i18n.Marked(), i18n.OnMissing(func(id string, err error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.ids = append(m.ids, id+": "+err.Error())
	}))
}

// outsideMarks is the text of a message rendered with a Marked Localizer
// that did not come from a catalogue, with the data (names, IDs, links)
// taken out: what is left should hold no letter.
func outsideMarks(s string, data []string) string {
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch string(r) {
		case i18n.MarkStart:
			depth++
			continue
		case i18n.MarkEnd:
			depth--
			continue
		}
		if depth == 0 {
			b.WriteRune(r)
		}
	}
	out := regexp.MustCompile(`https://\S+`).ReplaceAllString(b.String(), "")
	// Longest first, so a name is not half removed by a shorter one.
	slices.SortFunc(data, func(a, b string) int { return len(b) - len(a) })
	for _, d := range data {
		out = strings.ReplaceAll(out, d, "")
	}
	var left []string
	for _, line := range strings.Split(out, "\n") {
		if strings.IndexFunc(line, unicode.IsLetter) >= 0 {
			left = append(left, strings.TrimSpace(line))
		}
	}
	return strings.Join(left, " | ")
}

// englishPhrases are the English mail and channel messages cut at their
// arguments: every run of three or more words, which a Dutch mail must not
// hold.
func englishPhrases(t *testing.T) []string {
	t.Helper()
	en := i18n.For(i18n.EN)
	args := []any{}
	for _, f := range []string{"Owner", "Tenant", "Date", "When", "Expired", "Listed", "More", "Link", "Kind", "Name", "KeyID", "AppID", "Weekday", "Time"} {
		args = append(args, f, "\x00")
	}
	words := regexp.MustCompile(`[A-Za-z'’]+(?:[ ,]+[A-Za-z'’]+){2,}`)
	var out []string
	for _, id := range i18n.IDs(i18n.EN) {
		if !strings.HasPrefix(id, "mail.") && !strings.HasPrefix(id, "channels.") {
			continue
		}
		out = append(out, words.FindAllString(en.N(id, 2, args...), -1)...)
	}
	if len(out) < 20 {
		t.Fatalf("only %d English phrases found in the mail catalogue", len(out))
	}
	return out
}

// Issue #16, done: alert e-mail to a Dutch tenant's contacts arrives in
// Dutch. Over the real SMTP server: the contact of a Dutch tenant gets a
// Dutch digest (subject, both parts, plural forms, Dutch dates), the
// contact of an English tenant and a portal-wide recipient get English,
// and a portal user who chose Dutch gets Dutch though the portal-wide
// digest spans both tenants. Every word comes from a catalogue (rendered
// with marked messages), and no English sentence is left in the Dutch mail.
func TestDutchTenantContactsGetDutchDigest(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC) // a Monday
	tenant := func(entraID, name, lang, contact string) int64 {
		t.Helper()
		tn, err := st.CreateTenant(ctx, store.Tenant{EntraTenantID: entraID, DisplayName: name, Status: "connected", Contacts: []string{contact}},
			store.AuditEvent{Action: "tenant.create"})
		if err != nil {
			t.Fatal(err)
		}
		// Set as the tenants page will (another change); the column is from migration 00028.
		if _, err := st.Pool().Exec(ctx, `UPDATE tenants SET language = $2 WHERE id = $1`, tn.ID, lang); err != nil {
			t.Fatal(err)
		}
		return tn.ID
	}
	fabrikam := tenant("fab41c4e-2d3b-4a5c-8e6f-7a8b9c0d1e2f", "Fabrikam", "nl", "it@fabrikam.example")
	contoso := tenant("c0c0c0c0-2d3b-4a5c-8e6f-7a8b9c0d1e2f", "Contoso", "en", "IT@contoso.example")
	cred := func(key, owner, kind string, endsIn time.Duration) store.Credential {
		return store.Credential{OwnerKind: "application", OwnerObjectID: "0a0a0a0a-0000-4000-8000-00000000000" + key[len(key)-1:], OwnerAppID: "b0b0b0b0-0000-4000-8000-00000000000" + key[len(key)-1:],
			OwnerName: owner, KeyID: key, Kind: kind, DisplayName: owner + " key", EndsAt: now.Add(endsIn)}
	}
	if _, err := st.RecordScan(ctx, fabrikam, []store.Credential{
		cred("c0000000-0000-4000-8000-000000000001", "AFAS Profit", "password", -2*24*time.Hour),           // expired on Saturday 5 December
		cred("c0000000-0000-4000-8000-000000000002", "Exact Globe+", "password", 5*24*time.Hour+time.Hour), // in 5 days
		cred("c0000000-0000-4000-8000-000000000003", "ResourceXpress", "certificate", 12*24*time.Hour),     // beyond the digest's bound of 2
	}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RecordScan(ctx, contoso, []store.Credential{
		cred("c0000000-0000-4000-8000-000000000004", "Payroll", "password", 20*24*time.Hour),
	}, now); err != nil {
		t.Fatal(err)
	}
	// A portal user who chose Dutch, and one who chose nothing.
	if _, err := st.Pool().Exec(ctx, `INSERT INTO users (entra_tenant_id, object_id, display_name, email, role, language) VALUES
		('11111111-0000-4000-8000-000000000000', '11111111-0000-4000-8000-000000000001', 'Fiona', 'Fiona@Contoso.example', 'admin', 'nl'),
		('11111111-0000-4000-8000-000000000000', '11111111-0000-4000-8000-000000000002', 'Ops', 'ops@contoso.example', 'admin', NULL)`); err != nil {
		t.Fatal(err)
	}
	mb := mailtest.Start(t, "127.0.0.1:0")
	var missing missingIDs
	a := alerts.New(alerts.Config{SMTP: alerts.SMTP{Addr: mb.Addr, From: "portal@contoso.example", TLS: "none"},
		Recipients: []string{"ops@contoso.example", "fiona@contoso.example"}, PortalURL: "https://portal.contoso.example", DigestLimit: 2,
		Now: func() time.Time { return now }, Localizer: missing.localizer}, st)
	res, err := a.Run(ctx)
	if err != nil || res.Mails != 4 {
		t.Fatalf("run = %+v, %v; want 4 mails", res, err)
	}
	mails := map[string]mailtest.Mail{}
	for _, m := range mb.Mails() {
		mails[m.To[0]] = m
	}
	data := []string{"Fabrikam", "Contoso", "AFAS Profit", "Exact Globe+", "ResourceXpress", "Payroll", "https://portal.contoso.example", "AppReg Portal"}
	for _, c := range []string{"AFAS Profit", "Exact Globe+", "ResourceXpress", "Payroll"} {
		data = append(data, c+" key")
	}
	for i := 1; i <= 4; i++ {
		data = append(data, "c0000000-0000-4000-8000-00000000000"+string(rune('0'+i)), "b0b0b0b0-0000-4000-8000-00000000000"+string(rune('0'+i)))
	}
	phrases := englishPhrases(t)

	tests := []struct {
		to      string
		lang    i18n.Lang
		subject string
		text    []string // in the text part
		html    []string // in the HTML part, tags removed
	}{
		{to: "it@fabrikam.example", lang: i18n.NL,
			subject: "[AppReg Portal] 1 verlopen: AFAS Profit en nog 2 andere vragen aandacht",
			text: []string{
				"3 clientgeheimen en certificaten vragen aandacht (waarvan 1 verlopen). Hieronder staan de 2 dringendste; de rest (1) niet: bekijk ze allemaal op https://portal.contoso.example/?tenant=",
				"Deze clientgeheimen en certificaten moeten worden vervangen",
				`Clientgeheim "AFAS Profit key" (sleutel-id c0000000-0000-4000-8000-000000000001), toepassings-id b0b0b0b0-0000-4000-8000-000000000001`,
				"Verlopen: zaterdag 5 december 2026 12:00 UTC",
				"AFAS Profit kan zich niet meer aanmelden bij tenant Fabrikam: het clientgeheim is verlopen op 5 december 2026.",
				"Verloopt over 5 dagen: zaterdag 12 december 2026 13:00 UTC",
				"Exact Globe+ kan zich over 5 dagen, op 12 december 2026, niet meer aanmelden bij tenant Fabrikam: dan verloopt het clientgeheim.",
				"Rouleren: https://portal.contoso.example/credentials/",
				"Je ontvangt deze e-mail omdat je op de meldingenlijst van het portal staat.",
			},
			html: []string{"Hieronder staan de 2 dringendste; de rest (1) niet: bekijk ze allemaal", "Toepassing", "sleutel-id c0000000-0000-4000-8000-000000000002",
				"Verloopt over 5 dagen", "zaterdag 12 december 2026 13:00 UTC", "Dashboard openen", `<html lang="nl">`}},
		{to: "it@contoso.example", lang: i18n.EN,
			subject: "[AppReg Portal] Contoso: Payroll expires in 20 days",
			text: []string{"These client secrets and certificates need a new one before they stop working:",
				`Client secret "Payroll key" (key ID c0000000-0000-4000-8000-000000000004)`,
				"Expires in 20 days: Sunday 27 December 2026 12:00 UTC",
				"Payroll stops signing in to tenant Contoso in 20 days, on 27 December 2026, when its client secret expires.",
				"Rotate it: https://portal.contoso.example/credentials/"},
			html: []string{"Application", "key ID c0000000-0000-4000-8000-000000000004", "Open the dashboard", `<html lang="en">`}},
		{to: "ops@contoso.example", lang: i18n.EN,
			subject: "[AppReg Portal] 1 expired: AFAS Profit and 3 more need attention",
			text: []string{"4 client secrets and certificates need attention (1 of them expired). The 2 most urgent are listed below; 2 more are not: see them all at https://portal.contoso.example/?within=30",
				"AFAS Profit has stopped signing in to tenant Fabrikam: its client secret expired on 5 December 2026."},
			html: []string{"see them all"}},
		{to: "fiona@contoso.example", lang: i18n.NL,
			subject: "[AppReg Portal] 1 verlopen: AFAS Profit en nog 3 andere vragen aandacht",
			text:    []string{"4 clientgeheimen en certificaten vragen aandacht (waarvan 1 verlopen)."},
			html:    []string{"bekijk ze allemaal"}},
	}
	tag := regexp.MustCompile(`<[^>]*>`)
	for _, tt := range tests {
		t.Run(tt.to, func(t *testing.T) {
			m, ok := mails[tt.to]
			if !ok {
				t.Fatalf("no mail to %s; mails to %v", tt.to, mb.Mails())
			}
			subject, text, htmlPart := i18n.Strip(m.Subject), i18n.Strip(m.Body), i18n.Strip(m.HTML)
			if subject != tt.subject {
				t.Errorf("subject = %q, want %q", subject, tt.subject)
			}
			for _, want := range tt.text {
				if !strings.Contains(text, want) {
					t.Errorf("text part lacks %q:\n%s", want, text)
				}
			}
			flatHTML := strings.Join(strings.Fields(tag.ReplaceAllStringFunc(htmlPart, func(s string) string {
				if strings.HasPrefix(s, "<html") {
					return s
				}
				return " "
			})), " ")
			for _, want := range tt.html {
				if !strings.Contains(flatHTML, want) {
					t.Errorf("HTML part lacks %q:\n%s", want, flatHTML)
				}
			}
			// Every word from a catalogue: the HTML part as a page is checked, the text part and subject with the data taken out.
			if u := i18n.Untranslated(m.HTML); len(u) > 0 {
				t.Errorf("HTML part has text from no catalogue: %q", u)
			}
			for part, s := range map[string]string{"subject": m.Subject, "text part": m.Body} {
				if left := outsideMarks(s, data); left != "" {
					t.Errorf("%s has text from no catalogue: %q", part, left)
				}
			}
			if tt.lang == i18n.NL {
				for _, p := range phrases {
					for part, s := range map[string]string{"subject": subject, "text part": text, "HTML part": flatHTML} {
						if strings.Contains(s, p) {
							t.Errorf("the Dutch %s holds the English %q", part, p)
						}
					}
				}
			}
		})
	}
	if len(missing.ids) > 0 {
		t.Errorf("messages missing from the catalogues: %q", missing.ids)
	}

	// The test e-mail follows the same rule.
	if r := a.TestMail(ctx, "it@fabrikam.example"); r != alerts.ReasonNone {
		t.Fatalf("test mail: %s", r)
	}
	if r := a.TestMail(ctx, "it@contoso.example"); r != alerts.ReasonNone {
		t.Fatalf("test mail: %s", r)
	}
	got := map[string]string{}
	for _, m := range mb.Mails()[4:] {
		got[m.To[0]] = i18n.Strip(m.Subject)
	}
	if got["it@fabrikam.example"] != "[AppReg Portal] Testbericht" || got["it@contoso.example"] != "[AppReg Portal] Test message" {
		t.Errorf("test mail subjects = %q", got)
	}
}

// A tenant's channel speaks the tenant's language; a portal-wide one
// English. The JSON webhook keeps its keys and codes; its summary and
// messages follow the language.
func TestTenantChannelSpeaksTenantLanguage(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	now := time.Now()
	seed(t, st, now)
	_, fabrikam := mustCredentials(t, st)
	if _, err := st.Pool().Exec(ctx, `UPDATE tenants SET language = 'nl' WHERE id = $1`, fabrikam); err != nil {
		t.Fatal(err)
	}
	teams, hook, slack := newReceiver(t), newReceiver(t), newReceiver(t)
	var missing missingIDs
	a := alerts.New(alerts.Config{PortalURL: "https://portal.contoso.example", Sealer: newTestSealer(t), Localizer: missing.localizer}, st)
	var teamsID int64
	for _, c := range []alerts.NewChannel{
		{Kind: alerts.ChannelTeams, Name: "Fabrikam Teams", URL: teams.URL + "/workflows/abc", TenantID: &fabrikam},
		{Kind: alerts.ChannelWebhook, Name: "Fabrikam hook", URL: hook.URL + "/hook", Secret: hookSecret, TenantID: &fabrikam},
		{Kind: alerts.ChannelSlack, Name: "Ops Slack", URL: slack.URL + "/services/T0/B0/x"},
	} {
		ch, err := a.AddChannel(ctx, c, store.AuditEvent{Action: "alerts.channel.add"})
		if err != nil {
			t.Fatal(err)
		}
		if c.Kind == alerts.ChannelTeams {
			teamsID = ch.ID
		}
	}
	if res, err := a.Run(ctx); err != nil || res.Mails != 3 {
		t.Fatalf("run = %+v, %v; want 3 messages", res, err)
	}
	if len(teams.received()) != 1 || len(hook.received()) != 1 || len(slack.received()) != 1 {
		t.Fatalf("received teams %d, hook %d, slack %d", len(teams.received()), len(hook.received()), len(slack.received()))
	}
	card := i18n.Strip(string(teams.received()[0].body))
	for _, want := range []string{"1 verlopen: AFAS Profit en nog 1 andere vragen aandacht", "AFAS Profit kan zich niet meer aanmelden bij tenant Fabrikam",
		"Exact Globe+ kan zich over 5 dagen", `"title":"AFAS Profit rouleren"`} {
		if !strings.Contains(card, want) {
			t.Errorf("the Dutch tenant's Teams card lacks %q:\n%s", want, card)
		}
	}
	var p alerts.Payload
	if err := json.Unmarshal(hook.received()[0].body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Schema != alerts.PayloadSchema || i18n.Strip(p.Summary) != "1 verlopen: AFAS Profit en nog 1 andere vragen aandacht" || len(p.Items) != 2 ||
		p.Items[0].Kind != "password" || !strings.HasPrefix(i18n.Strip(p.Items[0].Message), "AFAS Profit kan zich niet meer aanmelden") {
		t.Errorf("the Dutch tenant's JSON payload = %+v", p)
	}
	if s := i18n.Strip(string(slack.received()[0].body)); !strings.Contains(s, "1 expired: AFAS Profit and 1 more need attention") || !strings.Contains(s, "|Rotate it") {
		t.Errorf("the portal-wide Slack message is not in English:\n%s", s)
	}
	// The test message too.
	if r, err := a.TestChannel(ctx, teamsID); err != nil || r != alerts.ReasonNone {
		t.Fatalf("test of the Teams channel = %q, %v", r, err)
	}
	if got := teams.received(); len(got) != 2 || !strings.Contains(i18n.Strip(string(got[1].body)), "Testtoepassing (een test van AppReg Portal) kan zich over 7 dagen") {
		t.Errorf("the Dutch tenant's test card is not in Dutch: %d cards\n%s", len(got), i18n.Strip(string(got[len(got)-1].body)))
	}
	if len(missing.ids) > 0 {
		t.Errorf("messages missing from the catalogues: %q", missing.ids)
	}
}

// The day-before reminder of a scheduled removal reaches the Dutch
// tenant's contact in Dutch and the portal's recipients in English.
func TestRemindInEachRecipientsLanguage(t *testing.T) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	tn, err := st.CreateTenant(ctx, store.Tenant{EntraTenantID: "fab41c4e-2d3b-4a5c-8e6f-7a8b9c0d1e2f", DisplayName: "Fabrikam", Status: "connected",
		Contacts: []string{"it@fabrikam.example"}}, store.AuditEvent{Action: "tenant.create"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx, `UPDATE tenants SET language = 'nl' WHERE id = $1`, tn.ID); err != nil {
		t.Fatal(err)
	}
	mb := mailtest.Start(t, "127.0.0.1:0")
	a := alerts.New(alerts.Config{SMTP: alerts.SMTP{Addr: mb.Addr, From: "portal@contoso.example", TLS: "none"},
		Recipients: []string{"ops@contoso.example"}, PortalURL: "https://portal.contoso.example"}, st)
	msg := func(l *i18n.Localizer) (string, string) {
		return l.T("mail.test.subject"), l.Date(time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC))
	}
	if err := a.Remind(ctx, tn.ID, []string{"it@fabrikam.example"}, msg); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range mb.Mails() {
		got[m.To[0]] = m.Subject + " / " + strings.TrimSpace(strings.SplitN(m.Body, "\n", 2)[0])
	}
	want := map[string]string{"it@fabrikam.example": "Testbericht / 8 december 2026", "ops@contoso.example": "Test message / 8 December 2026"}
	if len(got) != len(want) || got["it@fabrikam.example"] != want["it@fabrikam.example"] || got["ops@contoso.example"] != want["ops@contoso.example"] {
		t.Errorf("reminders = %q, want %q", got, want)
	}
}

// The outbox keeps why a message failed as a Reason, so its page can say
// it in its reader's language.
func TestOutboxKeepsTheReason(t *testing.T) {
	st := pgtest.NewStore(t)
	seed(t, st, time.Now())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: the mail server is unreachable
	ob := alerts.NewOutbox(10)
	a := alerts.New(alerts.Config{SMTP: alerts.SMTP{Addr: addr, From: "portal@contoso.example", TLS: "none"},
		Recipients: []string{"ops@contoso.example"}, Outbox: ob}, st)
	if _, err := a.Run(context.Background()); err == nil {
		t.Fatal("a run against a closed port succeeded")
	}
	msgs := ob.Messages()
	if len(msgs) != 1 || msgs[0].Reason != alerts.ReasonUnreachable || msgs[0].Outcome != alerts.ReasonUnreachable.Text() ||
		!strings.HasPrefix(msgs[0].Reason.TextIn(i18n.For(i18n.NL)), "De mailserver kon niet worden bereikt") {
		t.Errorf("outbox = %+v", msgs)
	}
}
