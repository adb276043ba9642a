package httpapi

import (
	"log/slog"
	"net/http"
	"time"
)

// accessLog writes one line per request. It logs the route pattern, never
// the raw path, query string, headers or body: those can carry patient
// identifiers and credentials.
func accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := newRecorder(w)
		// Deferred so that a request aborted by a panic (which only
		// http.ErrAbortHandler survives recoverPanic to be) is logged too.
		defer func() {
			p := recover()
			status := rec.statusCode()
			if p != nil {
				// Aborted, even after a 200 went out: the client got
				// a broken response, so it counts as the server's error.
				status = http.StatusInternalServerError
			}
			ctx := r.Context()
			route := routeUnmatched
			if st := stateFrom(ctx); st != nil {
				route = st.route
			}
			loggerFrom(ctx).LogAttrs(ctx, slog.LevelInfo, "http request",
				slog.String("method", r.Method),
				slog.String("route", route),
				slog.Int("status", status),
				slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
				slog.Int64("bytes", rec.bytes),
				slog.Bool("aborted", p != nil),
			)
			if p != nil {
				panic(p)
			}
		}()
		next.ServeHTTP(rec, r)
	})
}
