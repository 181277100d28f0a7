package catalog

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type jsonSchema struct {
	Ref                  string                 `json:"$ref"`
	Type                 string                 `json:"type"`
	Properties           map[string]*jsonSchema `json:"properties"`
	Required             []string               `json:"required"`
	AdditionalProperties *bool                  `json:"additionalProperties"`
	Items                *jsonSchema            `json:"items"`
	Enum                 []string               `json:"enum"`
	Const                string                 `json:"const"`
	Defs                 map[string]*jsonSchema `json:"$defs"`
}

func loadSchema(tb testing.TB) *jsonSchema {
	tb.Helper()
	var s jsonSchema
	if err := json.Unmarshal(Schema(), &s); err != nil {
		tb.Fatalf("Schema() is not valid JSON: %v", err)
	}
	return &s
}

// TestSchemaMatchesGoTypes: the published JSON Schema and the Go types that
// the validator decodes into name the same fields at every level, and the
// schema, like the decoder, rejects unknown fields.
func TestSchemaMatchesGoTypes(t *testing.T) {
	root := loadSchema(t)
	resolve := func(s *jsonSchema) *jsonSchema {
		if s != nil && strings.HasPrefix(s.Ref, "#/$defs/") {
			return root.Defs[strings.TrimPrefix(s.Ref, "#/$defs/")]
		}
		return s
	}
	structs := 0
	var walk func(path string, s *jsonSchema, typ reflect.Type)
	walk = func(path string, s *jsonSchema, typ reflect.Type) {
		s = resolve(s)
		if s == nil {
			t.Errorf("%s: no schema", path)
			return
		}
		for typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		switch typ.Kind() {
		case reflect.Slice:
			if s.Type != "array" {
				t.Errorf("%s: schema type %q, Go has a list", path, s.Type)
			}
			walk(path+"[]", s.Items, typ.Elem())
		case reflect.Struct:
			structs++
			if s.AdditionalProperties == nil || *s.AdditionalProperties {
				t.Errorf("%s: schema allows additional properties; the decoder rejects unknown fields", path)
			}
			fields := structFields(typ)
			var goNames, schemaNames []string
			for n := range fields {
				goNames = append(goNames, n)
			}
			for n := range s.Properties {
				schemaNames = append(schemaNames, n)
			}
			sort.Strings(goNames)
			sort.Strings(schemaNames)
			if diff := cmp.Diff(goNames, schemaNames); diff != "" {
				t.Errorf("%s: field names (-Go +schema):\n%s", path, diff)
			}
			for _, r := range s.Required {
				if _, ok := fields[r]; !ok {
					t.Errorf("%s: schema requires unknown field %q", path, r)
				}
			}
			for n, i := range fields {
				if p, ok := s.Properties[n]; ok {
					walk(joinPath(path, n), p, typ.Field(i).Type)
				}
			}
		case reflect.String:
			if s.Type != "" && s.Type != "string" {
				t.Errorf("%s: schema type %q, Go has text", path, s.Type)
			}
		case reflect.Bool:
			if s.Type != "boolean" {
				t.Errorf("%s: schema type %q, Go has true/false", path, s.Type)
			}
		case reflect.Int:
			if s.Type != "integer" {
				t.Errorf("%s: schema type %q, Go has a whole number", path, s.Type)
			}
		}
	}
	walk("", root, reflect.TypeOf(Blueprint{}))
	if structs < 15 {
		t.Errorf("compared %d objects, want every nested struct", structs)
	}
}

// TestSchemaRequiredAndEnums: what the schema requires and enumerates is
// what the validator requires and accepts.
func TestSchemaRequiredAndEnums(t *testing.T) {
	root := loadSchema(t)
	wantRequired := []string{"apiVersion", "kind", "id", "name", "vendor", "appliesTo", "source", "description", "registration", "permissions", "secret", "handoff"}
	if diff := cmp.Diff(wantRequired, root.Required); diff != "" {
		t.Errorf("top-level required (-want +got):\n%s", diff)
	}
	// Each required top-level field, removed from a valid blueprint, is
	// reported missing by the validator.
	for _, f := range wantRequired {
		b, err := Parse([]byte(testBlueprint))
		if err != nil {
			t.Fatal(err)
		}
		reflect.ValueOf(b).Elem().Field(structFields(reflect.TypeOf(Blueprint{}))[f]).SetZero()
		errs := validate(b)
		found := false
		for _, e := range errs {
			if e.Field == f || strings.HasPrefix(e.Field, f+".") {
				found = true
			}
		}
		if !found {
			t.Errorf("validator accepts a blueprint without %s: %v", f, errs)
		}
	}
	if root.Properties["apiVersion"].Const != APIVersion || root.Properties["kind"].Const != Kind {
		t.Errorf("schema apiVersion/kind = %q/%q, want %q/%q", root.Properties["apiVersion"].Const, root.Properties["kind"].Const, APIVersion, Kind)
	}
	enums := []struct {
		name string
		got  []string
		want []string
	}{
		{"parameter type", root.Defs["parameter"].Properties["type"].Enum,
			[]string{string(ParamText), string(ParamHostname), string(ParamEmail), string(ParamDomain), string(ParamURL)}},
		{"signInAudience", root.Defs["registration"].Properties["signInAudience"].Enum, audiences},
		{"permission type", root.Defs["permission"].Properties["type"].Enum, []string{string(Application), string(Delegated)}},
	}
	for _, e := range enums {
		if diff := cmp.Diff(e.want, e.got); diff != "" {
			t.Errorf("%s enum (-Go +schema):\n%s", e.name, diff)
		}
	}
}
