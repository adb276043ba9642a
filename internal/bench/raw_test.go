package bench

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestRawSQLIsTheServices keeps the baseline honest: each statement Raw
// copies (sqlc's code and the adapter's are private to internal/postgres)
// must still be, but for layout, a statement of the service, or the spec
// query its tests use. A copy that drifts measures other work than the API
// does, and the "same work" ratio lies.
func TestRawSQLIsTheServices(t *testing.T) {
	t.Parallel()
	service := map[string]bool{}
	for _, dir := range []string{"../postgres", "../postgres/internal/dbsqlc"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no Go files in %s: %v", dir, err)
		}
		for _, name := range files {
			f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil {
						service[normalizeSQL(s)] = true
					}
				}
				return true
			})
		}
	}
	// The spec's query is in the service's tests with its example id.
	spec := strings.Replace(SpecHistory, "$1", "'550e8400-e29b-41d4-a716-446655440000'", 1) + ";"
	for name, sql := range map[string]string{
		"sqlSession": sqlSession, "sqlIdentity": sqlIdentity, "sqlAuditRead": sqlAuditRead,
		"sqlPatientGet": sqlPatientGet, "sqlHistory": sqlHistory, "SpecHistory": spec,
		"sqlExpiring": sqlExpiring, "sqlPrescriptionWrite": sqlPrescriptionWrite,
	} {
		if !service[normalizeSQL(sql)] {
			t.Errorf("%s is no longer a statement of internal/postgres: copy the service's current one", name)
		}
	}
}

var sqlcHeader = regexp.MustCompile(`^-- name: \S+ :\w+\s*`)

// normalizeSQL drops sqlc's "-- name:" line and collapses white space.
func normalizeSQL(s string) string {
	return strings.Join(strings.Fields(sqlcHeader.ReplaceAllString(strings.TrimSpace(s), "")), " ")
}
