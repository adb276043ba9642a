// Package openapicheck holds the served OpenAPI document to account: it
// checks the document's structure, lists its operations for comparison
// with the route table, and validates HTTP responses against it with a
// JSON Schema 2020-12 validator. Tests use it; the service does not.
package openapicheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// docURL names the document inside the schema compiler; it is never fetched.
const docURL = "https://medrec.invalid/openapi.json"

// methods are the operation keys of a path item.
var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// Document is a parsed OpenAPI 3.1 document.
type Document struct {
	root map[string]any
	// ops maps "METHOD /path" (as a ServeMux pattern) to its operation.
	ops map[string]map[string]any
	mux *http.ServeMux

	mu       sync.Mutex
	compiler *jsonschema.Compiler
	// schemas caches compiled schemas by their slot in root["x-check"].
	schemas map[string]*jsonschema.Schema
	slots   []any
}

// New parses doc. It fails when doc is not JSON or when its paths cannot
// serve as ServeMux patterns (two that conflict, say).
func New(doc []byte) (d *Document, err error) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, fmt.Errorf("openapicheck: parse: %w", err)
	}
	root, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("openapicheck: the document is not a JSON object")
	}
	d = &Document{root: root, ops: map[string]map[string]any{}, mux: http.NewServeMux(), schemas: map[string]*jsonschema.Schema{}}
	defer func() {
		// ServeMux panics on a conflicting or malformed pattern.
		if r := recover(); r != nil {
			d, err = nil, fmt.Errorf("openapicheck: %v", r)
		}
	}()
	paths, _ := root["paths"].(map[string]any)
	for p, item := range paths {
		pi, _ := item.(map[string]any)
		for _, m := range methods {
			op, ok := pi[m].(map[string]any)
			if !ok {
				continue
			}
			pattern := strings.ToUpper(m) + " " + p
			d.ops[pattern] = op
			d.mux.Handle(pattern, http.NotFoundHandler())
		}
	}
	// Done now, while d is not shared: it writes to root, which checks
	// running in parallel read.
	d.fillSlots()
	return d, nil
}

// Operations lists every documented operation as "METHOD /path", sorted.
func (d *Document) Operations() []string {
	ops := make([]string, 0, len(d.ops))
	for k := range d.ops {
		ops = append(ops, k)
	}
	slices.Sort(ops)
	return ops
}

// Public reports whether the operation ("METHOD /path") needs no
// credentials: its security is an empty list.
func (d *Document) Public(operation string) bool {
	sec, ok := d.ops[operation]["security"].([]any)
	return ok && len(sec) == 0
}

// Pattern returns the documented operation ("METHOD /path/{id}") that a
// request for method and path would reach, matched as net/http's ServeMux
// matches the route table; HEAD reaches GET. ok is false when no
// documented operation matches.
func (d *Document) Pattern(method, path string) (pattern string, ok bool) {
	u, err := url.Parse(path)
	if err != nil {
		return "", false
	}
	req := &http.Request{Method: method, URL: u, Host: "medrec.invalid"}
	_, pattern = d.mux.Handler(req)
	if _, ok := d.ops[pattern]; !ok {
		return "", false
	}
	return pattern, true
}

// CheckResponse validates one response to method and path: its status must
// be documented for the operation the request reached, its Content-Type
// must be one the document gives for that status, and a JSON body must
// validate against that content's schema. A request that reaches no
// documented operation gets the server's fallback answer, which must be a
// 404 or 405 problem (see the package's callers for why that is not
// documented per path).
func (d *Document) CheckResponse(method, path string, status int, header http.Header, body []byte) error {
	pattern, ok := d.Pattern(method, path)
	if !ok {
		if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
			return fmt.Errorf("no documented operation matches, and the status is %d, not the fallback's 404 or 405", status)
		}
		return d.checkContent(method, header, body, map[string]any{
			"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}},
		}, "fallback")
	}
	op := d.ops[pattern]
	responses, _ := op["responses"].(map[string]any)
	resp, key := responses[strconv.Itoa(status)], strconv.Itoa(status)
	if resp == nil {
		key = strconv.Itoa(status/100) + "XX"
		resp = responses[key]
	}
	if resp == nil {
		key = "default"
		resp = responses[key]
	}
	if resp == nil {
		return fmt.Errorf("%s: status %d is not documented", pattern, status)
	}
	r, err := d.deref(resp)
	if err != nil {
		return fmt.Errorf("%s: response %s: %w", pattern, key, err)
	}
	if err := d.checkHeaders(r, header, pattern+" "+key); err != nil {
		return err
	}
	content, _ := r["content"].(map[string]any)
	return d.checkContent(method, header, body, content, pattern+" "+key)
}

// CheckRequest validates the JSON body of a request the server accepted
// (answered 2xx) against the operation's documented request body: a
// document stricter than the code (a field it does not require, one it
// forgets) shows up here. Bodies of other media types, and requests to no
// documented operation, are not checked.
func (d *Document) CheckRequest(method, path string, header http.Header, body []byte) error {
	pattern, ok := d.Pattern(method, path)
	if !ok {
		return nil
	}
	if err := d.checkQuery(pattern, path); err != nil {
		return err
	}
	rb, ok := d.ops[pattern]["requestBody"]
	if !ok {
		if len(body) > 0 {
			return fmt.Errorf("%s: documented without a request body, got %d bytes", pattern, len(body))
		}
		return nil
	}
	reqBody, err := d.deref(rb)
	if err != nil {
		return fmt.Errorf("%s: requestBody: %w", pattern, err)
	}
	if len(body) == 0 {
		if req, _ := reqBody["required"].(bool); req {
			return fmt.Errorf("%s: the request body is documented as required, but none was sent", pattern)
		}
		return nil
	}
	mediaType, _, err := mime.ParseMediaType(header.Get("Content-Type"))
	if err != nil || !isJSON(mediaType) {
		return nil
	}
	content, _ := reqBody["content"].(map[string]any)
	media, key := matchMedia(content, mediaType)
	if media == nil {
		return fmt.Errorf("%s: request Content-Type %s is not documented", pattern, mediaType)
	}
	schema, ok := media.(map[string]any)["schema"]
	if !ok {
		return nil
	}
	sch, err := d.compile(pattern+" request "+key, schema)
	if err != nil {
		return fmt.Errorf("%s: compile request schema: %w", pattern, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: request body is not JSON: %v", pattern, err)
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Errorf("%s request %s: %v", pattern, key, err)
	}
	return nil
}

// checkQuery checks that every query parameter of an accepted request is
// documented for the operation and that its value fits the parameter's
// schema (an integer when the schema says so, a string otherwise).
func (d *Document) checkQuery(pattern, path string) error {
	u, err := url.Parse(path)
	if err != nil {
		return err
	}
	documented := map[string]any{}
	params, _ := d.ops[pattern]["parameters"].([]any)
	for _, p := range params {
		param, err := d.deref(p)
		if err != nil {
			return fmt.Errorf("%s: parameter: %w", pattern, err)
		}
		if param["in"] == "query" {
			name, _ := param["name"].(string)
			documented[name] = param["schema"]
		}
	}
	q := u.Query()
	for _, name := range slices.Sorted(maps.Keys(q)) {
		schema, ok := documented[name]
		if !ok {
			return fmt.Errorf("%s: query parameter %q is not documented", pattern, name)
		}
		if schema == nil {
			continue
		}
		sch, err := d.compile(pattern+" query "+name, schema)
		if err != nil {
			return fmt.Errorf("%s: compile schema of query parameter %s: %w", pattern, name, err)
		}
		var v any = q.Get(name)
		if s, err := d.deref(schema); err == nil && s["type"] == "integer" {
			n, err := strconv.ParseInt(q.Get(name), 10, 64)
			if err != nil {
				return fmt.Errorf("%s: query parameter %s = %q is not an integer", pattern, name, q.Get(name))
			}
			v = json.Number(strconv.FormatInt(n, 10))
		}
		if err := sch.Validate(v); err != nil {
			return fmt.Errorf("%s: query parameter %s: %v", pattern, name, err)
		}
	}
	return nil
}

// checkHeaders checks that every header the response documents as
// required is present, and that its value validates when its schema is
// an integer (Retry-After) or a plain string.
func (d *Document) checkHeaders(resp map[string]any, header http.Header, where string) error {
	headers, _ := resp["headers"].(map[string]any)
	for _, name := range sortedKeys(headers) {
		h, err := d.deref(headers[name])
		if err != nil {
			return fmt.Errorf("%s: header %s: %w", where, name, err)
		}
		values := header.Values(name)
		if len(values) == 0 {
			if req, _ := h["required"].(bool); req {
				return fmt.Errorf("%s: header %s is documented as required but missing", where, name)
			}
			continue
		}
		if s, _ := h["schema"].(map[string]any); s != nil && s["type"] == "integer" {
			if _, err := strconv.ParseUint(values[0], 10, 63); err != nil {
				return fmt.Errorf("%s: header %s = %q is not a whole number", where, name, values[0])
			}
		}
	}
	return nil
}

func (d *Document) checkContent(method string, header http.Header, body []byte, content map[string]any, where string) error {
	if len(content) == 0 {
		if len(body) > 0 {
			return fmt.Errorf("%s: documented without a body, got %d bytes", where, len(body))
		}
		return nil
	}
	ct := header.Get("Content-Type")
	mediaType, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("%s: Content-Type %q: %w", where, ct, err)
	}
	media, key := matchMedia(content, mediaType)
	if media == nil {
		return fmt.Errorf("%s: Content-Type %s is not documented (documented: %s)", where, mediaType, strings.Join(sortedKeys(content), ", "))
	}
	if method == http.MethodHead {
		return nil
	}
	m, _ := media.(map[string]any)
	schema, ok := m["schema"]
	if !ok || !isJSON(mediaType) {
		return nil
	}
	sch, err := d.compile(where+" "+key, schema)
	if err != nil {
		return fmt.Errorf("%s: compile schema: %w", where, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: body is not JSON: %v", where, err)
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Errorf("%s %s: %v", where, key, err)
	}
	return nil
}

// matchMedia finds the content entry for mediaType: exact, then type/*,
// then */*.
func matchMedia(content map[string]any, mediaType string) (any, string) {
	typ, _, _ := strings.Cut(mediaType, "/")
	for _, k := range []string{mediaType, typ + "/*", "*/*"} {
		if v, ok := content[k]; ok {
			return v, k
		}
	}
	return nil, ""
}

func isJSON(mediaType string) bool {
	return mediaType == "application/json" || strings.HasSuffix(mediaType, "+json")
}

// compile compiles an inline schema of the document. It is placed under
// root["x-check"] so that its "#/components/..." references resolve
// against the document it came from.
func (d *Document) compile(key string, schema any) (*jsonschema.Schema, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s, ok := d.schemas[key]; ok {
		return s, nil
	}
	if d.compiler == nil {
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		c.AssertFormat()
		if err := c.AddResource(docURL, d.root); err != nil {
			return nil, err
		}
		d.compiler = c
	}
	i := slices.IndexFunc(d.slots, func(v any) bool { return sameValue(v, schema) })
	if i < 0 {
		return nil, fmt.Errorf("schema of %s is not part of the document", key)
	}
	s, err := d.compiler.Compile(docURL + "#/x-check/" + strconv.Itoa(i))
	if err != nil {
		return nil, err
	}
	d.schemas[key] = s
	return s, nil
}

// fillSlots collects every schema a response or request body, a parameter
// or a header of the document holds, and the fallback problem schema, into
// root["x-check"].
func (d *Document) fillSlots() {
	if d.slots != nil {
		return
	}
	var walk func(v any, parentKey string)
	walk = func(v any, parentKey string) {
		switch t := v.(type) {
		case map[string]any:
			if s, ok := t["schema"]; ok && parentKey != "properties" {
				d.slots = append(d.slots, s)
			}
			for k, c := range t {
				if k == "x-check" {
					continue
				}
				walk(c, k)
			}
		case []any:
			for _, c := range t {
				walk(c, "")
			}
		}
	}
	walk(d.root, "")
	d.slots = append(d.slots, map[string]any{"$ref": "#/components/schemas/Problem"})
	d.root["x-check"] = d.slots
}

// sameValue reports whether a and b are the same JSON value in memory: the
// schemas compared come from the document itself, so identity suffices for
// maps; the fallback's small literal is compared by content.
func sameValue(a, b any) bool {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		if len(am) != len(bm) {
			return false
		}
		ja, _ := json.Marshal(am)
		jb, _ := json.Marshal(bm)
		return bytes.Equal(ja, jb)
	}
	return false
}

// deref follows a local $ref, repeatedly.
func (d *Document) deref(v any) (map[string]any, error) {
	for range 16 {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, errors.New("not an object")
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return m, nil
		}
		var err error
		if v, err = d.resolve(ref); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("$ref chain too long")
}

// resolve finds a local reference ("#/components/schemas/Patient").
func (d *Document) resolve(ref string) (any, error) {
	ptr, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, fmt.Errorf("$ref %q is not local to the document", ref)
	}
	if ptr == "" {
		return d.root, nil
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, fmt.Errorf("$ref %q: not a JSON pointer", ref)
	}
	var cur any = d.root
	for tok := range strings.SplitSeq(ptr[1:], "/") {
		tok, err := url.PathUnescape(tok)
		if err != nil {
			return nil, fmt.Errorf("$ref %q: %w", ref, err)
		}
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			next, ok := c[tok]
			if !ok {
				return nil, fmt.Errorf("$ref %q does not resolve", ref)
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, fmt.Errorf("$ref %q does not resolve", ref)
			}
			cur = c[i]
		default:
			return nil, fmt.Errorf("$ref %q does not resolve", ref)
		}
	}
	return cur, nil
}

var (
	pathParam     = regexp.MustCompile(`\{([^}]+)\}`)
	componentName = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)
	statusKey     = regexp.MustCompile(`^[1-5](\d\d|XX)$`)
)

// Lint checks the document's structure: an OpenAPI 3.1 header, every
// $ref resolving, every operation with an operationId (unique) and at
// least one response, each with a description, every path parameter of a
// path template declared (in: path, required) and no declared path
// parameter missing from it, and every schema compiling as JSON Schema
// 2020-12 (which checks it against the metaschema).
func (d *Document) Lint() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if v, _ := d.root["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		add("openapi is %q, want 3.1.x", v)
	}
	info, _ := d.root["info"].(map[string]any)
	if info["title"] == nil || info["version"] == nil {
		add("info needs title and version")
	}
	// Every $ref resolves.
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch t := v.(type) {
		case map[string]any:
			if ref, ok := t["$ref"].(string); ok {
				if _, err := d.resolve(ref); err != nil {
					add("%s: %v", at, err)
				}
			}
			for k, c := range t {
				if k != "x-check" {
					walk(c, at+"/"+k)
				}
			}
		case []any:
			for i, c := range t {
				walk(c, at+"/"+strconv.Itoa(i))
			}
		}
	}
	walk(d.root, "#")

	opIDs := map[string]string{}
	for _, pattern := range d.Operations() {
		op := d.ops[pattern]
		_, path, _ := strings.Cut(pattern, " ")
		if id, _ := op["operationId"].(string); id == "" {
			add("%s: no operationId", pattern)
		} else if other, dup := opIDs[id]; dup {
			add("%s: operationId %q is also %s's", pattern, id, other)
		} else {
			opIDs[id] = pattern
		}
		responses, _ := op["responses"].(map[string]any)
		if len(responses) == 0 {
			add("%s: no responses", pattern)
		}
		for code, r := range responses {
			if code != "default" && !statusKey.MatchString(code) {
				add("%s: response key %q is not a status code", pattern, code)
			}
			resp, err := d.deref(r)
			if err != nil {
				add("%s: response %s: %v", pattern, code, err)
				continue
			}
			if _, ok := resp["description"].(string); !ok {
				add("%s: response %s has no description", pattern, code)
			}
		}
		// Path parameters: declared at the operation or the path item.
		declared := map[string]bool{}
		pathItem, _ := d.root["paths"].(map[string]any)[path].(map[string]any)
		for _, list := range []any{pathItem["parameters"], op["parameters"]} {
			params, _ := list.([]any)
			for _, p := range params {
				param, err := d.deref(p)
				if err != nil {
					add("%s: parameter: %v", pattern, err)
					continue
				}
				name, _ := param["name"].(string)
				in, _ := param["in"].(string)
				if name == "" || !slices.Contains([]string{"query", "header", "path", "cookie"}, in) {
					add("%s: parameter %q: in is %q, want query, header, path or cookie", pattern, name, in)
					continue
				}
				if _, ok := param["schema"]; !ok {
					if _, ok := param["content"]; !ok {
						add("%s: parameter %s has neither schema nor content", pattern, name)
					}
				}
				if in == "path" {
					if req, _ := param["required"].(bool); !req {
						add("%s: path parameter %s must be required", pattern, name)
					}
					declared[name] = true
				}
			}
		}
		inTemplate := map[string]bool{}
		for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
			inTemplate[m[1]] = true
			if !declared[m[1]] {
				add("%s: path parameter {%s} is not declared", pattern, m[1])
			}
		}
		for name := range declared {
			if !inTemplate[name] {
				add("%s: path parameter %s is not in the path", pattern, name)
			}
		}
	}

	// Component names are what OpenAPI allows, and content is keyed by
	// media ranges.
	components, _ := d.root["components"].(map[string]any)
	for section, entries := range components {
		names, _ := entries.(map[string]any)
		for name := range names {
			if !componentName.MatchString(name) {
				add("components/%s/%s: a component name may hold only letters, digits, '.', '_' and '-'", section, name)
			}
		}
	}
	var walkContent func(v any, at string)
	walkContent = func(v any, at string) {
		switch t := v.(type) {
		case map[string]any:
			if content, ok := t["content"].(map[string]any); ok {
				for mt := range content {
					if _, _, err := mime.ParseMediaType(mt); err != nil && mt != "*/*" {
						add("%s/content: %q is not a media range: %v", at, mt, err)
					}
				}
			}
			for k, c := range t {
				if k != "x-check" && k != "properties" {
					walkContent(c, at+"/"+k)
				}
			}
		case []any:
			for i, c := range t {
				walkContent(c, at+"/"+strconv.Itoa(i))
			}
		}
	}
	walkContent(d.root["paths"], "#/paths")
	walkContent(components, "#/components")

	// Every schema compiles, components and inline ones alike.
	d.mu.Lock()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(docURL, d.root); err != nil {
		add("add document to the schema compiler: %v", err)
		d.mu.Unlock()
		return errs
	}
	schemas, _ := components["schemas"].(map[string]any)
	for _, name := range sortedKeys(schemas) {
		if _, err := c.Compile(docURL + "#/components/schemas/" + url.PathEscape(name)); err != nil {
			add("components/schemas/%s: %v", name, err)
		}
	}
	for i := range d.slots {
		if _, err := c.Compile(docURL + "#/x-check/" + strconv.Itoa(i)); err != nil {
			add("inline schema %d: %v", i, err)
		}
	}
	d.mu.Unlock()
	return errs
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
