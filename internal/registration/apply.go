package registration

import (
	"context"
	"errors"
	"fmt"
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
func Steps(p Plan, pf Preflight) []store.RegistrationStep {
	verb := "Create"
	if pf.Existing != nil {
		verb = "Update"
	}
	steps := []store.RegistrationStep{
		{Kind: StepApplication, Label: fmt.Sprintf("%s the app registration “%s”", verb, p.DisplayName)},
		{Kind: StepServicePrincipal, Label: "Create its enterprise application (service principal) if missing"},
	}
	for _, r := range pf.Resources {
		if r.Create {
			steps = append(steps, store.RegistrationStep{Kind: StepResourceSP, Key: r.AppID, Label: "Add " + r.Name + " to the tenant (its service principal)"})
		}
	}
	delegated := map[string][]string{}
	var order []catalog.Resource
	for _, rp := range p.Permissions {
		perm := rp.Permission
		app := strings.ToLower(perm.Resource.AppID)
		if perm.Type == catalog.Application {
			steps = append(steps, store.RegistrationStep{Kind: StepAppRole, Key: app + "|" + perm.Name,
				Label: fmt.Sprintf("Grant %s (%s, application permission)", perm.Name, perm.Resource.Name)})
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
			Label: fmt.Sprintf("Grant %s (%s, delegated) for all users", strings.Join(delegated[app], ", "), r.Name)})
	}
	steps = append(steps,
		store.RegistrationStep{Kind: StepSecret, Label: fmt.Sprintf("Add a client secret valid for %d months", p.SecretMonths)},
		store.RegistrationStep{Kind: StepVerify, Label: "Read the grants back to check them"})
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

func (e *StepError) Error() string { return "step " + e.Step.Label + ": " + e.Err.Error() }
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
		return Result{Run: run}, errors.New("registration: the run was cancelled")
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
			msg := Explain(err)
			_ = a.Store.FinishStep(context.WithoutCancel(ctx), runID, s.Position, store.StepFailed, "", msg)
			if !lost {
				_ = a.Store.SetRunState(context.WithoutCancel(ctx), runID, store.RunFailed, msg,
					actor.audit("registration.step_failed", p.DisplayName, map[string]string{"run": runID, "step": s.Kind, "error": msg}))
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
			return fmt.Errorf("registration: step %q is not in the plan any more", s.Label)
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

// Explain says in plain words what went wrong with a Graph call, for the page
// and the run's record (never a token or secret: Graph errors carry neither).
func Explain(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, graph.ErrInsufficientPrivileges):
		return "Microsoft Graph refused: the signed-in account lacks the role or permission for this step."
	case errors.Is(err, graph.ErrThrottled):
		return "Microsoft Graph is busy (throttled) and still refused after several tries. Wait a minute and retry: finished steps are not repeated."
	case errors.Is(err, graph.ErrReplicationLag), errors.Is(err, graph.ErrNotFound):
		return "Microsoft Graph has not finished creating an object yet (it replicates for up to a few minutes). Retry shortly: finished steps are not repeated."
	case errors.Is(err, graph.ErrPolicyViolation):
		return "The tenant's app management policy does not allow this secret (too long a lifetime, or secrets not allowed). Choose a shorter lifetime."
	case errors.Is(err, graph.ErrUnauthenticated):
		return "Your sign-in to the tenant has expired. Sign in again to continue; finished steps are not repeated."
	case errors.Is(err, store.ErrLeaseHeld):
		return "Another window or server took over this run; reload to see its progress."
	case errors.Is(err, ErrUnknownPermission), errors.Is(err, ErrResourceMissing), errors.Is(err, ErrWrongTenant):
		return strings.TrimPrefix(err.Error(), "registration: ")
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "The step took too long and was stopped. Retry: finished steps are not repeated."
	}
	var ge *graph.Error
	if errors.As(err, &ge) {
		return fmt.Sprintf("Microsoft Graph answered %d %s: %s", ge.Status, ge.Code, trunc.Ellipsis(ge.Message, 300))
	}
	return "The step could not be completed. Retry: finished steps are not repeated."
}
