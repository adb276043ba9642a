package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"medrec"
)

// problemTypePrefix starts every problem's type URI; the error code
// completes it ("urn:medrec:problem:not_found"), so clients can switch on
// a stable identifier rather than on the title's wording.
const problemTypePrefix = "urn:medrec:problem:"

// retryAfterSeconds is the Retry-After sent with 429 and 503 when the
// handler has not set a better one itself.
const retryAfterSeconds = "5"

// problem is an RFC 9457 problem details object.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	// Errors is present, possibly empty, on every 400 and absent
	// otherwise: omitzero drops a nil slice but keeps an empty one.
	Errors []medrec.FieldError `json:"errors,omitzero"`
}

// statusOf is the one table from medrec error codes to HTTP statuses.
// Unknown codes are bugs and answer 500.
func statusOf(code string) int {
	switch code {
	case medrec.EINVALID:
		return http.StatusBadRequest
	case medrec.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case medrec.EFORBIDDEN:
		return http.StatusForbidden
	case medrec.ENOTFOUND:
		return http.StatusNotFound
	case medrec.ECONFLICT:
		return http.StatusConflict
	case medrec.EPRECONDITION:
		return http.StatusPreconditionFailed
	case medrec.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case medrec.EUNSUPPORTED:
		return http.StatusUnsupportedMediaType
	case medrec.ETHROTTLED:
		return http.StatusTooManyRequests
	case medrec.EUNPROCESSABLE:
		return http.StatusUnprocessableEntity
	case medrec.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// writeError answers r with err as problem+json. The body carries only
// err's caller-safe message; a 5xx logs the full error with the request id
// so that the id in the body leads an operator to the cause.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := medrec.ErrorCode(err)
	// A body that hit http.MaxBytesReader outside decodeJSON (a multipart
	// upload, say) is still the caller's fault, not ours.
	var tooBig *http.MaxBytesError
	if code == medrec.EINTERNAL && errors.As(err, &tooBig) {
		err = &medrec.Error{Code: medrec.ETOOLARGE, Message: "the request body is too large", Err: err}
		code = medrec.ETOOLARGE
	}
	status := statusOf(code)
	if status == http.StatusInternalServerError {
		// An unknown code is a bug too; it must not show its message.
		code = medrec.EINTERNAL
	}

	ctx := r.Context()
	switch {
	case status == http.StatusInternalServerError:
		loggerFrom(ctx).LogAttrs(ctx, slog.LevelError, "internal error", slog.String("error", err.Error()))
	case status >= 500:
		loggerFrom(ctx).LogAttrs(ctx, slog.LevelWarn, "dependency unavailable",
			slog.Int("status", status), slog.String("error", err.Error()))
	}

	p := problem{
		Type:   problemTypePrefix + code,
		Title:  http.StatusText(status),
		Status: status,
		Detail: medrec.ErrorMessage(err),
	}
	if status == http.StatusInternalServerError {
		p.Detail = "internal error"
	}
	if p.Detail == "" {
		p.Detail = p.Title
	}
	if status == http.StatusBadRequest {
		p.Errors = medrec.ErrorFields(err)
		if p.Errors == nil {
			p.Errors = []medrec.FieldError{}
		}
	}

	h := w.Header()
	switch status {
	case http.StatusUnauthorized:
		h.Set("WWW-Authenticate", "Bearer")
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		if h.Get("Retry-After") == "" {
			h.Set("Retry-After", retryAfterSeconds)
		}
	}
	writeProblem(w, r, p)
}

// writeProblem writes p, adding the request id. It is the one place that
// sets the problem+json content type.
func writeProblem(w http.ResponseWriter, r *http.Request, p problem) {
	p.RequestID = RequestID(r.Context())
	body, err := json.Marshal(p)
	if err != nil {
		// p holds only strings and ints; this cannot happen.
		panic("httpapi: encode problem: " + err.Error())
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	// A failed write means the client has gone; there is no one to tell.
	_, _ = w.Write(append(body, '\n'))
}
