package catalog

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Issue 13, item 8: a custom blueprint cannot take a route word as its ID
// (/catalogue/new would show the form instead of the blueprint).
func TestParseCustomRefusesRouteWords(t *testing.T) {
	for _, id := range []string{"new", "register", "delete"} {
		_, err := ParseCustom([]byte(strings.Replace(testBlueprint, "id: test-product", "id: "+id, 1)))
		want := ValidationErrors{{3, "id", `"` + id + `" is a word the portal's addresses use (/catalogue/` + id + `); choose another ID`, Msg{}}}
		var got ValidationErrors
		if !errors.As(err, &got) {
			t.Fatalf("ParseCustom(id %s) error = %v, want ValidationErrors", id, err)
		}
		if diff := cmp.Diff(want, got, englishOnly); diff != "" {
			t.Errorf("ParseCustom(id %s) (-want +got):\n%s", id, diff)
		}
	}
	if _, err := ParseCustom([]byte(strings.Replace(testBlueprint, "id: test-product", "id: newsletter", 1))); err != nil {
		t.Errorf("ParseCustom(id newsletter) = %v, want it accepted", err)
	}
}

// Issue 13, item 5: text Postgres cannot store (NUL via a YAML escape, other
// control characters, bytes that are not UTF-8) is a line-numbered
// problem, not a 500 when the blueprint is saved.
func TestParseRefusesControlCharacters(t *testing.T) {
	tests := []struct{ name, from, to, want string }{
		{"NUL escape", "name: Test product", `name: "Test\0product"`, "line 4: this value contains a NUL character; remove it"},
		{"escape character", "name: Test product", `name: "Test\x1bproduct"`, "line 4: this value contains a control character; remove it"},
		{"NUL in a nested value", "    label: Server name", `    label: "Server\0name"`, "line 13: this value contains a NUL character; remove it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(testBlueprint, tt.from, tt.to, 1)
			if src == testBlueprint {
				t.Fatalf("test case does not change the blueprint")
			}
			_, err := ParseCustom([]byte(src))
			if err == nil || err.Error() != tt.want {
				t.Errorf("ParseCustom() error = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := ParseCustom([]byte(strings.Replace(testBlueprint, "name: Test product", "name: \"Test\xffproduct\"", 1))); err == nil {
		t.Error("ParseCustom(invalid UTF-8) = nil, want an error")
	}
}
