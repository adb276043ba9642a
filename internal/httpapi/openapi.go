package httpapi

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

// openapiFiles is the OpenAPI document in pieces: base.json, and one
// paths-<area>.json per area of the API, so that whoever adds routes adds
// their own file. See openapi/README.md for the format.
//
//go:embed openapi/*.json
var openapiFiles embed.FS

// openapiMethods are the keys of an OpenAPI path item that are operations.
var openapiMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// OpenAPIDocument is the merged OpenAPI 3.1 document the service serves at
// GET /api/v1/openapi.json. It is built once; a malformed fragment, or two
// fragments that document the same operation or component, is a bug that
// the first call reports (New panics with it, so the service never starts
// with a half-documented API).
func OpenAPIDocument() ([]byte, error) {
	return loadOpenAPI()
}

var loadOpenAPI = sync.OnceValues(func() ([]byte, error) {
	return mergeOpenAPI(openapiFiles)
})

// mergeOpenAPI reads base.json and every paths-*.json of fsys and merges
// them into one document.
func mergeOpenAPI(fsys fs.FS) ([]byte, error) {
	doc, err := readJSONObject(fsys, "openapi/base.json")
	if err != nil {
		return nil, err
	}
	fragments, err := fs.Glob(fsys, "openapi/paths-*.json")
	if err != nil {
		return nil, err
	}
	slices.Sort(fragments)
	for _, name := range fragments {
		frag, err := readJSONObject(fsys, name)
		if err != nil {
			return nil, err
		}
		if err := mergeFragment(doc, frag, path.Base(name)); err != nil {
			return nil, fmt.Errorf("openapi: %s: %w", path.Base(name), err)
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("openapi: encode: %w", err)
	}
	return buf.Bytes(), nil
}

func readJSONObject(fsys fs.FS, name string) (map[string]any, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	var v map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("openapi: %s: %w", path.Base(name), err)
	}
	if v == nil {
		return nil, fmt.Errorf("openapi: %s: not a JSON object", path.Base(name))
	}
	return v, nil
}

// mergeFragment adds frag's paths, components and tags to doc. Anything
// else at a fragment's top level is refused, as is documenting an
// operation, a path's shared fields, a component or a tag twice: the
// fragments split the document, they never override each other.
func mergeFragment(doc, frag map[string]any, from string) error {
	for key := range frag {
		if key != "paths" && key != "components" && key != "tags" {
			return fmt.Errorf("top-level key %q: a fragment holds only paths, components and tags", key)
		}
	}
	if err := mergePaths(doc, frag["paths"]); err != nil {
		return err
	}
	if err := mergeComponents(doc, frag["components"]); err != nil {
		return err
	}
	return mergeTags(doc, frag["tags"], from)
}

func mergePaths(doc map[string]any, v any) error {
	if v == nil {
		return nil
	}
	paths, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("paths is not an object")
	}
	dst := childObject(doc, "paths")
	for p, item := range paths {
		src, ok := item.(map[string]any)
		if !ok {
			return fmt.Errorf("paths[%q] is not an object", p)
		}
		existing := childObject(dst, p)
		for key, val := range src {
			if _, dup := existing[key]; dup {
				if slices.Contains(openapiMethods, key) {
					return fmt.Errorf("duplicate operation %s %s", strings.ToUpper(key), p)
				}
				return fmt.Errorf("duplicate %q of path %s", key, p)
			}
			existing[key] = val
		}
	}
	return nil
}

func mergeComponents(doc map[string]any, v any) error {
	if v == nil {
		return nil
	}
	comps, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("components is not an object")
	}
	dst := childObject(doc, "components")
	for section, entries := range comps {
		src, ok := entries.(map[string]any)
		if !ok {
			return fmt.Errorf("components.%s is not an object", section)
		}
		existing := childObject(dst, section)
		for name, val := range src {
			if _, dup := existing[name]; dup {
				return fmt.Errorf("duplicate component %s/%s", section, name)
			}
			existing[name] = val
		}
	}
	return nil
}

func mergeTags(doc map[string]any, v any, from string) error {
	if v == nil {
		return nil
	}
	tags, ok := v.([]any)
	if !ok {
		return fmt.Errorf("tags is not an array")
	}
	existing, _ := doc["tags"].([]any)
	for _, t := range tags {
		tag, _ := t.(map[string]any)
		name, _ := tag["name"].(string)
		if name == "" {
			return fmt.Errorf("a tag that is not an object with a name")
		}
		for _, e := range existing {
			if other, _ := e.(map[string]any); other["name"] == name {
				return fmt.Errorf("duplicate tag %q", name)
			}
		}
		existing = append(existing, t)
	}
	doc["tags"] = existing
	return nil
}

// childObject returns m[key] as an object, creating it when absent.
func childObject(m map[string]any, key string) map[string]any {
	if c, ok := m[key].(map[string]any); ok {
		return c
	}
	c := map[string]any{}
	m[key] = c
	return c
}

// openapiHandler serves the merged document. Unlike every other response
// it may be cached, so it is revalidated with its ETag rather than
// refetched; http.ServeContent answers If-None-Match (304), HEAD and
// Content-Length from that ETag. Range is not offered (the document
// promises 200 or 304, and it is small), so it is dropped before.
func openapiHandler(doc []byte) http.Handler {
	sum := sha256.Sum256(doc)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("ETag", etag)
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Type", "application/json")
		if r.Header.Get("Range") != "" {
			r = r.Clone(r.Context())
			r.Header.Del("Range")
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(doc))
	})
}
