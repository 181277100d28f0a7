package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	netmail "net/mail"

	"github.com/emersion/go-smtp"
)

// startDevMail runs a mail sink for `portal dev`: a real SMTP server on
// loopback that accepts every message and logs who it was for and its
// subject, so alerts can be watched without a mail server.
func startDevMail(addr string, log *slog.Logger) (string, func(), error) {
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &devMailSession{log: log}, nil }))
	srv.Domain = "localhost"
	srv.MaxMessageBytes = 10 << 20
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("start the dev mail sink on %s: %w (use -smtp-addr to pick another address)", addr, err)
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			log.Error("dev mail sink stopped", "err", err)
		}
	}()
	return ln.Addr().String(), func() { srv.Close() }, nil
}

type devMailSession struct {
	log  *slog.Logger
	from string
	to   []string
}

func (s *devMailSession) Reset()                                      { s.from, s.to = "", nil }
func (s *devMailSession) Logout() error                               { return nil }
func (s *devMailSession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *devMailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *devMailSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	subject := "(unreadable)"
	if msg, err := netmail.ReadMessage(bytes.NewReader(raw)); err == nil {
		if dec, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err == nil {
			subject = dec
		}
	}
	s.log.Info("dev mail sink: mail received", "from", s.from, "to", s.to, "subject", subject, "bytes", len(raw))
	return nil
}
