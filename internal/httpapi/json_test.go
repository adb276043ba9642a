package httpapi

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"medrec"
)

// patientInput is a typical request body.
type patientInput struct {
	FirstName string    `json:"first_name"`
	Age       int       `json:"age"`
	Active    bool      `json:"active"`
	Tags      []string  `json:"tags"`
	Born      time.Time `json:"born"`
	Address   struct {
		City string `json:"city"`
		Zip  int    `json:"zip"`
	} `json:"address"`
}

func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		contentType string
		body        string
		limit       int64 // route limit; 0 for the server default
		status      int   // 0 when decoding succeeds
		detail      string
		fields      []medrec.FieldError
	}{
		{name: "OK", contentType: "application/json", body: `{"first_name":"Ada","age":36}`},
		{name: "OKCharset", contentType: "application/json; charset=UTF-8", body: `{"first_name":"Ada"}`},
		{name: "OKMergePatch", contentType: "application/merge-patch+json", body: `{"age":37}`},
		{name: "OKTrailingWhitespace", contentType: "application/json", body: "{\"age\":1}\n\t "},
		{
			name: "UnknownField", contentType: "application/json", body: `{"first_name":"Ada","ssn":"1"}`,
			status: 400, detail: "the request has invalid fields",
			fields: []medrec.FieldError{{Field: "ssn", Message: "unknown field"}},
		},
		{
			name: "TrailingGarbage", contentType: "application/json", body: `{"age":1} garbage`,
			status: 400, detail: "the request body must hold a single JSON value",
		},
		{
			name: "SecondValue", contentType: "application/json", body: `{"age":1}{"age":2}`,
			status: 400, detail: "the request body must hold a single JSON value",
		},
		{
			name: "TypeMismatch", contentType: "application/json", body: `{"age":"thirty"}`,
			status: 400, detail: "the request has invalid fields",
			fields: []medrec.FieldError{{Field: "age", Message: "must be a JSON number"}},
		},
		{
			name: "TypeMismatchNested", contentType: "application/json", body: `{"address":{"zip":"N1"}}`,
			status: 400, detail: "the request has invalid fields",
			fields: []medrec.FieldError{{Field: "address.zip", Message: "must be a JSON number"}},
		},
		{
			name: "TypeMismatchBool", contentType: "application/json", body: `{"active":"yes"}`,
			status: 400, detail: "the request has invalid fields",
			fields: []medrec.FieldError{{Field: "active", Message: "must be a JSON boolean"}},
		},
		{
			name: "NotAnObject", contentType: "application/json", body: `[1,2]`,
			status: 400, detail: "the request body must be a JSON object",
		},
		{
			name: "BadTime", contentType: "application/json", body: `{"born":"yesterday"}`,
			status: 400, detail: "the request body has an invalid value",
		},
		{
			name: "Malformed", contentType: "application/json", body: `{"age":1,}`,
			status: 400, detail: "the request body is not valid JSON (at byte 10)",
		},
		{
			name: "Truncated", contentType: "application/json", body: `{"age":`,
			status: 400, detail: "the request body is truncated JSON",
		},
		{name: "Empty", contentType: "application/json", body: ``, status: 400, detail: "the request body is empty"},
		{
			name: "Oversize", contentType: "application/json", limit: 64,
			body:   `{"first_name":"` + strings.Repeat("a", 100) + `"}`,
			status: 413, detail: "the request body exceeds 64 bytes",
		},
		{
			name: "OversizeTrailing", contentType: "application/json", limit: 64,
			body:   `{"age":1}` + strings.Repeat(" ", 50) + `{"age":2}` + strings.Repeat(" ", 50),
			status: 413, detail: "the request body exceeds 64 bytes",
		},
		{
			name: "WrongContentType", contentType: "text/plain", body: `{"age":1}`,
			status: 415, detail: "the request body must be application/json",
		},
		{
			name: "FormContentType", contentType: "application/x-www-form-urlencoded", body: `age=1`,
			status: 415, detail: "the request body must be application/json",
		},
		{name: "NoContentType", body: `{"age":1}`, status: 415, detail: "the request body must be application/json"},
		{
			name: "BadCharset", contentType: "application/json; charset=latin1", body: `{"age":1}`,
			status: 415, detail: "the request body must be application/json",
		},
		{
			name: "UnparsableContentType", contentType: "application/json; =", body: `{"age":1}`,
			status: 415, detail: "the request body must be application/json",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got patientInput
			b := setup(t, testOptions{extra: []Route{{
				Method: http.MethodPost, Pattern: "/test/decode", Permission: PermissionPublic, MaxBodyBytes: tt.limit,
				Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if err := decodeJSON(w, r, &got); err != nil {
						writeError(w, r, err)
						return
					}
					w.WriteHeader(http.StatusNoContent)
				}),
			}}})
			req := httptest.NewRequest(http.MethodPost, "/test/decode", strings.NewReader(tt.body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			rec := b.serve(t, req)

			if tt.status == 0 {
				if rec.Code != http.StatusNoContent {
					t.Fatalf("status: got %d, want 204; body %s", rec.Code, rec.Body)
				}
				return
			}
			p := decodeProblem(t, rec, tt.status)
			if p.Detail != tt.detail {
				t.Fatalf("detail: got %q, want %q", p.Detail, tt.detail)
			}
			if len(p.Errors) != len(tt.fields) {
				t.Fatalf("errors: got %v, want %v", p.Errors, tt.fields)
			}
			for i := range tt.fields {
				if p.Errors[i] != tt.fields[i] {
					t.Fatalf("errors[%d]: got %v, want %v", i, p.Errors[i], tt.fields[i])
				}
			}
		})
	}
}

func TestDecodeJSONValues(t *testing.T) {
	t.Parallel()
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"first_name":"Ada","age":36,"tags":["x"]}`))
	req.Header.Set("Content-Type", "application/json")
	var got patientInput
	if err := decodeJSON(httptest.NewRecorder(), req, &got); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if got.FirstName != "Ada" || got.Age != 36 || len(got.Tags) != 1 || got.Tags[0] != "x" {
		t.Fatalf("decoded %+v", got)
	}
}

func TestDecodeJSONDefaultLimitOutsideStack(t *testing.T) {
	t.Parallel()
	// Called without the middleware, decodeJSON still bounds the body.
	body := `{"first_name":"` + strings.Repeat("a", int(DefaultMaxBodyBytes)) + `"}`
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	err := decodeJSON(httptest.NewRecorder(), req, &patientInput{})
	if got := medrec.ErrorCode(err); got != medrec.ETOOLARGE {
		t.Fatalf("code: got %q (%v), want %q", got, err, medrec.ETOOLARGE)
	}
}

func TestDecodeJSONNonPointerIsInternal(t *testing.T) {
	t.Parallel()
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	err := decodeJSON(httptest.NewRecorder(), req, patientInput{})
	if got := medrec.ErrorCode(err); got != medrec.EINTERNAL {
		t.Fatalf("code: got %q (%v), want %q", got, err, medrec.EINTERNAL)
	}
}

func TestWriteJSON(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		rec := httptest.NewRecorder()
		if err := writeJSON(rec, http.StatusCreated, map[string]string{"id": "p1"}); err != nil {
			t.Fatalf("writeJSON: %v", err)
		}
		if rec.Code != http.StatusCreated {
			t.Fatalf("status: got %d, want 201", rec.Code)
		}
		if got := rec.Header().Get("Content-Type"); got != "application/json" {
			t.Fatalf("Content-Type: got %q", got)
		}
		var body map[string]string
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["id"] != "p1" {
			t.Fatalf("body %q: %v", rec.Body, err)
		}
	})

	t.Run("ErrUnencodableWritesNothing", func(t *testing.T) {
		t.Parallel()
		rec := httptest.NewRecorder()
		if err := writeJSON(rec, http.StatusOK, math.Inf(1)); err == nil {
			t.Fatalf("writeJSON(+Inf): got nil error")
		}
		if rec.Body.Len() != 0 || len(rec.Header()) != 0 {
			t.Fatalf("wrote %q with headers %v before failing", rec.Body, rec.Header())
		}
	})
}
