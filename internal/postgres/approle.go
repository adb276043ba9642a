package postgres

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
)

// AppRole is the login role the service runs as (the spec's medical_app). It
// owns nothing, is not a superuser, cannot bypass row-level security and
// holds only the grants in appGrants.
type AppRole struct {
	Name     string
	Password string // optional; empty leaves the role's password as it is
}

// DefaultAppRole is the spec's name for the service's role.
const DefaultAppRole = "medical_app"

var roleNamePattern = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

func (r AppRole) validate() error {
	if !roleNamePattern.MatchString(r.Name) {
		return fmt.Errorf("database role name %q: use lower-case letters, digits and _ (at most 63)", r.Name)
	}
	return nil
}

// appGrants lists everything the service role may do, table by table.
// Deny by default: a table missing here is out of the service's reach.
// audit_log takes SELECT and INSERT only, so the service can never rewrite
// history, and no table grants TRUNCATE, which would bypass the audit triggers.
var appGrants = []struct {
	table      string
	privileges string
}{
	{"patients", "SELECT, INSERT, UPDATE, DELETE"},
	{"doctors", "SELECT, INSERT, UPDATE, DELETE"},
	{"medical_reports", "SELECT, INSERT, UPDATE, DELETE"},
	{"prescriptions", "SELECT, INSERT, UPDATE, DELETE"},
	// Every write goes through migration 00016's SECURITY DEFINER
	// functions, which run as the owner; no policy admits a direct one
	// either, so this grant is the second lock on the same door.
	{"emergency_access", "SELECT"},
	{"care_team", "SELECT, INSERT, UPDATE, DELETE"},
	{"users", "SELECT, INSERT, UPDATE, DELETE"},
	{"ai_request_logs", "SELECT, INSERT, UPDATE, DELETE"},
	{"audit_log", "SELECT, INSERT"},
	{"sessions", "SELECT, INSERT, UPDATE, DELETE"},
	{"refresh_tokens", "SELECT, INSERT, UPDATE, DELETE"},
	{"goose_db_version", "SELECT"}, // the readiness check compares versions
	// No DELETE: medrec_sweep_idempotency_keys removes expired keys.
	{"idempotency_keys", "SELECT, INSERT, UPDATE"},
}

// AppGrants describes appGrants, one "table: privileges" per line, so that
// test templates built with other grants are not reused (pgtest hashes it
// with the migrations).
func AppGrants() string {
	var b strings.Builder
	for _, g := range appGrants {
		b.WriteString(g.table + ": " + g.privileges + "\n")
	}
	return b.String()
}

// grantAppRole creates the service role if it is missing, strips any power it
// should not have, and sets its grants to exactly appGrants. Running it again
// changes nothing, so every migrate run may call it.
func (m *Migrator) grantAppRole(ctx context.Context) error {
	conn, err := m.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("grant service role: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("grant service role: %w", err)
	}
	defer tx.Rollback()

	// Two processes migrating the same database at once would otherwise race
	// on the role's catalog rows ("tuple concurrently updated").
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('medrec.grant_app_role'))`); err != nil {
		return fmt.Errorf("lock service role grants: %w", err)
	}
	role := pgx.Identifier{m.appRole.Name}.Sanitize()
	// Roles are global to the cluster while the lock above is per database,
	// so the role itself is only created or altered when it is not already
	// exactly right: several databases of one cluster (tests, tenants) can
	// then migrate at once without racing on its catalog row.
	var exists, wellFormed bool
	if err := tx.QueryRowContext(ctx, `
		SELECT count(*) > 0,
		       coalesce(bool_and(rolcanlogin AND NOT (rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls)), false)
		FROM pg_roles WHERE rolname = $1`, m.appRole.Name).Scan(&exists, &wellFormed); err != nil {
		return fmt.Errorf("look up role %s: %w", m.appRole.Name, err)
	}
	var dbName string
	if err := tx.QueryRowContext(ctx, `SELECT current_database()`).Scan(&dbName); err != nil {
		return fmt.Errorf("read database name: %w", err)
	}
	attrs := "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
	stmts := []string{}
	switch {
	case !exists:
		stmts = append(stmts, "CREATE ROLE "+role+" "+attrs)
	case !wellFormed:
		stmts = append(stmts, "ALTER ROLE "+role+" "+attrs)
	}
	stmts = append(stmts,
		// Nothing beyond what is granted below: no schema changes, no temporary
		// objects it would own, no table rights left over from an older release.
		"REVOKE CREATE ON SCHEMA public FROM PUBLIC",
		"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "+role,
		"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM "+role,
		"GRANT CONNECT ON DATABASE "+pgx.Identifier{dbName}.Sanitize()+" TO "+role,
		"GRANT USAGE ON SCHEMA public TO "+role,
	)
	for _, g := range appGrants {
		stmts = append(stmts, "GRANT "+g.privileges+" ON "+pgx.Identifier{g.table}.Sanitize()+" TO "+role)
	}
	if m.appRole.Password != "" {
		stmts = append(stmts, "ALTER ROLE "+role+" PASSWORD "+quoteLiteral(m.appRole.Password))
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			// The statement may hold the password: name only its verb.
			verb := strings.Join(strings.Fields(s)[:2], " ")
			return fmt.Errorf("grant service role %s (%s ...): %w", m.appRole.Name, verb, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("grant service role: %w", err)
	}
	return nil
}

// quoteLiteral quotes s as an SQL string literal. Role passwords cannot be
// bind parameters, and standard_conforming_strings (on since PostgreSQL 9.1)
// makes doubling single quotes sufficient.
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
