package httpapi

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"medrec"
)

// writeJSON answers with v as JSON and the given status. It encodes v
// before writing anything, so an error (a value JSON cannot represent: a
// bug) comes back while the caller can still answer 500 with writeError.
// Write errors are ignored: they mean the client has gone.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %T response: %w", v, err)
	}
	writeJSONBody(w, status, append(body, '\n'))
	return nil
}

// writeJSONBody answers with body, a JSON document already encoded.
func writeJSONBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// respond writes v as the JSON response, or, in the one case writeJSON can
// fail (v does not encode, and nothing was written yet), the 500.
func respond(w http.ResponseWriter, r *http.Request, status int, v any) {
	if err := writeJSON(w, status, v); err != nil {
		writeError(w, r, err)
	}
}

// decodeJSON reads r's body, one JSON value, into dst. Every failure is a
// *medrec.Error: EUNSUPPORTED for a content type other than JSON, ETOOLARGE
// for a body over the route's limit, EINVALID for an empty or malformed
// body, an unknown field, a value of the wrong type or trailing data,
// naming the field where encoding/json says which.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if err := checkJSONContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	// The route's middleware already limits the body; limiting again here
	// keeps decodeJSON safe wherever it is called from.
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, bodyLimitFrom(r.Context())))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		if errors.Is(err, io.EOF) {
			return &medrec.Error{Code: medrec.EINVALID, Message: "the request body is empty", Err: err}
		}
		return decodeError(err)
	}
	// A second value, or garbage, after the first is a malformed request,
	// not something to ignore.
	if err := dec.Decode(&json.RawMessage{}); !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return decodeError(err)
		}
		return &medrec.Error{Code: medrec.EINVALID, Message: "the request body must hold a single JSON value", Err: err}
	}
	return nil
}

// checkJSONContentType accepts application/json, and the JSON merge patch
// type PATCH requests may send, in UTF-8 only.
func checkJSONContentType(header string) error {
	unsupported := &medrec.Error{Code: medrec.EUNSUPPORTED, Message: "the request body must be application/json"}
	if header == "" {
		return unsupported
	}
	mediaType, params, err := mime.ParseMediaType(header)
	if err != nil {
		unsupported.Err = fmt.Errorf("parse Content-Type: %w", err)
		return unsupported
	}
	if mediaType != "application/json" && mediaType != "application/merge-patch+json" {
		return unsupported
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return unsupported
	}
	return nil
}

// decodeError translates an encoding/json or body-reading error into a
// *medrec.Error with a message safe to show.
func decodeError(err error) error {
	var (
		tooBig    *http.MaxBytesError
		syntax    *json.SyntaxError
		wrongType *json.UnmarshalTypeError
		badTarget *json.InvalidUnmarshalError
	)
	switch {
	case errors.As(err, &tooBig):
		return &medrec.Error{Code: medrec.ETOOLARGE,
			Message: fmt.Sprintf("the request body exceeds %d bytes", tooBig.Limit), Err: err}
	case errors.As(err, &syntax):
		return &medrec.Error{Code: medrec.EINVALID,
			Message: fmt.Sprintf("the request body is not valid JSON (at byte %d)", syntax.Offset), Err: err}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &medrec.Error{Code: medrec.EINVALID, Message: "the request body is truncated JSON", Err: err}
	case errors.As(err, &wrongType):
		want := "a JSON " + jsonKind(wrongType)
		if wrongType.Field == "" {
			return &medrec.Error{Code: medrec.EINVALID, Message: "the request body must be " + want, Err: err}
		}
		e := medrec.Invalid(medrec.FieldError{Field: wrongType.Field, Message: "must be " + want})
		e.Err = err
		return e
	case errors.As(err, &badTarget):
		// dst was not a pointer: our bug, not the caller's.
		return &medrec.Error{Code: medrec.EINTERNAL, Message: "decode request body", Err: err}
	}
	// encoding/json reports an unknown field only as text.
	if rest, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		field, uerr := strconv.Unquote(rest)
		if uerr != nil {
			field = rest
		}
		e := medrec.Invalid(medrec.FieldError{Field: field, Message: "unknown field"})
		e.Err = err
		return e
	}
	// What remains comes from a type's own UnmarshalJSON or UnmarshalText
	// (a malformed date, say): the input is wrong, and the text may echo
	// it, so it stays in Err.
	return &medrec.Error{Code: medrec.EINVALID, Message: "the request body has an invalid value", Err: err}
}

// jsonKind names the JSON kind expected where a value of the wrong kind
// arrived, in the caller's vocabulary rather than Go's type names.
func jsonKind(e *json.UnmarshalTypeError) string {
	if e.Type == nil {
		return "value"
	}
	// A type that decodes itself from text (a UUID, a date) wants a string
	// whatever its Go kind.
	if reflect.PointerTo(e.Type).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) {
		return "string"
	}
	switch e.Type.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "number"
	case reflect.String:
		return "string"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	}
	return "value"
}
