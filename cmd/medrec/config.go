package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"medrec"
	"medrec/internal/auth"
	"medrec/internal/postgres"
)

// Config is everything medrec reads from its flags and environment. Each
// setting has a flag and an environment variable; a flag wins over the
// environment, and the environment over the default. Validate reports every
// bad value at once, before anything starts.
type Config struct {
	Addr            string        // -addr, MEDREC_ADDR
	DataDir         string        // -data-dir, MEDREC_DATA_DIR
	DatabaseURL     string        // DATABASE_URL: the schema owner's connection; empty = private cluster
	AppDatabaseURL  string        // MEDREC_APP_DATABASE_URL: the service role's connection; empty = derived
	AppRole         string        // MEDREC_DB_APP_ROLE
	AppRolePassword string        // MEDREC_DB_APP_PASSWORD
	PGBinDir        string        // MEDREC_PG_BINDIR
	Migrate         bool          // -migrate, MEDREC_MIGRATE: apply migrations when serve starts
	AdminEmail      string        // MEDREC_ADMIN_EMAIL
	AdminPassword   string        // MEDREC_ADMIN_PASSWORD
	BcryptCost      int           // MEDREC_BCRYPT_COST
	MaxBodyBytes    int64         // MEDREC_MAX_BODY_BYTES
	ShutdownTimeout time.Duration // MEDREC_SHUTDOWN_TIMEOUT
	LogLevel        slog.Level    // -log-level, MEDREC_LOG_LEVEL
	LogFormat       string        // MEDREC_LOG_FORMAT: json or text

	JWTKey           string        // MEDREC_JWT_KEY: the access-token signing key; empty = kept in the data directory
	AccessTokenTTL   time.Duration // MEDREC_ACCESS_TOKEN_TTL
	SessionIdle      time.Duration // MEDREC_SESSION_IDLE
	SessionMax       time.Duration // MEDREC_SESSION_MAX
	LockoutThreshold int           // MEDREC_LOCKOUT_THRESHOLD
	LoginThrottle    int           // MEDREC_LOGIN_THROTTLE: failed sign-ins per address per 15 minutes
	AdminMFARequired bool          // MEDREC_ADMIN_MFA_REQUIRED
	ReportMaxBytes   int64         // MEDREC_REPORT_MAX_BYTES
	EmergencyMax     time.Duration // MEDREC_EMERGENCY_MAX: the longest emergency grant
}

// setting documents one configuration value; the README's table is this list.
type setting struct {
	flag, env, def, usage string
}

var settings = []setting{
	{"addr", "MEDREC_ADDR", ":8080", "HTTP listen address"},
	{"data-dir", "MEDREC_DATA_DIR", "./.medrec", "where the private PostgreSQL cluster and report files live"},
	{"", "DATABASE_URL", "", "PostgreSQL connection of the schema owner; unset runs a private cluster under the data directory"},
	{"", "MEDREC_APP_DATABASE_URL", "", "connection of the service role; unset derives it from DATABASE_URL with the role's name and password"},
	{"", "MEDREC_DB_APP_ROLE", postgres.DefaultAppRole, "the login role the service runs as; created and granted by migrate"},
	{"", "MEDREC_DB_APP_PASSWORD", "", "password set on the service role by migrate (for servers that require one)"},
	{"", "MEDREC_PG_BINDIR", "", "directory of initdb and postgres for the private cluster; unset searches for them"},
	{"migrate", "MEDREC_MIGRATE", "true", "apply pending migrations when serve starts"},
	{"", "MEDREC_ADMIN_EMAIL", "admin@medrec.local", "email of the first administrator, created when there are no users"},
	{"", "MEDREC_ADMIN_PASSWORD", "", "password of the first administrator; unset generates one and prints it once"},
	{"", "MEDREC_BCRYPT_COST", strconv.Itoa(auth.DefaultBcryptCost), "bcrypt cost for password hashes (at least 10)"},
	{"", "MEDREC_MAX_BODY_BYTES", "1048576", "largest request body accepted"},
	{"", "MEDREC_SHUTDOWN_TIMEOUT", "30s", "how long in-flight requests may finish after SIGINT/SIGTERM"},
	{"log-level", "MEDREC_LOG_LEVEL", "info", "debug, info, warn or error"},
	{"", "MEDREC_LOG_FORMAT", "json", "json or text"},
	{"", "MEDREC_JWT_KEY", "", "Ed25519 key signing access tokens (PKCS#8 PEM, or base64 of the 32-byte seed); unset keeps one in <data dir>/jwt-signing-key.pem. Set it when several medrec processes serve one database"},
	{"", "MEDREC_ACCESS_TOKEN_TTL", "15m", "lifetime of an access token"},
	{"", "MEDREC_SESSION_IDLE", "15m", "a session unused this long is over"},
	{"", "MEDREC_SESSION_MAX", "12h", "a session this old is over, however busy"},
	{"", "MEDREC_LOCKOUT_THRESHOLD", "5", "consecutive failed sign-ins that lock an account until an ADMIN unlocks it"},
	{"", "MEDREC_LOGIN_THROTTLE", "20", "failed sign-ins one address may make in 15 minutes before it gets 429"},
	{"", "MEDREC_ADMIN_MFA_REQUIRED", "true", "an ADMIN must confirm a TOTP second factor before doing anything else"},
	{"", "MEDREC_REPORT_MAX_BYTES", strconv.FormatInt(medrec.DefaultReportMaxBytes, 10), "largest report file an upload may carry (413 above it)"},
	{"", "MEDREC_EMERGENCY_MAX", "4h", "longest emergency (break-glass) grant a request may ask for; at most 24h"},
}

// loadConfig reads the environment through getenv, then the flags in args.
func loadConfig(fs *flag.FlagSet, args []string, getenv func(string) string) (Config, error) {
	values := map[string]*string{}
	for _, s := range settings {
		v := s.def
		if e := getenv(s.env); e != "" {
			v = e
		}
		values[s.env] = &v
		if s.flag != "" {
			fs.StringVar(values[s.env], s.flag, v, s.usage+" ("+s.env+")")
		}
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	get := func(env string) string { return strings.TrimSpace(*values[env]) }

	var errs []error
	bad := func(env, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", env, fmt.Sprintf(format, a...)))
	}
	cfg := Config{
		Addr:            get("MEDREC_ADDR"),
		DataDir:         get("MEDREC_DATA_DIR"),
		DatabaseURL:     get("DATABASE_URL"),
		AppDatabaseURL:  get("MEDREC_APP_DATABASE_URL"),
		AppRole:         get("MEDREC_DB_APP_ROLE"),
		AppRolePassword: *values["MEDREC_DB_APP_PASSWORD"],
		PGBinDir:        get("MEDREC_PG_BINDIR"),
		AdminEmail:      get("MEDREC_ADMIN_EMAIL"),
		AdminPassword:   *values["MEDREC_ADMIN_PASSWORD"],
		LogFormat:       get("MEDREC_LOG_FORMAT"),
	}
	var err error
	if cfg.Migrate, err = strconv.ParseBool(get("MEDREC_MIGRATE")); err != nil {
		bad("MEDREC_MIGRATE", "want true or false, got %q", get("MEDREC_MIGRATE"))
	}
	if cfg.BcryptCost, err = strconv.Atoi(get("MEDREC_BCRYPT_COST")); err != nil || cfg.BcryptCost < auth.MinBcryptCost || cfg.BcryptCost > 31 {
		bad("MEDREC_BCRYPT_COST", "want a whole number from %d to 31, got %q", auth.MinBcryptCost, get("MEDREC_BCRYPT_COST"))
	}
	if cfg.MaxBodyBytes, err = strconv.ParseInt(get("MEDREC_MAX_BODY_BYTES"), 10, 64); err != nil || cfg.MaxBodyBytes < 1024 {
		bad("MEDREC_MAX_BODY_BYTES", "want a number of bytes of at least 1024, got %q", get("MEDREC_MAX_BODY_BYTES"))
	}
	if cfg.ShutdownTimeout, err = time.ParseDuration(get("MEDREC_SHUTDOWN_TIMEOUT")); err != nil || cfg.ShutdownTimeout <= 0 {
		bad("MEDREC_SHUTDOWN_TIMEOUT", "want a positive duration such as 30s, got %q", get("MEDREC_SHUTDOWN_TIMEOUT"))
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(get("MEDREC_LOG_LEVEL"))); err != nil {
		bad("MEDREC_LOG_LEVEL", "want debug, info, warn or error, got %q", get("MEDREC_LOG_LEVEL"))
	}
	if cfg.LogFormat != "json" && cfg.LogFormat != "text" {
		bad("MEDREC_LOG_FORMAT", "want json or text, got %q", cfg.LogFormat)
	}
	cfg.JWTKey = *values["MEDREC_JWT_KEY"]
	positiveDuration := func(env string) time.Duration {
		d, err := time.ParseDuration(get(env))
		if err != nil || d <= 0 {
			bad(env, "want a positive duration such as 15m, got %q", get(env))
		}
		return d
	}
	cfg.AccessTokenTTL = positiveDuration("MEDREC_ACCESS_TOKEN_TTL")
	cfg.SessionIdle = positiveDuration("MEDREC_SESSION_IDLE")
	cfg.SessionMax = positiveDuration("MEDREC_SESSION_MAX")
	positiveInt := func(env string) int {
		n, err := strconv.Atoi(get(env))
		if err != nil || n < 1 {
			bad(env, "want a whole number of at least 1, got %q", get(env))
		}
		return n
	}
	cfg.LockoutThreshold = positiveInt("MEDREC_LOCKOUT_THRESHOLD")
	cfg.LoginThrottle = positiveInt("MEDREC_LOGIN_THROTTLE")
	if cfg.ReportMaxBytes, err = strconv.ParseInt(get("MEDREC_REPORT_MAX_BYTES"), 10, 64); err != nil || cfg.ReportMaxBytes < 1 {
		bad("MEDREC_REPORT_MAX_BYTES", "want a positive number of bytes, got %q", get("MEDREC_REPORT_MAX_BYTES"))
	}
	if d, err := time.ParseDuration(get("MEDREC_EMERGENCY_MAX")); err != nil || d < time.Minute || d > medrec.MaxEmergencyDuration {
		bad("MEDREC_EMERGENCY_MAX", "want a duration between 1m and 24h such as 4h, got %q", get("MEDREC_EMERGENCY_MAX"))
	} else {
		cfg.EmergencyMax = d
	}
	if cfg.AdminMFARequired, err = strconv.ParseBool(get("MEDREC_ADMIN_MFA_REQUIRED")); err != nil {
		bad("MEDREC_ADMIN_MFA_REQUIRED", "want true or false, got %q", get("MEDREC_ADMIN_MFA_REQUIRED"))
	}
	if cfg.Addr == "" {
		bad("MEDREC_ADDR", "must not be empty")
	}
	if cfg.DataDir == "" {
		bad("MEDREC_DATA_DIR", "must not be empty")
	}
	if cfg.AppRole == "" {
		bad("MEDREC_DB_APP_ROLE", "must not be empty")
	}
	if cfg.AdminPassword != "" {
		if f := medrec.ValidatePassword("MEDREC_ADMIN_PASSWORD", cfg.AdminPassword); f != nil {
			bad("MEDREC_ADMIN_PASSWORD", "%s", f.Message)
		}
	}
	return cfg, errors.Join(errs...)
}

// newLogger builds the process's logger: JSON lines on stderr by default.
func (c Config) newLogger() *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}
