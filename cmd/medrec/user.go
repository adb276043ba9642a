package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"medrec"
	"medrec/internal/auth"
	"medrec/internal/postgres"
)

func runUser(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("user create", stderr)
	email := fs.String("email", "", "the user's email (required)")
	role := fs.String("role", "", "ADMIN, CLINICIAN, NURSE or RECEPTIONIST (required)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: medrec user create -email E -role R  (the password is read from the first line of stdin)")
		fs.PrintDefaults()
	}
	if len(args) == 0 || args[0] != "create" {
		fs.Usage()
		return errUsage
	}
	cfg, err := parseConfig(fs, args[1:], getenv)
	if err != nil {
		return err
	}
	// The password comes from stdin, never a flag: flags end up in shell
	// history and in the process list.
	password, err := readPassword(stdin)
	if err != nil {
		return err
	}
	nu := medrec.NewUser{Email: *email, Password: password, Role: medrec.Role(strings.ToUpper(*role))}
	if err := nu.Validate(); err != nil {
		return describe(err)
	}
	hasher, err := auth.NewPasswords(cfg.BcryptCost)
	if err != nil {
		return err
	}
	hash, err := hasher.Hash(password)
	if err != nil {
		return describe(err)
	}

	log := cfg.newLogger()
	db, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.close(context.WithoutCancel(ctx))
	if cfg.Migrate {
		if err := migrateUp(ctx, db, cfg, log); err != nil {
			return err
		}
	}
	pool, err := postgres.Open(ctx, db.appURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	u, err := postgres.NewUserService(pool).CreateUser(ctx, nu, hash)
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(stdout, "created user %s (%s, %s)\n", u.ID, u.Email, u.Role)
	return nil
}

func readPassword(stdin io.Reader) (string, error) {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on stdin: pipe it in, e.g. printf '%s\\n' \"$PASSWORD\" | medrec user create ...")
	}
	return line, nil
}

// describe turns a domain error into one readable line per offending field.
func describe(err error) error {
	fields := medrec.ErrorFields(err)
	if len(fields) == 0 {
		return err
	}
	var b strings.Builder
	b.WriteString(medrec.ErrorMessage(err))
	for _, f := range fields {
		fmt.Fprintf(&b, "\n  %s %s", f.Field, f.Message)
	}
	return errors.New(b.String())
}
