package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"medrec"
)

// createPrescriptionRequest takes dates as strings so that a malformed one
// is reported by name together with every other field error.
type createPrescriptionRequest struct {
	DrugName  string  `json:"drug_name"`
	Dosage    string  `json:"dosage"`
	Frequency string  `json:"frequency"`
	Route     *string `json:"route"`
	StartDate *string `json:"start_date"`
	EndDate   *string `json:"end_date"`
}

func (s *Server) handlePrescriptionCreate(w http.ResponseWriter, r *http.Request) {
	var in createPrescriptionRequest
	if err := decodeJSON(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	np := medrec.NewPrescription{DrugName: in.DrugName, Dosage: in.Dosage, Frequency: in.Frequency, Route: in.Route}
	var fields []medrec.FieldError
	start, f := optionalDateField("start_date", in.StartDate)
	if f != nil {
		fields = append(fields, *f)
	} else if start != nil {
		np.StartDate = *start
	}
	if np.EndDate, f = optionalDateField("end_date", in.EndDate); f != nil {
		fields = append(fields, *f)
	}
	// Every field error in one answer; a date already reported as
	// malformed is not reported again as missing.
	for _, fe := range medrec.ErrorFields(np.Validate()) {
		if !hasField(fields, fe.Field) {
			fields = append(fields, fe)
		}
	}
	if len(fields) > 0 {
		writeError(w, r, medrec.Invalid(fields...))
		return
	}
	p, err := s.prescriptions.CreatePrescription(r.Context(), r.PathValue("id"), np)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/prescriptions/"+p.ID)
	setETag(w, p.UpdatedAt)
	respond(w, r, http.StatusCreated, p)
}

func (s *Server) handlePrescriptionList(w http.ResponseWriter, r *http.Request) {
	page, fields := pageFrom(r)
	f := medrec.PrescriptionFilter{Page: page}
	if v := r.URL.Query().Get("status"); v != "" {
		if !medrec.ValidPrescriptionStatus(v) {
			fields = append(fields, medrec.FieldError{Field: "status", Message: "must be one of ACTIVE, COMPLETED, CANCELLED"})
		}
		f.Status = &v
	}
	if len(fields) > 0 {
		writeError(w, r, medrec.Invalid(fields...))
		return
	}
	items, next, err := s.prescriptions.FindPrescriptions(r.Context(), r.PathValue("id"), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond(w, r, http.StatusOK, newList(items, next))
}

func (s *Server) handlePrescriptionGet(w http.ResponseWriter, r *http.Request) {
	p, err := s.prescriptions.FindPrescriptionByID(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	setETag(w, p.UpdatedAt)
	respond(w, r, http.StatusOK, p)
}

// updatePrescriptionRequest holds only what may change; end_date is raw so
// that an explicit null (clear the end date) differs from leaving it out.
type updatePrescriptionRequest struct {
	EndDate json.RawMessage `json:"end_date"`
	Status  *string         `json:"status"`
}

func (s *Server) handlePrescriptionUpdate(w http.ResponseWriter, r *http.Request) {
	var in updatePrescriptionRequest
	if err := decodeJSON(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	u := medrec.PrescriptionUpdate{Status: in.Status}
	var fields []medrec.FieldError
	if in.EndDate != nil {
		u.SetEndDate = true
		if !bytes.Equal(in.EndDate, []byte("null")) {
			var str string
			if err := json.Unmarshal(in.EndDate, &str); err != nil {
				fields = append(fields, medrec.FieldError{Field: "end_date", Message: "must be a date YYYY-MM-DD or null"})
			} else if d, f := optionalDateField("end_date", &str); f != nil {
				fields = append(fields, *f)
			} else {
				u.EndDate = d
			}
		}
	}
	for _, fe := range medrec.ErrorFields(u.Validate()) {
		if !hasField(fields, fe.Field) {
			fields = append(fields, fe)
		}
	}
	if len(fields) > 0 {
		writeError(w, r, medrec.Invalid(fields...))
		return
	}
	tag, err := ifMatch(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	u.IfMatch = tag
	p, err := s.prescriptions.UpdatePrescription(r.Context(), r.PathValue("id"), u)
	if err != nil {
		writeError(w, r, err)
		return
	}
	setETag(w, p.UpdatedAt)
	respond(w, r, http.StatusOK, p)
}

func (s *Server) handlePrescriptionExpiring(w http.ResponseWriter, r *http.Request) {
	page, fields := pageFrom(r)
	f := medrec.ExpiringFilter{Days: medrec.DefaultExpiringDays, Page: page}
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > medrec.MaxExpiringDays {
			fields = append(fields, medrec.FieldError{Field: "days", Message: "must be a whole number between 1 and 365"})
		} else {
			f.Days = n
		}
	}
	if len(fields) > 0 {
		writeError(w, r, medrec.Invalid(fields...))
		return
	}
	items, next, err := s.prescriptions.FindExpiringPrescriptions(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond(w, r, http.StatusOK, newList(items, next))
}
