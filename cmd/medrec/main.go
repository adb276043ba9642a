// Command medrec runs the medrec medical records service and its tools:
//
//	medrec serve                         run the HTTP API (the default command)
//	medrec migrate up|down|status        manage the schema
//	medrec user create --email E --role R   add a user; the password is read from stdin
//	medrec demo --patients N             load synthetic data
//	medrec audit verify|export|archive   check, export or archive the audit log
//	medrec bench                         benchmark the API against raw SQL on demo data
//
// Configuration comes from flags and MEDREC_* / DATABASE_URL environment
// variables (see config.go and the README).
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
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

const usage = `usage: medrec <command> [flags]

commands:
  serve                                 run the HTTP API (default)
  migrate up|down [-all]|status         apply, roll back or list migrations
  user create -email E -role R          create a user; the password is read from stdin
  demo [-patients N] [-force]           load synthetic patients, doctors, reports and prescriptions
  audit verify|export|archive           check the audit log's hash chain, export it, archive old months
  bench [-duration D] [-concurrency N]  benchmark the API against raw SQL on demo data

Run "medrec <command> -h" for its flags.
`

// run executes one command and returns the process's exit code. It takes
// its environment as arguments so tests can drive it in process.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = runServe(ctx, args, getenv, stdout, stderr)
	case "migrate":
		err = runMigrate(ctx, args, getenv, stdout, stderr)
	case "user":
		err = runUser(ctx, args, getenv, stdin, stdout, stderr)
	case "demo":
		err = runDemo(ctx, args, getenv, stdout, stderr)
	case "audit":
		err = runAudit(ctx, args, getenv, stdout, stderr)
	case "bench":
		err = runBench(ctx, args, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "medrec: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "medrec %s: %v\n", cmd, err)
		return 1
	}
}

// errUsage marks a command line that was already explained to the user.
var errUsage = errors.New("usage")

// newFlagSet returns a flag set that reports errors to stderr and returns
// them instead of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("medrec "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseConfig reads the configuration for a command, reporting flag
// mistakes as errUsage (flag already printed them). loadConfig returns the
// values' mistakes joined (errors.Join), a flag mistake as flag made it.
func parseConfig(fs *flag.FlagSet, args []string, getenv func(string) string) (Config, error) {
	cfg, err := loadConfig(fs, args, getenv)
	var invalid interface{ Unwrap() []error }
	switch {
	case err == nil || errors.Is(err, flag.ErrHelp):
		return cfg, err
	case errors.As(err, &invalid):
		return cfg, fmt.Errorf("invalid configuration:\n%w", err)
	default:
		return cfg, errUsage
	}
}
