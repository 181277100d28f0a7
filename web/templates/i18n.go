package templates

import (
	"context"
	"time"

	"github.com/appreg-portal/portal/internal/i18n"
)

// T is a message in the request's language (internal/i18n); args are name,
// value pairs for the message's {{.Name}} fields.
func T(ctx context.Context, id string, args ...any) string { return i18n.T(ctx, id, args...) }

// N is a message's plural form for n, which it shows as {{.Count}}.
func N(ctx context.Context, id string, n int, args ...any) string { return i18n.N(ctx, id, n, args...) }

// Num is a whole number written for the request's language.
func Num(ctx context.Context, n int) string { return i18n.Num(ctx, n) }

// Date, ShortDate and DateTime write a time in UTC for the request's language.
func Date(ctx context.Context, t time.Time) string      { return i18n.Date(ctx, t) }
func ShortDate(ctx context.Context, t time.Time) string { return i18n.ShortDate(ctx, t) }
func DateTime(ctx context.Context, t time.Time) string  { return i18n.DateTime(ctx, t) }

// lang is the request's language, for <html lang> and the language switch.
func lang(ctx context.Context) string { return string(i18n.From(ctx).Lang()) }

// langs are the languages the switch offers.
func langs() []i18n.Lang { return i18n.Langs }
