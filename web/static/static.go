// Package static serves the portal's vendored scripts, styles and images
// under content-hashed URLs, so browsers may cache them forever and a new
// release is never mixed with an old file.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed vendor/*.js vendor/*.css app.css app.js img
var files embed.FS

// Prefix is where the handler is mounted.
const Prefix = "/static/"

type asset struct {
	name   string // path inside files, e.g. "vendor/htmx-2.0.11.min.js"
	hashed string // e.g. "vendor/htmx-2.0.11.min.3f2a9c1b.js"
}

var (
	byName   = map[string]asset{}  // logical name → asset
	byHashed = map[string]string{} // hashed name → logical name
)

func init() {
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ext := path.Ext(p)
		hashed := strings.TrimSuffix(p, ext) + "." + hex.EncodeToString(sum[:5]) + ext
		byName[p] = asset{name: p, hashed: hashed}
		byHashed[hashed] = p
		return nil
	})
	if err != nil {
		panic("static: " + err.Error()) // the embedded tree is fixed at build time
	}
}

// Path returns the content-hashed URL of a logical asset name such as
// "vendor/htmx-2.0.11.min.js". An unknown name panics: it is a programming
// error that the template tests catch.
func Path(name string) string {
	a, ok := byName[name]
	if !ok {
		panic("static: unknown asset " + name)
	}
	return Prefix + a.hashed
}

// Handler serves hashed asset URLs with a year-long immutable cache lifetime.
// Unhashed or stale names are 404s, so a cached page never loads a file from
// another release.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hashed := strings.TrimPrefix(r.URL.Path, Prefix)
		name, ok := byHashed[hashed]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		http.ServeFileFS(w, r, files, name)
	})
}
