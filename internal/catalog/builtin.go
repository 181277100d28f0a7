package catalog

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
)

//go:embed builtin/*.yaml
var builtinFS embed.FS

//go:embed template/custom.yaml
var customTemplate []byte

// builtinFiles maps blueprint ID to its file contents, read once. A built-in
// blueprint that does not validate is a programming error caught by the
// tests, so loading panics on it.
var builtinFiles = sync.OnceValue(func() map[string][]byte {
	files := map[string][]byte{}
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
		files[b.ID] = data
	}
	return files
})

func builtinByID(id string) []byte { return builtinFiles()[id] }

// Builtins returns the built-in blueprints sorted by ID. Each call returns
// fresh copies, so callers may change them.
func Builtins() []*Blueprint {
	files := builtinFiles()
	ids := make([]string, 0, len(files))
	for id := range files {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	bs := make([]*Blueprint, 0, len(ids))
	for _, id := range ids {
		b, _ := Builtin(id) // present: id comes from the map
		bs = append(bs, b)
	}
	return bs
}

// Builtin returns a fresh copy of the built-in blueprint with the given ID.
func Builtin(id string) (*Blueprint, bool) {
	data := builtinByID(id)
	if data == nil {
		return nil, false
	}
	b, err := Parse(data)
	if err != nil {
		panic(err) // validated when loaded
	}
	b.builtin = true
	return b, true
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
