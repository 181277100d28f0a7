package graph_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/appreg-portal/portal/internal/entrasim"
	"github.com/appreg-portal/portal/internal/graph"
	"golang.org/x/oauth2/clientcredentials"
)

// BenchmarkListApplicationsSDK measures a whole-tenant scan through the portal's client (msgraph-sdk-go,
// PageIterator, typed mapping) against the emulator: 2,000 applications in pages of 999.
func BenchmarkListApplicationsSDK(b *testing.B) {
	sim := entrasim.New(entrasim.Options{DisableServiceLimits: true})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	sim.SetBaseURL(srv.URL)
	tid, _ := sim.CreateTenant("T", "t.example")
	app, err := sim.CreateApplication(tid, entrasim.AppSpec{DisplayName: "Scanner", ApplicationPermissions: []string{"Application.Read.All"}, Secret: true})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 1999 {
		if _, err := sim.CreateApplication(tid, entrasim.AppSpec{DisplayName: fmt.Sprintf("App %d", i), Secret: true}); err != nil {
			b.Fatal(err)
		}
	}
	cc := clientcredentials.Config{ClientID: app.AppID, ClientSecret: app.SecretText, TokenURL: srv.URL + "/" + tid + "/oauth2/v2.0/token",
		Scopes: []string{"https://graph.microsoft.com/.default"}}
	c, err := graph.NewClient(context.Background(), graph.Config{BaseURL: srv.URL + "/v1.0", TokenSource: cc.TokenSource(context.Background())})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		apps, err := c.ListApplications(context.Background())
		if err != nil || len(apps) != 2000 {
			b.Fatalf("ListApplications = %d, %v", len(apps), err)
		}
	}
	b.ReportMetric(float64(b.N)*2000/b.Elapsed().Seconds(), "apps/s")
}
