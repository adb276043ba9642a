package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"
)

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", stderr)
	all := fs.Bool("all", false, "with down: roll back every migration")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: medrec migrate up|down [-all]|status [flags]")
		fs.PrintDefaults()
	}
	if len(args) == 0 {
		fs.Usage()
		return errUsage
	}
	action, args := args[0], args[1:]
	cfg, err := parseConfig(fs, args, getenv)
	if err != nil {
		return err
	}
	log := cfg.newLogger()
	db, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.close(context.WithoutCancel(ctx))
	m, err := db.migrator(cfg, log)
	if err != nil {
		return err
	}
	defer m.Close()

	switch action {
	case "up":
		return m.Up(ctx)
	case "down":
		return m.Down(ctx, *all)
	case "status":
		states, err := m.Status(ctx)
		if err != nil {
			return err
		}
		for _, s := range states {
			state := "pending"
			if s.Applied {
				state = "applied"
			}
			fmt.Fprintf(stdout, "%05d  %-8s %s\n", s.Version, state, s.Name)
		}
		return nil
	default:
		fs.Usage()
		return errUsage
	}
}

// migrateUp applies pending migrations and the service role's grants.
func migrateUp(ctx context.Context, db *database, cfg Config, log *slog.Logger) error {
	m, err := db.migrator(cfg, log)
	if err != nil {
		return err
	}
	defer m.Close()
	start := time.Now()
	if err := m.Up(ctx); err != nil {
		return err
	}
	log.Info("schema up to date", "duration", time.Since(start).Round(time.Millisecond).String())
	return nil
}
