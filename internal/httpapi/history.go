package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"

	"medrec"
)

func (s *Server) handleHistoryGet(w http.ResponseWriter, r *http.Request) {
	h, err := s.history.FindHistory(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	body, err := encodeHistory(h)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSONBody(w, http.StatusOK, body)
}

// encodeHistory writes h as encoding/json would, {"patient":...,
// "reports":[...],"prescriptions":[...]}, except that it copies the two
// lists as the database built them. encoding/json compacts and re-checks
// every json.RawMessage it writes: for the heavy patient's 400 records
// (some 200 kB) that scan cost about ten times the copy, a large share of
// the route's CPU. The database's json is valid by construction; it keeps
// the spaces json_build_object puts around its colons, which JSON ignores.
func encodeHistory(h *medrec.History) ([]byte, error) {
	if !isJSONArray(h.Reports) || !isJSONArray(h.Prescriptions) {
		return nil, fmt.Errorf("encode history: the reports or prescriptions are not a JSON array")
	}
	patient, err := json.Marshal(h.Patient)
	if err != nil {
		return nil, fmt.Errorf("encode history: %w", err)
	}
	const (
		open  = `{"patient":`
		rep   = `,"reports":`
		rx    = `,"prescriptions":`
		close = "}\n"
	)
	body := make([]byte, 0, len(open)+len(patient)+len(rep)+len(h.Reports)+len(rx)+len(h.Prescriptions)+len(close))
	body = append(body, open...)
	body = append(body, patient...)
	body = append(body, rep...)
	body = append(body, h.Reports...)
	body = append(body, rx...)
	body = append(body, h.Prescriptions...)
	return append(body, close...), nil
}

// isJSONArray reports whether b is delimited as a JSON array: a cheap
// guard against passing on something else (nil, say) as a list.
func isJSONArray(b []byte) bool {
	return len(b) >= 2 && b[0] == '[' && b[len(b)-1] == ']'
}
