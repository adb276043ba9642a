package httpapi

import (
	"context"
	"log/slog"
	"net/http"

	"medrec"
)

type createPatientRequest struct {
	FirstName string  `json:"first_name"`
	LastName  string  `json:"last_name"`
	DOB       string  `json:"dob"`
	Gender    string  `json:"gender"`
	Email     *string `json:"email"`
	Phone     *string `json:"phone"`
	Status    string  `json:"status"`
}

func (s *Server) handlePatientCreate(w http.ResponseWriter, r *http.Request) {
	var in createPatientRequest
	if err := decodeJSON(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	var fields []medrec.FieldError
	dob, fe := dateField("dob", in.DOB)
	if fe != nil {
		fields = append(fields, *fe)
	}
	np := medrec.NewPatient{FirstName: in.FirstName, LastName: in.LastName, DOB: dob, Gender: in.Gender,
		Email: in.Email, Phone: in.Phone, Status: in.Status}
	if fields = mergeFields(fields, np.Validate()); len(fields) > 0 {
		writeError(w, r, medrec.Invalid(fields...))
		return
	}
	p, err := s.patients.CreatePatient(r.Context(), np)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/patients/"+p.ID)
	setETag(w, p.UpdatedAt)
	respond(w, r, http.StatusCreated, p)
}

func (s *Server) handlePatientList(w http.ResponseWriter, r *http.Request) {
	page, fields := pageFrom(r)
	q := r.URL.Query()
	f := medrec.PatientFilter{Page: page, Q: q.Get("q"), Email: q.Get("email"), Status: q.Get("status")}
	if v := q.Get("dob"); v != "" {
		d, fe := dateField("dob", v)
		if fe != nil {
			fields = append(fields, *fe)
		} else {
			f.DOB = &d
		}
	}
	if fields = mergeFields(fields, f.Validate()); len(fields) > 0 {
		writeError(w, r, medrec.Invalid(fields...))
		return
	}
	patients, next, err := s.patients.FindPatients(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond(w, r, http.StatusOK, newList(patients, next))
}

func (s *Server) handlePatientGet(w http.ResponseWriter, r *http.Request) {
	p, err := s.patients.FindPatientByID(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	setETag(w, p.UpdatedAt)
	respond(w, r, http.StatusOK, p)
}

// updatePatientRequest holds the demographics a PATCH may change; id,
// created_at and anything else are unknown fields and a 400.
type updatePatientRequest struct {
	FirstName medrec.NullableString `json:"first_name"`
	LastName  medrec.NullableString `json:"last_name"`
	DOB       medrec.NullableString `json:"dob"`
	Gender    medrec.NullableString `json:"gender"`
	Email     medrec.NullableString `json:"email"`
	Phone     medrec.NullableString `json:"phone"`
	Status    medrec.NullableString `json:"status"`
}

func (s *Server) handlePatientUpdate(w http.ResponseWriter, r *http.Request) {
	var in updatePatientRequest
	if err := decodeJSON(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	var fields []medrec.FieldError
	upd := medrec.PatientUpdate{Email: in.Email, Phone: in.Phone}
	fields, upd.FirstName = notNull(fields, "first_name", in.FirstName)
	fields, upd.LastName = notNull(fields, "last_name", in.LastName)
	fields, upd.Gender = notNull(fields, "gender", in.Gender)
	fields, upd.Status = notNull(fields, "status", in.Status)
	var dob *string
	fields, dob = notNull(fields, "dob", in.DOB)
	if dob != nil {
		d, fe := dateField("dob", *dob)
		if fe == nil && *dob == "" {
			fe = &medrec.FieldError{Field: "dob", Message: dateFieldMessage}
		}
		if fe != nil {
			fields = append(fields, *fe)
		} else {
			upd.DOB = &d
		}
	}
	if fields = mergeFields(fields, upd.Validate()); len(fields) > 0 {
		writeError(w, r, medrec.Invalid(fields...))
		return
	}
	match, err := ifMatch(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	p, err := s.patients.UpdatePatient(r.Context(), r.PathValue("id"), upd, match)
	if err != nil {
		writeError(w, r, err)
		return
	}
	setETag(w, p.UpdatedAt)
	respond(w, r, http.StatusOK, p)
}

type lookupPatientRequest struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	DOB       string `json:"dob"`
}

func (s *Server) handlePatientLookup(w http.ResponseWriter, r *http.Request) {
	var in lookupPatientRequest
	if err := decodeJSON(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	var fields []medrec.FieldError
	dob, fe := dateField("dob", in.DOB)
	if fe != nil {
		fields = append(fields, *fe)
	}
	if len(fields) > 0 {
		// Report the names too, so every problem comes back at once.
		if in.FirstName == "" {
			fields = append(fields, medrec.FieldError{Field: "first_name", Message: "is required"})
		}
		if in.LastName == "" {
			fields = append(fields, medrec.FieldError{Field: "last_name", Message: "is required"})
		}
		writeError(w, r, medrec.Invalid(fields...))
		return
	}
	matches, err := s.patients.LookupPatients(r.Context(), in.FirstName, in.LastName, dob)
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond(w, r, http.StatusOK, newList(matches, ""))
}

type erasePatientRequest struct {
	Reason string `json:"reason"`
}

func (s *Server) handlePatientErase(w http.ResponseWriter, r *http.Request) {
	var in erasePatientRequest
	if err := decodeJSON(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	urls, err := s.patients.ErasePatient(r.Context(), r.PathValue("id"), in.Reason)
	if err != nil {
		writeError(w, r, err)
		return
	}
	// The rows are gone (committed); now the report files. A failure here
	// cannot undo the erasure, and a retry would find no patient, so it is
	// logged for operations (the count and the error, never the patient)
	// and the answer stays 204.
	if len(urls) > 0 {
		reqID := slog.String("request_id", medrec.RequestIDFromContext(r.Context()))
		if s.blobs == nil {
			s.log.ErrorContext(r.Context(), "patient erased; no file store configured to delete its report files",
				slog.Int("files", len(urls)), reqID)
		} else if err := medrec.DeleteReportFiles(context.WithoutCancel(r.Context()), s.blobs, urls); err != nil {
			s.log.ErrorContext(r.Context(), "patient erased; some report files could not be deleted",
				slog.Int("files", len(urls)), slog.Any("error", err), reqID)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
