package entrasim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// writeJSON writes v with the given status and Content-Type: application/json.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b) // the client went away; nothing to do
}

// graphErrorDetail is one entry of error.details (e.g. CredentialInvalidLifetimeAsPerAppPolicy).
type graphErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Target  string `json:"target,omitempty"`
}

// writeGraphError writes Graph's error envelope (https://learn.microsoft.com/graph/errors):
// {"error":{"code","message","innerError":{"date","request-id","client-request-id"}}} with
// Content-Type: application/json — without it msgraph-sdk-go cannot decode an ODataError
// (it reports "text does not support structured data" instead). The innerError date has no offset and
// no fraction, as the live service sends it.
func (s *Sim) writeGraphError(w http.ResponseWriter, r *http.Request, status int, code, message string, details ...graphErrorDetail) {
	reqID := newGUID()
	clientReqID := r.Header.Get("client-request-id")
	if clientReqID == "" {
		clientReqID = reqID
	}
	w.Header().Set("request-id", reqID)
	w.Header().Set("client-request-id", clientReqID)
	e := map[string]any{
		"code":    code,
		"message": message,
		"innerError": map[string]any{
			"date":              s.Now().Format("2006-01-02T15:04:05"),
			"request-id":        reqID,
			"client-request-id": clientReqID,
		},
	}
	if len(details) > 0 {
		e["details"] = details
	}
	writeJSON(w, status, map[string]any{"error": e})
}

func (s *Sim) notFound(w http.ResponseWriter, r *http.Request, id string) {
	s.writeGraphError(w, r, http.StatusNotFound, "Request_ResourceNotFound",
		fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id))
}

func (s *Sim) badRequest(w http.ResponseWriter, r *http.Request, msg string) {
	s.writeGraphError(w, r, http.StatusBadRequest, "Request_BadRequest", msg)
}

func (s *Sim) denied(w http.ResponseWriter, r *http.Request) {
	s.writeGraphError(w, r, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
}

// tokenError is the body the v2.0 token endpoint returns on failure
// (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow, "Error response";
// https://learn.microsoft.com/entra/identity-platform/reference-error-codes).
type tokenError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
	ErrorURI         string `json:"error_uri,omitempty"`
}

func (s *Sim) newTokenError(errCode string, aadsts int, msg string) tokenError {
	now := s.Now()
	trace, corr := newGUID(), newGUID()
	ts := now.Format("2006-01-02 15:04:05Z")
	desc := fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s", aadsts, msg, trace, corr, ts)
	return tokenError{Error: errCode, ErrorDescription: desc, ErrorCodes: []int{aadsts},
		Timestamp: now.Format("2006-01-02 15:04:05Z"), TraceID: trace, CorrelationID: corr,
		ErrorURI: fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", aadsts)}
}

func (s *Sim) writeTokenError(w http.ResponseWriter, status int, errCode string, aadsts int, msg string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, s.newTokenError(errCode, aadsts, msg))
}

func isoDuration(d time.Duration) string {
	days := int(d / (24 * time.Hour))
	rest := d - time.Duration(days)*24*time.Hour
	var sb strings.Builder
	sb.WriteString("P")
	if days > 0 {
		fmt.Fprintf(&sb, "%dD", days)
	}
	if rest > 0 {
		fmt.Fprintf(&sb, "T%dH", int(rest.Hours()))
	}
	if sb.Len() == 1 {
		return "PT0S"
	}
	return sb.String()
}

// parseISODuration parses the day/hour/minute ISO-8601 durations Graph uses for policy lifetimes (P90D,
// PT12H, P1DT2H).
func parseISODuration(s string) (time.Duration, error) {
	if !strings.HasPrefix(s, "P") {
		return 0, fmt.Errorf("duration %q: want P…", s)
	}
	var d time.Duration
	inTime := false
	num := 0
	hasNum := false
	for _, c := range s[1:] {
		switch {
		case c >= '0' && c <= '9':
			num = num*10 + int(c-'0')
			hasNum = true
		case c == 'T':
			inTime = true
		case c == 'D' && hasNum && !inTime:
			d += time.Duration(num) * 24 * time.Hour
		case c == 'W' && hasNum && !inTime:
			d += time.Duration(num) * 7 * 24 * time.Hour
		case c == 'H' && hasNum && inTime:
			d += time.Duration(num) * time.Hour
		case c == 'M' && hasNum && inTime:
			d += time.Duration(num) * time.Minute
		case c == 'S' && hasNum && inTime:
			d += time.Duration(num) * time.Second
		default:
			return 0, fmt.Errorf("duration %q: unsupported", s)
		}
		if c < '0' || c > '9' {
			num, hasNum = 0, false
		}
	}
	return d, nil
}
