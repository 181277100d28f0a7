package main

import (
	"context"
	"errors"
	"sync"

	"golang.org/x/oauth2"

	"github.com/appreg-portal/portal/internal/alerts"
	"github.com/appreg-portal/portal/internal/graph"
)

// graphMailer sends alert e-mail with Graph sendMail as the portal app
// (app-only, Mail.Send) in the operator's tenant, for sites without an SMTP
// relay. https://learn.microsoft.com/graph/api/user-sendmail
type graphMailer struct {
	app    graph.AppOnly
	tenant string

	mu     sync.Mutex
	client *graph.Client // made at the first message, kept: its token source refreshes itself
}

func (g *graphMailer) SendMail(ctx context.Context, from, to, subject, html string) error {
	g.mu.Lock()
	c := g.client
	if c == nil {
		var err error
		if c, err = graph.NewAppOnlyClient(ctx, g.app, g.tenant); err != nil {
			g.mu.Unlock()
			return classifyGraph(err)
		}
		g.client = c
	}
	g.mu.Unlock()
	return classifyGraph(c.SendMail(ctx, from, graph.Mail{To: []string{to}, Subject: subject, HTMLBody: html}))
}

// classifyGraph says in an alerts.Reason what a Graph error means for
// people; other errors (the network) are classified by alerts.
func classifyGraph(err error) error {
	var re *oauth2.RetrieveError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &re), errors.Is(err, graph.ErrUnauthenticated), errors.Is(err, graph.ErrNoConsent):
		return &alerts.ReasonError{Reason: alerts.ReasonGraphToken, Err: err}
	case errors.Is(err, graph.ErrInsufficientPrivileges):
		return &alerts.ReasonError{Reason: alerts.ReasonGraphDenied, Err: err}
	case errors.Is(err, graph.ErrNotFound):
		return &alerts.ReasonError{Reason: alerts.ReasonGraphMailbox, Err: err}
	case errors.Is(err, graph.ErrThrottled):
		return &alerts.ReasonError{Reason: alerts.ReasonGraphBusy, Err: err}
	}
	return err
}
