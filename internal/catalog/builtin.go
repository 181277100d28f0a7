package catalog

import (
	"embed"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
)

//go:embed builtin/*.yaml
var builtinFS embed.FS

//go:embed template/custom.yaml
var customTemplate []byte

// builtinSet holds the built-in blueprints, parsed once. A built-in
// blueprint that does not validate is a programming error caught by the
// tests, so loading panics on it.
type builtinSet struct {
	files  map[string][]byte
	parsed map[string]*Blueprint
	ids    []string
}

var builtins = sync.OnceValue(func() builtinSet {
	set := builtinSet{files: map[string][]byte{}, parsed: map[string]*Blueprint{}}
	entries, err := fs.ReadDir(builtinFS, "builtin")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		data, err := builtinFS.ReadFile(path.Join("builtin", e.Name()))
		if err != nil {
			panic(err)
		}
		b, err := Parse(data)
		if err != nil {
			panic(fmt.Sprintf("catalog: built-in blueprint %s:\n%v", e.Name(), err))
		}
		if want := strings.TrimSuffix(e.Name(), ".yaml"); b.ID != want {
			panic(fmt.Sprintf("catalog: built-in blueprint %s has id %q", e.Name(), b.ID))
		}
		b.builtin = true
		set.files[b.ID] = data
		set.parsed[b.ID] = b
		set.ids = append(set.ids, b.ID)
	}
	sort.Strings(set.ids)
	return set
})

func builtinByID(id string) []byte { return builtins().files[id] }

// Builtins returns the built-in blueprints sorted by ID. Each call returns
// fresh copies, so callers may change them.
func Builtins() []*Blueprint {
	set := builtins()
	bs := make([]*Blueprint, 0, len(set.ids))
	for _, id := range set.ids {
		bs = append(bs, set.parsed[id].clone())
	}
	return bs
}

// Builtin returns a fresh copy of the built-in blueprint with the given ID.
func Builtin(id string) (*Blueprint, bool) {
	b, ok := builtins().parsed[id]
	if !ok {
		return nil, false
	}
	return b.clone(), true
}

// clone returns a deep copy of b.
func (b *Blueprint) clone() *Blueprint {
	c := *b
	c.AppliesTo = slices.Clone(b.AppliesTo)
	c.Parameters = slices.Clone(b.Parameters)
	c.Registration.Web.RedirectURIs = slices.Clone(b.Registration.Web.RedirectURIs)
	c.Registration.PublicClient.RedirectURIs = slices.Clone(b.Registration.PublicClient.RedirectURIs)
	c.Permissions = slices.Clone(b.Permissions)
	c.Handoff = slices.Clone(b.Handoff)
	for i := range c.Handoff {
		c.Handoff[i].Steps = slices.Clone(b.Handoff[i].Steps)
		c.Handoff[i].Fields = slices.Clone(b.Handoff[i].Fields)
	}
	c.Hardening = slices.Clone(b.Hardening)
	c.Warnings = slices.Clone(b.Warnings)
	c.Doubts = slices.Clone(b.Doubts)
	if b.EWS != nil {
		e := *b.EWS
		c.EWS = &e
	}
	c.lines = maps.Clone(b.lines)
	return &c
}

// BuiltinYAML returns the file of a built-in blueprint, with its comments
// (which quote the vendor's guide): the best start for a custom blueprint.
func BuiltinYAML(id string) ([]byte, bool) {
	data := builtinByID(id)
	return append([]byte(nil), data...), data != nil
}

// CustomTemplate returns an annotated starting point for a blueprint written
// from scratch. Its ID is "my-product"; it validates as is.
func CustomTemplate() []byte { return append([]byte(nil), customTemplate...) }
