package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"medrec/internal/openapicheck"
)

func openapiDoc(t *testing.T) *openapicheck.Document {
	t.Helper()
	raw, err := OpenAPIDocument()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapicheck.New(raw)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestOpenAPIDocumentsEveryRoute compares the route table with the
// document both ways: an undocumented route and a documented operation
// that no route serves are both failures.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	doc := openapiDoc(t)
	var routes []string
	for _, rt := range setup(t, testOptions{}).srv.Routes() {
		key := rt.Method + " " + rt.Pattern
		routes = append(routes, key)
		if public := rt.Permission == PermissionPublic; public != doc.Public(key) {
			t.Errorf("route %s: public in the route table = %v, but in the document (security: []) = %v", key, public, doc.Public(key))
		}
	}
	documented := doc.Operations()
	for _, r := range routes {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in the OpenAPI document: add it to a paths-<area>.json in internal/httpapi/openapi", r)
		}
	}
	for _, op := range documented {
		if !slices.Contains(routes, op) {
			t.Errorf("the OpenAPI document describes %s, which is not in the route table", op)
		}
	}
}

func TestOpenAPIDocumentIsWellFormed(t *testing.T) {
	t.Parallel()
	for _, err := range openapiDoc(t).Lint() {
		t.Error(err)
	}
}

func TestOpenAPIMergeRefusesDuplicates(t *testing.T) {
	t.Parallel()
	base := `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{},"components":{"schemas":{"A":{}}}}`
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"DuplicateOperation", map[string]string{
			"paths-a.json": `{"paths":{"/x":{"get":{"responses":{}}}}}`,
			"paths-b.json": `{"paths":{"/x":{"get":{"responses":{}}}}}`,
		}, "duplicate operation GET /x"},
		{"DuplicateComponent", map[string]string{
			"paths-a.json": `{"components":{"schemas":{"A":{}}}}`,
		}, "duplicate component schemas/A"},
		{"DuplicatePathParameters", map[string]string{
			"paths-a.json": `{"paths":{"/x/{id}":{"parameters":[],"get":{"responses":{}}}}}`,
			"paths-b.json": `{"paths":{"/x/{id}":{"parameters":[],"post":{"responses":{}}}}}`,
		}, `duplicate "parameters" of path /x/{id}`},
		{"UnknownTopLevelKey", map[string]string{
			"paths-a.json": `{"info":{}}`,
		}, `top-level key "info"`},
		{"TagNotObject", map[string]string{
			"paths-a.json": `{"tags":["a"]}`,
		}, "not an object with a name"},
		{"DuplicateTag", map[string]string{
			"paths-a.json": `{"tags":[{"name":"a"}]}`,
			"paths-b.json": `{"tags":[{"name":"a"}]}`,
		}, `duplicate tag "a"`},
		{"NotJSON", map[string]string{
			"paths-a.json": `{"paths":`,
		}, "paths-a.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fsys := fstest.MapFS{"openapi/base.json": {Data: []byte(base)}}
			for name, data := range tt.files {
				fsys["openapi/"+name] = &fstest.MapFile{Data: []byte(data)}
			}
			_, err := mergeOpenAPI(fsys)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	t.Run("SamePathOtherMethods", func(t *testing.T) {
		t.Parallel()
		fsys := fstest.MapFS{
			"openapi/base.json":    {Data: []byte(base)},
			"openapi/paths-a.json": {Data: []byte(`{"paths":{"/x":{"get":{"responses":{}}}}}`)},
			"openapi/paths-b.json": {Data: []byte(`{"paths":{"/x":{"post":{"responses":{}}}},"tags":[{"name":"b"}]}`)},
		}
		b, err := mergeOpenAPI(fsys)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Paths map[string]map[string]any `json:"paths"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Paths["/x"]) != 2 {
			t.Fatalf("/x = %v, want get and post", doc.Paths["/x"])
		}
	})
}

func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	b := setup(t, testOptions{})
	rec := b.serve(t, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("Cache-Control %q, want no-cache (revalidate with the ETag)", cc)
	}
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v", doc["openapi"])
	}
	etag := rec.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil)
		req.Header.Set("If-None-Match", inm)
		if rec := b.serve(t, req); rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
			t.Errorf("If-None-Match %s: status %d, %d bytes; want 304 and no body", inm, rec.Code, rec.Body.Len())
		}
	}
	req := httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil)
	req.Header.Set("If-None-Match", `"other"`)
	if rec := b.serve(t, req); rec.Code != http.StatusOK || rec.Body.Len() == 0 {
		t.Errorf("If-None-Match of another version: status %d, %d bytes; want 200 and the document", rec.Code, rec.Body.Len())
	}
	req = httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil)
	req.Header.Set("Range", "bytes=0-9")
	if got := b.serve(t, req); got.Code != http.StatusOK || got.Body.Len() != rec.Body.Len() {
		t.Errorf("Range: status %d, %d bytes; want 200 and the whole document (only 200 and 304 are documented)", got.Code, got.Body.Len())
	}
	head := b.serve(t, httptest.NewRequest(http.MethodHead, "/api/v1/openapi.json", nil))
	if head.Code != http.StatusOK || head.Body.Len() != 0 || head.Header().Get("Content-Length") != strconv.Itoa(rec.Body.Len()) {
		t.Errorf("HEAD: status %d, %d bytes, Content-Length %q; want 200, no body, %d",
			head.Code, head.Body.Len(), head.Header().Get("Content-Length"), rec.Body.Len())
	}
}

// TestOpenAPICheckerCatchesMismatches makes sure the response validator
// the end-to-end tests rely on does fail on a response that breaks the
// document.
func TestOpenAPICheckerCatchesMismatches(t *testing.T) {
	t.Parallel()
	doc := openapiDoc(t)
	js := http.Header{"Content-Type": {"application/json"}}
	problem := http.Header{"Content-Type": {"application/problem+json"}}
	// A user answers with its ETag: the body checks below must not stop
	// at a missing header.
	user := http.Header{"Content-Type": {"application/json"}, "Etag": {`"1"`}}
	tests := []struct {
		name, method, path string
		status             int
		header             http.Header
		body               string
		wantErr            string
	}{
		{"OK", "GET", "/healthz", 200, js, `{"status":"ok"}`, ""},
		{"WrongType", "GET", "/healthz", 200, js, `{"status":1}`, "status"},
		{"ExtraField", "GET", "/healthz", 200, js, `{"status":"ok","x":1}`, "additional"},
		{"UndocumentedStatus", "GET", "/healthz", 418, js, `{}`, "not documented"},
		{"UndocumentedContentType", "GET", "/healthz", 200, http.Header{"Content-Type": {"text/html"}}, `x`, "not documented"},
		{"BadEnum", "GET", "/api/v1/users/0b5c4e0e-5b1e-4c1a-9d33-2a3f8f1b6a11", 200, user,
			`{"id":"0b5c4e0e-5b1e-4c1a-9d33-2a3f8f1b6a11","email":"a@b.org","role":"admin","status":"ACTIVE","mfa_enabled":false,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}`, "role"},
		{"BadFormat", "GET", "/api/v1/users/0b5c4e0e-5b1e-4c1a-9d33-2a3f8f1b6a11", 200, user,
			`{"id":"nope","email":"a@b.org","role":"ADMIN","status":"ACTIVE","mfa_enabled":false,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}`, "uuid"},
		{"400WithoutErrors", "POST", "/api/v1/auth/login", 400, problem, `{"type":"urn:medrec:problem:invalid","title":"Bad Request","status":400}`, "errors"},
		{"RequiredHeaderMissing", "GET", "/api/v1/me", 401, problem,
			`{"type":"urn:medrec:problem:unauthorized","title":"Unauthorized","status":401,"detail":"authentication required"}`, "WWW-Authenticate"},
		{"NoContentWithBody", "POST", "/api/v1/auth/logout", 204, nil, `{}`, "without a body"},
		{"FallbackOK", "GET", "/api/v1/nowhere", 404, problem, `{"type":"urn:medrec:problem:not_found","title":"Not Found","status":404,"detail":"no such resource"}`, ""},
		{"FallbackOtherStatus", "GET", "/api/v1/nowhere", 200, js, `{}`, "fallback"},
		{"MethodNotAllowed", "DELETE", "/api/v1/me", 405, problem, `{"type":"urn:medrec:problem:method_not_allowed","title":"Method Not Allowed","status":405,"detail":"see Allow"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			err := doc.CheckResponse(tt.method, tt.path, tt.status, h, []byte(tt.body))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}

func TestOpenAPIRequestCheck(t *testing.T) {
	t.Parallel()
	doc := openapiDoc(t)
	js := http.Header{"Content-Type": {"application/json"}}
	if err := doc.CheckRequest("POST", "/api/v1/auth/login", js, []byte(`{"email":"a@b.org","password":"x"}`)); err != nil {
		t.Errorf("a documented login body: %v", err)
	}
	if err := doc.CheckRequest("POST", "/api/v1/auth/login", js, []byte(`{"email":"a@b.org","password":"x","remember":true}`)); err == nil {
		t.Error("a login body with an undocumented field passed")
	}
	if err := doc.CheckRequest("POST", "/api/v1/auth/login", js, nil); err == nil {
		t.Error("a login without its required body passed")
	}
	for query, valid := range map[string]bool{
		"?limit=10&cursor=abc&status=ACTIVE": true,
		"?limit=201":                         false,
		"?limit=ten":                         false,
		"?status=active":                     false,
		"?sort=name":                         false,
	} {
		if err := doc.CheckRequest("GET", "/api/v1/patients"+query, http.Header{}, nil); (err == nil) != valid {
			t.Errorf("GET /api/v1/patients%s: err = %v, want valid = %v", query, err, valid)
		}
	}
}
