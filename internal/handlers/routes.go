package handlers

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/appreg-portal/portal/internal/auth"
	"github.com/appreg-portal/portal/internal/config"
	"github.com/appreg-portal/portal/web/static"
)

// Routes is the portal's whole HTTP surface.
func (h *Handler) Routes() http.Handler {
	r := chi.NewRouter()
	r.Use(requestID, h.realIP, h.logRequests, h.recoverPanics, h.securityHeaders, h.crossOriginProtection)
	// Error pages for unknown addresses run inside the session middleware
	// too: they show who is signed in and, for them, are never cached.
	withSession := func(fn appHandler) http.HandlerFunc {
		return h.sessions.LoadAndSave(h.loadUser(h.localize(h.wrap(fn)))).ServeHTTP
	}
	r.NotFound(withSession(func(w http.ResponseWriter, r *http.Request) error { return errNotFound() }))
	r.MethodNotAllowed(withSession(func(w http.ResponseWriter, r *http.Request) error {
		return &httpError{status: http.StatusMethodNotAllowed, title: "error.method.title", message: "error.method.message"}
	}))

	// Open to everyone, no session.
	r.Get("/healthz", h.healthz)
	r.Get("/readyz", h.readyz)
	r.Handle(static.Prefix+"*", static.Handler())

	r.Group(func(r chi.Router) {
		r.Use(h.sessions.LoadAndSave, h.loadUser, h.localize, h.parseForms)

		// The header's language switch, signed in or not.
		r.Post("/language", h.wrap(h.setLanguage))

		// Sign-in.
		r.Get("/login", h.wrap(h.login))
		r.Get("/auth/callback", h.wrap(h.callback))
		r.Get("/signed-out", h.wrap(h.signedOut))
		// Where a customer's administrator lands after consenting: no portal account needed.
		r.Get("/onboarding/callback", h.wrap(h.onboardingCallback))
		// Where a Global Administrator lands after an app's admin consent link.
		r.Get("/registrations/consented", h.wrap(h.consentReturn))
		// A one-time share link for a new secret: the customer needs no portal account.
		r.Get("/share/{token}", h.wrap(h.sharePage))
		r.Post("/share/{token}", h.wrap(h.shareReveal))
		// A person's calendar subscription: calendar services fetch it without a session; the token is the key.
		r.Get("/calendar/{token}.ics", h.wrap(h.calendarFeed))

		r.Group(func(r chi.Router) {
			r.Use(h.requireUser)
			r.Post("/logout", h.wrap(h.logout))

			// Everyone with a role.
			r.Group(func(r chi.Router) {
				r.Use(h.requireRole(auth.RoleViewer))
				r.Get("/", h.wrap(h.dashboard))
				r.Get("/credentials.csv", h.wrap(h.credentialsCSV))
				r.Get("/credentials.json", h.wrap(h.credentialsJSON))
				r.Get("/credentials.ics", h.wrap(h.credentialsICS))
				r.Get("/calendar", h.wrap(h.calendarPage))
				r.Post("/calendar/feed", h.wrap(h.makeCalendarFeed))
				r.Post("/calendar/feed/revoke", h.wrap(h.revokeCalendarFeed))
				r.Get("/credentials/{id}", h.wrap(h.credentialPage))
				r.Get("/tenants", h.wrap(h.tenantsPage))
				r.Get("/alerts", h.wrap(h.alertsPage))
				r.Get("/catalogue", h.wrap(h.cataloguePage))
				r.Get("/catalogue/{id}", h.wrap(h.blueprintPage))
				r.Get("/catalogue/{id}/blueprint.yaml", h.wrap(h.blueprintYAML))
				r.Get("/registrations", h.wrap(h.registrationsPage))
			})

			// Operators: changes.
			r.Group(func(r chi.Router) {
				r.Use(h.requireRole(auth.RoleOperator))
				r.Get("/tenants/connect", h.wrap(h.connectTenantForm))
				r.Post("/tenants/connect", h.wrap(h.startConnect))
				r.Post("/tenants/{id}/scan", h.wrap(h.scanTenant))
				r.Post("/tenants/links/{id}/withdraw", h.wrap(h.withdrawLink))
				r.Post("/tenants/{id}/contacts", h.wrap(h.setContacts))
				r.Post("/tenants/{id}/language", h.wrap(h.setTenantLanguage))
				// Quiet alerts: a tenant, an application or a credential; who and why are audited.
				r.Post("/tenants/{id}/alerts/exclude", h.wrap(h.excludeTenant))
				r.Post("/tenants/{id}/alerts/include", h.wrap(h.includeTenant))
				r.Post("/tenants/{id}/alerts/policy", h.wrap(h.setTenantAlertPolicy))
				r.Post("/credentials/{id}/alerts", h.wrap(h.silenceCredential))
				r.Post("/credentials/{id}/alerts/{silence}/lift", h.wrap(h.liftCredentialSilence))
				r.Get("/catalogue/new", h.wrap(h.newBlueprintForm))
				r.Post("/catalogue", h.wrap(h.createBlueprint))
				r.Post("/catalogue/{id}/delete", h.wrap(h.deleteBlueprint))

				// The registration wizard.
				r.Get("/catalogue/{id}/register", h.wrap(h.wizardStart))
				r.Post("/registrations", h.wrap(h.createRun))
				r.Get("/registrations/callback", h.wrap(h.runCallback))
				r.Get("/registrations/{id}", h.wrap(h.runPage))
				r.Get("/registrations/{id}/progress", h.wrap(h.runProgress))
				r.Get("/registrations/{id}/drift", h.wrap(h.runDrift))
				r.Post("/registrations/{id}/signin", h.wrap(h.runSignIn))
				r.Post("/registrations/{id}/drift/signin", h.wrap(h.driftSignIn))
				r.Post("/registrations/{id}/apply", h.wrap(h.applyRun))
				r.Post("/registrations/{id}/check", h.wrap(h.checkConsent))
				r.Post("/registrations/{id}/discard", h.wrap(h.discardRun))
				r.Post("/registrations/{id}/share/{link}/revoke", h.wrap(h.revokeShare))

				// Secret rotation, with overlap.
				r.Get("/adopt", h.wrap(h.adoptForm))
				r.Post("/adopt", h.wrap(h.adopt))
				r.Post("/rotations", h.wrap(h.startRotation))
				r.Get("/rotations/{id}", h.wrap(h.rotationPage))
				r.Post("/rotations/{id}/signin", h.wrap(h.rotationSignIn))
				r.Post("/rotations/{id}/apply", h.wrap(h.rotationApply))
				r.Post("/rotations/{id}/confirm", h.wrap(h.rotationConfirm))
				r.Post("/rotations/{id}/schedule", h.wrap(h.rotationSchedule))
				r.Post("/rotations/{id}/share/{link}/revoke", h.wrap(h.revokeShare))

				if h.dev != nil { // portal dev only: the Outbox of alert messages and the demo clock
					r.Get("/dev/outbox", h.wrap(h.devOutbox))
					r.Post("/dev/clock", h.wrap(h.devAdvanceClock))
				}
			})

			// Admins.
			r.Group(func(r chi.Router) {
				r.Use(h.requireRole(auth.RoleAdmin))
				r.Get("/audit", h.wrap(h.auditPage))
				r.Get("/audit.csv", h.wrap(h.auditCSV))
				r.Get("/admin/sessions", h.wrap(h.sessionsPage))
				r.Post("/admin/sessions/{id}/end", h.wrap(h.endSession))
				r.Get("/admin/users", h.wrap(h.usersPage))
				r.Post("/admin/alert-policy", h.wrap(h.setPortalAlertPolicy))
				r.Post("/admin/alert-channels", h.wrap(h.addChannel))
				r.Post("/admin/alert-channels/{id}/test", h.wrap(h.testChannel))
				r.Post("/admin/alert-channels/{id}/delete", h.wrap(h.deleteChannel))
				r.Post("/admin/alert-mail-test", h.wrap(h.testMail))
			})
		})
	})
	if h.baseURL != nil && h.baseURL.Scheme == "http" && config.IsLoopback(h.baseURL.Hostname()) {
		return LoopbackOnly(r) // a development server on loopback (portal dev)
	}
	return r
}
