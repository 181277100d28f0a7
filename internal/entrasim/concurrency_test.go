package entrasim_test

import (
	"fmt"
	"net/url"
	"sync"
	"testing"

	"github.com/appreg-portal/portal/internal/entrasim"
)

// The Sim is shared by parallel tests and portal replicas: concurrent tokens, reads and writes on the
// same application must be safe (run with -race).
func TestConcurrentUse(t *testing.T) {
	w := newTestWorld(t, entrasim.Options{}, "Application.ReadWrite.All")
	tok := w.appToken(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 10 {
				switch (i + j) % 5 {
				case 0:
					postForm(t, w.tokenURL(), url.Values{"client_id": {w.app.AppID}, "client_secret": {w.app.SecretText},
						"grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"}})
				case 1:
					call(t, "GET", w.graph("/applications?$select=id,passwordCredentials"), tok, nil)
				case 2:
					r := call(t, "POST", w.graph("/applications/"+w.app.ID+"/addPassword"), tok, map[string]any{})
					if id, ok := r.json(t)["keyId"].(string); ok {
						call(t, "POST", w.graph("/applications/"+w.app.ID+"/removePassword"), tok, map[string]any{"keyId": id})
					}
				case 3:
					call(t, "PATCH", w.graph("/applications/"+w.app.ID), tok, map[string]any{"notes": fmt.Sprint(i, j)})
				case 4:
					w.sim.State()
					call(t, "GET", w.graph("/applications/delta"), tok, nil)
				}
			}
		}()
	}
	wg.Wait()
	if r := call(t, "GET", w.graph("/applications/"+w.app.ID), tok, nil); r.status != 200 {
		t.Errorf("after the storm: %d", r.status)
	}
}
