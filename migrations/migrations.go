// Package migrations holds the portal's SQL migrations, embedded in the
// binary and applied by `portal migrate` and when `portal serve` starts.
//
// Each file is one goose migration (`-- +goose Up` / `-- +goose Down`) with
// one purpose, applied in its own transaction together with the version
// record, so a failed migration leaves nothing half-done. A migration that has
// landed is never edited: add a new one.
package migrations

import "embed"

// FS holds the *.sql files.
//
//go:embed *.sql
var FS embed.FS
