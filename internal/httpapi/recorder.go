package httpapi

import "net/http"

// recorder wraps a ResponseWriter to learn the status and the body size
// the handler wrote, for the access log, the metrics and panic recovery.
type recorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func newRecorder(w http.ResponseWriter) *recorder {
	return &recorder{ResponseWriter: w}
}

// WriteHeader records the first final status; 1xx responses (103 Early
// Hints) are passed through without counting as the response.
func (rec *recorder) WriteHeader(status int) {
	if !rec.wroteHeader && status >= 200 {
		rec.status = status
		rec.wroteHeader = true
	}
	rec.ResponseWriter.WriteHeader(status)
}

// Write counts the body bytes; like net/http, a write before WriteHeader
// means 200.
func (rec *recorder) Write(b []byte) (int, error) {
	if !rec.wroteHeader {
		rec.WriteHeader(http.StatusOK)
	}
	n, err := rec.ResponseWriter.Write(b)
	rec.bytes += int64(n)
	return n, err
}

// Flush lets streaming handlers flush through the wrapper.
func (rec *recorder) Flush() {
	if !rec.wroteHeader {
		rec.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(rec.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer, for
// deadlines and full duplex.
func (rec *recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// statusCode returns the status written, or 200 for a handler that
// returned without writing anything (net/http then sends 200).
func (rec *recorder) statusCode() int {
	if rec.wroteHeader {
		return rec.status
	}
	return http.StatusOK
}
