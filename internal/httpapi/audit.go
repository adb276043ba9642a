package httpapi

import (
	"net/http"
	"time"

	"medrec"
)

// handleAuditList serves GET /api/v1/audit: the audit log for an ADMIN,
// newest first, filtered by table_name, record_id, user_id, action and
// changed_at in [from, to) (RFC 3339). Every bad parameter is named in
// one 400.
func (s *Server) handleAuditList(w http.ResponseWriter, r *http.Request) {
	page, fields := pageFrom(r)
	q := r.URL.Query()
	f := medrec.AuditFilter{
		Page: page, TableName: q.Get("table_name"), RecordID: q.Get("record_id"),
		UserID: q.Get("user_id"), Action: q.Get("action"),
	}
	for _, p := range []struct {
		name string
		dst  **time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			fields = append(fields, medrec.FieldError{Field: p.name, Message: "must be an RFC 3339 timestamp, e.g. 2026-01-31T12:00:00Z"})
			continue
		}
		*p.dst = &t
	}
	if fields = mergeFields(fields, f.Validate()); len(fields) > 0 {
		writeError(w, r, medrec.Invalid(fields...))
		return
	}
	entries, next, err := s.audit.FindAuditEntries(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond(w, r, http.StatusOK, newList(entries, next))
}
