package entrasim_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/appreg-portal/portal/internal/entrasim"
)

// BenchmarkTokenRequests measures client-credentials token requests per second over loopback HTTP
// (secret check, RS256 signing, JSON), with parallel clients.
func BenchmarkTokenRequests(b *testing.B) {
	w := newTestWorld(b, entrasim.Options{}, "Application.Read.All")
	form := url.Values{"client_id": {w.app.AppID}, "client_secret": {w.app.SecretText}, "grant_type": {"client_credentials"},
		"scope": {"https://graph.microsoft.com/.default"}}.Encode()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(w.tokenURL(), "application/x-www-form-urlencoded", strings.NewReader(form))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkApplicationList measures GET /v1.0/applications requests per second (token validation,
// permission check, one page of 100 applications with two secrets each, the scanner's $select).
func BenchmarkApplicationList(b *testing.B) {
	for _, n := range []int{100, 999} {
		b.Run(fmt.Sprintf("page=%d", n), func(b *testing.B) {
			w := newTestWorld(b, entrasim.Options{DisableServiceLimits: true}, "Application.Read.All")
			for i := range n - 1 {
				a, err := w.sim.CreateApplication(w.tenant, entrasim.AppSpec{DisplayName: fmt.Sprintf("App %d", i), Secret: true})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := w.sim.AddSecret(a.ID, "second", "", w.sim.Now(), w.sim.Now().AddDate(1, 0, 0)); err != nil {
					b.Fatal(err)
				}
			}
			u := w.graph(fmt.Sprintf("/applications?$select=id,appId,displayName,passwordCredentials,keyCredentials&$top=%d", n))
			tok := w.appToken(b)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("GET", u, nil)
					req.Header.Set("Authorization", "Bearer "+tok)
					resp, err := client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Fatalf("status %d", resp.StatusCode)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lists/s")
		})
	}
}

// BenchmarkNewSim measures creating a Sim with a tenant, a user and an application, as tests do.
func BenchmarkNewSim(b *testing.B) {
	for b.Loop() {
		sim := entrasim.New(entrasim.Options{})
		tid, _ := sim.CreateTenant("T", "t.example")
		sim.CreateUser(tid, entrasim.User{DisplayName: "U", UserPrincipalName: "u@t.example"})
		if _, err := sim.CreateApplication(tid, entrasim.AppSpec{DisplayName: "A", Secret: true, ApplicationPermissions: []string{"Application.Read.All"}}); err != nil {
			b.Fatal(err)
		}
	}
}
