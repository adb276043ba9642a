package httpapi

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"medrec"
)

// etagOf is a record's entity tag: its updated_at, which the database
// advances (trigger set_updated_at) on every change. Strong, since the
// representation changes only when the row does.
func etagOf(updatedAt time.Time) string {
	return fmt.Sprintf(`"%d"`, updatedAt.UnixNano())
}

// setETag sets the ETag header of a record's response.
func setETag(w http.ResponseWriter, updatedAt time.Time) {
	w.Header().Set("ETag", etagOf(updatedAt))
}

// ifMatch reads If-Match as the updated_at it names, for a conditional
// update: nil when the header is absent or "*". A tag this service did not
// issue can never match, so it is EPRECONDITION rather than a 400.
func ifMatch(r *http.Request) (*time.Time, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return nil, nil
	}
	var nanos int64
	if _, err := fmt.Sscanf(strings.TrimPrefix(h, "W/"), `"%d"`, &nanos); err != nil {
		return nil, medrec.Errorf(medrec.EPRECONDITION, "If-Match does not name a version of this record")
	}
	t := time.Unix(0, nanos).UTC()
	return &t, nil
}
