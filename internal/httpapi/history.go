package httpapi

import "net/http"

func (s *Server) handleHistoryGet(w http.ResponseWriter, r *http.Request) {
	h, err := s.history.FindHistory(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond(w, r, http.StatusOK, h)
}
