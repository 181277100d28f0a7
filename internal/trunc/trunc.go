// Package trunc shortens text for audit details, logs and messages without
// cutting a character in half.
package trunc

// String returns s cut to at most n runes (none if n <= 0). It never splits
// a UTF-8 sequence, so the result is valid UTF-8 whenever s is.
func String(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s // n bytes hold at most n runes
	}
	count := 0
	for i := range s {
		if count == n {
			return s[:i]
		}
		count++
	}
	return s
}

// Ellipsis is String with "…" appended when something was cut, for text a
// person reads.
func Ellipsis(s string, n int) string {
	if out := String(s, n); out != s {
		return out + "…"
	}
	return s
}
