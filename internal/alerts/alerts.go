// Package alerts e-mails the people who must act before a client secret or
// certificate expires. An alert run queues the deliveries that came due
// (internal/store decides which: the most urgent threshold reached, once per
// credential, threshold and recipient), then sends one digest per recipient
// over SMTP and records each outcome, so nothing is missed or repeated and
// failed deliveries are retried on the next run.
package alerts

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/seal"
	"github.com/appreg-portal/portal/internal/store"
)

// DefaultThresholds are the days before expiry that alerts go out; 0 is
// the day it expires.
var DefaultThresholds = []int{60, 30, 14, 7, 1, 0}

// DefaultDigestLimit is how many credentials a digest lists in full.
const DefaultDigestLimit = 50

// MaxAttempts is how often one delivery is tried before it is left failed.
const MaxAttempts = 5

// SMTP configures the mail server.
type SMTP struct {
	Addr     string // host:port
	Username string
	Password string
	From     string
	// TLS is "starttls" (required), "tls" (implicit TLS) or "none" (only for
	// a relay on localhost or a trusted network).
	TLS string
}

// Config configures alerting.
type Config struct {
	SMTP       SMTP
	Recipients []string // portal-wide; each tenant's contacts are added
	Thresholds []int
	PortalURL  string // links in the e-mail point here
	// DigestLimit is how many credentials one digest lists in full, most
	// urgent first; the rest are counted with a link to the dashboard, so
	// no digest grows past what a mail server accepts. Default 50.
	DigestLimit int
	Log         *slog.Logger
	Now         func() time.Time
	// Sealer opens the webhook channels' URLs and secrets; without it
	// there are no channels.
	Sealer *seal.Sealer
	// HTTPClient posts to webhooks; default: 20 s timeout, no redirects.
	HTTPClient *http.Client
	// Graph, when SMTP is not configured, sends e-mail with Microsoft
	// Graph sendMail from GraphSender, a mailbox in the operator's tenant
	// (the portal's app-only Mail.Send). Errors it returns should wrap a
	// ReasonError so people read why.
	Graph       GraphMailer
	GraphSender string
	// Outbox, if set (portal dev), keeps a copy of every message sent or
	// tried.
	Outbox *Outbox
	// Localizer, if set, gives the messages' words in a language (tests
	// pass a marked one); default i18n.For. language.go says which
	// language each message is in.
	Localizer func(i18n.Lang) *i18n.Localizer
}

// GraphMailer sends one message with Graph sendMail. Graph takes one body:
// the HTML part; the plain-text part is for SMTP.
type GraphMailer interface {
	SendMail(ctx context.Context, from, to, subject, html string) error
}

// ReasonError is an error already classified by whoever met it (the Graph
// adapter, which knows Graph's errors).
type ReasonError struct {
	Reason Reason
	Err    error
}

func (e *ReasonError) Error() string { return string(e.Reason) + ": " + e.Err.Error() }
func (e *ReasonError) Unwrap() error { return e.Err }

// ErrRunBusy means another alert run (in this replica or another) is under
// way; this one did nothing and should be tried again shortly.
var ErrRunBusy = store.ErrAlertRunBusy

type deliveryStore interface {
	LockAlertRun(ctx context.Context) (unlock func(), err error)
	PrepareAlertRun(ctx context.Context, now time.Time) (store.AlertRunPrep, error)
	AlertPolicy(ctx context.Context, tenantID int64) (store.AlertPolicy, error)
	QueueDueAlerts(ctx context.Context, now time.Time, thresholds []int, recipients []string, mail bool) (int, error)
	CreateAlertChannel(ctx context.Context, ch store.AlertChannel, seal func(id int64) (url, secret []byte), audit store.AuditEvent) (store.AlertChannel, error)
	AlertChannels(ctx context.Context) ([]store.AlertChannel, error)
	AlertChannel(ctx context.Context, id int64) (store.AlertChannel, error)
	OpenDigests(ctx context.Context, maxAttempts, bound int, now time.Time) ([]store.AlertDigest, error)
	MarkDigest(ctx context.Context, recipient string, lastID int64, maxAttempts int, failure string, at time.Time) error
	AlertLanguages(ctx context.Context, recipients []string, tenantIDs []int64) (store.AlertLanguages, error)
}

// Alerter runs alert runs.
type Alerter struct {
	cfg   Config
	store deliveryStore
}

// New returns an Alerter; it makes no network call.
func New(cfg Config, st deliveryStore) *Alerter {
	if len(cfg.Thresholds) == 0 {
		cfg.Thresholds = DefaultThresholds
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DigestLimit <= 0 {
		cfg.DigestLimit = DefaultDigestLimit
	}
	return &Alerter{cfg: cfg, store: st}
}

// Enabled reports whether alerts can go out: a mail server is configured,
// or channels can be (a seal key is). Recipients are the portal-wide list
// plus each tenant's contacts, and the webhook channels.
func (a *Alerter) Enabled() bool { return a.mailEnabled() || a.cfg.Sealer != nil }

func (a *Alerter) mailEnabled() bool { return a.cfg.SMTP.Addr != "" || a.useGraph() }

// useGraph says mail goes through Graph: configured, and no SMTP server.
func (a *Alerter) useGraph() bool {
	return a.cfg.SMTP.Addr == "" && a.cfg.Graph != nil && a.cfg.GraphSender != ""
}

// Thresholds are the days before expiry alerts go out (the defaults when
// none were configured).
func (a *Alerter) Thresholds() []int { return a.cfg.Thresholds }

// PortalPolicy is the portal-wide thresholds and recipients: what admins
// set in the portal, or else the environment's.
func (a *Alerter) PortalPolicy(ctx context.Context) (thresholds []int, recipients []string, err error) {
	p, err := a.store.AlertPolicy(ctx, 0)
	if err != nil {
		return nil, nil, err
	}
	thresholds, recipients = a.cfg.Thresholds, a.cfg.Recipients
	if p.Thresholds != nil {
		thresholds = p.Thresholds
	}
	if p.Recipients != nil {
		recipients = p.Recipients
	}
	return thresholds, recipients, nil
}

// RunResult says what one run did.
type RunResult struct {
	Queued, Sent, Failed int // deliveries
	Mails                int // digests sent
	// Resolved deliveries were about a credential since removed or
	// rotated; Held ones wait for a snooze or an exclusion to end.
	Resolved, Held int
	// Selection is how long choosing what to send took: resolving,
	// holding, queuing and reading the digests, before any sending.
	Selection time.Duration
}

// Run queues what came due and sends every open delivery, one digest per
// recipient. A recipient whose digest fails keeps its deliveries open for
// the next run; the others are not held back.
func (a *Alerter) Run(ctx context.Context) (RunResult, error) {
	var res RunResult
	if !a.Enabled() {
		return res, nil
	}
	// One run at a time across replicas: two runs would read, and send, the same open deliveries.
	unlock, err := a.store.LockAlertRun(ctx)
	if err != nil {
		return res, err
	}
	defer unlock()
	now := a.cfg.Now()
	selStart := time.Now()
	prep, err := a.store.PrepareAlertRun(ctx, now)
	if err != nil {
		return res, err
	}
	res.Resolved, res.Held = prep.Resolved, prep.Held
	thresholds, recipients, err := a.PortalPolicy(ctx)
	if err != nil {
		return res, err
	}
	n, err := a.store.QueueDueAlerts(ctx, now, thresholds, recipients, a.mailEnabled())
	if err != nil {
		return res, err
	}
	res.Queued = n
	digests, err := a.store.OpenDigests(ctx, MaxAttempts, a.cfg.DigestLimit, now)
	if err != nil {
		return res, err
	}
	res.Selection = time.Since(selStart)
	var channels map[string]store.AlertChannel
	if a.cfg.Sealer != nil {
		all, err := a.store.AlertChannels(ctx)
		if err != nil {
			return res, err
		}
		channels = make(map[string]store.AlertChannel, len(all))
		for _, ch := range all {
			channels[strconv.FormatInt(ch.ID, 10)] = ch
		}
	}
	langs, err := a.digestLanguages(ctx, digests, channels)
	if err != nil {
		return res, err
	}
	var (
		mu       sync.Mutex // guards res, errs and storeErr
		errs     []error
		storeErr error
		next     atomic.Int64 // the next digest to take
		wg       sync.WaitGroup
	)
	// The biggest digests first: marking a portal-wide recipient's (every
	// due credential) takes longest, and overlaps the many small ones
	// rather than trailing after them.
	slices.SortStableFunc(digests, func(x, y store.AlertDigest) int { return cmp.Compare(y.Total, x.Total) })
	// A few digests at a time, each worker over its own SMTP connection: a
	// thousand digests one after another wait on a thousand round trips and
	// on marking the biggest ones, while the mail server and Postgres idle.
	for range min(sendWorkers, len(digests)) {
		wg.Go(func() {
			session := &mailSession{a: a}
			defer session.close()
			for {
				i := int(next.Add(1) - 1)
				mu.Lock()
				stop := storeErr != nil
				mu.Unlock()
				if i >= len(digests) || stop {
					return
				}
				dg := digests[i]
				sendErr, err := a.deliver(ctx, session, langs, channels, dg, now)
				mu.Lock()
				switch {
				case err != nil:
					// The outcome could not be recorded: the run ends, as the database is unwell.
					storeErr = cmp.Or(storeErr, err)
				case sendErr != nil:
					res.Failed += dg.Total
					errs = append(errs, sendErr)
				default:
					res.Sent += dg.Total
					res.Mails++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if storeErr != nil {
		return res, storeErr
	}
	return res, errors.Join(errs...)
}

// sendWorkers is how many digests an alert run sends at once. Exchange
// Online takes at most 4 concurrent requests per app and mailbox
// (https://learn.microsoft.com/en-us/graph/throttling-limits#outlook-service-limits),
// which Graph sendMail from one sender meets; SMTP relays accept a few
// connections per client.
const sendWorkers = 4

// deliver sends one digest over session (or to its channel) and records
// the outcome. sendErr says, in words safe to show, why it was not sent;
// err is a failure to record the outcome.
func (a *Alerter) deliver(ctx context.Context, session *mailSession, langs langs, channels map[string]store.AlertChannel, dg store.AlertDigest, now time.Time) (sendErr, err error) {
	if id, ok := strings.CutPrefix(dg.Recipient, "channel:"); ok {
		sendErr = a.sendToChannel(ctx, langs, channels, id, dg, now)
	} else {
		l := a.loc(langs.recipient(dg.Recipient, digestTenants(dg)))
		msg := Message{To: dg.Recipient, Subject: DigestSubject(l, dg, now), Text: DigestBody(l, dg, now, a.cfg.PortalURL),
			HTML: DigestHTML(l, dg, now, a.cfg.PortalURL), MessageID: a.messageID(dg)}
		sendErr = session.send(ctx, msg)
		a.keep(OutboxMessage{At: now, Channel: "e-mail", To: msg.To, Subject: msg.Subject, Text: msg.Text, HTML: msg.HTML}, sendErr)
	}
	reason := Classify(sendErr)
	if sendErr != nil {
		// The detail (hosts, banners, addresses) is for the operator's log only; the portal stores and shows the reason.
		a.log().Warn("alert digest not sent", "reason", string(reason), "deliveries", dg.Total, "last_delivery", dg.LastID, "error", sendErr)
	}
	if err := a.store.MarkDigest(ctx, dg.Recipient, dg.LastID, MaxAttempts, string(reason), a.cfg.Now()); err != nil {
		return nil, err
	}
	if sendErr != nil {
		return fmt.Errorf("alerts: digest not sent: %s", reason.Text()), nil
	}
	return nil, nil
}

// keep copies a message into the outbox, with its outcome in words.
func (a *Alerter) keep(m OutboxMessage, err error) {
	if a.cfg.Outbox == nil {
		return
	}
	m.Outcome = "sent"
	if err != nil {
		m.Reason = Classify(err)
		m.Outcome = m.Reason.Text()
	}
	a.cfg.Outbox.add(m)
}

// sendToChannel posts a digest to the channel with the given ID.
func (a *Alerter) sendToChannel(ctx context.Context, langs langs, channels map[string]store.AlertChannel, id string, dg store.AlertDigest, now time.Time) error {
	if a.cfg.Sealer == nil {
		return ErrNoSealKey
	}
	ch, ok := channels[id]
	if !ok {
		// Removed while this run was under way: removing resolves its deliveries.
		return &configError{errors.New("channel removed")}
	}
	return a.sendChannel(ctx, a.loc(langs.channel(ch)), ch, dg, now, a.messageID(dg))
}

// Remind mails a plain-text notice (a scheduled removal tomorrow) about
// a tenant (its ID; 0 when it is not in the inventory) to the portal's
// alert recipients (as admins set them, or the environment's) and the
// extra addresses (the tenant's contacts). msg writes the subject and body
// in each recipient's language, chosen as for a digest about that tenant
// (language.go).
func (a *Alerter) Remind(ctx context.Context, tenantID int64, extra []string, msg func(l *i18n.Localizer) (subject, body string)) error {
	var errs []error
	seen := map[string]bool{}
	_, recipients, err := a.PortalPolicy(ctx)
	if err != nil {
		return err
	}
	all := append(append([]string{}, recipients...), extra...)
	langs, err := a.languages(ctx, all, nil)
	if err != nil {
		return err
	}
	var about []int64
	if tenantID != 0 {
		about = []int64{tenantID}
	}
	for _, r := range all {
		r = strings.ToLower(strings.TrimSpace(r))
		if r == "" || seen[r] {
			continue
		}
		seen[r] = true
		subject, body := msg(a.loc(langs.recipient(r, about)))
		if err := a.mail(ctx, r, subject, body+"\n\n"+a.cfg.PortalURL+"\n"); err != nil {
			errs = append(errs, fmt.Errorf("remind %s: %w", r, err))
		}
	}
	return errors.Join(errs...)
}

func (a *Alerter) mail(ctx context.Context, rcpt, subject, body string) error {
	if a.useGraph() {
		return a.cfg.Graph.SendMail(ctx, a.cfg.GraphSender, rcpt, subject, textHTML(body))
	}
	m, err := a.message(Message{To: rcpt, Subject: subject, Text: body})
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	return c.DialAndSendWithContext(ctx, m)
}

// Message is one e-mail the portal sends.
type Message struct {
	To, Subject string
	Text        string // the plain-text part, always present
	HTML        string // the HTML alternative; none when empty
	// MessageID without angle brackets; a random one when empty.
	MessageID string
}

func (a *Alerter) message(msg Message) (*mail.Msg, error) {
	m := mail.NewMsg()
	if err := m.From(a.cfg.SMTP.From); err != nil {
		return nil, &configError{err}
	}
	if err := m.To(msg.To); err != nil {
		return nil, err
	}
	m.Subject(msg.Subject)
	m.SetDate()
	if msg.MessageID != "" {
		m.SetMessageIDWithValue(msg.MessageID)
	} else {
		m.SetMessageID()
	}
	// Automated mail: no out-of-office replies back to the portal's sender.
	m.SetBulk()
	m.SetBodyString(mail.TypeTextPlain, msg.Text)
	if msg.HTML != "" {
		m.AddAlternativeString(mail.TypeTextHTML, msg.HTML)
	}
	return m, nil
}

// textHTML is plain text as HTML, for Graph, which takes one body.
func textHTML(text string) string {
	return "<pre style=\"font-family: sans-serif; white-space: pre-wrap\">" + template.HTMLEscapeString(text) + "</pre>"
}

// messageID is a digest's Message-ID: the same for every attempt to send
// the same digest (a retry after an outage is recognisable as the same
// message), different for each recipient and for each later digest. The
// recipient is hashed so the ID does not carry the address.
func (a *Alerter) messageID(dg store.AlertDigest) string {
	sum := sha256.Sum256([]byte(strings.ToLower(dg.Recipient)))
	return fmt.Sprintf("alert-%d.%s@%s", dg.LastID, hex.EncodeToString(sum[:8]), a.mailDomain())
}

// mailDomain is the right-hand side of the portal's Message-IDs: the
// portal's host name, or the sender's domain.
func (a *Alerter) mailDomain() string {
	if u, err := url.Parse(a.cfg.PortalURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	if at := strings.LastIndexByte(a.cfg.SMTP.From, '@'); at >= 0 {
		return strings.Trim(a.cfg.SMTP.From[at+1:], "> ")
	}
	return "appreg-portal.invalid"
}

func (a *Alerter) log() *slog.Logger {
	if a.cfg.Log != nil {
		return a.cfg.Log
	}
	return slog.Default()
}

func (a *Alerter) client() (*mail.Client, error) {
	host, portStr, err := net.SplitHostPort(a.cfg.SMTP.Addr)
	if err != nil {
		return nil, &configError{fmt.Errorf("bad SMTP address: %w", err)}
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, &configError{fmt.Errorf("bad SMTP port: %w", err)}
	}
	opts := []mail.Option{mail.WithPort(port), mail.WithTimeout(30 * time.Second)}
	switch a.cfg.SMTP.TLS {
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	case "tls":
		opts = append(opts, mail.WithSSL())
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if a.cfg.SMTP.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(a.cfg.SMTP.Username), mail.WithPassword(a.cfg.SMTP.Password))
	}
	return mail.NewClient(host, opts...)
}

// mailSession sends a send worker's digests over one SMTP connection (a
// thousand recipients are a thousand messages, not a thousand TLS
// handshakes), dialling again after any failure.
type mailSession struct {
	a *Alerter
	c *mail.Client // nil until dialled, and after a failure
}

func (s *mailSession) send(ctx context.Context, msg Message) error {
	if s.a.useGraph() {
		html := msg.HTML
		if html == "" {
			html = textHTML(msg.Text)
		}
		return s.a.cfg.Graph.SendMail(ctx, s.a.cfg.GraphSender, msg.To, msg.Subject, html)
	}
	m, err := s.a.message(msg)
	if err != nil {
		return err
	}
	if s.c == nil {
		c, err := s.a.client()
		if err != nil {
			return err
		}
		if err := c.DialWithContext(ctx); err != nil {
			return err
		}
		s.c = c
	}
	if err := s.c.Send(m); err != nil {
		s.close()
		return err
	}
	return nil
}

func (s *mailSession) close() {
	if s.c != nil {
		_ = s.c.Close() // the messages are sent or failed already; a failed QUIT changes nothing
		s.c = nil
	}
}
