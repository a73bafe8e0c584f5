package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/uss/uss/internal/config"
	"github.com/uss/uss/internal/retention"
	"github.com/uss/uss/internal/server"
)

// purge runs the retention task once, now, or prints what it would delete.
func purge(ctx context.Context, cfg config.Config, logger *slog.Logger, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("purge", flag.ContinueOnError)
	dryRun := fs.Bool("dry-run", false, "print what would be deleted and delete nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	store, closeDB, _, err := connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeDB()
	task := server.RetentionTask(cfg, store, logger, nil)
	if task == nil {
		return errors.New("nothing to purge: USS_RETENTION is off (0)")
	}
	if *dryRun {
		plan, err := task.Plan(ctx)
		if err != nil {
			return err
		}
		return printPlan(stdout, cfg, plan)
	}
	r, err := task.RunOnce(ctx)
	if err != nil {
		return err
	}
	if !r.Ran {
		return errors.New("another process holds the retention lock (a server's retention task is running); nothing deleted")
	}
	fmt.Fprintf(stdout, "deleted: %d assignments, %d conversions, %d history events\n",
		r.Deleted[retention.Assignments], r.Deleted[retention.Conversions], r.Deleted[retention.History])
	return nil
}

func printPlan(stdout io.Writer, cfg config.Config, plan retention.Plan) error {
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "campaigns removed from their settings more than %s ago (USS_RETENTION): %d\n", cfg.Retention, len(plan.Campaigns))
	if len(plan.Campaigns) > 0 {
		fmt.Fprintln(w, "ACCOUNT\tCAMPAIGN\tREMOVED AT\tASSIGNMENTS\tCONVERSIONS\tHISTORY")
	}
	for _, c := range plan.Campaigns {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%d\n", c.AccountName, c.CampaignKey, c.RemovedAt.UTC().Format(time.RFC3339),
			c.Rows[retention.Assignments], c.Rows[retention.Conversions], c.Rows[retention.History])
	}
	fmt.Fprintln(w, "dry run: nothing was deleted")
	return w.Flush()
}
