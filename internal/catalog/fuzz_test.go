package catalog

import (
	"errors"
	"testing"
)

// FuzzParse feeds the parser arbitrary files, seeded with every built-in
// blueprint, the custom template and the bad-blueprint cases. It must never
// panic; every error must be a ValidationErrors whose lines lie in the file;
// and every blueprint it accepts must survive Marshal and Parse again.
func FuzzParse(f *testing.F) {
	for _, b := range Builtins() {
		data, _ := BuiltinYAML(b.ID)
		f.Add(data)
	}
	f.Add(CustomTemplate())
	f.Add([]byte(testBlueprint))
	for _, s := range []string{
		withLine(31, "    name: Mail.Sendd"),
		withLine(31, "    name: &n Mail.Send\n    id: *n"),
		withLine(23, "      - http://{{server_name}}/callback"),
		withLine(15, "  - name: server_name"),
		"a: &a [*a, *a]\n",
		"{}", "[]", "---\n---\n", "apiVersion: appreg.portal/v1\nkind: Blueprint\n",
		`{"apiVersion": "appreg.portal/v1", "kind": "Blueprint", "id": "json"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Parse(data)
		if err != nil {
			if b != nil {
				t.Fatalf("Parse returned a blueprint and an error")
			}
			var errs ValidationErrors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("Parse error %v (%T) is not a non-empty ValidationErrors", err, err)
			}
			lines := lineCount(data)
			for _, e := range errs {
				if e.Line < 0 || e.Line > lines || e.Message == "" {
					t.Fatalf("error %+v outside the file's %d lines or without a message", e, lines)
				}
			}
			return
		}
		out, err := Marshal(b)
		if err != nil {
			t.Fatalf("Marshal(accepted blueprint) = %v", err)
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("Parse(Marshal(accepted blueprint)) = %v\ninput:\n%s\nmarshalled:\n%s", err, data, out)
		}
		// The run-time API must cope with any accepted blueprint.
		_ = b.ValidateParams(map[string]string{"x": "y"})
		_ = b.ResolvedPermissions()
		_ = b.HandoffSheet(Values{ClientID: "c"})
		_ = b.HardeningAdvice(Values{})
	})
}
