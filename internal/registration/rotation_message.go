package registration

import (
	"errors"

	"github.com/appreg-portal/portal/internal/i18n"
)

// LocalizeStored is a rotation's stored message (Message.Stored) in l's
// language; text stored before messages were kept is shown as it is.
func LocalizeStored(l *i18n.Localizer, stored string) string { return Stored(stored).In(l) }

// ExplainRotation is Why for a rotation's page: the same words, but a
// sign-in to another tenant than the app's is said without naming one.
func ExplainRotation(err error) Message {
	if errors.Is(err, ErrWrongTenant) {
		return Msg("rotation.error.wrong_tenant_any")
	}
	return Why(err)
}
