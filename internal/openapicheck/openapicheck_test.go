package openapicheck

import (
	"strings"
	"testing"
)

// TestLintFindsBrokenDocuments feeds Lint small documents each broken in
// one way: each must be reported.
func TestLintFindsBrokenDocuments(t *testing.T) {
	t.Parallel()
	const head = `"openapi":"3.1.0","info":{"title":"t","version":"1"}`
	op := func(params, responses string) string {
		return `{"operationId":"x","parameters":[` + params + `],"responses":{` + responses + `}}`
	}
	ok := `"200":{"description":"ok"}`
	idParam := `{"name":"id","in":"path","required":true,"schema":{"type":"string"}}`
	tests := []struct{ name, doc, want string }{
		{"UnresolvedRef", `{` + head + `,"paths":{"/x":{"get":` + op(``, `"200":{"$ref":"#/components/responses/Nope"}`) + `}}}`, "does not resolve"},
		{"UndeclaredPathParameter", `{` + head + `,"paths":{"/x/{id}":{"get":` + op(``, ok) + `}}}`, "{id} is not declared"},
		{"PathParameterNotInPath", `{` + head + `,"paths":{"/x":{"get":` + op(idParam, ok) + `}}}`, "is not in the path"},
		{"OptionalPathParameter", `{` + head + `,"paths":{"/x/{id}":{"get":` + op(`{"name":"id","in":"path","schema":{}}`, ok) + `}}}`, "must be required"},
		{"NoResponses", `{` + head + `,"paths":{"/x":{"get":` + op(``, ``) + `}}}`, "no responses"},
		{"BadStatusKey", `{` + head + `,"paths":{"/x":{"get":` + op(``, `"20":{"description":"x"}`) + `}}}`, "not a status code"},
		{"BadSchema", `{` + head + `,"paths":{},"components":{"schemas":{"A":{"type":"strin"}}}}`, "components/schemas/A"},
		{"BadComponentName", `{` + head + `,"paths":{},"components":{"schemas":{"A B":{}}}}`, "component name"},
		{"NotOpenAPI31", `{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{}}`, "want 3.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := New([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			var msgs []string
			for _, err := range d.Lint() {
				msgs = append(msgs, err.Error())
			}
			if !strings.Contains(strings.Join(msgs, "\n"), tt.want) {
				t.Fatalf("Lint = %q, want a mention of %q", msgs, tt.want)
			}
		})
	}
}

func TestNewRefusesConflictingPaths(t *testing.T) {
	t.Parallel()
	doc := `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{
		"/x/{a}":{"get":{"responses":{"200":{"description":"ok"}}}},
		"/x/{b}":{"get":{"responses":{"200":{"description":"ok"}}}}}}`
	if _, err := New([]byte(doc)); err == nil {
		t.Fatal("New accepted two paths that the router cannot tell apart")
	}
}
