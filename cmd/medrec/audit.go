package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jackc/pgx/v5"

	"medrec/internal/postgres"
)

const auditUsage = `usage:
  medrec audit verify [-anchor FILE] [-heads FILE]
      seal the audit rows of ended transactions, then check the whole hash
      chain of audit_log; exit 1 naming the first bad row. -heads writes the
      verified head of the chain (JSON) to FILE: keep it off the database
      host; a later -anchor FILE then also catches a consistent rewrite of
      the chain, or the removal of its newest entries, made since.
  medrec audit export -from T [-to T] [-out FILE]
      write the audit rows with from <= changed_at < to as JSON Lines (chain
      columns included). T is RFC 3339 or YYYY-MM-DD (UTC); -to defaults to now.
  medrec audit archive -before YYYY-MM
      detach every monthly partition before that month (export them first);
      the chain keeps verifying from anchors recorded on the way.
`

// runAudit is `medrec audit verify|export|archive`, run as the schema owner
// (DATABASE_URL, or the private cluster's superuser).
func runAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "" || args[0][0] == '-' {
		fmt.Fprint(stderr, auditUsage)
		return errUsage
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet("audit "+sub, stderr)
	fs.Usage = func() { fmt.Fprint(stderr, auditUsage) }
	var anchorFile, headsFile, from, to, out, before *string
	switch sub {
	case "verify":
		anchorFile = fs.String("anchor", "", "heads written by an earlier verify -heads, trusted")
		headsFile = fs.String("heads", "", "write the verified heads to this file")
	case "export":
		from = fs.String("from", "", "first instant (RFC 3339 or YYYY-MM-DD, UTC), inclusive")
		to = fs.String("to", "", "last instant, exclusive (default now)")
		out = fs.String("out", "", "write to this file instead of stdout")
	case "archive":
		before = fs.String("before", "", "detach the months before this one (YYYY-MM)")
	default:
		fmt.Fprintf(stderr, "medrec audit: unknown subcommand %q\n\n%s", sub, auditUsage)
		return errUsage
	}
	cfg, err := parseConfig(fs, args, getenv)
	if err != nil {
		return err
	}

	// Check the arguments before touching the database.
	var fromT, toT, beforeT time.Time
	switch sub {
	case "export":
		if *from == "" {
			return usageError(stderr, "-from", errors.New("required (RFC 3339 or YYYY-MM-DD)"))
		}
		if fromT, err = parseInstant(*from); err != nil {
			return usageError(stderr, "-from", err)
		}
		toT = time.Now()
		if *to != "" {
			if toT, err = parseInstant(*to); err != nil {
				return usageError(stderr, "-to", err)
			}
		}
		if !fromT.Before(toT) {
			return usageError(stderr, "-to", errors.New("must be after -from"))
		}
	case "archive":
		if *before == "" {
			return usageError(stderr, "-before", errors.New("required (YYYY-MM)"))
		}
		if beforeT, err = time.Parse("2006-01", *before); err != nil {
			return usageError(stderr, "-before", fmt.Errorf("%q is not a month: want YYYY-MM", *before))
		}
	}
	var trusted *postgres.AuditHead
	if sub == "verify" && *anchorFile != "" {
		b, err := os.ReadFile(*anchorFile)
		if err != nil {
			return fmt.Errorf("read anchor: %w", err)
		}
		if err := json.Unmarshal(b, &trusted); err != nil {
			return fmt.Errorf("read anchor %s: %w", *anchorFile, err)
		}
		if trusted == nil {
			return fmt.Errorf("read anchor %s: no head in it", *anchorFile)
		}
	}

	log := cfg.newLogger()
	db, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.close(context.WithoutCancel(ctx))
	conn, err := pgx.Connect(ctx, db.ownerURL)
	if err != nil {
		return fmt.Errorf("connect as the schema owner: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	switch sub {
	case "verify":
		// Rows of transactions that have ended are sealed now, so that
		// only those still running are left unchecked.
		if _, err := postgres.SealAuditChain(ctx, conn); err != nil {
			return err
		}
		rep, err := postgres.VerifyAuditChain(ctx, conn, trusted)
		if err != nil {
			return err
		}
		if *headsFile != "" {
			b, err := json.MarshalIndent(rep.Head, "", "  ")
			if err != nil {
				return err
			}
			if err := os.WriteFile(*headsFile, append(b, '\n'), 0o600); err != nil {
				return fmt.Errorf("write heads: %w", err)
			}
		}
		if !rep.OK() {
			fmt.Fprintf(stdout, "audit chain BROKEN (%d rows checked)\n", rep.Rows)
			for i, b := range rep.Breaks {
				label := "first bad row"
				if i > 0 {
					label = "also broken"
				}
				fmt.Fprintf(stdout, "%s: %s\n", label, b)
			}
			return fmt.Errorf("audit chain broken: first bad row: %s", rep.Breaks[0])
		}
		fmt.Fprintf(stdout, "audit chain OK: %d rows up to seq %d (%d redacted by erasures, %d archived)\n",
			rep.Rows, rep.Head.Seq, rep.Redacted, rep.Archived)
		if rep.Pending > 0 {
			fmt.Fprintf(stdout, "%d rows not sealed yet, the oldest from %s: a transaction of this database that began before them is still running\n",
				rep.Pending, rep.OldestPending.UTC().Format(time.RFC3339))
		}
		return nil
	case "export":
		w := stdout
		var f *os.File
		if *out != "" {
			if f, err = os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
				return fmt.Errorf("export: %w", err)
			}
			defer f.Close()
			w = f
		}
		bw := bufio.NewWriter(w)
		n, err := postgres.ExportAuditLog(ctx, conn, fromT, toT, bw)
		if err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if f != nil {
			if err := f.Close(); err != nil {
				return fmt.Errorf("export: %w", err)
			}
		}
		fmt.Fprintf(stderr, "exported %d audit rows\n", n)
		return nil
	default: // archive
		names, err := postgres.ArchiveAuditLog(ctx, conn, beforeT)
		if err != nil {
			return err
		}
		for _, n := range names {
			fmt.Fprintf(stdout, "detached %s\n", n)
		}
		if len(names) == 0 {
			fmt.Fprintln(stdout, "nothing to archive")
		}
		return nil
	}
}

// parseInstant reads RFC 3339 or a UTC date.
func parseInstant(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor YYYY-MM-DD", s)
}

func usageError(stderr io.Writer, flag string, err error) error {
	fmt.Fprintf(stderr, "medrec audit: %s: %v\n", flag, err)
	return errUsage
}
