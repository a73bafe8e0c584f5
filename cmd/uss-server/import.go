package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/uss/uss/internal/config"
	"github.com/uss/uss/internal/transfer"
	"github.com/uss/uss/internal/uss"
)

// importCommand loads an NDJSON file of assignments (an export) into an account, all or none.
func importCommand(ctx context.Context, cfg config.Config, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	accountName := fs.String("account", "", "account name (created if missing)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *accountName == "" || fs.NArg() != 1 {
		return errors.New("usage: uss-server import --account NAME FILE (- reads standard input)")
	}
	if err := uss.ValidateIdentifier("account", *accountName); err != nil {
		return err
	}
	in := stdin
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	store, closeDB, err := connectMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeDB()
	account, err := store.EnsureAccount(ctx, *accountName)
	if err != nil {
		return err
	}
	c, err := transfer.NewService(store).Import(ctx, account, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %d lines into %q: %d created, %d updated, %d unchanged\n",
		c.Lines, *accountName, c.Created, c.Updated, c.Unchanged)
	return nil
}
