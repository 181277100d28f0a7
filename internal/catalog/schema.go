package catalog

import _ "embed"

//go:embed schema/blueprint.schema.json
var schemaJSON []byte

// Schema returns the JSON Schema (draft 2020-12) of the blueprint format, for
// editors and for people. The Go validator (Parse) is what the portal
// enforces; the schema documents the same fields and is checked against the
// Go types by the tests.
func Schema() []byte { return append([]byte(nil), schemaJSON...) }
