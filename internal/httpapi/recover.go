package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"runtime/debug"

	"medrec"
)

// recoverPanic turns a panicking handler into a logged error and a 500
// problem, so one bug costs one request, not the process's log clarity.
// http.ErrAbortHandler passes through: it is net/http's way to abort a
// response on purpose.
func recoverPanic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := newRecorder(w)
		// Headers set before the handler ran (security headers, request
		// id) are kept; whatever the handler added (ETag, Location,
		// Content-Type) must not describe the 500.
		before := w.Header().Clone()
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if err, ok := p.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(p)
			}
			ctx := r.Context()
			loggerFrom(ctx).LogAttrs(ctx, slog.LevelError, "panic serving request",
				slog.String("panic", fmt.Sprint(p)),
				slog.String("stack", string(debug.Stack())),
			)
			if rec.wroteHeader {
				// Too late for a 500: abort the connection so the client
				// cannot take the truncated response for a whole one.
				panic(http.ErrAbortHandler)
			}
			h := w.Header()
			clear(h)
			maps.Copy(h, before)
			writeProblem(rec, r, problem{
				Type:   problemTypePrefix + medrec.EINTERNAL,
				Title:  http.StatusText(http.StatusInternalServerError),
				Status: http.StatusInternalServerError,
				Detail: "internal error",
			})
		}()
		next.ServeHTTP(rec, r)
	})
}
