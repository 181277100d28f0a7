package alerts

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/appreg-portal/portal/internal/config"
	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/safetext"
	"github.com/appreg-portal/portal/internal/store"
)

// Channel kinds.
const (
	ChannelTeams   = "teams"   // a Teams Workflows webhook ("When a Teams webhook request is received"), Adaptive Card
	ChannelSlack   = "slack"   // a Slack incoming webhook
	ChannelWebhook = "webhook" // a JSON webhook signed with HMAC-SHA256
)

// PayloadSchema names the version of the JSON webhook payload; a change
// that removes or renames a field gets a new version.
const PayloadSchema = "appreg-portal.alerts.v1"

// Signature headers of the JSON webhook. The signature is
// "v1=" + hex(HMAC-SHA256(secret, timestamp + "." + body)), timestamp being
// the X-AppReg-Timestamp header (Unix seconds). Receivers recompute it,
// compare in constant time and refuse timestamps more than five minutes
// old, which stops replays. See docs/alert-webhooks.md.
const (
	HeaderTimestamp = "X-AppReg-Timestamp"
	HeaderSignature = "X-AppReg-Signature"
	HeaderMessageID = "X-AppReg-Message-Id"
)

// Sign is the JSON webhook's signature of body sent at ts.
func Sign(secret []byte, ts time.Time, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
	m.Write([]byte("."))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// NewChannel is a channel as an admin enters it.
type NewChannel struct {
	TenantID  *int64
	Kind      string
	Name      string
	URL       string
	Secret    string // the JSON webhook's signing secret
	CreatedBy string
}

// ErrNoSealKey means channels cannot be kept: their URLs are secrets, and
// without PORTAL_SEAL_KEY they could only be stored in clear.
var ErrNoSealKey = errors.New("alerts: channels need PORTAL_SEAL_KEY")

// ChannelsEnabled reports whether webhook channels can be kept: the seal
// key that encrypts their URLs is configured.
func (a *Alerter) ChannelsEnabled() bool { return a.cfg.Sealer != nil }

// CheckChannelURL says in English what is wrong with a webhook URL, or "".
// Pages should localize CheckChannelURLID instead.
func CheckChannelURL(raw string) string {
	if id := CheckChannelURLID(raw); id != "" {
		return i18n.For(i18n.EN).T(id)
	}
	return ""
}

// CheckChannelURLID is the message ID (channels catalogue) of what is
// wrong with a webhook URL, or "": https, or http on loopback only (a
// receiver on the same machine, and tests).
func CheckChannelURLID(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	switch {
	case err != nil || u.Host == "" || u.User != nil:
		return "channels.url.whole"
	case u.Scheme == "https":
		return ""
	case u.Scheme == "http" && config.IsLoopback(u.Hostname()):
		return ""
	}
	return "channels.url.https"
}

// urlHint is what the portal shows of a webhook URL: scheme and host. The
// path and query are the webhook's key.
func urlHint(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// AddChannel seals the channel's URL and secret and stores it.
func (a *Alerter) AddChannel(ctx context.Context, nc NewChannel, audit store.AuditEvent) (store.AlertChannel, error) {
	if a.cfg.Sealer == nil {
		return store.AlertChannel{}, ErrNoSealKey
	}
	ch := store.AlertChannel{TenantID: nc.TenantID, Kind: nc.Kind, Name: nc.Name, URLHint: urlHint(nc.URL), CreatedBy: nc.CreatedBy}
	return a.store.CreateAlertChannel(ctx, ch, func(id int64) ([]byte, []byte) {
		var secret []byte
		if nc.Secret != "" {
			secret = a.cfg.Sealer.Seal([]byte(nc.Secret), store.ChannelAAD(id, "secret"))
		}
		return a.cfg.Sealer.Seal([]byte(strings.TrimSpace(nc.URL)), store.ChannelAAD(id, "url")), secret
	}, audit)
}

// openChannel is a channel with its URL and secret opened.
type openChannel struct {
	store.AlertChannel
	url    string
	secret []byte
}

func (a *Alerter) open(ch store.AlertChannel) (openChannel, error) {
	if a.cfg.Sealer == nil {
		return openChannel{}, ErrNoSealKey
	}
	u, err := a.cfg.Sealer.Open(ch.URLSealed, store.ChannelAAD(ch.ID, "url"))
	if err != nil {
		return openChannel{}, &configError{err}
	}
	oc := openChannel{AlertChannel: ch, url: string(u)}
	if len(ch.SecretSealed) > 0 {
		if oc.secret, err = a.cfg.Sealer.Open(ch.SecretSealed, store.ChannelAAD(ch.ID, "secret")); err != nil {
			return openChannel{}, &configError{err}
		}
	}
	return oc, nil
}

// TestChannel sends a test message to a channel and says, in a Reason,
// why it failed; the detail goes to the log.
func (a *Alerter) TestChannel(ctx context.Context, id int64) (Reason, error) {
	ch, err := a.store.AlertChannel(ctx, id)
	if err != nil {
		return ReasonNone, err
	}
	now := a.cfg.Now()
	l, err := a.channelLocalizer(ctx, ch)
	if err != nil {
		return ReasonNone, err
	}
	dg := store.AlertDigest{Recipient: ch.Recipient(), Total: 1, LastID: 0, Items: []store.AlertDelivery{{
		TenantName: l.T("channels.test.tenant"), OwnerName: l.T("channels.test.application"), OwnerAppID: "00000000-0000-0000-0000-000000000000",
		Kind: "password", DisplayName: "test", KeyID: "00000000-0000-0000-0000-000000000000", EndsAt: now.Add(7 * 24 * time.Hour), ThresholdDays: 7}}}
	err = a.sendChannel(ctx, l, ch, dg, now, "test-"+strconv.FormatInt(now.UnixNano(), 36)+"@"+a.mailDomain())
	reason := Classify(err)
	if err != nil {
		a.log().Warn("alert channel test failed", "channel", ch.ID, "kind", ch.Kind, "reason", string(reason), "error", err)
	}
	return reason, nil
}

// sendChannel posts a digest to a channel, in l's language.
func (a *Alerter) sendChannel(ctx context.Context, l *i18n.Localizer, ch store.AlertChannel, dg store.AlertDigest, now time.Time, msgID string) error {
	oc, err := a.open(ch)
	if err != nil {
		return err
	}
	var body []byte
	switch ch.Kind {
	case ChannelTeams:
		body, err = json.Marshal(TeamsMessage(l, dg, now, a.cfg.PortalURL))
	case ChannelSlack:
		body, err = json.Marshal(SlackMessage(l, dg, now, a.cfg.PortalURL))
	default:
		body, err = json.Marshal(JSONPayload(l, dg, now, a.cfg.PortalURL, msgID))
	}
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, oc.url, bytes.NewReader(body))
	if err != nil {
		return &configError{errors.New("the channel's URL does not parse")} // never the URL itself
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "AppReg-Portal-Alerts/1")
	req.Header.Set(HeaderMessageID, msgID)
	if ch.Kind == ChannelWebhook {
		ts := time.Now()
		req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
		req.Header.Set(HeaderSignature, Sign(oc.secret, ts, body))
	}
	resp, err := a.httpClient().Do(req)
	defer func() {
		var keepErr error
		if err != nil {
			keepErr = err
		} else if resp.StatusCode/100 != 2 {
			keepErr = &webhookError{status: resp.StatusCode}
		}
		a.keep(OutboxMessage{At: now, Channel: ch.Kind, To: ch.Name, Subject: DigestSubject(l, dg, now), JSON: string(body)}, keepErr)
	}()
	if err != nil {
		// *url.Error carries the URL, which is the webhook's key: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			return &webhookError{cause: ue.Err}
		}
		return &webhookError{cause: err}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused; the body says nothing we act on
	if resp.StatusCode/100 != 2 {
		return &webhookError{status: resp.StatusCode}
	}
	return nil
}

func (a *Alerter) httpClient() *http.Client {
	if a.cfg.HTTPClient != nil {
		return a.cfg.HTTPClient
	}
	// No redirects: a webhook that moved is an error to fix, not a hop to follow with the message.
	return &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// webhookError is a failed webhook call: an HTTP status, or the cause of a
// failed connection (never the URL).
type webhookError struct {
	status int
	cause  error
}

func (e *webhookError) Error() string {
	if e.cause != nil {
		return "webhook: " + e.cause.Error()
	}
	return "webhook: HTTP " + strconv.Itoa(e.status)
}
func (e *webhookError) Unwrap() error { return e.cause }

func webhookReason(e *webhookError) Reason {
	switch {
	case e.cause != nil:
		var netErr net.Error
		if errors.As(e.cause, &netErr) && netErr.Timeout() {
			return ReasonTimeout
		}
		var dnsErr *net.DNSError
		var opErr *net.OpError
		if errors.As(e.cause, &dnsErr) || (errors.As(e.cause, &opErr) && opErr.Op == "dial") {
			return ReasonWebhookUnreachable
		}
		if strings.Contains(e.cause.Error(), "tls") || strings.Contains(e.cause.Error(), "x509") {
			return ReasonTLS
		}
		return ReasonConnectionDropped
	case e.status == http.StatusNotFound || e.status == http.StatusGone:
		return ReasonWebhookGone
	case e.status == http.StatusUnauthorized || e.status == http.StatusForbidden:
		return ReasonWebhookDenied
	case e.status == http.StatusTooManyRequests || e.status >= 500:
		return ReasonWebhookBusy
	}
	return ReasonWebhookRefused
}

// Item is one credential of the JSON webhook payload.
type Item struct {
	Tenant        string    `json:"tenant"`
	TenantID      int64     `json:"tenant_id"`
	Application   string    `json:"application"`
	ApplicationID string    `json:"application_id"`
	Kind          string    `json:"kind"` // password or certificate
	Name          string    `json:"name"`
	KeyID         string    `json:"key_id"`
	EndsAt        time.Time `json:"ends_at"`
	Expired       bool      `json:"expired"`
	ThresholdDays int       `json:"threshold_days"`
	Message       string    `json:"message"`
	RotateURL     string    `json:"rotate_url,omitempty"`
}

// Payload is the JSON webhook's body (schema PayloadSchema).
type Payload struct {
	Schema    string    `json:"schema"`
	MessageID string    `json:"message_id"`
	SentAt    time.Time `json:"sent_at"`
	Summary   string    `json:"summary"`
	Total     int       `json:"total"`   // credentials in this alert
	Expired   int       `json:"expired"` // of Total, expired
	Items     []Item    `json:"items"`   // the most urgent, at most the digest bound
	MoreURL   string    `json:"more_url,omitempty"`
}

// JSONPayload is a digest as the JSON webhook's payload. Its keys and
// codes are fixed; summary and message are in l's language.
func JSONPayload(l *i18n.Localizer, dg store.AlertDigest, now time.Time, portalURL, msgID string) Payload {
	p := Payload{Schema: PayloadSchema, MessageID: msgID, SentAt: now.UTC(), Summary: strings.TrimPrefix(DigestSubject(l, dg, now), subjectPrefix(l)),
		Total: dg.Total, Expired: dg.Expired, Items: []Item{}}
	for _, d := range dg.Items {
		p.Items = append(p.Items, Item{Tenant: d.TenantName, TenantID: d.TenantID, Application: d.OwnerName, ApplicationID: d.OwnerAppID, Kind: d.Kind,
			Name: d.DisplayName, KeyID: d.KeyID, EndsAt: d.EndsAt.UTC(), Expired: !d.EndsAt.After(now), ThresholdDays: d.ThresholdDays,
			Message: stopsWorking(l, d, now), RotateURL: RotateLink(portalURL, d.CredentialID)})
	}
	if dg.Total > len(dg.Items) {
		p.MoreURL = allLink(dg, now, portalURL)
	}
	return p
}

// SlackMessage is a digest for a Slack incoming webhook: text for
// notifications and a section per credential, mrkdwn-escaped.
// https://api.slack.com/messaging/webhooks
func SlackMessage(l *i18n.Localizer, dg store.AlertDigest, now time.Time, portalURL string) map[string]any {
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	blocks := []any{map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": safetext.Line(strings.TrimPrefix(DigestSubject(l, dg, now), subjectPrefix(l)))}}}
	for _, d := range dg.Items {
		txt := esc.Replace(stopsWorking(l, d, now))
		if link := RotateLink(portalURL, d.CredentialID); link != "" {
			txt += " <" + link + "|" + esc.Replace(l.T("channels.slack.rotate_it")) + ">"
		}
		blocks = append(blocks, map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": txt}})
	}
	if dg.Total > len(dg.Items) {
		blocks = append(blocks, map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn",
			"text": l.N("channels.slack.more", dg.Total-len(dg.Items), "Link", allLink(dg, now, portalURL))}})
	}
	return map[string]any{"text": esc.Replace(DigestSubject(l, dg, now)), "blocks": blocks}
}

// TeamsMessage is a digest as an Adaptive Card for a Teams Workflows
// webhook ("Post to a channel when a webhook request is received").
// https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook
// https://adaptivecards.io/explorer/
//
// Names come from customer tenants' administrators, and a TextBlock renders
// Markdown (a name could be a link): every line that carries one is a
// RichTextBlock of TextRuns, which are plain text.
func TeamsMessage(l *i18n.Localizer, dg store.AlertDigest, now time.Time, portalURL string) map[string]any {
	plain := func(text string, extra map[string]any) map[string]any {
		run := map[string]any{"type": "TextRun", "text": text}
		for k, v := range extra {
			run[k] = v
		}
		return map[string]any{"type": "RichTextBlock", "inlines": []any{run}}
	}
	body := []any{plain(strings.TrimPrefix(DigestSubject(l, dg, now), subjectPrefix(l)), map[string]any{"size": "Medium", "weight": "Bolder"})}
	var actions []any
	for _, d := range dg.Items {
		body = append(body, plain(stopsWorking(l, d, now), nil))
		if link := RotateLink(portalURL, d.CredentialID); link != "" && len(actions) < 5 {
			actions = append(actions, map[string]any{"type": "Action.OpenUrl", "title": l.T("channels.teams.rotate", "Owner", safetext.Line(d.OwnerName)), "url": link})
		}
	}
	if dg.Total > len(dg.Items) {
		body = append(body, map[string]any{"type": "TextBlock", "wrap": true, "text": l.N("channels.teams.more", dg.Total-len(dg.Items))})
		actions = append(actions, map[string]any{"type": "Action.OpenUrl", "title": l.T("channels.teams.see_all"), "url": allLink(dg, now, portalURL)})
	}
	card := map[string]any{"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4", "body": body}
	if len(actions) > 0 {
		card["actions"] = actions
	}
	return map[string]any{"type": "message", "attachments": []any{map[string]any{
		"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": nil, "content": card}}}
}

// TestMail sends a test e-mail to one address, in the language its alerts
// would be in (see recipientLang), and says, in a Reason, why it failed;
// the detail goes to the log.
func (a *Alerter) TestMail(ctx context.Context, to string) Reason {
	if !a.mailEnabled() {
		return ReasonBadConfig
	}
	l := a.loc(i18n.EN)
	if langs, err := a.languages(ctx, []string{to}, nil); err != nil {
		a.log().Warn("test e-mail: languages not read; sent in English", "error", err)
	} else {
		l = a.loc(langs.recipient(strings.ToLower(strings.TrimSpace(to)), nil))
	}
	err := a.mail(ctx, to, subjectPrefix(l)+l.T("mail.test.subject"), l.T("mail.test.body"))
	reason := Classify(err)
	if err != nil {
		a.log().Warn("test e-mail failed", "reason", string(reason), "error", err)
	}
	return reason
}
