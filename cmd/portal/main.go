// Command portal is the AppReg Portal: one binary that serves the web
// portal, migrates its database and runs a self-contained demo.
//
//	portal serve     run in production (configuration from PORTAL_* variables)
//	portal migrate   apply, roll back or list database migrations
//	portal dev       a first look with nothing configured
//	portal setup     create the portal's app registration and configuration
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // -h printed the usage
		}
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "portal:", err)
		}
		stop()
		os.Exit(exitCode(err))
	}
}

func exitCode(err error) int {
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

var errUsage = errors.New("usage")

const usage = `AppReg Portal — Entra ID app registrations, consented and kept alive.

Usage:
  portal serve               serve the portal (production; configure with PORTAL_* variables)
  portal migrate [up|down|status]
                             apply all migrations, roll back the latest one, or list them
  portal dev                 a first look: local Postgres under .data/, the Entra emulator
                             with a demo world, served on http://127.0.0.1:8080
  portal setup               create or update the portal's app registration in your Entra tenant
                             (device code sign-in) and write the configuration for 'portal serve'
  portal healthcheck         exit 0 if the local portal is ready (for container health checks)

Run 'portal <command> -h' for the flags and environment variables of a command.
`

// run is main without the process: tests call it directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "serve":
		return cmdServe(ctx, args[1:], getenv, stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, args[1:], getenv, stdout, stderr)
	case "dev":
		return cmdDev(ctx, args[1:], getenv, stdout, stderr)
	case "setup":
		return cmdSetup(ctx, args[1:], getenv, stdout, stderr)
	case "healthcheck":
		return cmdHealthcheck(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "portal: unknown command %q\n\n%s", args[0], usage)
		return errUsage
	}
}
