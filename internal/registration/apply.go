package registration

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/appreg-portal/portal/internal/catalog"
	"github.com/appreg-portal/portal/internal/graph"
	"github.com/appreg-portal/portal/internal/store"

	"github.com/appreg-portal/portal/internal/trunc"
)

// Store is what the apply needs of Postgres (*store.Store).
type Store interface {
	AcquireRunLease(ctx context.Context, id, owner string, d time.Duration) (store.RegistrationRun, error)
	ReleaseRunLease(ctx context.Context, id, owner string) error
	PlanSteps(ctx context.Context, runID string, steps []store.RegistrationStep) ([]store.RegistrationStep, error)
	StartStep(ctx context.Context, runID, owner string, pos int, lease time.Duration) error
	FinishStep(ctx context.Context, runID string, pos int, status, result, errMsg string) error
	RecordApplication(ctx context.Context, runID string, pos int, appObjectID, clientID string, audit store.AuditEvent) error
	RecordServicePrincipal(ctx context.Context, runID string, pos int, spObjectID string) error
	RecordSecret(ctx context.Context, runID string, pos int, keyID, hint string, end time.Time, audit store.AuditEvent) error
	RecordConsentCheck(ctx context.Context, runID, state string, audit store.AuditEvent) error
	SetRunState(ctx context.Context, id, state, errMsg string, audit store.AuditEvent) error
}

// Step kinds, in the order a run makes them.
const (
	StepApplication      = "application"
	StepServicePrincipal = "service_principal"
	StepResourceSP       = "resource_sp"
	StepAppRole          = "app_role"
	StepDelegated        = "delegated"
	StepSecret           = "secret"
	StepVerify           = "verify"
)

// Steps lists a run's Graph writes for the plan and what pre-flight found.
// Each label is a Message as Message.Stored keeps it (Stored reads it back),
// so the run page words it in its reader's language.
func Steps(p Plan, pf Preflight) []store.RegistrationStep {
	create := "wizard.step.create_app"
	if pf.Existing != nil {
		create = "wizard.step.update_app"
	}
	steps := []store.RegistrationStep{
		{Kind: StepApplication, Label: Msg(create, "Name", p.DisplayName).Stored()},
		{Kind: StepServicePrincipal, Label: Msg("wizard.step.service_principal").Stored()},
	}
	for _, r := range pf.Resources {
		if r.Create {
			steps = append(steps, store.RegistrationStep{Kind: StepResourceSP, Key: r.AppID, Label: Msg("wizard.step.resource_sp", "Resource", r.Name).Stored()})
		}
	}
	delegated := map[string][]string{}
	var order []catalog.Resource
	for _, rp := range p.Permissions {
		perm := rp.Permission
		app := strings.ToLower(perm.Resource.AppID)
		if perm.Type == catalog.Application {
			steps = append(steps, store.RegistrationStep{Kind: StepAppRole, Key: app + "|" + perm.Name,
				Label: Msg("wizard.step.app_role", "Permission", perm.Name, "Resource", perm.Resource.Name).Stored()})
			continue
		}
		if _, ok := delegated[app]; !ok {
			order = append(order, perm.Resource)
		}
		delegated[app] = append(delegated[app], perm.Name)
	}
	for _, r := range order {
		app := strings.ToLower(r.AppID)
		steps = append(steps, store.RegistrationStep{Kind: StepDelegated, Key: app + "|" + strings.Join(delegated[app], " "),
			Label: Msg("wizard.step.delegated", "Permissions", strings.Join(delegated[app], ", "), "Resource", r.Name).Stored()})
	}
	steps = append(steps,
		store.RegistrationStep{Kind: StepSecret, Label: Plural("wizard.step.secret", p.SecretMonths).Stored()},
		store.RegistrationStep{Kind: StepVerify, Label: Msg("wizard.step.verify").Stored()})
	return steps
}

// Actor is who applies, for the audit trail.
type Actor struct {
	OID, Name, RequestID, RemoteAddr string
}

func (a Actor) audit(action, target string, details map[string]string) store.AuditEvent {
	var oid *string
	if a.OID != "" {
		oid = &a.OID
	}
	return store.AuditEvent{ActorOID: oid, ActorName: a.Name, Action: action, Target: target, Details: details,
		RequestID: a.RequestID, RemoteAddr: a.RemoteAddr}
}

// Applier applies runs.
type Applier struct {
	Store Store
	// Owner names this process (and request) in the run's lease.
	Owner string
	// Lease is how long a lease lasts without a step (default 2 minutes):
	// after that a crashed replica's run can be resumed elsewhere.
	Lease time.Duration
	// StepRetries is how often a step that failed transiently (throttled
	// beyond the client's own retries) is tried again (default 2).
	StepRetries int
	Backoff     time.Duration // first wait between those (default 2s)
	Now         func() time.Time
	// BeforeStep, if set, runs before each step's Graph call and after its
	// record; tests use it to kill the apply between any two steps.
	BeforeStep func(pos int, kind string) error
}

// Result is what an apply did.
type Result struct {
	Run   store.RegistrationRun
	Steps []store.RegistrationStep
	// Secret is set only on the call that created it: show it now, it is
	// gone afterwards.
	Secret *graph.Secret
	// NeedsConsent: some grants need a Global Administrator's consent.
	NeedsConsent bool
	// Removed counts secrets of interrupted attempts that were removed.
	Removed int
}

// StepError is a step that failed, with the Graph error.
type StepError struct {
	Step store.RegistrationStep
	Err  error
}

func (e *StepError) Error() string {
	return "step " + Stored(e.Step.Label).English() + ": " + e.Err.Error()
}
func (e *StepError) Unwrap() error { return e.Err }

func (a *Applier) defaults() {
	if a.Lease <= 0 {
		a.Lease = 2 * time.Minute
	}
	if a.StepRetries == 0 {
		a.StepRetries = defaultStepRetries
	}
	if a.Backoff <= 0 {
		a.Backoff = defaultBackoff
	}
	if a.Now == nil {
		a.Now = time.Now
	}
}

// Apply makes (or resumes) the run's writes. Steps already done are not
// repeated; a failed step is retried. It returns ErrLeaseHeld (store) when
// another request is applying the run. extraWeb are redirect URIs the portal
// adds for itself (its admin-consent return address, when consent is needed).
func (a *Applier) Apply(ctx context.Context, runID string, g Graph, p Plan, pf Preflight, actor Actor, extraWeb []string) (Result, error) {
	a.defaults()
	run, err := a.Store.AcquireRunLease(ctx, runID, a.Owner, a.Lease)
	if err != nil {
		return Result{}, err
	}
	defer func() { _ = a.Store.ReleaseRunLease(context.WithoutCancel(ctx), runID, a.Owner) }()
	if run.State == store.RunCancelled {
		return Result{Run: run}, errCancelled
	}
	steps, err := a.Store.PlanSteps(ctx, runID, Steps(p, pf))
	if err != nil {
		return Result{}, err
	}
	res := Result{Run: run}
	st := &applyState{run: run, resourceSP: map[string]string{}}
	for _, r := range pf.Resources {
		st.resourceSP[r.AppID] = r.ObjectID
	}
	for _, s := range steps {
		if s.Kind == StepResourceSP && s.Status == store.StepDone {
			st.resourceSP[s.Key] = s.Result
		}
	}
	for _, s := range steps {
		if s.Status == store.StepDone {
			continue
		}
		if a.BeforeStep != nil {
			if err := a.BeforeStep(s.Position, s.Kind); err != nil {
				return res, err
			}
		}
		err := a.step(ctx, g, p, pf, actor, extraWeb, st, s, &res)
		if err != nil {
			var lost bool
			if errors.Is(err, store.ErrLeaseHeld) {
				lost = true
			}
			why := Why(err)
			_ = a.Store.FinishStep(context.WithoutCancel(ctx), runID, s.Position, store.StepFailed, "", why.Stored())
			if !lost {
				_ = a.Store.SetRunState(context.WithoutCancel(ctx), runID, store.RunFailed, why.Stored(),
					actor.audit("registration.step_failed", p.DisplayName, map[string]string{"run": runID, "step": s.Kind, "error": why.English()}))
			}
			return res, &StepError{Step: s, Err: err}
		}
	}
	if res.Steps, err = a.Store.PlanSteps(ctx, runID, nil); err != nil {
		return res, err
	}
	for _, s := range res.Steps {
		if s.Status == store.StepNeedsConsent {
			res.NeedsConsent = true
		}
	}
	return res, nil
}

// errCancelled: the run was cancelled before this apply.
var errCancelled = problem(errors.New("registration: the run was cancelled"), Msg("wizard.err.cancelled"))

type applyState struct {
	run        store.RegistrationRun
	resourceSP map[string]string // resource appId → object ID in the tenant
}

// step makes one step, recording it as running first.
func (a *Applier) step(ctx context.Context, g Graph, p Plan, pf Preflight, actor Actor, extraWeb []string, st *applyState, s store.RegistrationStep, res *Result) error {
	runID := st.run.ID
	if err := a.Store.StartStep(ctx, runID, a.Owner, s.Position, a.Lease); err != nil {
		return err
	}
	switch s.Kind {
	case StepApplication:
		spec, err := p.Spec(pf.IDs, extraWeb...)
		if err != nil {
			return err
		}
		var app graph.Application
		err = a.retry(ctx, func() error {
			var err error
			app, _, err = g.UpsertApplication(ctx, p.UniqueName, spec)
			return err
		})
		if err != nil {
			return err
		}
		st.run.AppObjectID, st.run.ClientID = app.ObjectID, app.AppID
		res.Run.AppObjectID, res.Run.ClientID = app.ObjectID, app.AppID
		return a.Store.RecordApplication(ctx, runID, s.Position, app.ObjectID, app.AppID,
			actor.audit("registration.application", p.DisplayName, map[string]string{"run": runID, "client_id": app.AppID, "blueprint": p.Blueprint.ID}))
	case StepServicePrincipal:
		var sp graph.ServicePrincipal
		err := a.retry(ctx, func() error {
			var err error
			sp, _, err = g.UpsertServicePrincipal(ctx, st.run.ClientID)
			return err
		})
		if err != nil {
			return err
		}
		st.run.SPObjectID, res.Run.SPObjectID = sp.ObjectID, sp.ObjectID
		return a.Store.RecordServicePrincipal(ctx, runID, s.Position, sp.ObjectID)
	case StepResourceSP:
		var sp graph.ServicePrincipal
		err := a.retry(ctx, func() error {
			var err error
			sp, _, err = g.UpsertServicePrincipal(ctx, s.Key)
			return err
		})
		if err != nil {
			return err
		}
		st.resourceSP[s.Key] = sp.ObjectID
		return a.Store.FinishStep(ctx, runID, s.Position, store.StepDone, sp.ObjectID, "")
	case StepAppRole:
		app, name, _ := strings.Cut(s.Key, "|")
		perm, ok := findPermission(p, app, name, catalog.Application)
		if !ok {
			return fmt.Errorf("registration: step %q is not in the plan any more", Stored(s.Label).English())
		}
		if !pf.CanGrant(perm) {
			res.NeedsConsent = true
			return a.Store.FinishStep(ctx, runID, s.Position, store.StepNeedsConsent, "", "")
		}
		id := pf.IDs[permKey(perm)]
		if id == "" {
			id = perm.ID
		}
		err := a.retry(ctx, func() error { return g.GrantAppRole(ctx, st.run.SPObjectID, st.resourceSP[app], id) })
		if errors.Is(err, graph.ErrInsufficientPrivileges) {
			res.NeedsConsent = true
			return a.Store.FinishStep(ctx, runID, s.Position, store.StepNeedsConsent, "", "")
		}
		if err != nil {
			return err
		}
		return a.Store.FinishStep(ctx, runID, s.Position, store.StepDone, id, "")
	case StepDelegated:
		app, scopes, _ := strings.Cut(s.Key, "|")
		err := a.retry(ctx, func() error {
			return g.GrantDelegated(ctx, st.run.SPObjectID, st.resourceSP[app], strings.Fields(scopes))
		})
		if errors.Is(err, graph.ErrInsufficientPrivileges) {
			res.NeedsConsent = true
			return a.Store.FinishStep(ctx, runID, s.Position, store.StepNeedsConsent, "", "")
		}
		if err != nil {
			return err
		}
		return a.Store.FinishStep(ctx, runID, s.Position, store.StepDone, "", "")
	case StepSecret:
		return a.secret(ctx, g, p, pf, actor, st, s, res)
	case StepVerify:
		state, err := a.verify(ctx, g, p, pf, st, true)
		if err != nil {
			return err
		}
		if err := a.Store.FinishStep(ctx, runID, s.Position, store.StepDone, state, ""); err != nil {
			return err
		}
		if state != "granted" {
			res.NeedsConsent = true
		}
		return a.Store.RecordConsentCheck(ctx, runID, state,
			actor.audit("registration.verified", p.DisplayName, map[string]string{"run": runID, "consent": state}))
	}
	return fmt.Errorf("registration: unknown step kind %q", s.Kind)
}

// secret adds the client secret. A previous attempt of this step that was
// interrupted may have made one that nobody saw: those (found by the run's
// secret name) are removed first, so every secret made is shown or removed.
func (a *Applier) secret(ctx context.Context, g Graph, p Plan, pf Preflight, actor Actor, st *applyState, s store.RegistrationStep, res *Result) error {
	runID := st.run.ID
	name := SecretName(runID, st.run.CreatedAt)
	if s.Attempts > 0 { // StartStep counted this attempt; an earlier one may have left a secret
		var app graph.Application
		err := a.retry(ctx, func() error {
			var err error
			app, err = g.GetApplication(ctx, st.run.AppObjectID)
			return err
		})
		if err != nil {
			return err
		}
		for _, c := range app.Credentials {
			if c.Kind == graph.CredentialPassword && c.DisplayName == name {
				if err := a.retry(ctx, func() error { return g.RemovePassword(ctx, st.run.AppObjectID, c.KeyID) }); err != nil {
					return err
				}
				res.Removed++
			}
		}
	}
	end, _ := SecretEnd(a.Now(), p.SecretMonths, pf.PolicyMax())
	var sec graph.Secret
	err := a.retry(ctx, func() error {
		var err error
		sec, err = g.AddPassword(ctx, st.run.AppObjectID, name, end)
		return err
	})
	if err != nil {
		return err
	}
	// Recorded before anyone sees it; if this fails the next attempt removes it.
	if err := a.Store.RecordSecret(context.WithoutCancel(ctx), runID, s.Position, sec.KeyID, sec.Hint, sec.End,
		actor.audit("registration.secret", p.DisplayName, map[string]string{"run": runID, "key_id": sec.KeyID, "ends": sec.End.UTC().Format(time.DateOnly)})); err != nil {
		return err
	}
	res.Secret = &sec
	return nil
}

// verify reads the grants back and says granted, partial or pending.
func (a *Applier) verify(ctx context.Context, g Graph, p Plan, pf Preflight, st *applyState, withDelegated bool) (string, error) {
	var gr graph.Grants
	err := a.retry(ctx, func() error {
		var err error
		gr, err = g.ListGrants(ctx, st.run.SPObjectID, withDelegated)
		return err
	})
	if err != nil {
		return "", err
	}
	return consentState(p, pf.IDs, gr, st.resourceSP, withDelegated), nil
}

// Verify reads the grants of a run's app back (after an admin consented)
// and records the consent state. g may be an app-only client: then only the
// application permissions are read (delegated grants need a role it lacks).
func Verify(ctx context.Context, s Store, g Graph, run store.RegistrationRun, p Plan, pf Preflight, withDelegated bool, actor Actor) (string, error) {
	a := &Applier{Store: s}
	a.defaults()
	st := &applyState{run: run, resourceSP: map[string]string{}}
	for _, r := range pf.Resources {
		st.resourceSP[r.AppID] = r.ObjectID
	}
	if run.SPObjectID == "" {
		return "", errors.New("registration: the app has no service principal yet")
	}
	for _, r := range pf.Resources {
		if r.ObjectID == "" {
			sp, err := g.ResourceServicePrincipal(ctx, r.AppID)
			if err != nil {
				return "", err
			}
			st.resourceSP[r.AppID] = sp.ObjectID
		}
	}
	state, err := a.verify(ctx, g, p, pf, st, withDelegated)
	if err != nil {
		return "", err
	}
	return state, s.RecordConsentCheck(ctx, run.ID, state,
		actor.audit("registration.verified", p.DisplayName, map[string]string{"run": run.ID, "consent": state}))
}

func consentState(p Plan, ids PermissionIDs, gr graph.Grants, resourceSP map[string]string, withDelegated bool) string {
	want, have := 0, 0
	for _, rp := range p.Permissions {
		perm := rp.Permission
		rsp := resourceSP[strings.ToLower(perm.Resource.AppID)]
		id := ids[permKey(perm)]
		if id == "" {
			id = perm.ID
		}
		switch {
		case perm.Type == catalog.Application:
			want++
			if gr.HasAppRole(rsp, id) {
				have++
			}
		case withDelegated:
			want++
			if gr.HasScope(rsp, perm.Name) {
				have++
			}
		}
	}
	switch {
	case have == want:
		return "granted"
	case have == 0:
		return "pending"
	}
	return "partial"
}

func findPermission(p Plan, app, name string, typ catalog.PermissionType) (catalog.Permission, bool) {
	for _, rp := range p.Permissions {
		if strings.EqualFold(rp.Permission.Resource.AppID, app) && rp.Permission.Name == name && rp.Permission.Type == typ {
			return rp.Permission, true
		}
	}
	return catalog.Permission{}, false
}

// retry runs call again when Graph still throttles after the client's own
// retries, or has not replicated an object yet.
func (a *Applier) retry(ctx context.Context, call func() error) error {
	return retry(ctx, a.StepRetries, a.Backoff, call)
}

// Defaults of Applier.StepRetries and Applier.Backoff, also used by rotations.
const (
	defaultStepRetries = 2
	defaultBackoff     = 2 * time.Second
)

// retry runs call, and again up to retries times with doubling waits while
// it fails transiently.
func retry(ctx context.Context, retries int, backoff time.Duration, call func() error) error {
	wait := backoff
	for i := 0; ; i++ {
		err := call()
		if err == nil || i >= retries || !transient(err) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
		wait *= 2
	}
}

func transient(err error) bool {
	return errors.Is(err, graph.ErrThrottled) || errors.Is(err, graph.ErrReplicationLag)
}

// Explain says in plain words, in English, what went wrong with a Graph
// call (never a token or secret: Graph errors carry neither). Pages word
// Why(err) in the reader's language instead.
func Explain(err error) string { return Why(err).English() }

// Why says what went wrong with a Graph call, as a message for people.
func Why(err error) Message {
	var me *messageError
	switch {
	case err == nil:
		return Message{}
	case errors.Is(err, graph.ErrInsufficientPrivileges):
		return Msg("wizard.err.insufficient_privileges")
	case errors.Is(err, graph.ErrThrottled):
		return Msg("wizard.err.throttled")
	case errors.Is(err, graph.ErrReplicationLag), errors.Is(err, graph.ErrNotFound):
		return Msg("wizard.err.replication")
	case errors.Is(err, graph.ErrPolicyViolation):
		return Msg("wizard.err.policy")
	case errors.Is(err, graph.ErrUnauthenticated):
		return Msg("wizard.err.unauthenticated")
	case errors.Is(err, store.ErrLeaseHeld):
		return Msg("wizard.err.lease_held")
	case errors.As(err, &me):
		return me.msg
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return Msg("wizard.err.timeout")
	}
	var ge *graph.Error
	if errors.As(err, &ge) {
		return Msg("wizard.err.graph", "Status", strconv.Itoa(ge.Status), "Code", ge.Code, "Message", trunc.Ellipsis(ge.Message, 300))
	}
	return Msg("wizard.err.other")
}
