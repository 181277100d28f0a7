package registration

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/appreg-portal/portal/internal/i18n"
)

// Message is words for people as a catalogue message (internal/i18n): its
// ID and arguments, name, value pairs. The page words it in the reader's
// language; the audit trail and the logs keep it in English. A Message
// argument may itself be a Message (a reason inside a sentence).
//
// Text is for words that come from a package without catalogue messages
// yet, or from a record written before messages were kept (shown as they
// are); a Message has either an ID or Text.
type Message struct {
	ID   string `json:"id,omitempty"`
	Args []any  `json:"args,omitempty"`
	// Count, with Plural, picks the plural form (the message's {{.Count}}).
	Count  int    `json:"count,omitempty"`
	Plural bool   `json:"plural,omitempty"`
	Text   string `json:"text,omitempty"`
}

// Date is a day as a message argument, written for the reader's language.
type Date time.Time

// Msg is a catalogue message with its arguments.
func Msg(id string, args ...any) Message { return Message{ID: id, Args: args} }

// Plural is a catalogue message in its plural form for n.
func Plural(id string, n int, args ...any) Message {
	return Message{ID: id, Args: args, Count: n, Plural: true}
}

// Verbatim is text that has no catalogue message.
func Verbatim(s string) Message { return Message{Text: s} }

// IsZero says whether m holds nothing.
func (m Message) IsZero() bool { return m.ID == "" && m.Text == "" }

// In words m in l's language.
func (m Message) In(l *i18n.Localizer) string {
	if m.ID == "" {
		return m.Text
	}
	args := make([]any, len(m.Args))
	for i, a := range m.Args {
		switch v := a.(type) {
		case Message:
			a = v.In(l)
		case Date:
			a = l.Date(time.Time(v))
		}
		args[i] = a
	}
	if m.Plural {
		return l.N(m.ID, m.Count, args...)
	}
	return l.T(m.ID, args...)
}

// English is m in English, for the audit trail, logs and errors.
func (m Message) English() string { return m.In(i18n.For(i18n.EN)) }

// storedPrefix starts a Message kept in a text column (a run's error, a
// step's label and error), so it can be worded again for each reader.
const storedPrefix = `{"id":`

// Stored is m as it is kept in Postgres: JSON for a catalogue message,
// the text itself otherwise.
func (m Message) Stored() string {
	if m.ID == "" {
		return m.Text
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(storedMessage{ID: m.ID, Args: storedArgs(m.Args), Count: m.Count, Plural: m.Plural}) // strings, numbers and messages always encode
	return strings.TrimSuffix(b.String(), "\n")
}

// storedMessage fixes the order of the JSON keys (ID first, see storedPrefix).
type storedMessage struct {
	ID     string `json:"id"`
	Args   []any  `json:"args,omitempty"`
	Count  int    `json:"count,omitempty"`
	Plural bool   `json:"plural,omitempty"`
}

func storedArgs(args []any) []any {
	if len(args) == 0 {
		return nil
	}
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case Message:
			if v.ID == "" {
				a = v.Text
			} else {
				a = storedMessage{ID: v.ID, Args: storedArgs(v.Args), Count: v.Count, Plural: v.Plural}
			}
		case Date:
			a = map[string]string{"date": time.Time(v).UTC().Format(time.RFC3339)}
		}
		out[i] = a
	}
	return out
}

// Stored reads a Message kept by Message.Stored; anything else (a record
// from before messages were kept) is Verbatim text.
func Stored(s string) Message {
	if !strings.HasPrefix(s, storedPrefix) {
		return Verbatim(s)
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return Verbatim(s)
	}
	m, ok := fromJSON(raw)
	if !ok {
		return Verbatim(s)
	}
	return m
}

func fromJSON(raw map[string]any) (Message, bool) {
	id, _ := raw["id"].(string)
	if id == "" {
		return Message{}, false
	}
	m := Message{ID: id}
	if p, ok := raw["plural"].(bool); ok {
		m.Plural = p
	}
	if n, ok := raw["count"].(json.Number); ok {
		c, _ := n.Int64()
		m.Count = int(c)
	}
	args, _ := raw["args"].([]any)
	for _, a := range args {
		switch v := a.(type) {
		case json.Number:
			if n, err := v.Int64(); err == nil {
				a = int(n)
			} else {
				a = v.String()
			}
		case map[string]any:
			if d, ok := v["date"].(string); ok {
				t, err := time.Parse(time.RFC3339, d)
				if err != nil {
					return Message{}, false
				}
				a = Date(t)
				break
			}
			sub, ok := fromJSON(v)
			if !ok {
				return Message{}, false
			}
			a = sub
		}
		m.Args = append(m.Args, a)
	}
	return m, true
}

// messageError is an error that says what went wrong as a Message; it is
// also its kind (a sentinel such as ErrWrongTenant) for errors.Is.
type messageError struct {
	kind error
	msg  Message
}

func (e *messageError) Error() string        { return e.kind.Error() + ": " + e.msg.English() }
func (e *messageError) Is(target error) bool { return target == e.kind }

// problem is an error of kind that tells people msg.
func problem(kind error, msg Message) error { return &messageError{kind: kind, msg: msg} }
