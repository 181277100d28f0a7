package registration

import (
	"context"
	"errors"
	"strconv"

	"github.com/appreg-portal/portal/internal/graph"
	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/internal/trunc"
)

// LocalizeStored is a rotation's stored message (Message.Stored) in l's
// language; text stored before messages were kept is shown as it is.
func LocalizeStored(l *i18n.Localizer, stored string) string { return Stored(stored).In(l) }

// ExplainRotation is Explain for a rotation's page: why a step failed, as
// a message in the reader's language.
func ExplainRotation(err error) Message {
	switch {
	case err == nil:
		return Message{}
	case errors.Is(err, graph.ErrInsufficientPrivileges):
		return Msg("rotation.error.insufficient_privileges")
	case errors.Is(err, graph.ErrThrottled):
		return Msg("rotation.error.throttled")
	case errors.Is(err, graph.ErrReplicationLag), errors.Is(err, graph.ErrNotFound):
		return Msg("rotation.error.replication")
	case errors.Is(err, graph.ErrPolicyViolation):
		return Msg("rotation.error.policy")
	case errors.Is(err, graph.ErrUnauthenticated):
		return Msg("rotation.error.unauthenticated")
	case errors.Is(err, store.ErrLeaseHeld):
		return Msg("rotation.error.lease_held")
	case errors.Is(err, ErrWrongTenant):
		return Msg("rotation.error.wrong_tenant_any")
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return Msg("rotation.error.too_long")
	}
	var ge *graph.Error
	if errors.As(err, &ge) {
		// Graph's own words stay as Graph wrote them (English).
		return Msg("rotation.error.graph", "Status", strconv.Itoa(ge.Status), "Code", ge.Code, "Message", trunc.Ellipsis(ge.Message, 300))
	}
	return Msg("rotation.error.other")
}
