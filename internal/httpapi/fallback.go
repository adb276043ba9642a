package httpapi

import (
	"net/http"

	"medrec"
)

// dispatch serves r through mux, except when no route matches: then
// ServeMux would answer a plain-text 404 or 405, and the API promises
// problem+json for every error.
func dispatch(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// An empty pattern means the mux found no route; a redirect (to
		// a cleaned path) has a pattern and is served as the mux wants.
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		answerUnmatched(w, r, h)
	})
}

// answerUnmatched runs the mux's own answer h against a capturing writer
// to learn what it would say (404, or 405 with the Allow header) and says
// it as problem+json.
func answerUnmatched(w http.ResponseWriter, r *http.Request, h http.Handler) {
	c := &captureWriter{header: http.Header{}}
	h.ServeHTTP(c, r)
	switch c.status {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", c.header.Get("Allow"))
		writeProblem(w, r, problem{
			Type:   problemTypePrefix + "method_not_allowed",
			Title:  http.StatusText(http.StatusMethodNotAllowed),
			Status: http.StatusMethodNotAllowed,
			Detail: "the resource does not support this method; see the Allow header",
		})
	default:
		writeError(w, r, medrec.Errorf(medrec.ENOTFOUND, "no such resource"))
	}
}

// captureWriter records a handler's status and headers and drops its body.
type captureWriter struct {
	header http.Header
	status int
}

func (c *captureWriter) Header() http.Header { return c.header }

func (c *captureWriter) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func (c *captureWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return len(b), nil
}
