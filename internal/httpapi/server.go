package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"medrec"
)

// Timeouts and limits of the *http.Server built by HTTPServer. They bound
// what one slow or hostile client can hold: headers must arrive within 5s,
// and no request may pin a connection for longer than a minute or so.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 120 * time.Second
	// A bearer token is a few KiB at most; the standard library's 1 MiB
	// default only invites abuse.
	maxHeaderBytes = 64 << 10

	// DefaultMaxBodyBytes is the request body limit when Config.MaxBodyBytes
	// is zero and the route does not set its own.
	DefaultMaxBodyBytes int64 = 1 << 20
)

// Readiness reports whether the service can do useful work: the database is
// reachable and its migrations are current. /readyz calls it.
type Readiness interface {
	// Ready returns nil when the service is ready. The error's text is
	// logged, never shown to the caller.
	Ready(ctx context.Context) error
}

// Config is what New needs. Logger, Readiness and Metrics are required.
type Config struct {
	// Logger receives the access log, errors and panics; each request's
	// lines carry its request id.
	Logger *slog.Logger
	// Readiness backs GET /readyz.
	Readiness Readiness
	// Metrics receives the HTTP metrics and is what GET /metrics exposes;
	// register the Go runtime, process and database collectors on it too.
	Metrics *prometheus.Registry
	// MaxBodyBytes caps request bodies on routes that set no limit of
	// their own. Zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Auth signs users in and checks every request's token and session.
	// Nil refuses every route that is not public (deny by default).
	Auth medrec.AuthService
	// Users, CareTeam and Passwords back their routes. New requires every
	// service below; see validateServices.
	Users    medrec.UserService
	CareTeam medrec.CareTeamService
	// Patients and Doctors back the patient and doctor directory routes.
	Patients medrec.PatientService
	Doctors  medrec.DoctorService
	// Prescriptions and History back the prescription and history routes.
	Prescriptions medrec.PrescriptionService
	History       medrec.HistoryService
	Passwords     medrec.PasswordHasher
	// LoginThrottle limits failed sign-ins per client address; nil means
	// no per-address limit (accounts still lock after repeated failures).
	LoginThrottle LoginThrottle
	// BaseContext is the context every request's context derives from.
	// The caller keeps its cancel function and calls it once
	// http.Server.Shutdown has given up waiting, so that handlers still
	// running (a stuck query) stop. Nil means context.Background().
	BaseContext context.Context

	// Reports backs the report routes. ReportMaxBytes is
	// the largest report file it accepts (zero: medrec.DefaultReportMaxBytes);
	// the upload route's body limit is that plus room for the form.
	Reports        medrec.ReportService
	ReportMaxBytes int64
	// Blobs is the report file store, for deleting an erased patient's
	// files (medrec.DeleteReportFiles with the URLs ErasePatient returns).
	Blobs medrec.BlobStore

	// Emergency backs the break-glass routes; AccessLog a patient's
	// access log.
	Emergency medrec.EmergencyService
	AccessLog medrec.AccessLogService

	// Idempotency keeps the outcome of POSTs sent with an Idempotency-Key
	// (see idempotency.go).
	Idempotency medrec.IdempotencyService

	// Audit backs GET /api/v1/audit.
	Audit medrec.AuditService
}

// Server is medrec's HTTP API: the route table wrapped in its middleware.
// Build it with New; it is safe for concurrent use.
type Server struct {
	log      *slog.Logger
	ready    Readiness
	registry *prometheus.Registry
	maxBody  int64
	baseCtx  context.Context

	// draining makes /readyz fail so load balancers stop sending traffic
	// before the listener closes.
	draining atomic.Bool

	auth          medrec.AuthService
	users         medrec.UserService
	careTeam      medrec.CareTeamService
	patients      medrec.PatientService
	doctors       medrec.DoctorService
	prescriptions medrec.PrescriptionService
	history       medrec.HistoryService
	passwords     medrec.PasswordHasher
	throttle      LoginThrottle

	// reports
	reports   medrec.ReportService
	reportMax int64
	blobs     medrec.BlobStore

	emergency medrec.EmergencyService
	accessLog medrec.AccessLogService

	idem  medrec.IdempotencyService
	audit medrec.AuditService
	mux   *http.ServeMux // the routes without the outer middleware, for replays

	routes  []Route
	handler http.Handler
}

// New builds the Server from cfg. It panics when cfg lacks a required field
// or the route table is malformed: both are programming errors that must
// stop the process at start-up, not surface on the first request.
//
// New also requires every service: a production server with a route whose
// service is missing would fail at its first request instead of at start-up.
func New(cfg Config) *Server {
	if err := cfg.validateServices(); err != nil {
		panic(fmt.Sprintf("httpapi.New: %v", err))
	}
	return newServer(cfg)
}

// validateServices reports every service New needs that cfg lacks. Tests of
// the skeleton build servers without them through newServer; there every
// non-public route is refused by authorize before a handler could use one.
func (cfg Config) validateServices() error {
	var errs []error
	for _, svc := range []struct {
		name    string
		missing bool
	}{
		{"Auth", cfg.Auth == nil}, {"Users", cfg.Users == nil}, {"CareTeam", cfg.CareTeam == nil},
		{"Passwords", cfg.Passwords == nil}, {"Patients", cfg.Patients == nil}, {"Doctors", cfg.Doctors == nil},
		{"Prescriptions", cfg.Prescriptions == nil}, {"History", cfg.History == nil},
		{"Reports", cfg.Reports == nil}, {"Blobs", cfg.Blobs == nil},
		{"Emergency", cfg.Emergency == nil}, {"AccessLog", cfg.AccessLog == nil},
		{"Idempotency", cfg.Idempotency == nil}, {"Audit", cfg.Audit == nil},
	} {
		if svc.missing {
			errs = append(errs, fmt.Errorf("Config.%s is nil", svc.name))
		}
	}
	return errors.Join(errs...)
}

// newServer is New plus extra routes, which only tests pass (a route that
// panics, say) so that nothing test-only reaches the production table.
func newServer(cfg Config, extra ...Route) *Server {
	if err := cfg.validate(); err != nil {
		panic(fmt.Sprintf("httpapi.New: %v", err))
	}
	s := &Server{
		log:      cfg.Logger,
		ready:    cfg.Readiness,
		registry: cfg.Metrics,
		maxBody:  cfg.MaxBodyBytes,
		baseCtx:  cfg.BaseContext,

		auth:          cfg.Auth,
		users:         cfg.Users,
		careTeam:      cfg.CareTeam,
		patients:      cfg.Patients,
		doctors:       cfg.Doctors,
		prescriptions: cfg.Prescriptions,
		history:       cfg.History,
		passwords:     cfg.Passwords,
		throttle:      cfg.LoginThrottle,
	}
	if s.maxBody == 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.baseCtx == nil {
		s.baseCtx = context.Background()
	}
	s.reports, s.reportMax, s.blobs = cfg.Reports, cfg.ReportMaxBytes, cfg.Blobs
	s.emergency, s.accessLog = cfg.Emergency, cfg.AccessLog
	s.idem = cfg.Idempotency
	s.audit = cfg.Audit
	if s.reportMax == 0 {
		s.reportMax = medrec.DefaultReportMaxBytes
	}
	metrics, err := newHTTPMetrics(s.registry)
	if err != nil {
		panic(fmt.Sprintf("httpapi.New: %v", err))
	}

	s.routes = append(s.routeTable(), extra...)
	mux := http.NewServeMux()
	s.mount(mux, s.routes)
	s.mux = mux

	// Outermost first. The request id exists before anything logs; the
	// access log and metrics sit outside recovery so that a panic is
	// observed as the 500 that recovery writes.
	s.handler = chain(dispatch(mux),
		securityHeaders,
		requestID(s.log),
		accessLog,
		metrics.middleware,
		recoverPanic,
	)
	return s
}

func (cfg Config) validate() error {
	var errs []error
	if cfg.Logger == nil {
		errs = append(errs, errors.New("Config.Logger is nil"))
	}
	if cfg.Readiness == nil {
		errs = append(errs, errors.New("Config.Readiness is nil"))
	}
	if cfg.Metrics == nil {
		errs = append(errs, errors.New("Config.Metrics is nil"))
	}
	if cfg.ReportMaxBytes < 0 {
		errs = append(errs, fmt.Errorf("Config.ReportMaxBytes is negative (%d)", cfg.ReportMaxBytes))
	}
	if cfg.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("Config.MaxBodyBytes is negative (%d)", cfg.MaxBodyBytes))
	}
	return errors.Join(errs...)
}

// chain wraps h in mw, the first element outermost.
func chain(h http.Handler, mw ...func(http.Handler) http.Handler) http.Handler {
	for _, m := range slices.Backward(mw) {
		h = m(h)
	}
	return h
}

// Handler returns the whole API: the route table inside its middleware.
func (s *Server) Handler() http.Handler { return s.handler }

// ServeHTTP serves r through Handler, so a *Server is itself an
// http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// Routes returns a copy of the route table as mounted, so that tests can
// check that every route has an authorization rule and an OpenAPI entry.
func (s *Server) Routes() []Route { return slices.Clone(s.routes) }

// Drain makes /readyz answer 503 from now on. Call it on SIGTERM, wait for
// the load balancer to notice, then call http.Server.Shutdown; the server
// returned by HTTPServer also calls it when Shutdown starts.
func (s *Server) Drain() { s.draining.Store(true) }

// HTTPServer returns an *http.Server for s listening on addr, with timeouts
// that bound slow clients and the server's own error log routed to slog.
// Stop it with its Shutdown method; see Config.BaseContext and Drain.
//
// Routes that stream large files and need longer than the read or write
// timeout extend their own deadline with http.ResponseController.
func (s *Server) HTTPServer(addr string) *http.Server {
	srv := &http.Server{
		Addr:              addr,
		Handler:           s.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		// What net/http logs itself (TLS handshake failures, bad
		// requests it answers on its own) is rarely ours to fix: warn.
		ErrorLog:    slog.NewLogLogger(s.log.With(slog.String("component", "net/http")).Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context { return s.baseCtx },
	}
	srv.RegisterOnShutdown(s.Drain)
	return srv
}
