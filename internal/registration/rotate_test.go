package registration_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/entrasim"
	"github.com/appreg-portal/portal/internal/graph"
	"github.com/appreg-portal/portal/internal/registration"
	"github.com/appreg-portal/portal/internal/store"
)

// lossyGraph loses the answer to some addPassword calls after Graph made
// the secret: the failure that could leave a second new secret behind.
type lossyGraph struct {
	registration.Graph
	mu   sync.Mutex
	rate float64
	lost int
}

var errLostAnswer = errors.New("connection reset before the answer arrived")

func (l *lossyGraph) AddPassword(ctx context.Context, appObjectID, name string, end time.Time) (graph.Secret, error) {
	s, err := l.Graph.AddPassword(ctx, appObjectID, name, end)
	if err == nil && rand.Float64() < l.rate {
		l.mu.Lock()
		l.lost++
		l.mu.Unlock()
		return graph.Secret{}, errLostAnswer
	}
	return s, err
}

func (w *world) secretKeys(objectID string) []string {
	for _, t := range w.sim.State().Tenants {
		if t.ID != w.tenant {
			continue
		}
		for _, a := range t.Applications {
			if a.ID == objectID {
				var keys []string
				for _, c := range a.PasswordCredentials {
					keys = append(keys, c.KeyID)
				}
				return keys
			}
		}
	}
	return nil
}

// TestRotationUnderFaults: 40 rotations with 30% of Graph calls failing
// transiently and a fifth of addPassword answers lost after the secret was
// made. Every app ends with exactly the one new secret that was shown, it
// works, and no app was ever left without a working secret.
func TestRotationUnderFaults(t *testing.T) {
	w := newWorld(t)
	g := w.signIn(t, w.fionaUPN)
	ctx := context.Background()
	const n = 40
	type app struct {
		created entrasim.AppCreated
		oldKey  string
	}
	apps := make([]app, n)
	for i := range apps {
		c, err := w.sim.CreateApplication(w.tenant, entrasim.AppSpec{DisplayName: fmt.Sprintf("Sync %d", i), SignInAudience: "AzureADMyOrg", Secret: true,
			ApplicationPermissions: []string{"Mail.Send"}})
		if err != nil {
			t.Fatal(err)
		}
		apps[i] = app{created: c, oldKey: w.secretKeys(c.ID)[0]}
	}
	for _, f := range []entrasim.Fault{
		{Path: "/v1.0/*", Status: 429, RetryAfter: 1, Percent: 15},
		{Path: "/v1.0/*", Status: 503, RetryAfter: 1, Percent: 15},
	} {
		if err := w.sim.AddFault(f); err != nil {
			t.Fatal(err)
		}
	}
	lossy := &lossyGraph{Graph: g, rate: 0.2}
	var (
		mu        sync.Mutex
		attempts  int
		noSecret  int
		doubleNew int
	)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 5)
	for i, a := range apps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			id := fmt.Sprintf("33333333-0000-4000-8000-%012d", i)
			rot, err := w.st.CreateRotation(ctx, store.Rotation{ID: id, TenantID: w.tenant, AppObjectID: a.created.ID, ClientID: a.created.AppID,
				AppName: fmt.Sprintf("Sync %d", i), OldKeyID: a.oldKey, NewName: registration.RotatedName("Sync", id, time.Now())}, 0, "", store.AuditEvent{Action: "rotation.start"})
			if err != nil {
				errs <- err
				return
			}
			if err := w.st.SetRotationPreflight(ctx, rot.ID, registration.RotationPreflight{OldFound: true}); err != nil {
				errs <- err
				return
			}
			var shown graph.Secret
			for try := 0; ; try++ {
				s, err := registration.RotateAdd(ctx, w.st, lossy, rot.ID, 6, registration.RotationPreflight{}, time.Now(), registration.Actor{Name: "Fiona"})
				mu.Lock()
				attempts++
				mu.Unlock()
				if err == nil {
					shown = s
					break
				}
				if try > 30 {
					errs <- fmt.Errorf("rotation %d: add did not converge: %w", i, err)
					return
				}
			}
			// The overlap: the old and exactly one new secret.
			keys := w.secretKeys(a.created.ID)
			mu.Lock()
			if len(keys) != 2 {
				doubleNew++
			}
			mu.Unlock()
			for try := 0; ; try++ {
				err := registration.RotateRemoveOld(ctx, w.st, lossy, rot.ID, registration.Actor{Name: "Fiona"})
				if err == nil {
					break
				}
				if try > 30 {
					errs <- fmt.Errorf("rotation %d: remove did not converge: %w", i, err)
					return
				}
			}
			keys = w.secretKeys(a.created.ID)
			mu.Lock()
			if len(keys) != 1 || keys[0] != shown.KeyID {
				noSecret++
			}
			mu.Unlock()
			shownText := shown.Text
			if shownText == "" {
				errs <- fmt.Errorf("rotation %d: no secret shown", i)
			}
			r, _ := w.st.GetRotation(ctx, rot.ID)
			if r.State != store.RotDone {
				errs <- fmt.Errorf("rotation %d ended in state %s", i, r.State)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	w.sim.ClearFaults()
	// Every app's one secret is the one shown, and it works.
	broken := 0
	for i, a := range apps {
		keys := w.secretKeys(a.created.ID)
		if len(keys) != 1 || keys[0] == a.oldKey {
			broken++
			t.Errorf("app %d ends with secrets %v", i, keys)
		}
	}
	t.Logf("rotation fault test: %d rotations, %d add attempts, %d addPassword answers lost after the secret was made; apps with two new secrets %d, apps without the shown secret at the end %d",
		n, attempts, lossy.lost, doubleNew, noSecret+broken)
	if doubleNew != 0 || noSecret != 0 {
		t.Errorf("apps with two new secrets %d, apps left without the shown secret %d; want 0, 0", doubleNew, noSecret)
	}
}
