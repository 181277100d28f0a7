package registration

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/appreg-portal/portal/internal/graph"
	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/internal/trunc"
)

// Message is what a rotation tells the admin, as a catalogue message ID
// with its arguments (internal/i18n/locales/*/rotation.toml), so the page
// shows it in the reader's language. A rotation keeps its latest message
// in its error column, encoded (Encode); Reason, when set, is a message
// the first one gives as its {{.Reason}}.
type Message struct {
	ID     string            `json:"id"`
	Args   map[string]string `json:"args,omitempty"`
	Reason *Message          `json:"reason,omitempty"`
}

// Msg is a Message with arguments as name, value pairs.
func Msg(id string, args ...string) Message {
	m := Message{ID: id}
	for i := 0; i+1 < len(args); i += 2 {
		if m.Args == nil {
			m.Args = map[string]string{}
		}
		m.Args[args[i]] = args[i+1]
	}
	return m
}

// Encode is the message as a rotation stores it.
func (m Message) Encode() string {
	b, err := json.Marshal(m)
	if err != nil {
		return m.ID // strings only: cannot happen
	}
	return string(b)
}

// DecodeMessage reads a stored message. ok is false for text stored before
// messages were (English sentences), which is shown as it is.
func DecodeMessage(s string) (m Message, ok bool) {
	if !strings.HasPrefix(s, "{") {
		return Message{}, false
	}
	if err := json.Unmarshal([]byte(s), &m); err != nil || m.ID == "" {
		return Message{}, false
	}
	return m, true
}

// Localize writes the message in l's language.
func (m Message) Localize(l *i18n.Localizer) string {
	args := make([]any, 0, 2*len(m.Args)+2)
	for k, v := range m.Args {
		args = append(args, k, v)
	}
	if m.Reason != nil {
		args = append(args, "Reason", m.Reason.Localize(l))
	}
	return l.T(m.ID, args...)
}

// LocalizeStored is a rotation's stored message in l's language: decoded
// and localized, or, for text stored before messages were, as it is.
func LocalizeStored(l *i18n.Localizer, stored string) string {
	if m, ok := DecodeMessage(stored); ok {
		return m.Localize(l)
	}
	return stored
}

// ExplainRotation is Explain for a rotation's page: why a step failed, as
// a message in the reader's language.
func ExplainRotation(err error) Message {
	switch {
	case err == nil:
		return Message{}
	case errors.Is(err, graph.ErrInsufficientPrivileges):
		return Msg("rotation.error.insufficient_privileges")
	case errors.Is(err, graph.ErrThrottled):
		return Msg("rotation.error.throttled")
	case errors.Is(err, graph.ErrReplicationLag), errors.Is(err, graph.ErrNotFound):
		return Msg("rotation.error.replication")
	case errors.Is(err, graph.ErrPolicyViolation):
		return Msg("rotation.error.policy")
	case errors.Is(err, graph.ErrUnauthenticated):
		return Msg("rotation.error.unauthenticated")
	case errors.Is(err, store.ErrLeaseHeld):
		return Msg("rotation.error.lease_held")
	case errors.Is(err, ErrWrongTenant):
		return Msg("rotation.error.wrong_tenant_any")
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return Msg("rotation.error.too_long")
	}
	var ge *graph.Error
	if errors.As(err, &ge) {
		// Graph's own words stay as Graph wrote them (English).
		return Msg("rotation.error.graph", "Status", strconv.Itoa(ge.Status), "Code", ge.Code, "Message", trunc.Ellipsis(ge.Message, 300))
	}
	return Msg("rotation.error.other")
}
