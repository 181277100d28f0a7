package entrasim

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
)

// TB is the part of testing.TB NewTestServer needs; *testing.T and *testing.B satisfy it. (Taking an
// interface keeps the testing package out of binaries that embed the emulator, such as `portal dev`.)
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
}

// NewTestServer starts a Sim on an httptest server, sets its base URL and closes it when the test ends.
func NewTestServer(tb TB, opts Options) (*Sim, *httptest.Server) {
	tb.Helper()
	sim := New(opts)
	srv := httptest.NewServer(sim)
	sim.SetBaseURL(srv.URL)
	tb.Cleanup(srv.Close)
	return sim, srv
}

// NewTLSTestServer is NewTestServer over HTTPS with httptest's certificate; use srv.Client() or
// TLSClientConfig to trust it.
func NewTLSTestServer(tb TB, opts Options) (*Sim, *httptest.Server) {
	tb.Helper()
	sim := New(opts)
	srv := httptest.NewTLSServer(sim)
	sim.SetBaseURL(srv.URL)
	tb.Cleanup(srv.Close)
	return sim, srv
}

// TLSClient returns an HTTP client that trusts only the given CA certificate (PEM or DER).
func TLSClient(caCert *x509.Certificate) *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}
