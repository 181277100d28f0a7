package auth

import (
	"net/url"
	"strings"
	"testing"
)

// Return-to values an attacker might craft to turn sign-in into an open
// redirect. None may leave the portal: each must come back as "/".
var hostileReturnTo = []string{
	"https://evil.example",
	"http://evil.example/",
	"HTTPS://EVIL.EXAMPLE",
	"//evil.example",
	"//evil.example/path",
	"///evil.example",
	"////evil.example",
	"/\\evil.example",
	"\\\\evil.example",
	"\\/evil.example",
	"/\\/evil.example",
	"/%5Cevil.example",
	"/%5cevil.example",
	"/%2F/evil.example",
	"/%2f%2fevil.example",
	"%2F%2Fevil.example",
	"/%252F%252Fevil.example",
	"/%25252F%25252Fevil.example",
	"/%5C%5Cevil.example",
	"javascript:alert(1)",
	"JavaScript:alert(1)",
	"/javascript:alert(1)",
	"java\tscript:alert(1)",
	"/%0Ajavascript:alert(1)",
	"data:text/html,<script>alert(1)</script>",
	"vbscript:msgbox(1)",
	"evil.example",
	"evil.example/path",
	"@evil.example",
	"\\evil.example",
	"https:evil.example",
	"https:/evil.example",
	"http:\\\\evil.example",
	"/\t/evil.example",
	"/\n/evil.example",
	"/\r\n/evil.example",
	"/%09/evil.example",
	"/%0D%0ALocation:%20https://evil.example",
	"\x00/evil",
	"/\x00",
	"/\x7f",
	" //evil.example",
	"\t//evil.example",
	"/ /evil.example\\",
	"//%65vil.example",
	"/%2Fevil.example",
	"/.%2F%2Fevil.example%2F",
	"//evil.example%2F@portal.example.com",
	"https://portal.example.com@evil.example",
	"ftp://evil.example",
	"//[::1]/",
	"//127.0.0.1",
	"/" + strings.Repeat("a", 3000),
	"",
	"?next=//evil.example",
	"#//evil.example",
}

func TestSafeReturnToRefusesHostileValues(t *testing.T) {
	if len(hostileReturnTo) < 50 {
		t.Fatalf("only %d hostile values; keep at least 50", len(hostileReturnTo))
	}
	for _, v := range hostileReturnTo {
		if got := SafeReturnTo(v); got != "/" {
			t.Errorf("SafeReturnTo(%q) = %q, want /", v, got)
		}
		// Whatever it returns must resolve to the portal's own origin.
		assertStaysLocal(t, v)
	}
}

func TestSafeReturnToKeepsLocalPaths(t *testing.T) {
	for _, v := range []string{
		"/",
		"/tenants",
		"/tenants/42?tab=credentials",
		"/audit?action=signin&outcome=denied",
		"/catalogue/exact-globe-mail#permissions",
		"/a%20b",
	} {
		if got := SafeReturnTo(v); got != v {
			t.Errorf("SafeReturnTo(%q) = %q, want it kept", v, got)
		}
	}
}

func assertStaysLocal(t testing.TB, v string) {
	t.Helper()
	base, _ := url.Parse("https://portal.example.com/login")
	got := SafeReturnTo(v)
	u, err := url.Parse(got)
	if err != nil {
		t.Fatalf("SafeReturnTo(%q) = %q, which does not parse: %v", v, got, err)
	}
	if r := base.ResolveReference(u); r.Host != "portal.example.com" || r.Scheme != "https" {
		t.Fatalf("SafeReturnTo(%q) = %q resolves to %s, off the portal", v, got, r)
	}
	if strings.ContainsAny(got, "\\\r\n\t\x00") {
		t.Fatalf("SafeReturnTo(%q) = %q keeps a dangerous character", v, got)
	}
}

func FuzzSafeReturnTo(f *testing.F) {
	for _, v := range hostileReturnTo {
		f.Add(v)
	}
	f.Add("/tenants?x=1")
	f.Fuzz(func(t *testing.T, v string) {
		assertStaysLocal(t, v)
		got := SafeReturnTo(v)
		if got != "/" && got != v {
			t.Fatalf("SafeReturnTo(%q) = %q: must return the input or /", v, got)
		}
		if len(got) > 1 && (got[1] == '/' || got[1] == '\\') {
			t.Fatalf("SafeReturnTo(%q) = %q is scheme-relative", v, got)
		}
	})
}

func TestRoleFor(t *testing.T) {
	tests := []struct {
		name string
		id   Identity
		boot []string
		want string
	}{
		{"admin role", Identity{Roles: []string{AppRoleAdmin}}, nil, RoleAdmin},
		{"highest wins", Identity{Roles: []string{AppRoleViewer, AppRoleOperator}}, nil, RoleOperator},
		{"viewer", Identity{Roles: []string{AppRoleViewer}}, nil, RoleViewer},
		{"unknown roles", Identity{Roles: []string{"Something.Else"}}, nil, RoleNone},
		{"no roles", Identity{}, nil, RoleNone},
		{"bootstrap by object ID", Identity{ObjectID: "0000aaaa-0000-0000-0000-000000000001"}, []string{"0000aaaa-0000-0000-0000-000000000001"}, RoleAdmin},
		{"bootstrap by e-mail", Identity{Email: "ada@contoso.example", Roles: []string{AppRoleViewer}}, []string{"ada@contoso.example"}, RoleAdmin},
		{"empty e-mail never matches", Identity{Email: ""}, []string{""}, RoleNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RoleFor(tt.id, tt.boot); got != tt.want {
				t.Errorf("RoleFor(%+v, %v) = %q, want %q", tt.id, tt.boot, got, tt.want)
			}
		})
	}
}
