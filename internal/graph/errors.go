package graph

import (
	"errors"
	"fmt"
	"net/http"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
)

// Sentinel errors; test them with errors.Is. The concrete error is an *Error with the details.
var (
	// ErrInsufficientPrivileges: 403 Authorization_RequestDenied — the token lacks the permission or the
	// signed-in admin lacks the directory role.
	ErrInsufficientPrivileges = errors.New("graph: insufficient privileges")
	// ErrThrottled: 429 (or 503/504) still failing after the RetryHandler's retries.
	ErrThrottled = errors.New("graph: throttled")
	// ErrPolicyViolation: the tenant's app management policy forbids the credential
	// (CredentialInvalidLifetimeAsPerAppPolicy, CredentialTypeNotAllowedAsPerAppPolicy).
	ErrPolicyViolation = errors.New("graph: app management policy violation")
	// ErrNotFound: 404 Request_ResourceNotFound.
	ErrNotFound = errors.New("graph: not found")
	// ErrReplicationLag: 400 NoBackingApplicationObject — the application was just created and has not
	// replicated yet.
	ErrReplicationLag = errors.New("graph: object not replicated yet")
	// ErrConflict: 409, e.g. Request_MultipleObjectsWithSameKeyValue.
	ErrConflict = errors.New("graph: conflict")
	// ErrNoConsent: Entra will not issue the portal a token for the tenant:
	// the app is not consented there (or was removed). See TokenError.
	ErrNoConsent = errors.New("graph: the portal app is not consented in the tenant")
	// ErrNotReplicatedYet: Entra does not know the portal app in the tenant
	// yet (AADSTS700016: not in the directory; AADSTS7000229: no service
	// principal). Right after an admin consented that is replication and
	// worth waiting for; long after, it means no consent, so TokenError wraps
	// it together with ErrNoConsent.
	ErrNotReplicatedYet = errors.New("graph: the portal app is not in the tenant yet")
	// ErrUnauthenticated: 401 InvalidAuthenticationToken.
	ErrUnauthenticated = errors.New("graph: invalid authentication token")
)

// Error is a Graph error response in the portal's terms.
type Error struct {
	Status      int
	Code        string
	Message     string
	DetailCodes []string
	RequestID   string
	kind        error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("graph: %d %s: %s", e.Status, e.Code, e.Message)
	if e.RequestID != "" {
		msg += " (request-id " + e.RequestID + ")"
	}
	return msg
}

// Unwrap returns the sentinel (ErrNotFound, …), if any.
func (e *Error) Unwrap() error { return e.kind }

// mapError turns SDK errors into *Error. It nil-checks every getter: the SDK's error models can be
// partially populated (msgraph-sdk-go #434).
func mapError(op string, err error) error {
	if err == nil {
		return nil
	}
	var odErr *odataerrors.ODataError
	var apiErr *abs.ApiError
	e := &Error{}
	switch {
	case errors.As(err, &odErr):
		e.Status = odErr.ResponseStatusCode
		if main := odErr.GetErrorEscaped(); main != nil {
			if p := main.GetCode(); p != nil {
				e.Code = *p
			}
			if p := main.GetMessage(); p != nil {
				e.Message = *p
			}
			for _, d := range main.GetDetails() {
				if d != nil && d.GetCode() != nil {
					e.DetailCodes = append(e.DetailCodes, *d.GetCode())
				}
			}
			if in := main.GetInnerError(); in != nil && in.GetRequestId() != nil {
				e.RequestID = *in.GetRequestId()
			}
		}
	case errors.As(err, &apiErr):
		e.Status = apiErr.ResponseStatusCode
		e.Message = apiErr.Message
	default:
		return fmt.Errorf("graph: %s: %w", op, err)
	}
	e.kind = classify(e)
	return fmt.Errorf("%s: %w", op, e)
}

func classify(e *Error) error {
	for _, d := range e.DetailCodes {
		if d == "NoBackingApplicationObject" {
			return ErrReplicationLag
		}
	}
	switch e.Code {
	case "CredentialInvalidLifetimeAsPerAppPolicy", "CredentialTypeNotAllowedAsPerAppPolicy":
		return ErrPolicyViolation
	case "Authorization_RequestDenied":
		return ErrInsufficientPrivileges
	case "Request_ResourceNotFound":
		return ErrNotFound
	case "NoBackingApplicationObject":
		return ErrReplicationLag
	}
	switch e.Status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return ErrThrottled
	case http.StatusForbidden:
		return ErrInsufficientPrivileges
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusConflict:
		return ErrConflict
	case http.StatusUnauthorized:
		return ErrUnauthenticated
	}
	return nil
}
