package postgres_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
)

// catalog is a schema reduced to comparable text: "kind table.name" → definition.
type catalog map[string]string

// catalogQueries read every object of the public schema that a migration
// can make, except goose's own bookkeeping table and the partitions of a
// partitioned table (audit_log's monthly partitions, named after the month
// they hold, are made at run time; their columns, indexes and triggers are
// the parent's).
var catalogQueries = []struct{ kind, sql string }{
	{"column", `
		SELECT c.relname || '.' || a.attname,
		       format_type(a.atttypid, a.atttypmod)
		       || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
		       || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
		FROM pg_attribute a
		JOIN pg_class c ON c.oid = a.attrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
		  AND c.relname <> 'goose_db_version' AND NOT c.relispartition`},
	{"constraint", `
		SELECT c.relname || '.' || con.conname, pg_get_constraintdef(con.oid)
		FROM pg_constraint con
		JOIN pg_class c ON c.oid = con.conrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relname <> 'goose_db_version' AND NOT c.relispartition`},
	{"index", `
		SELECT i.tablename || '.' || i.indexname, i.indexdef
		FROM pg_indexes i
		JOIN pg_class c ON c.relname = i.tablename
		JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = i.schemaname
		WHERE i.schemaname = 'public' AND i.tablename <> 'goose_db_version' AND NOT c.relispartition`},
	{"trigger", `
		SELECT c.relname || '.' || t.tgname, pg_get_triggerdef(t.oid)
		FROM pg_trigger t
		JOIN pg_class c ON c.oid = t.tgrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND NOT t.tgisinternal AND NOT c.relispartition`},
	{"function", `
		SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
		       CASE WHEN p.prokind = 'a'
		            THEN 'aggregate sfunc=' || a.aggtransfn::regproc::text || ' stype=' || format_type(a.aggtranstype, NULL)
		            ELSE pg_get_functiondef(p.oid) END
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		LEFT JOIN pg_aggregate a ON a.aggfnoid = p.oid
		WHERE n.nspname = 'public'
		  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')`},
	{"table", `
		SELECT c.relname, 'rls=' || c.relrowsecurity || ' force=' || c.relforcerowsecurity
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> 'goose_db_version'
		  AND NOT c.relispartition`},
	{"policy", `
		SELECT tablename || '.' || policyname,
		       cmd || ' ' || array_to_string(roles, ',') || ' USING ' || coalesce(qual, '') || ' CHECK ' || coalesce(with_check, '')
		FROM pg_policies WHERE schemaname = 'public'`},
}

func readCatalog(t *testing.T, conn *pgx.Conn) catalog {
	t.Helper()
	cat := catalog{}
	for _, q := range catalogQueries {
		rows, err := conn.Query(context.Background(), q.sql)
		if err != nil {
			t.Fatalf("read %s catalog: %v", q.kind, err)
		}
		for rows.Next() {
			var name, def string
			if err := rows.Scan(&name, &def); err != nil {
				t.Fatalf("scan %s: %v", q.kind, err)
			}
			cat[q.kind+" "+name] = def
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("read %s catalog: %v", q.kind, err)
		}
	}
	return cat
}

// diff lists, in order, every key whose definition differs between a and b
// or that only one of them has.
func diff(a, b catalog) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(a)) {
		if bv, ok := b[k]; !ok {
			out = append(out, fmt.Sprintf("only before: %s = %s", k, a[k]))
		} else if bv != a[k] {
			out = append(out, fmt.Sprintf("changed: %s\n   was: %s\n   now: %s", k, a[k], bv))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(b)) {
		if _, ok := a[k]; !ok {
			out = append(out, fmt.Sprintf("only after: %s = %s", k, b[k]))
		}
	}
	return out
}
