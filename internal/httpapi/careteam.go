package httpapi

import (
	"net/http"
	"time"

	"medrec"
)

func (s *Server) handleCareTeamList(w http.ResponseWriter, r *http.Request) {
	members, err := s.careTeam.FindCareTeam(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond(w, r, http.StatusOK, newList(members, ""))
}

type addCareTeamRequest struct {
	UserID string     `json:"user_id"`
	Until  *time.Time `json:"until"`
}

func (s *Server) handleCareTeamAdd(w http.ResponseWriter, r *http.Request) {
	var in addCareTeamRequest
	if err := decodeJSON(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	if err := requireFields(field{"user_id", in.UserID}); err != nil {
		writeError(w, r, err)
		return
	}
	patientID := r.PathValue("id")
	m, err := s.careTeam.AddCareTeamMember(r.Context(), patientID, medrec.NewCareTeamMember{UserID: in.UserID, Until: in.Until})
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/patients/"+patientID+"/care-team/"+m.UserID)
	respond(w, r, http.StatusCreated, m)
}

func (s *Server) handleCareTeamRemove(w http.ResponseWriter, r *http.Request) {
	if err := s.careTeam.RemoveCareTeamMember(r.Context(), r.PathValue("id"), r.PathValue("user_id")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
