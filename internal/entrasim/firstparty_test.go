package entrasim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// Microsoft's command-line public clients are known in every world, as in
// Entra, without showing up as a tenant or an application of any tenant.
func TestFirstPartyPublicClientsStartADeviceCodeFlow(t *testing.T) {
	sim := New(Options{})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	if _, err := sim.CreateTenant("Contoso", "contoso.example"); err != nil {
		t.Fatal(err)
	}
	st := sim.State()
	if len(st.Tenants) != 1 || len(st.Tenants[0].Applications) != 0 {
		t.Fatalf("the first-party clients show in the world: %d tenants, %d apps", len(st.Tenants), len(st.Tenants[0].Applications))
	}
	for _, id := range []string{GraphCommandLineToolsAppID, AzureCLIAppID} {
		resp, err := http.PostForm(srv.URL+"/organizations/oauth2/v2.0/devicecode", url.Values{"client_id": {id},
			"scope": {"https://graph.microsoft.com/Application.ReadWrite.All"}})
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 200 || body["user_code"] == nil {
			t.Errorf("device code for %s = %d %v", id, resp.StatusCode, body)
		}
	}
	resp, err := http.PostForm(srv.URL+"/organizations/oauth2/v2.0/devicecode", url.Values{"client_id": {"11111111-2222-3333-4444-555555555555"}, "scope": {"User.Read"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("device code for an unknown client = %d, want 400", resp.StatusCode)
	}
}
