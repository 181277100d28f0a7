package alerts

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/textproto"
	"strings"

	"github.com/wneessen/go-mail"

	"github.com/appreg-portal/portal/internal/i18n"
)

// Reason says in a word why a delivery failed. It is what the portal stores
// and shows; the error itself, which can name hosts, server banners and
// addresses, only goes to the log.
type Reason string

// The reasons a delivery fails, as people can act on them.
const (
	ReasonNone              Reason = ""
	ReasonBadConfig         Reason = "bad-config"
	ReasonUnreachable       Reason = "unreachable"
	ReasonTimeout           Reason = "timeout"
	ReasonTLS               Reason = "tls"
	ReasonAuth              Reason = "auth"
	ReasonSenderRefused     Reason = "sender-refused"
	ReasonRecipientRefused  Reason = "recipient-refused"
	ReasonMessageRefused    Reason = "message-refused"
	ReasonTooLarge          Reason = "too-large"
	ReasonServerBusy        Reason = "server-busy"
	ReasonConnectionDropped Reason = "connection-dropped"
	ReasonOther             Reason = "other"

	ReasonWebhookUnreachable Reason = "webhook-unreachable"
	ReasonWebhookGone        Reason = "webhook-gone"
	ReasonWebhookDenied      Reason = "webhook-denied"
	ReasonWebhookBusy        Reason = "webhook-busy"
	ReasonWebhookRefused     Reason = "webhook-refused"
	ReasonNoSealKey          Reason = "no-seal-key"

	ReasonGraphToken   Reason = "graph-token"
	ReasonGraphDenied  Reason = "graph-denied"
	ReasonGraphMailbox Reason = "graph-mailbox"
	ReasonGraphBusy    Reason = "graph-busy"
)

// Text says what the reason means and what to check, in plain words, in
// English (logs, errors).
func (r Reason) Text() string { return r.TextIn(i18n.For(i18n.EN)) }

// TextIn is Text in l's language: the words come from the mail catalogue
// (mail.reason.<reason>).
func (r Reason) TextIn(l *i18n.Localizer) string {
	if r == ReasonNone {
		return ""
	}
	return l.T(r.MessageID())
}

// MessageID is the reason's message in the mail catalogue; an unknown
// reason is ReasonOther's.
func (r Reason) MessageID() string {
	switch r {
	case ReasonBadConfig, ReasonUnreachable, ReasonTimeout, ReasonTLS, ReasonAuth, ReasonSenderRefused, ReasonRecipientRefused, ReasonMessageRefused, ReasonTooLarge, ReasonServerBusy, ReasonConnectionDropped, ReasonWebhookUnreachable, ReasonWebhookGone, ReasonWebhookDenied, ReasonWebhookBusy, ReasonWebhookRefused, ReasonGraphToken, ReasonGraphDenied, ReasonGraphMailbox, ReasonGraphBusy, ReasonNoSealKey:
		return "mail.reason." + strings.ReplaceAll(string(r), "-", "_")
	}
	return "mail.reason.other"
}

// ReasonText is Text for a stored reason.
func ReasonText(stored string) string { return Reason(stored).Text() }

// ReasonTextIn is TextIn for a stored reason.
func ReasonTextIn(l *i18n.Localizer, stored string) string { return Reason(stored).TextIn(l) }

// Classify turns an SMTP send error into a Reason. Unknown errors are
// ReasonOther, never the error's text.
func Classify(err error) Reason {
	if err == nil {
		return ReasonNone
	}
	if errors.Is(err, ErrNoSealKey) {
		return ReasonNoSealKey
	}
	var re *ReasonError
	if errors.As(err, &re) {
		return re.Reason
	}
	var we *webhookError
	if errors.As(err, &we) {
		return webhookReason(we)
	}
	var cfgErr *configError
	if errors.As(err, &cfgErr) {
		return ReasonBadConfig
	}
	// A reply from the server: its code says whose fault it is (RFC 5321 §4.2).
	var tp *textproto.Error
	if errors.As(err, &tp) {
		if r := replyReason(tp.Code); r != ReasonOther {
			return r
		}
	}
	var se *mail.SendError
	if errors.As(err, &se) {
		code := se.ErrorCode()
		switch r := replyReason(code); {
		case r == ReasonAuth || r == ReasonServerBusy || se.IsTemp():
			if r == ReasonAuth {
				return r
			}
			return ReasonServerBusy
		case se.Reason == mail.ErrSMTPMailFrom:
			return ReasonSenderRefused
		case se.Reason == mail.ErrSMTPRcptTo:
			return ReasonRecipientRefused
		case r != ReasonOther:
			return r
		case se.Reason == mail.ErrSMTPData, se.Reason == mail.ErrSMTPDataClose, se.Reason == mail.ErrNoUnencoded:
			return ReasonMessageRefused
		case se.Reason == mail.ErrConnCheck, se.Reason == mail.ErrWriteContent, se.Reason == mail.ErrSMTPReset:
			return ReasonConnectionDropped
		}
	}
	var recErr tls.RecordHeaderError
	var certErr *tls.CertificateVerificationError
	var unkAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	if errors.As(err, &recErr) || errors.As(err, &certErr) || errors.As(err, &unkAuth) || errors.As(err, &hostErr) {
		return ReasonTLS
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return ReasonTimeout
	}
	var dnsErr *net.DNSError
	var opErr *net.OpError
	if errors.As(err, &dnsErr) || (errors.As(err, &opErr) && opErr.Op == "dial") {
		return ReasonUnreachable
	}
	msg := strings.ToLower(err.Error())
	switch {
	case strings.Contains(msg, "starttls") || strings.Contains(msg, "tls:"):
		return ReasonTLS
	case strings.Contains(msg, "auth"):
		return ReasonAuth
	case errors.Is(err, net.ErrClosed) || strings.Contains(msg, "eof") || strings.Contains(msg, "broken pipe") || strings.Contains(msg, "connection reset"):
		return ReasonConnectionDropped
	}
	return ReasonOther
}

func replyReason(code int) Reason {
	switch {
	case code == 530 || code == 535 || code == 534 || code == 538:
		return ReasonAuth
	case code == 552 || code == 523:
		return ReasonTooLarge
	case code == 550 || code == 551 || code == 553:
		return ReasonRecipientRefused
	case code == 554:
		return ReasonMessageRefused
	case code >= 400 && code < 500:
		return ReasonServerBusy
	}
	return ReasonOther
}

// configError is a mistake in the portal's own mail settings.
type configError struct{ err error }

func (e *configError) Error() string { return "alerts: mail settings: " + e.err.Error() }
func (e *configError) Unwrap() error { return e.err }
