package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/safetext"
	"github.com/appreg-portal/portal/internal/trunc"
)

// MaxFileSize is the largest blueprint file Parse accepts (256 KiB). The
// largest built-in blueprint is under 16 KiB.
const MaxFileSize = 256 << 10

// maxDepth bounds the nesting of a blueprint file; the format needs 5.
const maxDepth = 16

// maxListItems bounds every list in a blueprint (the largest built-in list
// has 7 items), and maxErrors the problems reported for one file: together
// they keep the cost of checking a hostile upload small.
const (
	maxListItems = 100
	maxErrors    = 100
)

// ValidationError is one problem in a blueprint file.
type ValidationError struct {
	// Line is the 1-based line in the file, or 0 when the problem is the
	// file as a whole (e.g. its size).
	Line int
	// Field is the field path, e.g. "permissions[2].name"; empty for the
	// file as a whole.
	Field string
	// Message is the problem in English; Msg is the same in the message
	// catalogues (blueprint_errors.toml), for MessageIn.
	Message string
	Msg     Msg
}

// newError is a problem at line and field, in English and as a message.
func newError(line int, field string, m Msg) ValidationError {
	return ValidationError{Line: line, Field: field, Message: m.String(), Msg: m}
}

// MessageIn is the problem in l's language.
func (e ValidationError) MessageIn(l *i18n.Localizer) string {
	if e.Msg.IsZero() {
		return e.Message
	}
	return e.Msg.In(l)
}

func (e ValidationError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// ValidationErrors are all the problems found in a blueprint file, sorted by
// line. Parse returns them as its error.
type ValidationErrors []ValidationError

func (es ValidationErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Parse decodes and validates a blueprint file (YAML; JSON is YAML too). On
// failure the error is a ValidationErrors naming the line and field of every
// problem found.
func Parse(data []byte) (*Blueprint, error) {
	b, errs := parse(data)
	if len(errs) > 0 {
		return nil, errs
	}
	return b, nil
}

// ParseCustom is Parse for a blueprint an admin uploads: its ID must not be
// that of a built-in blueprint.
func ParseCustom(data []byte) (*Blueprint, error) {
	b, errs := parse(data)
	if b != nil && builtinByID(b.ID) != nil {
		errs = append(errs, newError(b.Line("id"), "id", msg("blueprint_error.builtin_id", "ID", quote(b.ID))))
		errs.sort()
	}
	if b != nil && ReservedID(b.ID) {
		errs = append(errs, newError(b.Line("id"), "id", msg("blueprint_error.reserved_id", "ID", quote(b.ID), "Word", b.ID)))
		errs.sort()
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return b, nil
}

// reservedIDs are path words under /catalogue that a blueprint's ID would
// shadow or be shadowed by (/catalogue/new is the form to add one).
var reservedIDs = map[string]bool{"new": true, "edit": true, "import": true, "upload": true, "register": true, "delete": true}

// ReservedID reports whether id is a route word and not a blueprint ID.
func ReservedID(id string) bool { return reservedIDs[strings.ToLower(id)] }

func (es ValidationErrors) sort() {
	sort.SliceStable(es, func(i, j int) bool { return es[i].Line < es[j].Line })
}

// parse returns the decoded blueprint (nil if it could not be decoded at
// all) and every problem found.
func parse(data []byte) (*Blueprint, ValidationErrors) {
	b, errs := parseUnclamped(data)
	// yaml.v3 places some nodes (an empty document, a value missing at
	// the end) on the line after the last one.
	last := 0
	for i := range errs {
		if errs[i].Line > 1 {
			if last == 0 {
				last = lineCount(data)
			}
			errs[i].Line = min(errs[i].Line, last)
		}
	}
	return b, errs
}

func parseUnclamped(data []byte) (*Blueprint, ValidationErrors) {
	if len(data) > MaxFileSize {
		return nil, ValidationErrors{newError(0, "", msg("blueprint_error.file_too_large", "Size", strconv.Itoa(len(data)), "Max", strconv.Itoa(MaxFileSize)))}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, ValidationErrors{newError(1, "", msg("blueprint_error.file_empty"))}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		return nil, ValidationErrors{yamlError(data, err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, ValidationErrors{newError(extra.Line, "", msg("blueprint_error.multiple_documents"))}
	} else if !errors.Is(err, io.EOF) {
		return nil, ValidationErrors{yamlError(data, err)}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, ValidationErrors{newError(1, "", msg("blueprint_error.not_a_document"))}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, ValidationErrors{newError(root.Line, "", msg("blueprint_error.want_mapping", "Got", kindName(root)))}
	}
	if errs := controlCharacters(root); len(errs) > 0 {
		return nil, errs.capped()
	}
	d := &decoder{lines: map[string]int{}}
	b := &Blueprint{}
	d.decode(root, reflect.ValueOf(b).Elem(), "", 0)
	b.lines = d.lines
	// Every problem at once: the semantic checks run beside the structural
	// ones, except on a field that could not be decoded (its "missing" or
	// "invalid" would only repeat the structural problem).
	errs := append(d.errs, withoutFields(validate(b), d.errs)...)
	errs.sort()
	return b, errs.capped()
}

// withoutFields drops the problems about a field, or a part of one, that
// already has a problem in known.
func withoutFields(es, known ValidationErrors) ValidationErrors {
	var out ValidationErrors
	for _, e := range es {
		dup := false
		for _, k := range known {
			if k.Field != "" && (e.Field == k.Field || strings.HasPrefix(e.Field, k.Field+".") || strings.HasPrefix(e.Field, k.Field+"[")) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, e)
		}
	}
	return out
}

// capped cuts a long list of problems short.
func (es ValidationErrors) capped() ValidationErrors {
	if len(es) <= maxErrors {
		return es
	}
	rest := len(es) - maxErrors
	es = es[:maxErrors:maxErrors]
	return append(es, newError(es[maxErrors-1].Line, "", pluralMsg("blueprint_error.more_problems", rest)))
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlParserErrors are the messages of yaml.v3's parser (as opposed to its
// scanner). yaml.v3 reports their line 0-based, the scanner's 1-based.
var yamlParserErrors = []string{"did not find expected", "found undefined tag handle",
	"found duplicate %YAML directive", "found incompatible YAML document", "found duplicate %TAG directive"}

// yamlError turns a YAML syntax error into a ValidationError. yaml.v3 names
// the line where the broken construct starts; for a tab in the indentation
// the line of the tab itself is more helpful.
func yamlError(data []byte, err error) ValidationError {
	msg := err.Error()
	m := yamlLineRE.FindStringSubmatch(msg)
	if m == nil {
		return newError(1, "", Msg{ID: "blueprint_error.not_yaml", Args: []any{"Error", strings.TrimPrefix(msg, "yaml: ")}})
	}
	n, _ := strconv.Atoi(m[1]) // the pattern guarantees digits
	for _, p := range yamlParserErrors {
		if strings.HasPrefix(m[2], p) {
			n++
		}
	}
	if strings.Contains(m[2], "tab character") {
		lines := strings.Split(string(data), "\n")
		for i := n - 1; i >= 0 && i < len(lines); i++ {
			indent := lines[i][:len(lines[i])-len(strings.TrimLeft(lines[i], " \t"))]
			if strings.Contains(indent, "\t") {
				n = i + 1
				break
			}
		}
	}
	if last := lineCount(data); n > last {
		n = last // the error is at the end of the file
	}
	return newError(max(n, 1), "", Msg{ID: "blueprint_error.not_yaml", Args: []any{"Error", m[2]}})
}

// lineCount counts lines as YAML does: \n, \r\n, \r, U+0085, U+2028 and
// U+2029 end a line.
func lineCount(data []byte) int {
	n := 1
	s := string(data)
	for i, r := range s {
		switch r {
		case '\n':
			if i == 0 || s[i-1] != '\r' {
				n++
			}
		case '\r', '\u0085', '\u2028', '\u2029':
			n++
		}
	}
	return n
}

// decoder maps a yaml.Node tree onto Go structs by their yaml tags, strictly:
// unknown keys, duplicate keys, wrong kinds and aliases are errors naming the
// line and field path.
type decoder struct {
	errs  ValidationErrors
	lines map[string]int
}

// fail records a problem: message id with its args (name, value pairs).
func (d *decoder) fail(line int, path, id string, args ...any) {
	d.errs = append(d.errs, newError(line, path, msg("blueprint_error."+id, args...)))
}

// kindName says what kind of value n is ("a list", "the text \"yes\"").
func kindName(n *yaml.Node) Msg {
	switch n.Kind {
	case yaml.MappingNode:
		return msg("blueprint_error.kind.mapping")
	case yaml.SequenceNode:
		return msg("blueprint_error.kind.list")
	case yaml.AliasNode:
		return msg("blueprint_error.kind.alias")
	}
	switch n.Tag {
	case "!!null":
		return msg("blueprint_error.kind.null")
	case "!!bool":
		return msg("blueprint_error.kind.bool")
	case "!!int", "!!float":
		return msg("blueprint_error.kind.number")
	}
	return msg("blueprint_error.kind.text", "Text", quote(trunc.Ellipsis(n.Value, 40)))
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, depth int) {
	if path != "" {
		d.lines[path] = n.Line
	}
	if depth > maxDepth {
		d.fail(n.Line, path, "nested_too_deeply")
		return
	}
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		d.fail(n.Line, path, "no_aliases")
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // an empty value is the zero value; required-field checks catch it
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path, depth)
	case reflect.Struct:
		d.decodeStruct(n, v, path, depth)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n.Line, path, "want_list", "Got", kindName(n))
			return
		}
		if len(n.Content) > maxListItems {
			d.fail(n.Line, path, "too_many_items", "Count", strconv.Itoa(len(n.Content)), "Max", maxListItems)
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i), depth+1)
		}
		v.Set(s)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.fail(n.Line, path, "want_text", "Got", kindName(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			d.fail(n.Line, path, "want_bool", "Got", kindName(n))
			return
		}
		var b bool
		if err := n.Decode(&b); err != nil {
			d.fail(n.Line, path, "want_bool", "Got", kindName(n))
			return
		}
		v.SetBool(b)
	case reflect.Int:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			d.fail(n.Line, path, "want_number", "Got", kindName(n))
			return
		}
		i, err := strconv.ParseInt(n.Value, 10, 32)
		if err != nil {
			d.fail(n.Line, path, "want_number", "Got", kindName(n))
			return
		}
		v.SetInt(i)
	default:
		panic("catalog: decoder cannot decode " + v.Type().String())
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string, depth int) {
	if n.Kind != yaml.MappingNode {
		d.fail(n.Line, path, "want_mapping", "Got", kindName(n))
		return
	}
	fields := structFields(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.fail(k.Line, path, "field_name_not_text", "Got", kindName(k))
			continue
		}
		fp := joinPath(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			d.fail(k.Line, fp, "duplicate_field", "Line", strconv.Itoa(first))
			continue
		}
		seen[k.Value] = k.Line
		idx, ok := fields[k.Value]
		if !ok {
			if s := suggest(k.Value, fieldNames(fields)); s != "" {
				d.fail(k.Line, fp, "unknown_field_suggest", "Name", quote(k.Value), "Suggestion", quote(s))
			} else {
				d.fail(k.Line, fp, "unknown_field", "Name", quote(k.Value))
			}
			continue
		}
		d.decode(val, v.Field(idx), fp, depth+1)
		// Record the key's line: a value on the next line (a list, a
		// block) is less helpful than the key itself.
		d.lines[fp] = k.Line
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// structFields maps yaml key to field index.
func structFields(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		m[name] = i
	}
	return m
}

func fieldNames(m map[string]int) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// suggest returns the candidate closest to s if it is close enough to be a
// likely typo, or "".
func suggest(s string, candidates []string) string {
	if len(s) > 64 {
		return "" // nobody mistypes a 64-character name; skip the work
	}
	limit := 2
	if len(s) >= 10 {
		limit = 3
	}
	best, bestDist := "", limit+1
	ls := strings.ToLower(s)
	for _, c := range candidates {
		if strings.EqualFold(c, s) {
			return c
		}
		if d := len(c) - len(s); d > limit || -d > limit {
			continue // the edit distance is at least the length difference
		}
		if dist := levenshtein(ls, strings.ToLower(c)); dist < bestDist || (dist == bestDist && c < best) {
			best, bestDist = c, dist
		}
	}
	return best
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 200 || len(rb) > 200 {
		return 1 << 20 // not a typo of anything; avoid quadratic work
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// controlProblems are safetext.Problem's answers as messages.
var controlProblems = map[string]string{
	"contains bytes that are not UTF-8 text": "blueprint_error.control.not_utf8",
	"contains a NUL character":               "blueprint_error.control.nul",
	"contains a control character":           "blueprint_error.control.control",
}

// controlCharacters reports text a blueprint cannot hold: a NUL or other
// control character (other than a tab or line break), which YAML's escapes
// ("\0", "\x1b") can write, or bytes that are not UTF-8. Postgres refuses
// NUL in text (SQLSTATE 22021), and such a character has no place in a name,
// a URI or a help text.
func controlCharacters(n *yaml.Node) ValidationErrors {
	var errs ValidationErrors
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.ScalarNode {
			if p := safetext.Problem(n.Value); p != "" {
				var problem any = p // a problem safetext learnt later: its English words
				if id, ok := controlProblems[p]; ok {
					problem = msg(id)
				}
				errs = append(errs, newError(n.Line, "", msg("blueprint_error.control_characters", "Problem", problem)))
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	return errs
}
