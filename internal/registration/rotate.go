package registration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/appreg-portal/portal/internal/graph"
	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/safetext"
	"github.com/appreg-portal/portal/internal/store"

	"github.com/appreg-portal/portal/internal/trunc"
)

// Rotation follows Microsoft's advice for expiring credentials: add the new
// secret, put it in the product, check it is in use, then remove the old one
// (https://learn.microsoft.com/entra/identity/enterprise-apps/certificate-manage#renew-a-certificate
// describes the same overlap for certificates). Unlike a "rotate" that
// deletes the old secret at once, nothing stops working while the admin
// updates the product.

// RotationStore is what a rotation needs of Postgres (*store.Store).
type RotationStore interface {
	BeginRotationStep(ctx context.Context, id string, from []string, to string, lease time.Duration) (store.Rotation, error)
	RecordRotationSecret(ctx context.Context, id, keyID, hint string, end time.Time, audit store.AuditEvent) error
	FinishRotation(ctx context.Context, id string, audit store.AuditEvent) error
	SetRotationError(ctx context.Context, id, state, msg string) error
}

// RotationPreflight is what a rotation learned before writing.
type RotationPreflight struct {
	CheckedAt     time.Time `json:"checkedAt"`
	UserName      string    `json:"userName"`
	UserUPN       string    `json:"userUpn"`
	Roles         []string  `json:"roles"`
	PolicyMaxDays int       `json:"policyMaxDays"`
	// AppPolicy: PolicyMaxDays comes from a policy assigned to the app, which
	// overrides the tenant default.
	AppPolicy bool `json:"appPolicy,omitempty"`
	// OldFound: the secret to rotate is still on the app.
	OldFound bool `json:"oldFound"`
	// OtherSecrets and Certificates are the app's other credentials.
	OtherSecrets int `json:"otherSecrets"`
	Certificates int `json:"certificates"`
}

// PolicyMax is the tenant's longest secret lifetime, 0 if none.
func (pf RotationPreflight) PolicyMax() time.Duration {
	return time.Duration(pf.PolicyMaxDays) * 24 * time.Hour
}

// RotatedName is the new secret's description: the old one's, the date and
// the rotation, so a secret left by an interrupted attempt is recognised.
func RotatedName(oldName, rotationID string, now time.Time) string {
	short := rotationID
	if len(short) > 8 {
		short = short[:8]
	}
	base := strings.TrimSpace(oldName)
	if base == "" {
		base = "Client secret"
	}
	return trunc.String(base, 60) + " (rotated " + now.UTC().Format(time.DateOnly) + ", " + short + ")"
}

// RunRotationPreflight reads, with the admin's token, what the rotation's
// review needs. It writes nothing.
func RunRotationPreflight(ctx context.Context, g Graph, tenantID, appObjectID, oldKeyID string, now time.Time) (RotationPreflight, error) {
	admin, err := readAdmin(ctx, g, tenantID, now)
	if err != nil {
		return RotationPreflight{}, err
	}
	if err := admin.readAppPolicy(ctx, g, appObjectID); err != nil {
		return RotationPreflight{}, err
	}
	pf := RotationPreflight{CheckedAt: admin.CheckedAt, UserName: admin.UserName, UserUPN: admin.UserUPN, Roles: admin.Roles,
		PolicyMaxDays: admin.PolicyMaxDays, AppPolicy: admin.AppPolicy}
	app, err := g.GetApplication(ctx, appObjectID)
	if err != nil {
		return pf, fmt.Errorf("read the app registration: %w", err)
	}
	for _, c := range app.Credentials {
		switch {
		case c.Kind == graph.CredentialPassword && strings.EqualFold(c.KeyID, oldKeyID):
			pf.OldFound = true
		case c.Kind == graph.CredentialPassword:
			pf.OtherSecrets++
		default:
			pf.Certificates++
		}
	}
	return pf, nil
}

// RotateAdd adds the rotation's new secret, clamped to the tenant's policy.
// It is recorded as under way before the Graph call; an attempt after an
// interrupted one first removes what that attempt may have added (found by
// the rotation's secret name), so one rotation never leaves two new secrets.
// The secret's value is returned, never stored.
func RotateAdd(ctx context.Context, st RotationStore, g Graph, id string, months int, pf RotationPreflight, now time.Time, actor Actor) (graph.Secret, error) {
	r, err := st.BeginRotationStep(ctx, id, []string{store.RotReview, store.RotFailed, store.RotApplying}, store.RotApplying, 2*time.Minute)
	if err != nil {
		return graph.Secret{}, err
	}
	fail := func(err error) (graph.Secret, error) {
		_ = st.SetRotationError(context.WithoutCancel(ctx), id, store.RotFailed, ExplainRotation(err).Stored())
		return graph.Secret{}, err
	}
	if r.Attempts > 1 {
		var app graph.Application
		if err := retry(ctx, defaultStepRetries, defaultBackoff, func() error {
			var err error
			app, err = g.GetApplication(ctx, r.AppObjectID)
			return err
		}); err != nil {
			return fail(err)
		}
		for _, c := range app.Credentials {
			if c.Kind == graph.CredentialPassword && c.DisplayName == r.NewName && !strings.EqualFold(c.KeyID, r.OldKeyID) {
				if err := retry(ctx, defaultStepRetries, defaultBackoff, func() error { return g.RemovePassword(ctx, r.AppObjectID, c.KeyID) }); err != nil {
					return fail(err)
				}
			}
		}
	}
	end, _ := SecretEnd(now, months, pf.PolicyMax())
	var sec graph.Secret
	if err := retry(ctx, defaultStepRetries, defaultBackoff, func() error {
		var err error
		sec, err = g.AddPassword(ctx, r.AppObjectID, r.NewName, end)
		return err
	}); err != nil {
		return fail(err)
	}
	if err := st.RecordRotationSecret(context.WithoutCancel(ctx), id, sec.KeyID, sec.Hint, sec.End,
		actor.audit("rotation.secret", r.AppName, map[string]string{"rotation": id, "key_id": sec.KeyID, "old_key_id": r.OldKeyID,
			"ends": sec.End.UTC().Format(time.DateOnly)})); err != nil {
		return graph.Secret{}, err
	}
	return sec, nil
}

// RotateRemoveOld removes the old secret once the admin confirmed the new
// one is in use. An old secret already gone is success.
func RotateRemoveOld(ctx context.Context, st RotationStore, g Graph, id string, actor Actor) error {
	r, err := st.BeginRotationStep(ctx, id, []string{store.RotOverlap, store.RotRemoving}, store.RotRemoving, 2*time.Minute)
	if err != nil {
		return err
	}
	err = retry(ctx, defaultStepRetries, defaultBackoff, func() error { return g.RemovePassword(ctx, r.AppObjectID, r.OldKeyID) })
	var ge *graph.Error
	if errors.As(err, &ge) && (ge.Status == 404 || (ge.Status == 400 && strings.Contains(strings.ToLower(ge.Message), "no password credential"))) {
		err = nil // already removed, by hand or by an earlier attempt
	}
	if err != nil {
		_ = st.SetRotationError(context.WithoutCancel(ctx), id, store.RotOverlap, ExplainRotation(err).Stored())
		return err
	}
	return st.FinishRotation(ctx, id, actor.audit("rotation.done", r.AppName, map[string]string{"rotation": id, "removed_key_id": r.OldKeyID}))
}

// DefaultRotationMonths is the new secret's lifetime unless the admin picks
// another: Microsoft recommends less than 12 months.
const DefaultRotationMonths = 12

// RotationScopes are the wizard's Scopes plus offline_access: a rotation may
// remove the old secret on a later date, after the hour an access token lasts.
// AuditLog.Read.All reads the credentials' last sign-ins, the hint that the
// new secret is in use.
var RotationScopes = append(append([]string{}, Scopes...), "https://graph.microsoft.com/AuditLog.Read.All", "offline_access")

// RemoverStore is what scheduled removals need of Postgres.
type RemoverStore interface {
	RotationStore
	DueRotations(ctx context.Context, now time.Time) ([]store.Rotation, error)
	RotationsToRemind(ctx context.Context, now time.Time) ([]store.Rotation, map[string][]string, error)
	MarkReminded(ctx context.Context, id string) error
	RotationRefreshToken(ctx context.Context, id string) ([]byte, error)
	SaveRotationToken(ctx context.Context, id string, sealed, sealedRefresh []byte, userName string, expires time.Time) error
}

// Remover removes old secrets on the date their rotation named (a River job
// runs it), with the admin's sealed refresh token from the rotation's sign-in.
type Remover struct {
	Store RemoverStore
	// Open and Seal are the sealer's, with the rotation's associated data.
	Open func(sealed []byte, rotationID string) ([]byte, error)
	Seal func(plain []byte, rotationID string) []byte
	// Refresh redeems a refresh token in a tenant (auth.Client.RefreshTenantToken).
	Refresh func(ctx context.Context, tenantID, refresh string) (access, newRefresh string, expiry time.Time, err error)
	// Delegated opens Graph with an access token.
	Delegated func(ctx context.Context, accessToken string) (Graph, error)
	// Remind, if set, mails the day-before reminder (alerts.Alerter.Remind)
	// about a tenant of the inventory (0 if none) to its contacts (extra)
	// and the portal's recipients, each in their language.
	Remind func(ctx context.Context, tenantID int64, extra []string, msg func(l *i18n.Localizer) (subject, body string)) error
	// Rescan, if set, queues a scan of the inventory's tenant after a
	// removal, so the dashboard drops the old secret without waiting for
	// the next scheduled scan (internal/jobs EnqueueScan).
	Rescan func(ctx context.Context, tenantID int64) error
	Now    func() time.Time
}

// RemoveDue removes every old secret that is due. A failure is recorded on
// the rotation (its page shows it) and tried again on the next run.
func (rm *Remover) RemoveDue(ctx context.Context) (removed int, err error) {
	now := time.Now()
	if rm.Now != nil {
		now = rm.Now()
	}
	var errs []error
	if rm.Remind != nil {
		soon, contacts, err := rm.Store.RotationsToRemind(ctx, now)
		if err != nil {
			return 0, err
		}
		for _, r := range soon {
			var tenant int64
			if r.InventoryTenant != nil {
				tenant = *r.InventoryTenant
			}
			if err := rm.Remind(ctx, tenant, contacts[r.TenantID], reminder(r)); err != nil {
				errs = append(errs, fmt.Errorf("rotation %s: reminder: %w", r.ID, err))
				continue
			}
			if err := rm.Store.MarkReminded(ctx, r.ID); err != nil {
				errs = append(errs, err)
			}
		}
	}
	due, err := rm.Store.DueRotations(ctx, now)
	if err != nil {
		return 0, errors.Join(append(errs, err)...)
	}
	for _, r := range due {
		if err := rm.removeOne(ctx, r); err != nil {
			errs = append(errs, fmt.Errorf("rotation %s: %w", r.ID, err))
			continue
		}
		removed++
		if rm.Rescan != nil && r.InventoryTenant != nil {
			if err := rm.Rescan(ctx, *r.InventoryTenant); err != nil {
				errs = append(errs, fmt.Errorf("rotation %s: queue a scan: %w", r.ID, err)) // the scheduled scan catches up
			}
		}
	}
	return removed, errors.Join(errs...)
}

// reminder is the day-before reminder of a scheduled removal. Names come
// from the tenant: one line each in the mail.
func reminder(r store.Rotation) func(l *i18n.Localizer) (subject, body string) {
	return func(l *i18n.Localizer) (string, string) {
		at := r.RemoveAfter.UTC()
		subject := "[" + l.T("app.name") + "] " + l.T("rotation.reminder.subject", "App", safetext.Line(r.AppName))
		body := l.T("rotation.reminder.body", "App", safetext.Line(r.AppName), "Tenant", safetext.Line(r.TenantName),
			"Old", safetext.Line(r.OldName), "Date", l.Date(at), "Time", at.Format("15:04")) + "\n" + l.T("rotation.reminder.advice")
		return subject, body
	}
}

func (rm *Remover) removeOne(ctx context.Context, r store.Rotation) error {
	fail := func(reason Message, err error) error {
		msg := Msg("rotation.error.scheduled_failed", "Reason", reason)
		_ = rm.Store.SetRotationError(context.WithoutCancel(ctx), r.ID, "", msg.Stored())
		return err
	}
	sealed, err := rm.Store.RotationRefreshToken(ctx, r.ID)
	if err != nil {
		return fail(Msg("rotation.error.kept_sign_in_missing"), err)
	}
	refresh, err := rm.Open(sealed, r.ID)
	if err != nil {
		return fail(Msg("rotation.error.kept_sign_in_sealed"), err)
	}
	access, newRefresh, exp, err := rm.Refresh(ctx, r.TenantID, string(refresh))
	if err != nil {
		return fail(Msg("rotation.error.kept_sign_in_refused"), err)
	}
	var sealedRefresh []byte
	if newRefresh != "" {
		sealedRefresh = rm.Seal([]byte(newRefresh), r.ID)
	}
	if err := rm.Store.SaveRotationToken(ctx, r.ID, rm.Seal([]byte(access), r.ID), sealedRefresh, "scheduled removal", exp); err != nil {
		return err
	}
	g, err := rm.Delegated(ctx, access)
	if err != nil {
		return err
	}
	if err := RotateRemoveOld(ctx, rm.Store, g, r.ID, Actor{Name: "scheduled removal"}); err != nil {
		return fail(ExplainRotation(err), err)
	}
	return nil
}
