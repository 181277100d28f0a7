package handlers

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/appreg-portal/portal/internal/entrasim"
	"github.com/appreg-portal/portal/internal/safetext"
)

// Issue 13, item 8: formulas are defused wherever a spreadsheet may start
// a cell, not only at the first character.
func TestCSVSafe(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Exact Globe+", "Exact Globe+"},
		{"=1+1", "'=1+1"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"a;=1+1", "a;'=1+1"},
		{"a, -2+3", "a, '-2+3"},
		{"x|+cmd", "x|'+cmd"},
		{"2026-01-02T10:00:00Z", "2026-01-02T10:00:00Z"},
		{"line\r\n=HYPERLINK(\"x\")", "line =HYPERLINK(\"x\")"}, // one line; not at a cell start
		{"\t=1", "'=1"},
	}
	for _, tt := range tests {
		if got := csvSafe(tt.in); got != tt.want {
			t.Errorf("csvSafe(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzCSVSafe: whatever a tenant names an app, no cell a spreadsheet
// might see after splitting on , ; or | starts a formula, and the cell is
// one line.
func FuzzCSVSafe(f *testing.F) {
	for _, s := range []string{"", "=1", "a;=1", "a,\t@x", "a\n-b", "ok"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := csvSafe(s)
		if strings.ContainsAny(got, "\r\n") || !utf8.ValidString(got) {
			t.Fatalf("csvSafe(%q) = %q: not one line of UTF-8", s, got)
		}
		for _, cell := range strings.FieldsFunc(got, func(r rune) bool { return r == ',' || r == ';' || r == '|' }) {
			cell = strings.TrimLeft(cell, " ")
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Fatalf("csvSafe(%q) = %q: cell %q starts a formula", s, got, cell)
			}
		}
	})
}

// FuzzReadForm: a form body either is refused or yields only values the
// portal can store; it never panics and never reads past its limit.
func FuzzReadForm(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", "label=Fabrikam&expected=fabrikam.example")
	f.Add("application/x-www-form-urlencoded", "contacts=%zz")
	f.Add("application/x-www-form-urlencoded", "a=%00&b=%ff")
	f.Add("text/plain", "contacts=x")
	f.Add("multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\x00\r\n--X--\r\n")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, contentType, body string) {
		r := httptest.NewRequest(http.MethodPost, "/x?q=1", strings.NewReader(body))
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		} else {
			r.Header.Del("Content-Type")
		}
		w := httptest.NewRecorder()
		if err := readForm(w, r); err != nil {
			var he *httpError
			if !errorsAs(err, &he) || he.status < 400 || he.status >= 500 {
				t.Fatalf("readForm(%q, %q) = %v, want a 4xx", contentType, body, err)
			}
			return
		}
		for k, vs := range r.PostForm {
			for _, v := range append(vs, k) {
				if safetext.Problem(v) != "" {
					t.Fatalf("readForm(%q, %q) accepted %q", contentType, body, v)
				}
			}
		}
		if r.MultipartForm != nil {
			for k, vs := range r.MultipartForm.Value {
				for _, v := range append(vs, k) {
					if safetext.Problem(v) != "" {
						t.Fatalf("readForm(%q, %q) accepted multipart %q", contentType, body, v)
					}
				}
			}
		}
	})
}

func TestRefusalLimiter(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	l := newRefusalLimiter(func() time.Time { return now })
	if w, n := l.admit("signin.refused/state", "10.0.0.1"); !w || n != 0 {
		t.Fatalf("first refusal: write %v, suppressed %d", w, n)
	}
	for range 99 {
		if w, _ := l.admit("signin.refused/state", "10.0.0.1"); w {
			t.Fatal("a repeat within the window was written")
		}
	}
	if w, _ := l.admit("signin.refused/state", "10.0.0.2"); !w {
		t.Error("another address's first refusal was not written")
	}
	if w, _ := l.admit("tenant.connect.refused/link_unknown", "10.0.0.1"); !w {
		t.Error("another kind's first refusal was not written")
	}
	now = now.Add(refusalWindow)
	if w, n := l.admit("signin.refused/state", "10.0.0.1"); !w || n != 99 {
		t.Errorf("after the window: write %v, suppressed %d; want true, 99", w, n)
	}
	// Many addresses: memory stays bounded, refusals are still coalesced.
	for i := range 3 * maxRefusalKeys {
		l.admit("k", strings.Repeat("x", i%50)+string(rune('a'+i%26))+time.Duration(i).String())
	}
	if len(l.seen) > maxRefusalKeys+1 {
		t.Errorf("limiter holds %d keys, want at most %d", len(l.seen), maxRefusalKeys+1)
	}
}

func errorsAs(err error, target **httpError) bool { return errors.As(err, target) }

// Issue 13, item 8: portal dev's emulator (its /_sim control API too)
// answers only to loopback names, against DNS rebinding.
func TestLoopbackOnlyGuardsTheEmulator(t *testing.T) {
	h := LoopbackOnly(entrasim.New(entrasim.Options{}))
	for host, want := range map[string]int{
		"127.0.0.1:8081": http.StatusOK, "localhost:8081": http.StatusOK, "LOCALHOST": http.StatusOK, "[::1]:8081": http.StatusOK,
		"attacker.example:8081": http.StatusMisdirectedRequest, "127.0.0.1.nip.io": http.StatusMisdirectedRequest, "": http.StatusMisdirectedRequest,
	} {
		r := httptest.NewRequest(http.MethodGet, "/_sim/state", nil)
		r.Host = host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("GET /_sim/state with Host %q = %d, want %d", host, w.Code, want)
		}
	}
}
