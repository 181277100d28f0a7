package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/appreg-portal/portal/internal/auth"
	"github.com/appreg-portal/portal/internal/i18n"
)

// languageStore remembers a signed-in person's language.
type languageStore interface {
	SetUserLanguage(ctx context.Context, userID int64, lang string) error
}

// cookieLang keeps the language of someone not signed in (and across
// sign-out); a signed-in person's choice is kept with their user.
const cookieLang = "portal_lang"

// localize picks the request's language and puts its Localizer in the
// context: the signed-in person's choice, else the cookie of an earlier
// choice, else the browser's Accept-Language, else English.
func (h *Handler) localize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(i18n.WithLocalizer(r.Context(), h.localizer(requestLang(r)))))
	})
}

func requestLang(r *http.Request) i18n.Lang {
	if u := userFrom(r.Context()); u != nil {
		if l, ok := i18n.Parse(u.Language); ok {
			return l
		}
	}
	if c, err := r.Cookie(cookieLang); err == nil {
		if l, ok := i18n.Parse(c.Value); ok {
			return l
		}
	}
	return i18n.Match(r.Header.Get("Accept-Language"))
}

// setLanguage is the header's language switch: it remembers the choice for
// the signed-in person and in a cookie, and goes back to the page it was on.
func (h *Handler) setLanguage(w http.ResponseWriter, r *http.Request) error {
	l, ok := i18n.Parse(r.PostFormValue("lang"))
	if !ok {
		return errBadRequest("language.unknown")
	}
	if u := userFrom(r.Context()); u != nil {
		if err := h.languages.SetUserLanguage(r.Context(), u.ID, string(l)); err != nil {
			return err
		}
		h.flash(r, h.localizer(l).T("language.changed")) // said in the new language
	}
	http.SetCookie(w, &http.Cookie{Name: cookieLang, Value: string(l), Path: "/", MaxAge: int((365 * 24 * time.Hour).Seconds()),
		HttpOnly: true, Secure: h.sessions.Cookie.Secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, auth.SafeReturnTo(r.PostFormValue("return_to")), http.StatusSeeOther)
	return nil
}
