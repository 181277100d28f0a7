package auth

import (
	"net/url"
	"slices"
	"strings"
)

// Portal roles, from least to most powerful.
const (
	RoleNone     = "none"
	RoleViewer   = "viewer"
	RoleOperator = "operator"
	RoleAdmin    = "admin"
)

// The portal app's app roles, as they appear in the roles claim.
const (
	AppRoleAdmin    = "Portal.Admin"
	AppRoleOperator = "Portal.Operator"
	AppRoleViewer   = "Portal.Viewer"
)

// Rank orders roles so that a higher role includes the lower ones.
func Rank(role string) int {
	switch role {
	case RoleViewer:
		return 1
	case RoleOperator:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// RoleFor picks the highest portal role from the roles claim; people on the
// bootstrap list (object ID or e-mail) are admins.
func RoleFor(id Identity, bootstrapAdmins []string) string {
	if (id.ObjectID != "" && slices.Contains(bootstrapAdmins, id.ObjectID)) || (id.Email != "" && slices.Contains(bootstrapAdmins, id.Email)) {
		return RoleAdmin
	}
	switch {
	case slices.Contains(id.Roles, AppRoleAdmin):
		return RoleAdmin
	case slices.Contains(id.Roles, AppRoleOperator):
		return RoleOperator
	case slices.Contains(id.Roles, AppRoleViewer):
		return RoleViewer
	}
	return RoleNone
}

// SafeReturnTo keeps a return-to value only if it is a local path on this
// site; anything else becomes "/". It refuses absolute and scheme-relative
// URLs, backslashes (browsers read them as slashes), control characters and
// encoded tricks that decode into any of those.
func SafeReturnTo(s string) string {
	const home = "/"
	if s == "" || len(s) > 2048 || s[0] != '/' {
		return home
	}
	// Check the raw value and its decoded forms: a browser or proxy may decode once more.
	v := s
	for i := 0; ; i++ {
		if i == 8 || !plainLocalPath(v) {
			return home // still changing after 8 decodes: nobody legitimate does that
		}
		d, err := url.PathUnescape(v)
		if err != nil {
			return home
		}
		if d == v {
			break
		}
		v = d
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return home
	}
	return s
}

func plainLocalPath(s string) bool {
	if len(s) == 0 || s[0] != '/' {
		return false
	}
	if len(s) > 1 && (s[1] == '/' || s[1] == '\\') {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return false
		}
	}
	path, _, _ := strings.Cut(s, "?")
	if strings.Contains(path, "//") {
		return false // no portal path has an empty segment
	}
	return !strings.Contains(strings.ToLower(s), "javascript:")
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
