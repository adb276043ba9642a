package httpapi

import "net/http"

// limitBody caps the request body at limit bytes: a read past it fails
// with *http.MaxBytesError, which writeError answers 413, and the
// connection is closed rather than drained.
func limitBody(limit int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if st := stateFrom(r.Context()); st != nil {
			st.maxBody = limit
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}
