package main

import (
	"context"
	"fmt"
	"io"

	"medrec/internal/demo"
)

func runDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", stderr)
	patients := fs.Int("patients", 1000, "synthetic patients to load")
	reports := fs.Int("reports-per-patient", 5, "average reports per patient")
	prescriptions := fs.Int("prescriptions-per-patient", 5, "average prescriptions per patient")
	heavy := fs.Int("heavy", 1, "patients with exactly 200 reports and 200 prescriptions")
	seed := fs.Int64("seed", 1, "seed of the generator: the same seed loads the same data")
	force := fs.Bool("force", false, "load even though the database holds patients that are not demo data")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: medrec demo [-patients N] [-reports-per-patient N] [-prescriptions-per-patient N] [-heavy N] [-seed N] [-force]")
		fmt.Fprintln(stderr, "Loads synthetic data (emails end in @demo.medrec.invalid). It locks the clinical tables while it runs.")
		fs.PrintDefaults()
	}
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
	if err := migrateUp(ctx, db, cfg, log); err != nil {
		return err
	}
	res, err := demo.Load(ctx, db.ownerURL, demo.Options{
		Patients: *patients, ReportsPerPatient: *reports, PrescriptionsPerPatient: *prescriptions,
		HeavyPatients: *heavy, Seed: *seed, Force: *force, Logger: log,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "loaded %d patients, %d doctors, %d users, %d reports, %d prescriptions, %d care-team rows in %s\n",
		res.Patients, res.Doctors, res.Users, res.Reports, res.Prescriptions, res.CareTeam, res.Duration.Round(1e6))
	fmt.Fprintf(stdout, "ordinary patient: %s\nheavy patients: %v\n", res.OrdinaryPatientID, res.HeavyPatientIDs)
	return nil
}
