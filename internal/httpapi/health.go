package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"medrec"
)

// readyTimeout bounds one readiness check: a probe that hangs tells the
// orchestrator less than one that fails.
const readyTimeout = 2 * time.Second

// handleHealthz answers GET /healthz: the process is alive. It checks
// nothing else on purpose, so a database outage does not get the process
// restarted.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	respond(w, r, http.StatusOK, statusBody{Status: "ok"})
}

// handleReadyz answers GET /readyz: 200 when the service can take traffic,
// 503 with Retry-After when it cannot or is shutting down.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeError(w, r, &medrec.Error{Code: medrec.EUNAVAILABLE, Message: "the service is shutting down",
			Err: errors.New("draining")})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := s.ready.Ready(ctx); err != nil {
		// Wrapped in our own code whatever the check returned: any
		// failure here means "not ready", and its text stays in the log.
		writeError(w, r, &medrec.Error{Code: medrec.EUNAVAILABLE, Message: "the service is not ready", Err: err})
		return
	}
	respond(w, r, http.StatusOK, statusBody{Status: "ready"})
}

// statusBody is the body of the probes.
type statusBody struct {
	Status string `json:"status"`
}
