package devdb

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
)

// Config says where a private cluster lives and how its server runs.
type Config struct {
	// Dir is the cluster's home: PGDATA lives in Dir/pgdata, the socket in
	// Dir/run and the server log in Dir/postgres.log. It is created when
	// missing and reused across runs, so initdb happens once.
	Dir string
	// BinDir is the directory holding initdb, postgres and pg_ctl, usually
	// from MEDREC_PG_BINDIR; empty means search for it (see FindBinDir).
	BinDir string
	// Superuser is the bootstrap superuser given to initdb -U, "medrec" by
	// default. It is fixed when the cluster is made, so a later Start with
	// another name fails instead of connecting as a role that does not exist.
	Superuser string
	// Settings are extra server settings, passed as -c name=value (tests use
	// fsync=off and the like). The settings that keep the server private
	// (listen_addresses, port, unix_socket_directories and
	// unix_socket_permissions) belong to devdb and are rejected here.
	Settings map[string]string
	// Detached starts the server in its own session so that it outlives this
	// process, for a cluster that several test processes share. By default
	// the server shuts down when this process dies, even by kill -9.
	Detached bool
	// Logger receives one line per notable step (initdb, start, attach,
	// fallback locations); nil discards them.
	Logger *slog.Logger
}

// defaultSuperuser names the bootstrap role after the service, so that the
// default connection needs no user name that the OS user would not have.
const defaultSuperuser = "medrec"

// isReservedSetting reports whether devdb sets the named server setting
// itself: overriding it would open a TCP port with trust authentication, or
// move the socket away from where Cluster.URL points.
func isReservedSetting(name string) bool {
	switch strings.ToLower(name) {
	case "listen_addresses", "port", "unix_socket_directories", "unix_socket_permissions":
		return true
	}
	return false
}

// withDefaults returns cfg with Dir made absolute and the defaults filled in,
// or an error naming the first setting that cannot be used.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Dir == "" {
		return cfg, fmt.Errorf("devdb: Config.Dir is empty: say where the cluster lives")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return cfg, fmt.Errorf("devdb: make cluster directory %q absolute: %w", cfg.Dir, err)
	}
	cfg.Dir = dir
	if cfg.Superuser == "" {
		cfg.Superuser = defaultSuperuser
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	for name := range cfg.Settings {
		if name == "" || strings.ContainsAny(name, "= \t\n") {
			return cfg, fmt.Errorf("devdb: setting name %q is not a PostgreSQL parameter name", name)
		}
		if isReservedSetting(name) {
			return cfg, fmt.Errorf("devdb: setting %s is managed by devdb and cannot be overridden", name)
		}
	}
	return cfg, nil
}
