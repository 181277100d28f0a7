package entrasim

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
)

// Fault makes matching requests fail the way real Graph and Entra misbehave
// (https://learn.microsoft.com/graph/throttling, https://learn.microsoft.com/graph/errors): 429 with
// Retry-After, 500, 502, 503, 504.
type Fault struct {
	Method     string `json:"method"`     // "" matches any method
	Path       string `json:"path"`       // URL path pattern; "*" matches any run of characters
	Status     int    `json:"status"`     // 429, 500, 502, 503 or 504
	RetryAfter int    `json:"retryAfter"` // seconds; sent as Retry-After when > 0
	Count      int    `json:"count"`      // fail the next Count matching requests (0 with Percent = no limit)
	Percent    int    `json:"percent"`    // fail this share of matching requests (0 = all)
}

type faultRule struct {
	Fault
	remaining int // -1 = unlimited
}

// AddFault injects a fault. With neither Count nor Percent it fails the next matching request only.
func (s *Sim) AddFault(f Fault) error {
	switch f.Status {
	case 429, 500, 502, 503, 504:
	default:
		return fmt.Errorf("%w: fault status %d (want 429, 500, 502, 503 or 504)", ErrInvalid, f.Status)
	}
	if f.Path == "" {
		f.Path = "*"
	}
	if f.Percent < 0 || f.Percent > 100 || f.Count < 0 {
		return fmt.Errorf("%w: fault count/percent", ErrInvalid)
	}
	rem := f.Count
	if rem == 0 {
		if f.Percent > 0 {
			rem = -1
		} else {
			rem = 1
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultRule{Fault: f, remaining: rem})
	return nil
}

// ClearFaults removes every injected fault.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

func (s *Sim) matchFault(method, path string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, method) {
			continue
		}
		if !globMatch(f.Path, path) {
			continue
		}
		if f.Percent > 0 && rand.IntN(100) >= f.Percent {
			continue
		}
		out := f.Fault
		if f.remaining > 0 {
			f.remaining--
			if f.remaining == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return &out
	}
	return nil
}

// globMatch matches pattern against s; "*" matches any run of characters, including "/".
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for i := 1; i < len(parts)-1; i++ {
		j := strings.Index(s, parts[i])
		if j < 0 {
			return false
		}
		s = s[j+len(parts[i]):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

var faultCodes = map[int][2]string{
	429: {"TooManyRequests", "Too many requests from Identifier: the application exceeded its request quota. Please try again later."},
	500: {"generalException", "An internal server error occurred."},
	502: {"BadGateway", "The gateway received an invalid response from the upstream service."},
	503: {"serviceNotAvailable", "The service is temporarily unavailable. Please try again later."},
	504: {"GatewayTimeout", "The upstream service did not respond in time."},
}

func (s *Sim) writeFault(w http.ResponseWriter, r *http.Request, f *Fault) {
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
	}
	c := faultCodes[f.Status]
	if strings.HasPrefix(r.URL.Path, "/v1.0") {
		s.writeGraphError(w, r, f.Status, c[0], c[1])
		return
	}
	code := "temporarily_unavailable"
	if f.Status == 500 || f.Status == 502 {
		code = "server_error"
	}
	s.writeTokenError(w, f.Status, code, 90033, "A transient error has occurred. Please try again.")
}
