package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"medrec/internal/pgtest"
)

// TestServiceRoleIsPowerless checks, as the service role itself, that it
// cannot rewrite the audit log, skip the triggers or change the schema, and
// that it owns nothing and holds no special attribute.
func TestServiceRoleIsPowerless(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	app := pgtest.Conn(t, db.AppURL)

	// One real audit row, so that UPDATE and DELETE have something to hit.
	if _, err := app.Exec(ctx, `INSERT INTO doctors (first_name, last_name, email) VALUES ('A', 'B', 'a@example.org')`); err != nil {
		t.Fatal(err)
	}

	denied := []string{
		`UPDATE audit_log SET action = 'FORGED'`,
		`DELETE FROM audit_log`,
		`TRUNCATE audit_log`,
		`TRUNCATE patients CASCADE`,
		`TRUNCATE users`,
		`ALTER TABLE patients DISABLE TRIGGER audit_patients`,
		`ALTER TABLE audit_log DISABLE ROW LEVEL SECURITY`,
		`DROP TRIGGER audit_patients ON patients`,
		`DROP TABLE audit_log`,
		`CREATE TABLE public.mine (id int)`,
		`CREATE OR REPLACE FUNCTION audit_trigger_func() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$`,
		`SET session_replication_role = replica`, // would silence every trigger
		`ALTER ROLE ` + pgtest.AppRoleName + ` BYPASSRLS`,
		`CREATE ROLE intruder SUPERUSER`,
		`SELECT * FROM goose_db_version FOR UPDATE`,
		`DELETE FROM goose_db_version`,
	}
	for _, stmt := range denied {
		t.Run(stmt, func(t *testing.T) {
			_, err := app.Exec(ctx, stmt)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
				t.Fatalf("got %v, want insufficient_privilege (42501)", err)
			}
		})
	}

	// It may add to the audit log: that is its one right there.
	if _, err := app.Exec(ctx, `INSERT INTO audit_log (table_name, record_id, action) VALUES ('patients', gen_random_uuid(), 'READ')`); err != nil {
		t.Fatalf("insert an audit row as the service role: %v", err)
	}

	var super, bypass, createRole, createDB, replication bool
	var owned, memberships int
	err := app.QueryRow(ctx, `
		SELECT r.rolsuper, r.rolbypassrls, r.rolcreaterole, r.rolcreatedb, r.rolreplication,
		       (SELECT count(*) FROM pg_class WHERE relowner = r.oid)
		     + (SELECT count(*) FROM pg_proc WHERE proowner = r.oid)
		     + (SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid)
		     + (SELECT count(*) FROM pg_type WHERE typowner = r.oid)
		     + (SELECT count(*) FROM pg_database WHERE datdba = r.oid),
		       (SELECT count(*) FROM pg_auth_members WHERE member = r.oid)
		FROM pg_roles r WHERE r.rolname = current_user`).
		Scan(&super, &bypass, &createRole, &createDB, &replication, &owned, &memberships)
	if err != nil {
		t.Fatal(err)
	}
	if super || bypass || createRole || createDB || replication {
		t.Errorf("service role attributes: superuser=%v bypassrls=%v createrole=%v createdb=%v replication=%v; want all false",
			super, bypass, createRole, createDB, replication)
	}
	if owned != 0 {
		t.Errorf("service role owns %d objects, want none", owned)
	}
	if memberships != 0 {
		t.Errorf("service role is a member of %d roles, want none", memberships)
	}
}

// TestServiceRoleGrantsAreIdempotent runs the grant step again on a migrated
// database and shows the service role's privileges are unchanged.
func TestServiceRoleGrantsAreIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	owner := pgtest.Conn(t, db.OwnerURL)
	privileges := func() string {
		var s string
		if err := owner.QueryRow(ctx, `
			SELECT string_agg(table_name || ':' || privilege_type, ',' ORDER BY table_name, privilege_type)
			FROM information_schema.role_table_grants WHERE grantee = $1`, pgtest.AppRoleName).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := privileges()
	if err := pgtest.Migrate(ctx, db.OwnerURL); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	if after := privileges(); after != before {
		t.Fatalf("grants changed on a second migrate:\n before %s\n after  %s", before, after)
	}
	want := "audit_log:INSERT,audit_log:SELECT"
	if got := privileges(); !strings.Contains(got, want) || strings.Contains(got, "audit_log:UPDATE") || strings.Contains(got, "audit_log:DELETE") || strings.Contains(got, "TRUNCATE") {
		t.Fatalf("service role grants = %s; want audit_log limited to INSERT and SELECT and no TRUNCATE anywhere", got)
	}
}
