package graph_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"golang.org/x/oauth2"

	"github.com/appreg-portal/portal/internal/graph"
)

func retrieveError(status int, code, description string) error {
	return fmt.Errorf("token: %w", &oauth2.RetrieveError{Response: &http.Response{StatusCode: status}, ErrorCode: code, ErrorDescription: description})
}

// Source: https://learn.microsoft.com/entra/identity-platform/reference-error-codes — the answers the
// token endpoint gives for a tenant that has not (yet) consented, and others that are not about consent.
func TestTokenError(t *testing.T) {
	tests := []struct {
		name          string
		err           error
		noConsent     bool
		notReplicated bool
		refused       bool
	}{
		{"app not in the directory", retrieveError(400, "unauthorized_client", "AADSTS700016: Application with identifier 'x' was not found in the directory 'y'."), true, true, true},
		{"no service principal", retrieveError(400, "invalid_client", "AADSTS7000229: The client application x is missing service principal in the tenant y."), true, true, true},
		{"no consent", retrieveError(400, "invalid_grant", "AADSTS65001: The user or administrator has not consented to use the application."), true, false, true},
		{"consent_required", retrieveError(400, "consent_required", "AADSTS65004"), true, false, true},
		{"wrong secret", retrieveError(401, "invalid_client", "AADSTS7000215: Invalid client secret provided."), false, false, true},
		{"server error", retrieveError(500, "server_error", "AADSTS90033: A transient error has occurred."), false, false, false},
		{"not a token error", errors.New("dial tcp: connection refused"), false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := graph.TokenError(tt.err)
			if !errors.Is(got, tt.err) {
				t.Errorf("TokenError(%v) = %v, want it to wrap the original error", tt.err, got)
			}
			if is := errors.Is(got, graph.ErrNoConsent); is != tt.noConsent {
				t.Errorf("errors.Is(TokenError(%v), ErrNoConsent) = %v, want %v", tt.err, is, tt.noConsent)
			}
			if is := errors.Is(got, graph.ErrNotReplicatedYet); is != tt.notReplicated {
				t.Errorf("errors.Is(TokenError(%v), ErrNotReplicatedYet) = %v, want %v", tt.err, is, tt.notReplicated)
			}
			if r := graph.TokenRefused(tt.err); r != tt.refused {
				t.Errorf("TokenRefused(%v) = %v, want %v", tt.err, r, tt.refused)
			}
		})
	}
}
