package catalog

import (
	"os"
	"strings"
	"testing"
)

// TestDocsExample: the annotated example in docs/blueprints.md is a valid
// blueprint, so the reference cannot drift from the format.
func TestDocsExample(t *testing.T) {
	data, err := os.ReadFile("../../docs/blueprints.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	start := strings.Index(doc, "## An annotated example")
	start += strings.Index(doc[start:], "```yaml\n")
	if start < 0 {
		t.Fatal("docs/blueprints.md has no yaml example")
	}
	example := doc[start+len("```yaml\n"):]
	example = example[:strings.Index(example, "```")]
	b, err := ParseCustom([]byte(example))
	if err != nil {
		t.Fatalf("the example in docs/blueprints.md does not validate:\n%v", err)
	}
	if b.ID != "example-synergy-mail" || len(b.Permissions) != 2 || len(b.Handoff[0].Fields) != 5 {
		t.Errorf("parsed the wrong example: id %q, %d permissions", b.ID, len(b.Permissions))
	}
}
