package postgres

import (
	"encoding/base64"
	"strings"
	"time"

	"medrec"
)

// Cursors are opaque to clients: base64url of "created_at|id" of the last
// row of a page. Keyset pagination on (created_at, id) stays fast however
// deep the page, where OFFSET would read every row before it.

func encodeCursor(created time.Time, id string) string {
	return encodeCursorAt(created, id, time.RFC3339Nano)
}

// decodeCursor returns nils for an empty cursor.
func decodeCursor(cursor string) (*time.Time, *string, error) {
	return decodeCursorAt(cursor, time.RFC3339Nano)
}

// encodeCursorAt is encodeCursor for a list ordered by another instant or
// date, written in layout (time.DateOnly for the expiring list's end_date).
func encodeCursorAt(key time.Time, id, layout string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(key.UTC().Format(layout) + "|" + id))
}

// decodeCursorAt reads what encodeCursorAt wrote with the same layout.
func decodeCursorAt(cursor, layout string) (*time.Time, *string, error) {
	if cursor == "" {
		return nil, nil, nil
	}
	bad := medrec.Invalid(medrec.FieldError{Field: "cursor", Message: "is not a cursor this service issued"})
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, nil, bad
	}
	ts, id, ok := strings.Cut(string(raw), "|")
	if !ok || !isUUID(id) {
		return nil, nil, bad
	}
	t, err := time.Parse(layout, ts)
	if err != nil {
		return nil, nil, bad
	}
	return &t, &id, nil
}

// isUUID reports whether s is a canonical UUID, so that a malformed id is a
// clear 404 or 400 instead of a database cast error.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}
