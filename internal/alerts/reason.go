package alerts

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/textproto"
	"strings"

	"github.com/wneessen/go-mail"
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

// Text says what the reason means and what to check, in plain words.
func (r Reason) Text() string {
	switch r {
	case ReasonNone:
		return ""
	case ReasonBadConfig:
		return "The mail settings are not valid (check PORTAL_SMTP_ADDR and the sender address)."
	case ReasonUnreachable:
		return "The mail server could not be reached (check its address and port, and the firewall)."
	case ReasonTimeout:
		return "The mail server did not answer in time."
	case ReasonTLS:
		return "A secure connection to the mail server could not be made (check its certificate and the TLS setting)."
	case ReasonAuth:
		return "The mail server refused the portal's user name or password."
	case ReasonSenderRefused:
		return "The mail server refused the sender address."
	case ReasonRecipientRefused:
		return "The mail server refused the recipient address."
	case ReasonMessageRefused:
		return "The mail server refused the message."
	case ReasonTooLarge:
		return "The mail server refused the message as too large."
	case ReasonServerBusy:
		return "The mail server is busy or temporarily unavailable; the portal tries again."
	case ReasonConnectionDropped:
		return "The connection broke off while sending."
	case ReasonWebhookUnreachable:
		return "The webhook's server could not be reached (check the address, DNS and the firewall)."
	case ReasonWebhookGone:
		return "The webhook no longer exists (HTTP 404 or 410): make a new one and replace the channel."
	case ReasonWebhookDenied:
		return "The webhook refused the portal (HTTP 401 or 403): its key may have been reset."
	case ReasonWebhookBusy:
		return "The webhook's server is busy or failing (HTTP 429 or 5xx); the portal tries again."
	case ReasonWebhookRefused:
		return "The webhook refused the message (HTTP 4xx): check that the channel's kind matches the webhook."
	case ReasonGraphToken:
		return "Microsoft Entra ID gave the portal no token for Graph (check the portal app's secret and PORTAL_TENANT_ID)."
	case ReasonGraphDenied:
		return "Graph refused to send: the portal app needs the Mail.Send application permission with admin consent."
	case ReasonGraphMailbox:
		return "Graph does not know the sending mailbox (check PORTAL_ALERT_GRAPH_SENDER: a mailbox in the operator's tenant)."
	case ReasonGraphBusy:
		return "Graph is throttling or unavailable; the portal tries again."
	case ReasonNoSealKey:
		return "Channels need PORTAL_SEAL_KEY: their addresses are kept encrypted."
	}
	return "Sending failed for a reason the portal does not recognise; the portal's log has the details."
}

// ReasonText is Text for a stored reason.
func ReasonText(stored string) string { return Reason(stored).Text() }

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
