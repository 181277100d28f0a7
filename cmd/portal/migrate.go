package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/appreg-portal/portal/internal/config"
	"github.com/appreg-portal/portal/internal/store"
)

func cmdMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate [up|down|status]", "up (default) applies every pending migration; down rolls back the latest one;\nstatus lists every migration and whether it is applied.",
		[]string{"PORTAL_DATABASE_URL", "PORTAL_DB_TIMEOUT"}, stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	action := "up"
	if fs.NArg() > 0 {
		action = fs.Arg(0)
	}
	if fs.NArg() > 1 || (action != "up" && action != "down" && action != "status") {
		fs.Usage()
		return errUsage
	}
	cfg, err := config.Load(getenv, config.Migrate)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, store.Options{MaxConns: 2, Timeout: cfg.DBTimeout})
	if err != nil {
		return err
	}
	defer st.Close()
	return migrate(ctx, st, action, stdout)
}

func migrate(ctx context.Context, st *store.Store, action string, stdout io.Writer) error {
	switch action {
	case "up":
		res, err := st.MigrateUp(ctx)
		for _, m := range res {
			fmt.Fprintf(stdout, "applied  %s (%s)\n", m.File, m.Duration.Round(1e5))
		}
		if err == nil && len(res) == 0 {
			fmt.Fprintln(stdout, "nothing to apply: the schema is current")
		}
		return err
	case "down":
		res, err := st.MigrateDown(ctx)
		for _, m := range res {
			fmt.Fprintf(stdout, "rolled back  %s\n", m.File)
		}
		return err
	default:
		status, err := st.MigrationStatus(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tFILE\tSTATE\tAPPLIED AT")
		for _, m := range status {
			state, at := "pending", ""
			if m.Applied {
				state, at = "applied", m.AppliedAt.Format("2006-01-02 15:04:05Z07:00")
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", m.Version, m.File, state, at)
		}
		return tw.Flush()
	}
}
