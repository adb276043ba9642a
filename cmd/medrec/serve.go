package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"medrec"
	"medrec/internal/auth"
	"medrec/internal/blob"
	"medrec/internal/httpapi"
	"medrec/internal/postgres"
)

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(newFlagSet("serve", stderr), args, getenv)
	if err != nil {
		return err
	}
	m := NewMain(cfg, cfg.newLogger(), stdout)
	if err := m.Run(ctx); err != nil {
		m.Close()
		return err
	}
	select {
	case <-ctx.Done():
		m.log.Info("shutting down", "reason", "signal")
	case err := <-m.serveErr:
		m.log.Error("HTTP server stopped", "error", err)
	}
	return m.Close()
}

// Main is the running service: database, HTTP server and their wiring. The
// end-to-end tests boot it exactly as `medrec serve` does, on port 0.
type Main struct {
	cfg    Config
	log    *slog.Logger
	stdout io.Writer // where the generated first password is printed, once

	db         *database
	pool       *postgres.DB
	api        *httpapi.Server
	httpServer *http.Server
	listener   net.Listener
	cancelBase context.CancelFunc
	serveErr   chan error

	// The periodic sweep that stores COMPLETED on expired prescriptions.
	prescriptions *postgres.PrescriptionService
	// and, on the same loop, EXPIRED on past-due emergency requests.
	emergency *postgres.EmergencyService
	stopSweep context.CancelFunc
	sweepDone chan struct{} // closed when the sweep goroutine has returned

	// Idempotency-Key outcomes; expired keys are swept with the prescriptions.
	idempotency *postgres.IdempotencyService

	// reports: the files live in the blob store under <data dir>/reports.
	blobs   *blob.Local
	reports *postgres.ReportService

	closeOnce sync.Once
	closeErr  error
}

// NewMain returns a Main for cfg; Run starts it.
func NewMain(cfg Config, log *slog.Logger, stdout io.Writer) *Main {
	return &Main{cfg: cfg, log: log, stdout: stdout, serveErr: make(chan error, 1)}
}

// Run opens the database (starting the private cluster when DATABASE_URL is
// unset), migrates, creates the first administrator if there is no user,
// and starts serving HTTP. It returns once the listener is open.
func (m *Main) Run(ctx context.Context) error {
	db, err := openDatabase(ctx, m.cfg, m.log)
	if err != nil {
		return err
	}
	m.db = db
	if m.cfg.Migrate {
		if err := migrateUp(ctx, db, m.cfg, m.log); err != nil {
			return err
		}
	}
	if m.pool, err = postgres.Open(ctx, db.appURL); err != nil {
		return fmt.Errorf("connect as the service role %s: %w", m.cfg.AppRole, err)
	}
	passwords, err := auth.NewPasswords(m.cfg.BcryptCost)
	if err != nil {
		return err
	}
	if err := m.ensureFirstAdmin(ctx, passwords); err != nil {
		return err
	}
	tokens, err := m.tokenIssuer()
	if err != nil {
		return err
	}
	users := postgres.NewUserService(m.pool)
	authService := postgres.NewAuthService(m.pool, postgres.AuthConfig{
		Tokens:          tokens,
		Hasher:          passwords,
		SecondFactor:    auth.TOTP{Issuer: "medrec"},
		IdleTimeout:     m.cfg.SessionIdle,
		MaxSessionAge:   m.cfg.SessionMax,
		MaxFailures:     m.cfg.LockoutThreshold,
		RequireAdminMFA: m.cfg.AdminMFARequired,
	})

	m.prescriptions = postgres.NewPrescriptionService(m.pool)
	m.emergency = postgres.NewEmergencyService(m.pool, m.cfg.EmergencyMax)
	m.idempotency = postgres.NewIdempotencyService(m.pool)
	// The first sweeps run before the server takes requests, so that they
	// never compete with them at start-up; then startSweep repeats them.
	m.sweepSlow(ctx)
	m.sweepFast(ctx)
	m.sealAuditChain(ctx)

	if err := m.openReports(); err != nil {
		return err
	}

	registry := prometheus.NewRegistry()
	registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.pool.Collector(),
	)
	baseCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancelBase = cancel
	m.api = httpapi.New(httpapi.Config{
		Logger:       m.log,
		Readiness:    m.pool,
		Metrics:      registry,
		MaxBodyBytes: m.cfg.MaxBodyBytes,
		BaseContext:  baseCtx,

		Auth:          authService,
		Users:         users,
		CareTeam:      postgres.NewCareTeamService(m.pool),
		Patients:      postgres.NewPatientService(m.pool),
		Doctors:       postgres.NewDoctorService(m.pool),
		Prescriptions: m.prescriptions,
		History:       postgres.NewHistoryService(m.pool),
		Passwords:     passwords,
		LoginThrottle: auth.NewThrottle(m.cfg.LoginThrottle, 15*time.Minute, time.Now),

		// reports
		Reports:        m.reports,
		ReportMaxBytes: m.reports.MaxBytes(),
		Blobs:          m.blobs,

		Emergency:   m.emergency,
		AccessLog:   postgres.NewAccessLogService(m.pool),
		Idempotency: m.idempotency,
		Audit:       postgres.NewAuditService(m.pool),
	})
	if m.listener, err = net.Listen("tcp", m.cfg.Addr); err != nil {
		return fmt.Errorf("listen on %s: %w", m.cfg.Addr, err)
	}
	m.httpServer = m.api.HTTPServer(m.cfg.Addr)
	go func() {
		if err := m.httpServer.Serve(m.listener); !errors.Is(err, http.ErrServerClosed) {
			m.serveErr <- err
		}
	}()
	m.startSweep(prescriptionSweepInterval)
	m.log.Info("medrec serving", "addr", m.listener.Addr().String(), "private_cluster", db.cluster != nil)
	return nil
}

// Addr is the address the HTTP server listens on (useful with port 0).
func (m *Main) Addr() string { return m.listener.Addr().String() }

// Close stops the service gracefully: /readyz turns 503, in-flight requests
// get up to the shutdown timeout to finish, then the pool closes and the
// private cluster (if this process started it) shuts down.
// Calling it again returns the first call's result.
func (m *Main) Close() error {
	m.closeOnce.Do(func() { m.closeErr = m.close() })
	return m.closeErr
}

func (m *Main) close() error {
	var errs []error
	if m.httpServer != nil {
		m.api.Drain()
		ctx, cancel := context.WithTimeout(context.Background(), m.cfg.ShutdownTimeout)
		if err := m.httpServer.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shut down HTTP server: %w", err))
			m.httpServer.Close()
		}
		cancel()
	}
	if m.cancelBase != nil {
		m.cancelBase() // stops handlers that outlived the grace period
	}
	if m.stopSweep != nil {
		m.stopSweep()
		<-m.sweepDone // the pool closes below; the sweep must be off it
	}
	if m.pool != nil {
		m.pool.Close()
	}
	if m.db != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := m.db.close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop private cluster: %w", err))
		}
		cancel()
	}
	m.log.Info("medrec stopped")
	return errors.Join(errs...)
}

// prescriptionSweepInterval is how often expired prescriptions are stored
// as COMPLETED. Responses show them COMPLETED at once anyway; the sweep only
// brings the stored rows (and so exports and SQL reports) in line.
const prescriptionSweepInterval = 10 * time.Minute

// sweepPrescriptions runs SweepExpiredPrescriptions once. A failure is
// logged, not fatal: responses show expired prescriptions as COMPLETED
// whether or not the stored rows have caught up.
func (m *Main) sweepPrescriptions(ctx context.Context) {
	n, err := m.prescriptions.SweepExpiredPrescriptions(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		m.log.Warn("prescription sweep failed", "error", err)
	case n > 0:
		m.log.Info("prescription sweep", "completed", n)
	}
}

// fastSweepInterval is how often sweepFast runs. Emergency access never
// waits for it (the database's access check compares expires_at itself);
// it keeps lists and reports truthful.
const fastSweepInterval = time.Minute

// auditSealInterval is how often the service seals the audit chain. Audited
// writes never wait for it; it bounds how long a new audit row stays
// outside the chain (docs/security.md "The audit log"). A seal with nothing
// to do is one index probe.
const auditSealInterval = time.Second

// sweepEmergency runs SweepExpiredEmergencyAccess once; a failure is logged.
func (m *Main) sweepEmergency(ctx context.Context) {
	n, err := m.emergency.SweepExpiredEmergencyAccess(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		m.log.Warn("emergency access sweep failed", "error", err)
	case n > 0:
		m.log.Info("emergency access sweep", "expired", n)
	}
}

// sweepIdempotencyKeys deletes Idempotency-Keys older than 24 hours. A
// failure is logged: an expired key is ignored and taken over anyway.
func (m *Main) sweepIdempotencyKeys(ctx context.Context) {
	n, err := m.idempotency.SweepIdempotencyKeys(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		m.log.Warn("idempotency key sweep failed", "error", err)
	case n > 0:
		m.log.Info("idempotency key sweep", "deleted", n)
	}
}

// ensureAuditPartitions creates this month's and next month's audit_log
// partitions if missing, so a long-running service never writes into the
// DEFAULT partition. A failure is logged: inserts still land in DEFAULT.
func (m *Main) ensureAuditPartitions(ctx context.Context) {
	if err := m.pool.EnsureAuditPartitions(ctx); err != nil && ctx.Err() == nil {
		m.log.Warn("audit partitions", "error", err)
	}
}

// sealAuditChain chains the audit rows of the transactions that have ended
// since the last seal (migration 00023). Until then a row is protected only
// by the append-only triggers, so the interval is how long a superuser's
// edit of the newest rows would go unseen. A failure is logged; the next
// tick tries again.
func (m *Main) sealAuditChain(ctx context.Context) {
	if _, err := m.pool.SealAuditChain(ctx); err != nil && ctx.Err() == nil {
		m.log.Warn("audit seal", "error", err)
	}
}

// sweepSlow runs, once, the sweeps of the slow interval: prescriptions,
// idempotency keys and audit partitions, none of which anything waits on.
func (m *Main) sweepSlow(ctx context.Context) {
	m.sweepPrescriptions(ctx)
	m.sweepIdempotencyKeys(ctx)
	m.ensureAuditPartitions(ctx)
}

// sweepFast runs, once, the sweeps of the one-minute interval: emergency
// requests, so lists and reports show EXPIRED promptly, and the check that
// sealing keeps up.
func (m *Main) sweepFast(ctx context.Context) {
	m.sweepEmergency(ctx)
	m.checkAuditSealLag(ctx)
}

// auditSealLagWarning is how far behind sealing may fall before the
// service warns: a committed audit row older than this and not sealed yet.
const auditSealLagWarning = 5 * time.Minute

// checkAuditSealLag warns when committed audit rows have waited more than
// auditSealLagWarning to be sealed: sealing waits for every older
// transaction of the database that has an id, and until a row is sealed
// an edit or deletion by a superuser leaves no trace (docs/security.md).
func (m *Main) checkAuditSealLag(ctx context.Context) {
	since, err := m.pool.AuditUnsealedSince(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		m.log.Warn("audit seal lag", "error", err)
	case err == nil && since != nil && time.Since(*since) > auditSealLagWarning:
		m.log.Warn("audit rows not sealed", "oldest_written_at", since.UTC(),
			"hint", "a long-running transaction of this database holds the seal back; see pg_stat_activity")
	}
}

// startSweep runs sweepSlow every interval, sweepFast every
// fastSweepInterval and the audit seal every auditSealInterval, until
// Close. Each sweep is idempotent and the
// database ones run under an advisory lock, so several medrec processes may
// run them side by side.
func (m *Main) startSweep(interval time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	m.stopSweep = cancel
	m.sweepDone = make(chan struct{})
	go func() {
		defer close(m.sweepDone)
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		fast := time.NewTicker(fastSweepInterval)
		defer fast.Stop()
		seal := time.NewTicker(auditSealInterval)
		defer seal.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
				m.sweepSlow(ctx)
			case <-fast.C:
				m.sweepFast(ctx)
			case <-seal.C:
				m.sealAuditChain(ctx)
			}
		}
	}()
}

// openReports opens the report file store under <data dir>/reports (mode
// 0700), clears the temporary files a crash may have left there, and builds
// the report service on it.
func (m *Main) openReports() error {
	blobs, err := blob.NewLocal(filepath.Join(m.cfg.DataDir, "reports"))
	if err != nil {
		return fmt.Errorf("report file store: %w", err)
	}
	if n, err := blobs.RemoveStaleTemp(time.Hour); err != nil {
		m.log.Warn("report file store: clearing stale temporary files failed", "error", err)
	} else if n > 0 {
		m.log.Info("report file store: removed stale temporary files", "count", n)
	}
	m.blobs = blobs
	m.reports = postgres.NewReportService(m.pool, postgres.ReportConfig{Blobs: blobs, MaxBytes: m.cfg.ReportMaxBytes, Logger: m.log})
	return nil
}

// ensureFirstAdmin creates the first ADMIN when there are no users, with
// the configured password or a generated one printed once.
func (m *Main) ensureFirstAdmin(ctx context.Context, hasher medrec.PasswordHasher) error {
	password, generated := m.cfg.AdminPassword, false
	if password == "" {
		password, generated = auth.GeneratePassword(24), true
	}
	created, err := postgres.NewUserService(m.pool).CreateFirstAdmin(ctx, m.cfg.AdminEmail,
		func() (string, error) { return hasher.Hash(password) })
	if err != nil {
		return err
	}
	if !created {
		return nil
	}
	m.log.Info("created the first administrator", "email", m.cfg.AdminEmail, "generated_password", generated)
	if generated {
		// Straight to the terminal, never into the structured log.
		fmt.Fprintf(m.stdout, "\nFirst administrator: %s\nPassword (shown once; change it after signing in): %s\n\n", m.cfg.AdminEmail, password)
	}
	return nil
}

// tokenIssuer signs access tokens with the configured key, or with one
// generated once and kept (mode 0600) in the data directory.
func (m *Main) tokenIssuer() (auth.Tokens, error) {
	var (
		key ed25519.PrivateKey
		err error
	)
	if m.cfg.JWTKey != "" {
		key, err = auth.ParseSigningKey(m.cfg.JWTKey)
	} else {
		key, err = auth.LoadOrCreateSigningKey(filepath.Join(m.cfg.DataDir, "jwt-signing-key.pem"))
	}
	if err != nil {
		return auth.Tokens{}, fmt.Errorf("access-token signing key: %w", err)
	}
	issuer, err := auth.NewTokenIssuer(key, tokenIssuerName, tokenAudience, m.cfg.AccessTokenTTL, time.Now)
	if err != nil {
		return auth.Tokens{}, err
	}
	return auth.Tokens{Issuer: issuer}, nil
}

// The iss and aud of medrec's access tokens.
const (
	tokenIssuerName = "medrec"
	tokenAudience   = "medrec-api"
)
