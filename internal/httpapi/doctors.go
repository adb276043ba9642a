package httpapi

import (
	"net/http"

	"medrec"
)

type createDoctorRequest struct {
	FirstName string  `json:"first_name"`
	LastName  string  `json:"last_name"`
	Email     string  `json:"email"`
	Phone     *string `json:"phone"`
	Specialty *string `json:"specialty"`
	Status    string  `json:"status"`
	UserID    *string `json:"user_id"`
}

func (s *Server) handleDoctorCreate(w http.ResponseWriter, r *http.Request) {
	var in createDoctorRequest
	if err := decodeJSON(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	nd := medrec.NewDoctor{FirstName: in.FirstName, LastName: in.LastName, Email: in.Email, Phone: in.Phone,
		Specialty: in.Specialty, Status: in.Status, UserID: in.UserID}
	if err := nd.Validate(); err != nil {
		writeError(w, r, err)
		return
	}
	d, err := s.doctors.CreateDoctor(r.Context(), nd)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/doctors/"+d.ID)
	setETag(w, d.UpdatedAt)
	respond(w, r, http.StatusCreated, d)
}

func (s *Server) handleDoctorList(w http.ResponseWriter, r *http.Request) {
	page, fields := pageFrom(r)
	q := r.URL.Query()
	f := medrec.DoctorFilter{Page: page, Specialty: q.Get("specialty"), Status: q.Get("status")}
	if fields = mergeFields(fields, f.Validate()); len(fields) > 0 {
		writeError(w, r, medrec.Invalid(fields...))
		return
	}
	doctors, next, err := s.doctors.FindDoctors(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond(w, r, http.StatusOK, newList(doctors, next))
}

func (s *Server) handleDoctorGet(w http.ResponseWriter, r *http.Request) {
	d, err := s.doctors.FindDoctorByID(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	setETag(w, d.UpdatedAt)
	respond(w, r, http.StatusOK, d)
}

// updateDoctorRequest holds what a PATCH may change; anything else is an
// unknown field and a 400.
type updateDoctorRequest struct {
	FirstName medrec.NullableString `json:"first_name"`
	LastName  medrec.NullableString `json:"last_name"`
	Email     medrec.NullableString `json:"email"`
	Phone     medrec.NullableString `json:"phone"`
	Specialty medrec.NullableString `json:"specialty"`
	Status    medrec.NullableString `json:"status"`
	UserID    medrec.NullableString `json:"user_id"`
}

// handleDoctorUpdate needs PermDoctorsUpdate (ADMIN, CLINICIAN); the service
// then lets an ADMIN change anything and a CLINICIAN only the email and
// phone of their own record.
func (s *Server) handleDoctorUpdate(w http.ResponseWriter, r *http.Request) {
	var in updateDoctorRequest
	if err := decodeJSON(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	var fields []medrec.FieldError
	upd := medrec.DoctorUpdate{Phone: in.Phone, Specialty: in.Specialty, UserID: in.UserID}
	fields, upd.FirstName = notNull(fields, "first_name", in.FirstName)
	fields, upd.LastName = notNull(fields, "last_name", in.LastName)
	fields, upd.Email = notNull(fields, "email", in.Email)
	fields, upd.Status = notNull(fields, "status", in.Status)
	if fields = mergeFields(fields, upd.Validate()); len(fields) > 0 {
		writeError(w, r, medrec.Invalid(fields...))
		return
	}
	match, err := ifMatch(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	d, err := s.doctors.UpdateDoctor(r.Context(), r.PathValue("id"), upd, match)
	if err != nil {
		writeError(w, r, err)
		return
	}
	setETag(w, d.UpdatedAt)
	respond(w, r, http.StatusOK, d)
}
