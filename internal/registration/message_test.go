package registration_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/graph"
	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/registration"
)

// A message kept in Postgres (a step's label, a run's error) reads back as
// the same message and is worded in each reader's language; text from
// before messages were kept reads back as itself.
func TestStoredMessagesRoundTrip(t *testing.T) {
	nl, en := i18n.For(i18n.NL), i18n.For(i18n.EN)
	end := time.Date(2027, 3, 7, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		msg      registration.Message
		wantEN   string
		wantNL   string
		verbatim bool
	}{
		{"plain", registration.Msg("wizard.step.service_principal"),
			"Create its enterprise application (service principal) if missing", "De bijbehorende bedrijfstoepassing (service-principal) maken als die ontbreekt", false},
		{"quoted name", registration.Msg("wizard.step.create_app", "Name", `Exact "mail" <app>`),
			`Create the app registration “Exact "mail" <app>”`, `De app-registratie “Exact "mail" <app>” maken`, false},
		{"plural", registration.Plural("wizard.step.secret", 1), "Add a client secret valid for 1 month", "Een clientgeheim toevoegen dat 1 maand geldig is", false},
		{"nested reason", registration.Msg("wizard.preflight_failed", "Why", registration.Why(graph.ErrThrottled)),
			"The check before applying failed: Microsoft Graph is busy (throttled)", "De controle vóór het toepassen is mislukt: Microsoft Graph beperkt het aantal aanvragen (throttling)", false},
		{"graph answer", registration.Msg("wizard.err.graph", "Status", "403", "Code", "Authorization_RequestDenied", "Message", "Insufficient privileges"),
			"Microsoft Graph answered 403 Authorization_RequestDenied: Insufficient privileges", "Microsoft Graph antwoordde 403 Authorization_RequestDenied: Insufficient privileges", false},
		{"date", registration.Msg("drift.expired.text", "Date", registration.Date(end)), "It ended on 7 March 2027", "Het is verlopen op 7 maart 2027", false},
		{"legacy text", registration.Verbatim("The step could not be completed."), "The step could not be completed.", "The step could not be completed.", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored := tt.msg.Stored()
			if got := strings.HasPrefix(stored, "{"); got == tt.verbatim {
				t.Errorf("Stored() = %s: kept as JSON %v, want %v", stored, got, !tt.verbatim)
			}
			back := registration.Stored(stored)
			if got := back.In(en); !strings.HasPrefix(got, tt.wantEN) {
				t.Errorf("English = %q, want it to start %q", got, tt.wantEN)
			}
			if got := back.In(nl); !strings.HasPrefix(got, tt.wantNL) {
				t.Errorf("Dutch = %q, want it to start %q", got, tt.wantNL)
			}
			if got, want := back.English(), tt.msg.English(); got != want {
				t.Errorf("read back = %q, want %q as written", got, want)
			}
		})
	}
	if got := registration.Stored(`{"id":`); got.In(en) != `{"id":` {
		t.Errorf("a broken record reads %q, want it as it is", got.In(en))
	}
}

// Why gives every kind of Graph failure a message both languages define,
// and Explain stays the English of it (for the command line and logs).
func TestWhyIsWordedInBothLanguages(t *testing.T) {
	errs := []error{graph.ErrInsufficientPrivileges, graph.ErrThrottled, graph.ErrReplicationLag, graph.ErrNotFound,
		graph.ErrPolicyViolation, graph.ErrUnauthenticated, fmt.Errorf("read: %w", errors.New("boom")),
		&graph.Error{Status: 400, Code: "Request_BadRequest", Message: "bad"}}
	for _, err := range errs {
		m := registration.Why(err)
		for _, l := range i18n.Langs {
			if !i18n.Has(l, m.ID) {
				t.Errorf("Why(%v) = %s, not defined in %s", err, m.ID, l)
			}
		}
		if registration.Explain(err) != m.English() || registration.Explain(err) == "" {
			t.Errorf("Explain(%v) = %q", err, registration.Explain(err))
		}
	}
}

// Every message ID written in a Msg or Plural call (here and in the
// handlers that word these messages) exists in both languages: the i18n
// package's own check reads T and N calls only.
func TestMessageIDsInSourceAreDefined(t *testing.T) {
	call := regexp.MustCompile(`\b(?:Msg|Plural)\("([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)"`)
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	more, err := filepath.Glob(filepath.Join("..", "handlers", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, f := range append(files, more...) {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		buf, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range call.FindAllStringSubmatch(string(buf), -1) {
			seen++
			for _, l := range i18n.Langs {
				if !i18n.Has(l, m[1]) {
					t.Errorf("%s: message %q is not defined in %s", f, m[1], l)
				}
			}
		}
	}
	if seen < 40 {
		t.Fatalf("found only %d message IDs; is the pattern still right?", seen)
	}
}
