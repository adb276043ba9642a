package httpapi

import (
	"net/http"
	"strconv"

	"medrec"
)

// The break-glass routes. The database decides every rule (who may decide,
// which transitions are legal, expiry); the handlers read input and answer.

type createEmergencyRequest struct {
	PatientID       string  `json:"patient_id"`
	Reason          string  `json:"reason"`
	Notes           *string `json:"notes"`
	DurationMinutes int     `json:"duration_minutes"`
}

func (s *Server) handleEmergencyCreate(w http.ResponseWriter, r *http.Request) {
	var in createEmergencyRequest
	if err := decodeJSON(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	g, err := s.emergency.RequestEmergencyAccess(r.Context(), medrec.NewEmergencyAccess{
		PatientID: in.PatientID, Reason: in.Reason, Notes: in.Notes, DurationMinutes: in.DurationMinutes,
	})
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/emergency-access/"+g.ID)
	respond(w, r, http.StatusCreated, g)
}

func (s *Server) handleEmergencyList(w http.ResponseWriter, r *http.Request) {
	page, fields := pageFrom(r)
	f := medrec.EmergencyFilter{Page: page}
	if v := r.URL.Query().Get("status"); v != "" {
		if !medrec.ValidEmergencyStatus(v) {
			fields = append(fields, medrec.EmergencyStatusFieldError)
		}
		f.Status = &v
	}
	if len(fields) > 0 {
		writeError(w, r, medrec.Invalid(fields...))
		return
	}
	items, next, err := s.emergency.FindEmergencyAccess(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond(w, r, http.StatusOK, newList(items, next))
}

func (s *Server) handleEmergencyGet(w http.ResponseWriter, r *http.Request) {
	g, err := s.emergency.FindEmergencyAccessByID(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond(w, r, http.StatusOK, g)
}

type decideEmergencyRequest struct {
	Notes *string `json:"notes"`
}

// handleEmergencyDecide serves approve, deny and revoke.
func (s *Server) handleEmergencyDecide(decision string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in decideEmergencyRequest
		// The body is optional: {notes?}.
		if r.ContentLength != 0 {
			if err := decodeJSON(w, r, &in); err != nil {
				writeError(w, r, err)
				return
			}
		}
		g, err := s.emergency.DecideEmergencyAccess(r.Context(), r.PathValue("id"), decision, in.Notes)
		if err != nil {
			writeError(w, r, err)
			return
		}
		// The answer shows the request's resource: an Idempotency-Key
		// replay reads it from there again (idempotent).
		w.Header().Set("Content-Location", "/api/v1/emergency-access/"+g.ID)
		respond(w, r, http.StatusOK, g)
	}
}

func (s *Server) handleEmergencyAudit(w http.ResponseWriter, r *http.Request) {
	page, fields := pageFrom(r)
	f := medrec.EmergencyAuditFilter{Days: medrec.DefaultEmergencyAuditDays, Page: page}
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > medrec.MaxEmergencyAuditDays {
			fields = append(fields, medrec.EmergencyAuditDaysFieldError)
		} else {
			f.Days = n
		}
	}
	if len(fields) > 0 {
		writeError(w, r, medrec.Invalid(fields...))
		return
	}
	items, next, err := s.emergency.EmergencyAccessAudit(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond(w, r, http.StatusOK, newList(items, next))
}

// handlePatientAccessLog is the patient's accounting of disclosures.
func (s *Server) handlePatientAccessLog(w http.ResponseWriter, r *http.Request) {
	page, fields := pageFrom(r)
	if len(fields) > 0 {
		writeError(w, r, medrec.Invalid(fields...))
		return
	}
	items, next, err := s.accessLog.FindAccessLog(r.Context(), r.PathValue("id"), page)
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond(w, r, http.StatusOK, newList(items, next))
}
