package alerts

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"strings"
	"testing"

	"github.com/appreg-portal/portal/internal/i18n"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Reason
	}{
		{"sent", nil, ReasonNone},
		{"dial refused", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}, ReasonUnreachable},
		{"dns", fmt.Errorf("dial: %w", &net.DNSError{Err: "no such host", Name: "smtp.contoso.example"}), ReasonUnreachable},
		{"timeout", &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, ReasonTimeout},
		{"auth refused", fmt.Errorf("smtp auth: %w", &textproto.Error{Code: 535, Msg: "5.7.8 Authentication credentials invalid"}), ReasonAuth},
		{"too large", &textproto.Error{Code: 552, Msg: "5.3.4 Message size exceeds fixed limit"}, ReasonTooLarge},
		{"greylisted", &textproto.Error{Code: 451, Msg: "4.7.1 Try again later"}, ReasonServerBusy},
		{"no starttls", errors.New(`STARTTLS mode set to: "TLSMandatory", but target host does not support STARTTLS`), ReasonTLS},
		{"bad config", &configError{errors.New("bad SMTP port")}, ReasonBadConfig},
		{"unknown", errors.New("something odd from mx1.contoso.example"), ReasonOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.err); got != tt.want {
				t.Errorf("Classify(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

// A reason's words never carry the error's detail: a host, an address or
// the server's reply.
func TestReasonTextIsPlain(t *testing.T) {
	for _, r := range []Reason{ReasonBadConfig, ReasonUnreachable, ReasonTimeout, ReasonTLS, ReasonAuth, ReasonSenderRefused,
		ReasonRecipientRefused, ReasonMessageRefused, ReasonTooLarge, ReasonServerBusy, ReasonConnectionDropped, ReasonOther, Reason("from an older portal")} {
		txt := r.Text()
		if txt == "" || strings.ContainsAny(txt, "@:<>") {
			t.Errorf("Reason(%q).Text() = %q", r, txt)
		}
	}
}

// Every reason has its words in both languages, from the catalogue; an
// unknown one reads as ReasonOther's.
func TestReasonTextInBothLanguages(t *testing.T) {
	all := []Reason{ReasonBadConfig, ReasonUnreachable, ReasonTimeout, ReasonTLS, ReasonAuth, ReasonSenderRefused, ReasonRecipientRefused,
		ReasonMessageRefused, ReasonTooLarge, ReasonServerBusy, ReasonConnectionDropped, ReasonOther, ReasonWebhookUnreachable, ReasonWebhookGone,
		ReasonWebhookDenied, ReasonWebhookBusy, ReasonWebhookRefused, ReasonNoSealKey, ReasonGraphToken, ReasonGraphDenied, ReasonGraphMailbox, ReasonGraphBusy}
	var missing []string
	nl := i18n.For(i18n.NL, i18n.OnMissing(func(id string, _ error) { missing = append(missing, id) }))
	en := i18n.For(i18n.EN, i18n.OnMissing(func(id string, _ error) { missing = append(missing, id) }))
	seen := map[string]Reason{}
	for _, r := range all {
		e, n := r.TextIn(en), r.TextIn(nl)
		if e == "" || n == "" || e == n || e != r.Text() {
			t.Errorf("Reason(%q): English %q, Dutch %q, Text %q", r, e, n, r.Text())
		}
		if other, dup := seen[n]; dup && r != ReasonOther {
			t.Errorf("Reason(%q) reads as Reason(%q) in Dutch: %q", r, other, n)
		}
		seen[n] = r
	}
	if got, want := ReasonTextIn(nl, "from an older portal"), ReasonOther.TextIn(nl); got != want || !strings.HasPrefix(got, "Het verzenden is mislukt") {
		t.Errorf("an unknown reason in Dutch = %q, want %q", got, want)
	}
	if ReasonNone.TextIn(nl) != "" {
		t.Errorf("ReasonNone.TextIn = %q, want nothing", ReasonNone.TextIn(nl))
	}
	if len(missing) > 0 {
		t.Errorf("reasons missing from the catalogue: %q", missing)
	}
}

// A real SMTP client error against a closed port is classified as
// unreachable.
func TestClassifyRealDialError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	a := New(Config{SMTP: SMTP{Addr: addr, From: "portal@contoso.example", TLS: "none"}}, nil)
	err = a.mail(context.Background(), "ops@contoso.example", "x", "y")
	if got := Classify(err); got != ReasonUnreachable {
		t.Errorf("Classify(%v) = %q, want unreachable", err, got)
	}
	a = New(Config{SMTP: SMTP{Addr: "no-port", From: "portal@contoso.example", TLS: "none"}}, nil)
	err = a.mail(context.Background(), "ops@contoso.example", "x", "y")
	if got := Classify(err); got != ReasonBadConfig {
		t.Errorf("Classify(%v) = %q, want bad-config", err, got)
	}
}
