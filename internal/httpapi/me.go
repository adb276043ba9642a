package httpapi

import (
	"net/http"

	"medrec"
)

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	u, err := s.users.FindUserByID(r.Context(), medrec.CallerFromContext(r.Context()).UserID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond(w, r, http.StatusOK, u)
}

type changePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

func (s *Server) handleChangePassword(w http.ResponseWriter, r *http.Request) {
	var in changePasswordRequest
	if err := decodeJSON(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	if err := requireFields(field{"current_password", in.CurrentPassword}, field{"new_password", in.NewPassword}); err != nil {
		writeError(w, r, err)
		return
	}
	if err := s.auth.ChangePassword(r.Context(), in.CurrentPassword, in.NewPassword); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// enrolTOTPRequest is optional on a first enrolment; replacing a confirmed
// second factor needs the current password.
type enrolTOTPRequest struct {
	CurrentPassword string `json:"current_password"`
}

func (s *Server) handleEnrolTOTP(w http.ResponseWriter, r *http.Request) {
	var in enrolTOTPRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &in); err != nil {
			writeError(w, r, err)
			return
		}
	}
	e, err := s.auth.EnrolTOTP(r.Context(), in.CurrentPassword)
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond(w, r, http.StatusOK, e)
}

type confirmTOTPRequest struct {
	TOTPCode string `json:"totp_code"`
}

func (s *Server) handleConfirmTOTP(w http.ResponseWriter, r *http.Request) {
	var in confirmTOTPRequest
	if err := decodeJSON(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	if err := requireFields(field{"totp_code", in.TOTPCode}); err != nil {
		writeError(w, r, err)
		return
	}
	if err := s.auth.ConfirmTOTP(r.Context(), in.TOTPCode); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
