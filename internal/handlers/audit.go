package handlers

import "github.com/appreg-portal/portal/internal/store"

// anonymous is e without an actor: a sign-in, its refusal and a customer
// administrator's consent callback are no signed-in portal user's doing,
// even when the browser still holds someone's session.
func anonymous(e store.AuditEvent) store.AuditEvent {
	e.ActorOID, e.ActorName = nil, ""
	return e
}
