// Package mailtest runs a real SMTP server on loopback for tests and keeps
// every message it receives, decoded, so tests can read what people would.
package mailtest

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// Mail is one received message.
type Mail struct {
	From    string
	To      []string
	Subject string
	Body    string // decoded text: the text/plain part of a multipart message
	HTML    string // decoded text/html part, if any
	// MessageID is the Message-ID header, angle brackets included.
	MessageID string
	// ContentType is the top-level media type (multipart/alternative, text/plain).
	ContentType string
	Raw         string
}

// Server is a running SMTP server.
type Server struct {
	Addr string

	mu    sync.Mutex
	mails []Mail
	srv   *smtp.Server
}

// Start listens on addr ("127.0.0.1:0" for any free port) until the test ends.
func Start(tb testing.TB, addr string) *Server {
	tb.Helper()
	return start(tb, addr, 0)
}

// StartLimited is Start with a size limit, as real mail servers have: a
// message over maxBytes is refused with 552 (RFC 5321 §4.5.3.1.7).
func StartLimited(tb testing.TB, addr string, maxBytes int64) *Server {
	tb.Helper()
	return start(tb, addr, maxBytes)
}

func start(tb testing.TB, addr string, maxBytes int64) *Server {
	tb.Helper()
	s := &Server{}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
	if maxBytes > 0 {
		s.srv.MaxMessageBytes = maxBytes
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	go s.srv.Serve(ln) //nolint:errcheck // returns when Close is called
	tb.Cleanup(func() { s.srv.Close() })
	return s
}

// Mails returns what has arrived so far.
func (s *Server) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

type session struct {
	s   *Server
	cur Mail
}

func (x *session) Reset()                                      { x.cur = Mail{} }
func (x *session) Logout() error                               { return nil }
func (x *session) Mail(from string, _ *smtp.MailOptions) error { x.cur.From = from; return nil }
func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.cur.To = append(x.cur.To, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := x.cur
	m.Raw = string(raw)
	if msg, err := netmail.ReadMessage(bytes.NewReader(raw)); err == nil {
		m.Subject, _ = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		m.MessageID = msg.Header.Get("Message-ID")
		mt, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
		m.ContentType = mt
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(msg.Body, params["boundary"])
			for {
				p, err := mr.NextRawPart()
				if err != nil {
					break
				}
				pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
				body := decode(p, p.Header.Get("Content-Transfer-Encoding"))
				switch pt {
				case "text/plain":
					m.Body = body
				case "text/html":
					m.HTML = body
				}
			}
		} else {
			m.Body = decode(msg.Body, msg.Header.Get("Content-Transfer-Encoding"))
		}
	}
	x.s.mu.Lock()
	x.s.mails = append(x.s.mails, m)
	x.s.mu.Unlock()
	return nil
}

func decode(r io.Reader, encoding string) string {
	var body []byte
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body, _ = io.ReadAll(quotedprintable.NewReader(r))
	case "base64":
		body, _ = io.ReadAll(base64.NewDecoder(base64.StdEncoding, r))
	default:
		body, _ = io.ReadAll(r)
	}
	return string(body)
}
