package catalog

import (
	"bytes"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// marshalHeader starts every file Marshal writes.
const marshalHeader = "# AppReg Portal blueprint. Format reference: docs/blueprints.md\n"

// Marshal writes b as a blueprint file that Parse reads back to an equal
// blueprint. Comments in the original file are not kept; BuiltinYAML keeps
// them for built-in blueprints.
func Marshal(b *Blueprint) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(marshalHeader)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(b); err != nil {
		return nil, fmt.Errorf("catalog: marshal blueprint %s: %w", b.ID, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("catalog: marshal blueprint %s: %w", b.ID, err)
	}
	return buf.Bytes(), nil
}
