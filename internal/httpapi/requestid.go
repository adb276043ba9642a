package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"

	"medrec"
)

// requestIDHeader carries the request id in both directions, so a client
// or proxy can correlate its own logs with ours.
const requestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds an incoming id: it goes into every log line.
const maxRequestIDLen = 64

// routeUnmatched is the route label of requests no route matched. One label
// for all of them keeps the metrics' cardinality bounded whatever paths
// scanners try.
const routeUnmatched = "unmatched"

// requestState is what the middleware learns about one request and shares
// through its context: set by the outer layers, read by the inner ones,
// and the route filled in by the matched route on the way in.
type requestState struct {
	id     string
	logger *slog.Logger // carries request_id
	route  string       // the matched pattern, or routeUnmatched
	// maxBody is the route's body limit; zero before a route matched.
	maxBody int64
}

type stateKey struct{}

func stateFrom(ctx context.Context) *requestState {
	st, _ := ctx.Value(stateKey{}).(*requestState)
	return st
}

// RequestID returns the id of the request ctx belongs to, or "" outside a
// request. Other layers may record it (an audit row, a job) to tie their
// work back to the request's log lines.
func RequestID(ctx context.Context) string {
	if st := stateFrom(ctx); st != nil {
		return st.id
	}
	return ""
}

// loggerFrom returns the request's logger, whose every line carries the
// request id. Outside a request (code called directly, not through the
// middleware) it falls back to slog's default logger rather than lose the
// line.
func loggerFrom(ctx context.Context) *slog.Logger {
	if st := stateFrom(ctx); st != nil {
		return st.logger
	}
	return slog.Default()
}

// bodyLimitFrom returns the matched route's body limit, or the default
// outside one.
func bodyLimitFrom(ctx context.Context) int64 {
	if st := stateFrom(ctx); st != nil && st.maxBody > 0 {
		return st.maxBody
	}
	return DefaultMaxBodyBytes
}

// requestID gives each request an id, honouring a well-formed incoming
// X-Request-Id, echoes it in the response and puts it, with a logger that
// carries it, into the request's context.
func requestID(base *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := r.Header.Get(requestIDHeader)
			if !validRequestID(id) {
				id = newRequestID()
			}
			w.Header().Set(requestIDHeader, id)
			st := &requestState{
				id:     id,
				logger: base.With(slog.String("request_id", id)),
				route:  routeUnmatched,
			}
			ctx := medrec.NewContextWithRequestID(context.WithValue(r.Context(), stateKey{}, st), st.id)
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// validRequestID accepts only short ids of [A-Za-z0-9._-]: anything else
// could forge or break log lines and headers downstream.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// newRequestID returns 128 random bits in hex: unique without coordination.
func newRequestID() string {
	var b [16]byte
	// crypto/rand.Read never returns an error; it crashes the program
	// if the system's randomness fails.
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
