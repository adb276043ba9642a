package main

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func TestLoadConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(flag.NewFlagSet("t", flag.ContinueOnError), nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != ":8080" || cfg.DataDir != "./.medrec" || cfg.AppRole != "medical_app" || !cfg.Migrate ||
		cfg.BcryptCost != 12 || cfg.ShutdownTimeout != 30*time.Second || cfg.DatabaseURL != "" {
		t.Fatalf("defaults = %+v", cfg)
	}
}

func TestLoadConfigFlagBeatsEnvironment(t *testing.T) {
	t.Parallel()
	env := map[string]string{"MEDREC_ADDR": ":9000", "MEDREC_DATA_DIR": "/env/dir"}
	cfg, err := loadConfig(flag.NewFlagSet("t", flag.ContinueOnError), []string{"-addr", ":9100"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != ":9100" || cfg.DataDir != "/env/dir" {
		t.Fatalf("addr %q data dir %q, want the flag's :9100 and the environment's /env/dir", cfg.Addr, cfg.DataDir)
	}
}

func TestLoadConfigReportsEveryBadValue(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"MEDREC_BCRYPT_COST":      "4",
		"MEDREC_MIGRATE":          "perhaps",
		"MEDREC_SHUTDOWN_TIMEOUT": "-1s",
		"MEDREC_LOG_LEVEL":        "loud",
		"MEDREC_ADMIN_PASSWORD":   "tiny-secret",
		"MEDREC_REPORT_MAX_BYTES": "lots",
		"MEDREC_EMERGENCY_MAX":    "48h",
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	_, err := loadConfig(fs, nil, func(k string) string { return env[k] })
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	for name := range env {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
	if strings.Contains(err.Error(), "tiny-secret") {
		t.Errorf("error echoes the admin password: %v", err)
	}
}
