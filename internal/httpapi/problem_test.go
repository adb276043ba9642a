package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"medrec"
)

func TestWriteError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		err        error
		status     int
		typ        string
		detail     string
		headers    map[string]string
		fields     []medrec.FieldError
		logLevel   string // "" when nothing is logged
		retryAfter string // preset by the handler
	}{
		{
			name: "Invalid", err: medrec.Invalid(medrec.FieldError{Field: "dob", Message: "must be a date"}),
			status: 400, typ: "invalid", detail: "the request has invalid fields",
			fields: []medrec.FieldError{{Field: "dob", Message: "must be a date"}},
		},
		{
			name: "InvalidWithoutFields", err: medrec.Errorf(medrec.EINVALID, "bad cursor"),
			status: 400, typ: "invalid", detail: "bad cursor", fields: []medrec.FieldError{},
		},
		{
			name: "Unauthorized", err: medrec.Errorf(medrec.EUNAUTHORIZED, "invalid credentials"),
			status: 401, typ: "unauthorized", detail: "invalid credentials",
			headers: map[string]string{"WWW-Authenticate": "Bearer"},
		},
		{name: "Forbidden", err: medrec.Errorf(medrec.EFORBIDDEN, "role may not"), status: 403, typ: "forbidden", detail: "role may not"},
		{name: "NotFound", err: medrec.Errorf(medrec.ENOTFOUND, "patient not found"), status: 404, typ: "not_found", detail: "patient not found"},
		{name: "Conflict", err: medrec.Errorf(medrec.ECONFLICT, "email taken"), status: 409, typ: "conflict", detail: "email taken"},
		{name: "Precondition", err: medrec.Errorf(medrec.EPRECONDITION, "stale"), status: 412, typ: "precondition", detail: "stale"},
		{name: "TooLarge", err: medrec.Errorf(medrec.ETOOLARGE, "file too big"), status: 413, typ: "too_large", detail: "file too big"},
		{name: "Unsupported", err: medrec.Errorf(medrec.EUNSUPPORTED, "not json"), status: 415, typ: "unsupported", detail: "not json"},
		{
			name: "Throttled", err: medrec.Errorf(medrec.ETHROTTLED, "slow down"), status: 429, typ: "throttled", detail: "slow down",
			headers: map[string]string{"Retry-After": "5"},
		},
		{
			name: "ThrottledKeepsHandlerRetryAfter", err: medrec.Errorf(medrec.ETHROTTLED, "slow down"), status: 429, typ: "throttled",
			detail: "slow down", retryAfter: "900", headers: map[string]string{"Retry-After": "900"},
		},
		{
			name:   "Unavailable",
			err:    &medrec.Error{Code: medrec.EUNAVAILABLE, Message: "try later", Err: errors.New("pool exhausted")},
			status: 503, typ: "unavailable", detail: "try later", logLevel: "WARN",
			headers: map[string]string{"Retry-After": "5"},
		},
		{
			name:   "Internal",
			err:    &medrec.Error{Code: medrec.EINTERNAL, Message: "scan row: column 7", Err: errors.New("pgx detail")},
			status: 500, typ: "internal", detail: "internal error", logLevel: "ERROR",
		},
		{
			name:   "PlainError",
			err:    fmt.Errorf("load patient p-42: %w", errors.New("connection reset")),
			status: 500, typ: "internal", detail: "internal error", logLevel: "ERROR",
		},
		{
			name:   "UnknownCode",
			err:    medrec.Errorf("made_up", "leaky text"),
			status: 500, typ: "internal", detail: "internal error", logLevel: "ERROR",
		},
		{
			name:   "MaxBytesOutsideDecode",
			err:    fmt.Errorf("read upload: %w", &http.MaxBytesError{Limit: 10}),
			status: 413, typ: "too_large", detail: "the request body is too large",
		},
		{
			name:   "EmptyMessage",
			err:    &medrec.Error{Code: medrec.ENOTFOUND},
			status: 404, typ: "not_found", detail: "Not Found",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, testOptions{extra: []Route{handlerRoute("/test/error", func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				writeError(w, r, tt.err)
			})}})
			rec := b.serve(t, httptest.NewRequest(http.MethodGet, "/test/error", nil))

			p := decodeProblem(t, rec, tt.status)
			if want := "urn:medrec:problem:" + tt.typ; p.Type != want {
				t.Fatalf("type: got %q, want %q", p.Type, want)
			}
			if p.Detail != tt.detail {
				t.Fatalf("detail: got %q, want %q", p.Detail, tt.detail)
			}
			for name, want := range tt.headers {
				if got := rec.Header().Get(name); got != want {
					t.Fatalf("%s: got %q, want %q", name, got, want)
				}
			}
			if tt.status != 401 && rec.Header().Get("WWW-Authenticate") != "" {
				t.Fatalf("WWW-Authenticate on a %d", tt.status)
			}
			if (tt.status == 400) != p.HasErrors {
				t.Fatalf("errors member present: got %v, want %v (only on 400)", p.HasErrors, tt.status == 400)
			}
			if fmt.Sprint(p.Errors) != fmt.Sprint(tt.fields) || len(p.Errors) != len(tt.fields) {
				t.Fatalf("errors: got %v, want %v", p.Errors, tt.fields)
			}

			var logged map[string]any
			for _, l := range b.logLines(t) {
				if l["msg"] != "http request" {
					logged = l
				}
			}
			if tt.logLevel == "" {
				if logged != nil {
					t.Fatalf("logged %v for a %d", logged, tt.status)
				}
				return
			}
			if logged == nil || logged["level"] != tt.logLevel {
				t.Fatalf("log: got %v, want a %s line", logged, tt.logLevel)
			}
			if logged["error"] != tt.err.Error() || logged["request_id"] != p.RequestID {
				t.Fatalf("log: got error %v request_id %v, want %q and %q", logged["error"], logged["request_id"], tt.err.Error(), p.RequestID)
			}
			if tt.status == 500 && strings.Contains(rec.Body.String(), tt.err.Error()) {
				t.Fatalf("500 body leaks the error: %s", rec.Body)
			}
		})
	}
}

func TestStatusOfEveryCode(t *testing.T) {
	t.Parallel()
	// One row per code of error.go: a new code without a status fails here.
	want := map[string]int{
		medrec.EINVALID:      400,
		medrec.EUNAUTHORIZED: 401,
		medrec.EFORBIDDEN:    403,
		medrec.ENOTFOUND:     404,
		medrec.ECONFLICT:     409,
		medrec.EPRECONDITION: 412,
		medrec.ETOOLARGE:     413,
		medrec.EUNSUPPORTED:  415,
		medrec.ETHROTTLED:    429,
		medrec.EINTERNAL:     500,
		medrec.EUNAVAILABLE:  503,
		"":                   500,
		"no_such_code":       500,

		medrec.EUNPROCESSABLE: 422,
	}
	for code, status := range want {
		if got := statusOf(code); got != status {
			t.Errorf("statusOf(%q): got %d, want %d", code, got, status)
		}
	}
}
