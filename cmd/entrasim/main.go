// Command entrasim serves the Entra ID + Microsoft Graph emulator on its own:
//
//	go run ./cmd/entrasim -addr 127.0.0.1:18080 [-seed FILE|demo] [-auto-login] [-tls [-ca-out FILE]]
//
// It prints its base URL and, with a seed, what it created. Login endpoints are at {base}/{tenant}/…,
// Graph at {base}/v1.0/…, the control API at {base}/_sim/….
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/appreg-portal/portal/internal/entrasim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "entrasim:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("entrasim", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:18080", "listen address")
	seed := fs.String("seed", "", `seed file to load ("demo" for the built-in demo world)`)
	autoLogin := fs.Bool("auto-login", false, "sign in the user named by login_hint without showing a page")
	useTLS := fs.Bool("tls", false, "serve HTTPS with a generated certificate")
	caOut := fs.String("ca-out", "entrasim-ca.pem", "with -tls: where to write the CA certificate (PEM)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sim := entrasim.New(entrasim.Options{AutoLogin: *autoLogin})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	scheme := "http"
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	if *useTLS {
		mat, err := entrasim.GenerateTLS([]string{host, "localhost", "127.0.0.1", "::1"})
		if err != nil {
			return err
		}
		if err := os.WriteFile(*caOut, mat.CAPEM, 0o644); err != nil {
			return fmt.Errorf("write CA certificate: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{mat.Server}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, srv.TLSConfig)
		scheme = "https"
		fmt.Fprintf(stdout, "CA certificate written to %s\n", *caOut)
	}
	base := scheme + "://" + net.JoinHostPort(host, port)
	sim.SetBaseURL(base)
	if *seed != "" {
		data := entrasim.DemoSeed
		if *seed != "demo" {
			if data, err = os.ReadFile(*seed); err != nil {
				return err
			}
		}
		res, err := sim.LoadSeed(bytes.NewReader(data))
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, res.Summary())
	}
	fmt.Fprintf(stdout, "entrasim listening on %s\n", base)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}
