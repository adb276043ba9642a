package httpapi

import (
	"net/http"

	"medrec"
)

type createUserRequest struct {
	Email    string      `json:"email"`
	Password string      `json:"password"`
	Role     medrec.Role `json:"role"`
}

func (s *Server) handleUserCreate(w http.ResponseWriter, r *http.Request) {
	var in createUserRequest
	if err := decodeJSON(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	nu := medrec.NewUser{Email: in.Email, Password: in.Password, Role: in.Role}
	fields := medrec.ErrorFields(nu.Validate())
	var hash string
	if !hasField(fields, "password") {
		// The full policy (common passwords too) lives with the hasher.
		var err error
		if hash, err = s.passwords.Hash(in.Password); err != nil {
			if medrec.ErrorCode(err) != medrec.EINVALID {
				writeError(w, r, err)
				return
			}
			fields = append(fields, medrec.ErrorFields(err)...)
		}
	}
	if len(fields) > 0 {
		writeError(w, r, medrec.Invalid(fields...))
		return
	}
	u, err := s.users.CreateUser(r.Context(), nu, hash)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/users/"+u.ID)
	setETag(w, u.UpdatedAt)
	respond(w, r, http.StatusCreated, u)
}

// listResponse is every list route's shape.
type listResponse[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func newList[T any](items []T, next string) listResponse[T] {
	if items == nil {
		items = []T{}
	}
	resp := listResponse[T]{Items: items}
	if next != "" {
		resp.NextCursor = &next
	}
	return resp
}

func (s *Server) handleUserList(w http.ResponseWriter, r *http.Request) {
	page, fields := pageFrom(r)
	f := medrec.UserFilter{Page: page}
	q := r.URL.Query()
	if v := q.Get("role"); v != "" {
		role := medrec.Role(v)
		if !role.Valid() {
			fields = append(fields, medrec.FieldError{Field: "role", Message: "must be one of ADMIN, CLINICIAN, NURSE, RECEPTIONIST"})
		}
		f.Role = &role
	}
	if v := q.Get("status"); v != "" {
		status := medrec.UserStatus(v)
		if !status.Valid() {
			fields = append(fields, medrec.FieldError{Field: "status", Message: "must be one of ACTIVE, SUSPENDED, LOCKED"})
		}
		f.Status = &status
	}
	if len(fields) > 0 {
		writeError(w, r, medrec.Invalid(fields...))
		return
	}
	users, next, err := s.users.FindUsers(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond(w, r, http.StatusOK, newList(users, next))
}

func (s *Server) handleUserGet(w http.ResponseWriter, r *http.Request) {
	u, err := s.users.FindUserByID(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	setETag(w, u.UpdatedAt)
	respond(w, r, http.StatusOK, u)
}

// updateUserRequest holds only what an administrator may change; any other
// field (email, password_hash, ...) is an unknown field and a 400.
type updateUserRequest struct {
	Role   *medrec.Role       `json:"role"`
	Status *medrec.UserStatus `json:"status"`
}

func (s *Server) handleUserUpdate(w http.ResponseWriter, r *http.Request) {
	var in updateUserRequest
	if err := decodeJSON(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	match, err := ifMatch(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	u, err := s.users.UpdateUser(r.Context(), r.PathValue("id"), medrec.UserUpdate{Role: in.Role, Status: in.Status}, match)
	if err != nil {
		writeError(w, r, err)
		return
	}
	setETag(w, u.UpdatedAt)
	respond(w, r, http.StatusOK, u)
}
