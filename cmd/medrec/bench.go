package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"medrec/internal/auth"
	"medrec/internal/bench"
)

// runBench measures the API against raw SQL on demo data: it starts the
// server in process on 127.0.0.1:0 exactly as `serve` does, signs in two
// demo clinicians through HTTP, and runs every scenario through HTTP and,
// on the server's own pool, as raw SQL doing the same database work.
func runBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", stderr)
	duration := fs.Duration("duration", 10*time.Second, "measured time per scenario and variant")
	concurrency := fs.Int("concurrency", 8, "concurrent clients")
	rounds := fs.Int("rounds", 2, "times the variants of a scenario alternate (the duration is split over them)")
	warmup := fs.Duration("warmup", time.Second, "unmeasured time per variant before measuring")
	only := fs.String("only", "", "run only the scenarios whose name contains this")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the process (server and clients) to this file")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: medrec bench [-duration D] [-concurrency N] [-rounds N] [-warmup D]")
		fmt.Fprintln(stderr, "Benchmarks the API against raw SQL on the data of `medrec demo` (load it first).")
		fmt.Fprintln(stderr, "It sets a generated password on two demo clinicians to sign in as them.")
		fs.PrintDefaults()
	}
	cfg, err := parseConfig(fs, args, getenv)
	if err != nil {
		return err
	}
	log := cfg.newLogger()
	// The server logs as `serve` would (the access log costs what it
	// costs in production), but not onto the report.
	cfg.Addr = "127.0.0.1:0"
	m := NewMain(cfg, slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: cfg.LogLevel})), stdout)
	if err := m.Run(ctx); err != nil {
		m.Close()
		return err
	}
	defer m.Close()

	owner, err := pgx.Connect(ctx, m.db.ownerURL)
	if err != nil {
		return fmt.Errorf("connect as the schema owner: %w", err)
	}
	defer owner.Close(context.WithoutCancel(ctx))
	subjects, err := bench.FindSubjects(ctx, owner)
	if err != nil {
		return err
	}
	size, err := bench.Size(ctx, owner, subjects)
	if err != nil {
		return err
	}
	passwords, err := auth.NewPasswords(cfg.BcryptCost)
	if err != nil {
		return err
	}
	password := auth.GeneratePassword(24)
	hash, err := passwords.Hash(password)
	if err != nil {
		return err
	}
	if err := bench.SetPasswords(ctx, owner, hash, subjects.Clinician, subjects.HeavyClinician); err != nil {
		return err
	}

	api := bench.NewAPI("http://"+m.Addr(), *concurrency)
	clinician, err := api.Login(ctx, subjects.ClinicianEmail, password)
	if err != nil {
		return err
	}
	heavyClinician, err := api.Login(ctx, subjects.HeavyClinicianEmail, password)
	if err != nil {
		return err
	}
	for _, s := range []*bench.Session{clinician, heavyClinician} {
		s.Identity.IdleTimeout, s.Identity.MaxSessionAge = cfg.SessionIdle, cfg.SessionMax
	}
	raw := &bench.Raw{Pool: m.pool.Pool()}

	np := bench.NewPrescription{
		DrugName: "Benchmarol", Dosage: "10 mg", Frequency: "once daily",
		StartDate: subjects.Today, EndDate: subjects.Today.AddDate(0, 0, 30),
	}
	npBody, _ := json.Marshal(map[string]string{
		"drug_name": np.DrugName, "dosage": np.Dosage, "frequency": np.Frequency,
		"start_date": np.StartDate.Format(time.DateOnly), "end_date": np.EndDate.Format(time.DateOnly),
	})
	const (
		apiLabel  = "API (HTTP)"
		rawLabel  = "raw SQL, same work"
		specLabel = "spec's history query"
	)
	c, h := clinician, heavyClinician
	scenarios := []bench.Scenario{
		{Name: "GET patient", Variants: []bench.Variant{
			{Label: apiLabel, Kind: bench.KindAPI, Op: api.Get(c, "/api/v1/patients/"+subjects.OrdinaryPatient)},
			{Label: rawLabel, Kind: bench.KindRaw, Op: raw.GetPatient(c.Identity, subjects.OrdinaryPatient)},
		}},
		{Name: fmt.Sprintf("GET history, ordinary (%d+%d)", size.OrdinaryReports, size.OrdinaryRx), Variants: []bench.Variant{
			{Label: apiLabel, Kind: bench.KindAPI, Op: api.Get(c, "/api/v1/patients/"+subjects.OrdinaryPatient+"/history")},
			{Label: rawLabel, Kind: bench.KindRaw, Op: raw.History(c.Identity, subjects.OrdinaryPatient)},
			{Label: specLabel, Kind: bench.KindSpec, Op: raw.SpecHistory(c.Identity, subjects.OrdinaryPatient)},
		}},
		{Name: fmt.Sprintf("GET history, heavy (%d+%d)", size.HeavyReports, size.HeavyRx), SpecCheck: true, Variants: []bench.Variant{
			{Label: apiLabel, Kind: bench.KindAPI, Op: api.Get(h, "/api/v1/patients/"+subjects.HeavyPatient+"/history")},
			{Label: rawLabel, Kind: bench.KindRaw, Op: raw.History(h.Identity, subjects.HeavyPatient)},
			{Label: specLabel, Kind: bench.KindSpec, Op: raw.SpecHistory(h.Identity, subjects.HeavyPatient)},
		}},
		{Name: "GET expiring (days=7)", Variants: []bench.Variant{
			{Label: apiLabel, Kind: bench.KindAPI, Op: api.Get(c, "/api/v1/prescriptions/expiring?days=7")},
			{Label: rawLabel, Kind: bench.KindRaw, Op: raw.Expiring(c.Identity, 7)},
		}},
		// Last: it adds rows (to a patient no other scenario reads).
		{Name: "POST prescription", Variants: []bench.Variant{
			{Label: apiLabel, Kind: bench.KindAPI, Op: api.Post(c, "/api/v1/patients/"+subjects.RxPatient+"/prescriptions", npBody, http.StatusCreated)},
			{Label: rawLabel, Kind: bench.KindRaw, Op: raw.CreatePrescription(c.Identity, subjects.RxPatient, np)},
		}},
	}

	if *only != "" {
		scenarios = slices.DeleteFunc(scenarios, func(s bench.Scenario) bool { return !strings.Contains(s.Name, *only) })
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	started := time.Now()
	results, err := bench.Run(ctx, scenarios, bench.Options{
		Duration: *duration, Concurrency: *concurrency, Rounds: *rounds, Warmup: *warmup,
		Progress: func(scenario, variant string, round int) {
			log.Info("bench", "scenario", scenario, "variant", variant, "round", round)
		},
	})
	if err != nil {
		return err
	}

	fmt.Fprintf(stdout, "Machine: %d CPUs (GOMAXPROCS %d), %s %s/%s, PostgreSQL %s; pool of %d connections shared by the API and the raw SQL.\n\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH, size.ServerVersion, m.pool.Pool().Config().MaxConns)
	fmt.Fprintf(stdout, "Data: %d patients, %d medical reports, %d prescriptions, %d doctors, %d users, %d care-team rows. "+
		"The clinician of the ordinary patient has %d patients in their care team.\n\n",
		size.Patients, size.Reports, size.Prescriptions, size.Doctors, size.Users, size.Care, subjects.CareLoad)
	fmt.Fprintf(stdout, "Run: %d concurrent clients, %s per variant in %d alternating rounds after %s of warm-up, %s in all.\n\n",
		*concurrency, *duration, *rounds, *warmup, time.Since(started).Round(time.Second))
	bench.WriteTable(stdout, results)
	fmt.Fprintln(stdout)
	checks := bench.Checks(results)
	bench.WriteChecks(stdout, checks)
	for _, r := range results {
		for _, x := range r.Measures {
			if x.Errors > 0 || x.Ops == 0 {
				return fmt.Errorf("%s / %s: %d ops, %d errors; first: %v", r.Scenario, x.Label, x.Ops, x.Errors, x.FirstErr)
			}
		}
	}
	return nil
}
