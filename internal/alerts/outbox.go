package alerts

import (
	"sync"
	"sync/atomic"
	"time"
)

// Outbox keeps the latest messages an alerter sent or tried to send, for
// `portal dev`'s Outbox page: a newcomer sees the e-mails and webhook calls
// without a mail server or a receiver. Never used in production: messages
// stay in memory only.
type Outbox struct {
	mu   sync.Mutex
	msgs []OutboxMessage // newest last
	max  int
}

// OutboxMessage is one message as it went out.
type OutboxMessage struct {
	At      time.Time // on the alerter's clock
	Channel string    // e-mail, teams, slack, webhook
	To      string    // the address, or the channel's name
	Subject string
	Text    string // the plain-text part (e-mail)
	HTML    string // the HTML part (e-mail)
	JSON    string // the body posted (webhooks)
	Outcome string // "sent", or the failure reason in words (English)
	// Reason is why it failed (ReasonNone when sent), for a page that
	// shows the outcome in its reader's language (Reason.TextIn).
	Reason Reason
}

// NewOutbox keeps the latest max messages.
func NewOutbox(max int) *Outbox { return &Outbox{max: max} }

func (o *Outbox) add(m OutboxMessage) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.msgs = append(o.msgs, m)
	if len(o.msgs) > o.max {
		o.msgs = append([]OutboxMessage(nil), o.msgs[len(o.msgs)-o.max:]...)
	}
}

// Messages returns the kept messages, newest first.
func (o *Outbox) Messages() []OutboxMessage {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]OutboxMessage, len(o.msgs))
	for i, m := range o.msgs {
		out[len(o.msgs)-1-i] = m
	}
	return out
}

// Clock is the demo clock of `portal dev`: real time plus an offset that
// a newcomer advances to watch alerts come due. Production uses time.Now.
type Clock struct{ offset atomic.Int64 }

// Now is the real time plus the offset.
func (c *Clock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// Offset is how far the clock is ahead of real time.
func (c *Clock) Offset() time.Duration { return time.Duration(c.offset.Load()) }
