package httpapi

import "net/http"

func (s *Server) handleHistoryGet(w http.ResponseWriter, r *http.Request) {
	if s.history == nil {
		writeError(w, r, errNotConfigured)
		return
	}
	h, err := s.history.FindHistory(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	if err := writeJSON(w, http.StatusOK, h); err != nil {
		writeError(w, r, err)
	}
}
